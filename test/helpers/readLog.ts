import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogReader } from '../../src/parse/logReader.js';
import type { LogEvent, StampedEvent } from '../../src/parse/events.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState, type RunState } from '../../src/state/runState.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'ai-toolkit-logs');

/** A fixture's log text, without its two metadata lines (`# source:` and `# what:`). */
export function fixtureText(name: string): string {
  const text = readFileSync(join(FIXTURES, name), 'utf8');
  return text.split('\n').slice(2).join('\n');
}

/** Reads a whole log the way lora-top does and returns every event and the final state. */
export function readLog(text: string, at = 1_000_000, chunkSize = 0): { events: LogEvent[]; state: RunState } {
  const reader = new LogReader();
  const stamped: StampedEvent[] = [];
  if (chunkSize > 0) {
    for (let i = 0; i < text.length; i += chunkSize) stamped.push(...reader.push(text.slice(i, i + chunkSize), at));
  } else {
    stamped.push(...reader.push(text, at));
  }
  stamped.push(...reader.end(at));
  const state = reduceRun(initialRunState(), stamped);
  return { events: stamped.map((s) => s.event), state };
}

export function eventsOf<T extends LogEvent['type']>(events: LogEvent[], type: T): Array<Extract<LogEvent, { type: T }>> {
  return events.filter((e): e is Extract<LogEvent, { type: T }> => e.type === type);
}
