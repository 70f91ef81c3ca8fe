import { MAX_RECENT_LINES, type LogEvent, type StampedEvent } from './events.js';
import { LogParser } from './logParser.js';
import { SegmentSplitter } from './segmentSplitter.js';
import { stripControlSequences } from './sanitize.js';

type LineEvent = Extract<LogEvent, { type: 'line' }>;
/** How many raw lines a read-back batch keeps for the log view (bars collapse, so more than shown). */
const RING = 4 * MAX_RECENT_LINES;

/** Lines longer than this are cut for the log view. */
const MAX_SHOWN_LINE = 500;

/**
 * The part of a line the log view can show, as a string of its own: a slice of a long line would
 * keep the whole line (up to the splitter's 64 Ki-character cap) alive, and the read-back ring
 * holds 800 of them (a log of one endless line made that ~50 MB).
 */
function shownPart(text: string): string {
  return text.length > MAX_SHOWN_LINE * 2 ? Buffer.from(text.slice(0, MAX_SHOWN_LINE * 2), 'utf16le').toString('utf16le') : text;
}

function lineEvent(text: string, bar: string | null): LineEvent {
  const clean = stripControlSequences(shownPart(text)).trim();
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
  private heldText: string | null = null;
  private heldKey: string | null = null;
  /** While reading back: the newest lines for the log view, in a ring (no object per line). */
  private readonly ringText: string[] = new Array<string>(RING);
  private readonly ringBar: Array<string | null> = new Array<string | null>(RING);
  private ringNext = 0;
  private ringSize = 0;

  /** `live` is false for text read back from a log that was already written. */
  push(text: string, at: number, live = true): StampedEvent[] {
    const out: StampedEvent[] = [];
    for (const segment of this.splitter.push(text)) {
      if (!live && segment.final) {
        const key = barStateKey(segment.text);
        if (this.heldText !== null && key !== this.heldKey) this.releaseHeld(at, out, live);
        if (key !== null) {
          this.heldText = segment.text;
          this.heldKey = key;
          continue;
        }
      } else {
        this.releaseHeld(at, out, live);
      }
      this.read(segment.text, segment.final, at, out, live);
    }
    if (!live) {
      // What was read back may be all there is for a while (a finished log): hold nothing over.
      this.releaseHeld(at, out, live);
      this.flushRing(at, out);
    }
    // The text may end inside the config dump: what it has said so far counts now.
    const partial = this.parser.partialConfig();
    if (partial) out.push(live ? { at, event: partial } : { at, event: partial, live });
    return out;
  }

  end(at: number): StampedEvent[] {
    const out: StampedEvent[] = [];
    this.releaseHeld(at, out, true);
    for (const segment of this.splitter.end()) this.read(segment.text, true, at, out, true);
    for (const event of this.parser.end()) out.push({ at, event });
    return out;
  }

  /** The file was truncated or replaced: forget the partial line. */
  reset(): void {
    this.splitter.reset();
    this.parser.end();
    this.reportedTail = null;
    this.heldText = null;
    this.heldKey = null;
    this.ringSize = 0;
  }

  private releaseHeld(at: number, out: StampedEvent[], live: boolean): void {
    const text = this.heldText;
    if (text === null) return;
    this.heldText = null;
    this.heldKey = null;
    this.read(text, true, at, out, live);
  }

  private emitLine(raw: string, bar: string | null, at: number, out: StampedEvent[], live: boolean): void {
    if (live) {
      const line = lineEvent(raw, bar);
      if (line.text.length > 0) out.push({ at, event: line });
      return;
    }
    this.ringText[this.ringNext] = shownPart(raw);
    this.ringBar[this.ringNext] = bar;
    this.ringNext = (this.ringNext + 1) % RING;
    if (this.ringSize < RING) this.ringSize++;
  }

  /** The last lines of a read-back batch, each bar collapsed to its newest state, as events. */
  private flushRing(at: number, out: StampedEvent[]): void {
    const kept: LineEvent[] = [];
    for (let k = 1; k <= this.ringSize && kept.length <= MAX_RECENT_LINES; k++) {
      const i = (this.ringNext - k + RING) % RING;
      const bar = this.ringBar[i]!;
      const newer = kept[kept.length - 1];
      if (newer && bar !== null && newer.bar === bar) continue;
      const line = lineEvent(this.ringText[i]!, bar);
      if (line.text.length > 0) kept.push(line);
    }
    for (let k = kept.length - 1; k >= 0; k--) out.push({ at, event: kept[k]!, live: false });
    this.ringSize = 0;
  }

  private read(text: string, final: boolean, at: number, out: StampedEvent[], live: boolean): void {
    if (!final) {
      this.reportedTail = text;
      for (const event of this.parser.parse(text, false)) {
        out.push(live ? { at, event } : { at, event, live });
        if (event.type === 'bar') this.emitLine(text, event.bar.desc ?? '', at, out, live);
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
      out.push(live ? { at, event } : { at, event, live });
    }
    if (!alreadyReported || bar === null) this.emitLine(text, bar, at, out, live);
  }
}
