import type { LogEvent, StampedEvent } from './events.js';
import { LogParser } from './logParser.js';
import { SegmentSplitter } from './segmentSplitter.js';
import { stripControlSequences } from './sanitize.js';

/** Lines longer than this are cut for the log view. */
const MAX_SHOWN_LINE = 500;

function lineEvent(text: string, bar: string | null): Extract<LogEvent, { type: 'line' }> {
  const clean = stripControlSequences(text.length > MAX_SHOWN_LINE * 2 ? text.slice(0, MAX_SHOWN_LINE * 2) : text).trim();
  return { type: 'line', text: clean.length > MAX_SHOWN_LINE ? `${clean.slice(0, MAX_SHOWN_LINE - 1)}…` : clean, bar };
}

/**
 * Text in, stamped events out: the streaming splitter and the parser together. Pure (no I/O).
 * The unterminated tail (the live tqdm bar) is read as soon as it arrives; when it is later
 * terminated unchanged, it is not reported twice.
 */
export class LogReader {
  private readonly splitter = new SegmentSplitter();
  private readonly parser = new LogParser();
  private reportedTail: string | null = null;

  /** `live` is false for text read back from a log that was already written. */
  push(text: string, at: number, live = true): StampedEvent[] {
    const out: StampedEvent[] = [];
    for (const segment of this.splitter.push(text)) this.read(segment.text, segment.final, at, out);
    if (!live) for (const stamped of out) stamped.live = false;
    return out;
  }

  end(at: number): StampedEvent[] {
    const out: StampedEvent[] = [];
    for (const segment of this.splitter.end()) this.read(segment.text, true, at, out);
    for (const event of this.parser.end()) out.push({ at, event });
    return out;
  }

  /** The file was truncated or replaced: forget the partial line. */
  reset(): void {
    this.splitter.reset();
    this.parser.end();
    this.reportedTail = null;
  }

  private read(text: string, final: boolean, at: number, out: StampedEvent[]): void {
    if (!final) {
      this.reportedTail = text;
      for (const event of this.parser.parse(text, false)) {
        out.push({ at, event });
        if (event.type === 'bar') out.push({ at, event: lineEvent(text, event.bar.desc ?? '') });
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
    if (!alreadyReported || bar === null) {
      const line = lineEvent(text, bar);
      if (line.text.length > 0) out.push({ at, event: line });
    }
  }
}
