import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogParser } from '../../src/parse/logParser.js';
import { LogReader } from '../../src/parse/logReader.js';
import { stripControlSequences } from '../../src/parse/sanitize.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState } from '../../src/state/runState.js';
import { estimateFinish } from '../../src/state/eta.js';
import { jsonSnapshot, textSnapshot } from '../../src/view/snapshot.js';
import { fixtureText } from '../helpers/readLog.js';

// No input of any bytes makes the parser, the reducer or the snapshot throw, and no control
// sequence survives into anything that could be drawn.

const REAL = [
  fixtureText('001-lokr-saving-checkpoints-windows.txt'),
  fixtureText('011-stabilitymatrix-cuda-error-doubled-traceback.txt'),
  fixtureText('019-sampling-inner-bar-unloading-vae.txt'),
  fixtureText('017-qwen-edit-plus-ui-model-load.txt'),
].join('\n');

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;

function readAll(chunks: string[]) {
  const reader = new LogReader();
  let state = initialRunState();
  const texts: string[] = [];
  let at = 1_000;
  for (const chunk of chunks) {
    at += 37;
    const events = reader.push(chunk, at);
    for (const { event } of events) collectText(event, texts);
    state = reduceRun(state, events);
  }
  state = reduceRun(state, reader.end(at));
  const eta = estimateFinish(state, at + 5, 3000);
  return { state, texts, snapshot: textSnapshot(state, eta, at) + JSON.stringify(jsonSnapshot(state, eta)) };
}

function collectText(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) collectText(v, out);
}

const mutatedLog = fc
  .tuple(fc.nat(REAL.length), fc.nat(40), fc.string({ unit: 'binary', maxLength: 20 }), fc.integer({ min: 1, max: 200 }))
  .map(([pos, cut, insert, chunk]) => {
    const text = REAL.slice(0, pos) + insert + REAL.slice(Math.min(REAL.length, pos + cut));
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += chunk) chunks.push(text.slice(i, i + chunk));
    return chunks;
  });

const ESCAPES = ['\x1b[31m', '\x1b]0;pwned\x07', '\x1b]8;;http://x\x1b\\', '\x1b]52;c;ZXZpbA==\x07', '\x1bP+q\x1b\\', '\x9b2J', '\x1b[?1049h', '\x1bc', '\x07', '\r', '\n', '\x00'];
const hostile = fc
  .array(fc.oneof(fc.constantFrom(...ESCAPES), fc.constantFrom('Saving at step 12', 'Error running job: ', '# Running job: ', 'x: 50%|##| 1/2 [00:01<00:01, 1.00it/s, lr: 1.0e-04 loss: 2.0e-01]', 'Result:', 'Traceback (most recent call last):', '{', '}'), fc.string({ unit: 'binary', maxLength: 12 })), { maxLength: 60 })
  .map((parts) => [parts.join('')]);

describe('parser robustness', () => {
  it('never throws on random bytes, in any chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        const { texts, snapshot } = readAll(chunks);
        for (const text of texts) expect(CONTROL.test(text)).toBe(false);
        expect(CONTROL.test(snapshot.replace(/\n/g, ''))).toBe(false);
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('never throws on mutated real logs', () => {
    fc.assert(
      fc.property(mutatedLog, (chunks) => {
        readAll(chunks);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('lets no escape sequence through into event text or the snapshot', () => {
    fc.assert(
      fc.property(hostile, (chunks) => {
        const { texts, snapshot } = readAll(chunks);
        for (const text of texts) expect(text).not.toMatch(CONTROL);
        expect(snapshot.replace(/\n/g, '')).not.toMatch(CONTROL);
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('reads a job name and a log line with escape sequences as plain text', () => {
    const { state, texts } = readAll(['# Running job: evil\x1b]0;owned\x07_lora\x1b[2J\nhello \x1b[31mred\x1b[0m world\n']);
    expect(state.name).toBe('evil_lora');
    expect(texts).toContain('hello red world');
  });

  it('strips CSI, OSC, DCS, C1 and C0 controls but keeps text and turns tabs into spaces', () => {
    expect(stripControlSequences('a\x1b[1;31mb\x1b[0mc')).toBe('abc');
    expect(stripControlSequences('a\x1b]8;;https://e.x\x1b\\link\x1b]8;;\x1b\\b')).toBe('alinkb');
    expect(stripControlSequences('a\x1bP1$r\x1b\\b')).toBe('ab');
    expect(stripControlSequences('a\x9b31mb\x85c')).toBe('abc');
    expect(stripControlSequences('tab\there\x07')).toBe('tab here');
    expect(stripControlSequences('cut off \x1b]0;title')).toBe('cut off ');
    expect(stripControlSequences('ünïcødé █▌ ok')).toBe('ünïcødé █▌ ok');
  });

  it('reads a 1 MB line of bar-like garbage without an event storm', () => {
    const parser = new LogParser();
    const line = 'lr: 1.0e-04 %|'.repeat(80_000);
    const events = parser.parse(line, true);
    expect(events.length).toBeLessThanOrEqual(1);
  });
});
