import { MAX_RECENT_LINES, type LogEvent, type StampedEvent } from './events.js';
import { LogParser } from './logParser.js';
import { SegmentSplitter } from './segmentSplitter.js';
import { stripControlSequences } from './sanitize.js';

type LineEvent = Extract<LogEvent, { type: 'line' }>;
/** A line for the log view, kept raw until it is known to be among the last ones shown. */
interface RawLine {
  text: string;
  bar: string | null;
}

/** Lines longer than this are cut for the log view. */
const MAX_SHOWN_LINE = 500;

function lineEvent(text: string, bar: string | null): LineEvent {
  const clean = stripControlSequences(text.length > MAX_SHOWN_LINE * 2 ? text.slice(0, MAX_SHOWN_LINE * 2) : text).trim();
  return { type: 'line', text: clean.length > MAX_SHOWN_LINE ? `${clean.slice(0, MAX_SHOWN_LINE - 1)}…` : clean, bar };
}

/**
 * What identifies a bar state's place in its bar: the text up to ` [` (desc, percent, cells,
 * n/total). Two successive states with the same key are the same step drawn twice (ai-toolkit
 * redraws once for the new postfix and once for the update). Only plain states qualify: nothing
 * glued after the `]`, no escape sequences.
 */
function barStateKey(text: string): string | null {
  const marker = text.indexOf('%|');
  if (marker < 0 || text.includes('\x1b')) return null;
  const open = text.indexOf(' [', marker);
  if (open < 0) return null;
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 32) end--;
  if (text.charCodeAt(end - 1) !== 93 /* ] */) return null;
  return text.slice(0, open);
}

/**
 * Text in, stamped events out: the streaming splitter and the parser together. Pure (no I/O).
 * The unterminated tail (the live tqdm bar) is read as soon as it arrives; when it is later
 * terminated unchanged, it is not reported twice.
 *
 * Reading back a log that was already written (`live` false), it skips what the end state cannot
 * depend on: a bar state that the very next segment redraws at the same step, and all but the last
 * lines of each batch for the log view. That halves the work of a 50 MB backfill.
 */
export class LogReader {
  private readonly splitter = new SegmentSplitter();
  private readonly parser = new LogParser();
  private reportedTail: string | null = null;
  /** A backfilled bar state held back until the next segment shows whether it was redrawn. */
  private held: { text: string; key: string } | null = null;

  /** `live` is false for text read back from a log that was already written. */
  push(text: string, at: number, live = true): StampedEvent[] {
    const out: StampedEvent[] = [];
    const lines: RawLine[] | null = live ? null : [];
    for (const segment of this.splitter.push(text)) {
      if (!live && segment.final) {
        const key = barStateKey(segment.text);
        if (this.held && key !== this.held.key) this.releaseHeld(at, out, lines);
        if (key !== null) {
          this.held = { text: segment.text, key };
          continue;
        }
      } else {
        this.releaseHeld(at, out, lines);
      }
      this.read(segment.text, segment.final, at, out, lines);
    }
    if (live) return out;
    for (const stamped of out) stamped.live = false;
    for (const line of collapseTail(lines!)) out.push({ at, event: line, live: false });
    return out;
  }

  end(at: number): StampedEvent[] {
    const out: StampedEvent[] = [];
    this.releaseHeld(at, out, null);
    for (const segment of this.splitter.end()) this.read(segment.text, true, at, out, null);
    for (const event of this.parser.end()) out.push({ at, event });
    return out;
  }

  /** The file was truncated or replaced: forget the partial line. */
  reset(): void {
    this.splitter.reset();
    this.parser.end();
    this.reportedTail = null;
    this.held = null;
  }

  private releaseHeld(at: number, out: StampedEvent[], lines: RawLine[] | null): void {
    if (!this.held) return;
    const text = this.held.text;
    this.held = null;
    this.read(text, true, at, out, lines);
  }

  private read(text: string, final: boolean, at: number, out: StampedEvent[], lines: RawLine[] | null): void {
    const emitLine = (raw: string, bar: string | null) => {
      if (lines) {
        lines.push({ text: raw, bar });
        return;
      }
      const line = lineEvent(raw, bar);
      if (line.text.length > 0) out.push({ at, event: line });
    };
    if (!final) {
      this.reportedTail = text;
      for (const event of this.parser.parse(text, false)) {
        out.push({ at, event });
        if (event.type === 'bar') emitLine(text, event.bar.desc ?? '');
      }
      return;
    }
    const alreadyReported = this.reportedTail === text;
    this.reportedTail = null;
    let bar: string | null = null;
    for (const event of this.parser.parse(text, true)) {
      if (event.type === 'bar') bar = event.bar.desc ?? '';
      // The bar state was reported while it was the tail; its line-level meaning was not.
      if (alreadyReported && event.type === 'bar') continue;
      out.push({ at, event });
    }
    if (!alreadyReported || bar === null) emitLine(text, bar);
  }
}

/** The last lines a log view can show, with each bar's successive states already collapsed. */
function collapseTail(lines: RawLine[]): LineEvent[] {
  const kept: LineEvent[] = [];
  for (let i = lines.length - 1; i >= 0 && kept.length <= MAX_RECENT_LINES; i--) {
    const raw = lines[i]!;
    const newer = kept[kept.length - 1];
    if (newer && raw.bar !== null && newer.bar === raw.bar) continue;
    const line = lineEvent(raw.text, raw.bar);
    if (line.text.length > 0) kept.push(line);
  }
  return kept.reverse();
}
