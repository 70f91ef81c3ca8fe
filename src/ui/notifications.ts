import { liveness } from '../state/derive.js';
import type { RunState } from '../state/runState.js';
import { stripControlSequences } from '../parse/sanitize.js';

/**
 * The moments worth a notification — the run completed, failed, stalled, or its trainer died —
 * each said once, and only when lora-top saw the run alive before (opening a finished run says
 * nothing). Pure; the dashboard writes them as a terminal bell and OSC 9 / OSC 777 desktop
 * notifications, which pass through SSH to the terminal on the desk.
 */

export interface Notice {
  key: string;
  text: string;
}

export function dueNotices(run: RunState, now: number, sawActive: boolean, sent: ReadonlySet<string>, stallFloorS?: number): Notice[] {
  if (!sawActive) return [];
  const name = stripControlSequences(run.name ?? 'the run');
  const notices: Notice[] = [];
  const add = (key: string, text: string) => {
    if (!sent.has(key)) notices.push({ key, text });
  };
  if (run.status === 'completed') add('completed', `${name} completed at step ${run.step ?? '?'}`);
  else if (run.status === 'failed') add('failed', `${name} failed${run.error ? `: ${stripControlSequences(run.error.message).slice(0, 120)}` : ''}`);
  const life = liveness(run, now, stallFloorS);
  if (life.exited) add('exited', `${name}: the trainer exited unexpectedly at step ${run.step ?? '?'}`);
  if (life.stalledS !== null) add('stalled', `${name} looks stalled: no output for ${Math.round(life.stalledS / 60)} min`);
  return notices;
}

/** The bytes for a notice: BEL, and/or OSC 9 (iTerm2, Windows Terminal, kitty…) and OSC 777 (rxvt, foot, WezTerm…). */
export function noticeBytes(text: string, how: 'all' | 'bell' | 'desktop' | 'off'): string {
  if (how === 'off') return '';
  // Nothing in the text may end the sequence early.
  const safe = stripControlSequences(text).replace(/[\x00-\x1f\x7f;]/g, ' ');
  const desktop = `\x1b]9;lora-top: ${safe}\x07\x1b]777;notify;lora-top;${safe}\x07`;
  return how === 'bell' ? '\x07' : how === 'desktop' ? desktop : `\x07${desktop}`;
}
