/**
 * Streaming splitter for ai-toolkit / tqdm log text. Pure: no I/O.
 *
 * tqdm redraws a bar in place by writing `"\r" + line + padding` and writes no `\n` until the bar
 * closes, so one physical line of a log holds many `\r`-separated bar states and the live bar state
 * is the unterminated tail of the stream. This splitter turns a stream of text chunks into
 * *segments*: the text between two terminators.
 *
 * ## Terminators
 * `\n`, `\r\n` and a lone `\r` each end a segment. A `\r\n` pair counts as ONE terminator even
 * when the `\r` ends one chunk and the `\n` starts the next. The segment before a `\r` is emitted
 * as soon as the `\r` arrives (its text does not depend on whether a `\n` follows).
 *
 * ## Empty segments (the exact rule)
 * Call `\n` and `\r\n` *line feeds*, and a `\r` not followed by `\n` a *lone CR*. The start of the
 * stream (and the state after `end()`/`reset()`) counts as if a line feed had just been seen.
 * An empty segment is emitted only if
 *   - it is terminated by a line feed, and
 *   - the terminator before it was not a lone CR.
 * So empty segments appear exactly where a terminal would show a blank line:
 *   - `a\n\nb`         → `a`, ``, `b`      (blank line kept)
 *   - `a\r\n\r\nb`     → `a`, ``, `b`      (CRLF blank line kept)
 *   - `a\n\r\nb`       → `a`, ``, `b`
 *   - `a\r\rb`         → `a`, `b`          (tqdm `\r` + wipe + `\r`: no empty segment)
 *   - `a\r\r\nb`       → `a`, `b`          (Windows `\r` + text-mode `\r\n`: no blank line)
 *   - `a\n\rb`         → `a`, `b`          (message ending in `\n`, then a bar redraw)
 * Non-empty segments are always emitted, including segments made only of spaces (the line left
 * by a `leave=False` bar's wipe is such a segment).
 *
 * ## Provisional tail
 * `push()` returns every segment it completed (`final: true`), in order, then, if the unterminated
 * tail is non-empty and differs from the tail it last reported, one more segment with
 * `final: false` holding the whole current tail (this is where the live tqdm bar is). A tail is
 * "reported" only while it belongs to the same segment; once that segment is completed (or cut,
 * see below) the next tail is reported again even if its text happens to be equal. Since a tail
 * only grows by appending, "differs" is decided by length, in O(1). A provisional segment's text is
 * always a prefix of the next final segment that is emitted. (A high surrogate at the very end of
 * the tail is held back from the provisional text until its pair arrives; text decoded with
 * `StringDecoder` never ends that way.)
 *
 * ## Cap
 * A segment is capped at `maxSegmentChars` UTF-16 code units. When a segment (complete or not)
 * grows beyond the cap, its first `maxSegmentChars` units are emitted as a final segment with
 * `truncated: true` and splitting continues with the rest (which is emitted later as usual, with
 * `truncated: false` on its last piece). A cut never separates a surrogate pair (the piece is then
 * one unit shorter), except when `maxSegmentChars` is 1. Cut points depend only on the content,
 * so the list of final segments is independent of how the input was chunked, and memory stays
 * bounded by about `maxSegmentChars` plus one chunk even for a huge file without any newline.
 *
 * `end()` flushes the tail as a final segment and resets the splitter for reuse.
 */

export interface Segment {
  text: string;
  /** false: provisional, the current unterminated tail; it will be reported again, completed. */
  final: boolean;
  /** true: this is a piece cut off a segment longer than the cap; the segment continues. */
  truncated: boolean;
}

const LF = 10;

/** What the previous terminator was. */
const PREV_LINE_FEED = 0;
const PREV_LONE_CR = 1;
type Prev = typeof PREV_LINE_FEED | typeof PREV_LONE_CR;

export class SegmentSplitter {
  private readonly max: number;
  /** The unterminated text of the current segment (never longer than `max`). */
  private tail = '';
  private prev: Prev = PREV_LINE_FEED;
  /** The last chunk ended with `\r`: a leading `\n` in the next chunk belongs to it. */
  private pendingCR = false;
  /** ...and the segment it ended was empty and would be emitted if the `\r` turns out a CRLF. */
  private pendingEmpty = false;
  /** Length of the tail last reported as provisional; -1 when none for this segment. */
  private reportedLen = -1;

  constructor(maxSegmentChars = 64 * 1024) {
    if (!Number.isInteger(maxSegmentChars) || maxSegmentChars < 1) {
      throw new RangeError(`maxSegmentChars must be an integer >= 1, got ${maxSegmentChars}`);
    }
    this.max = maxSegmentChars;
  }

  push(chunk: string): Segment[] {
    const out: Segment[] = [];
    const n = chunk.length;
    if (n === 0) return out;
    let i = 0;

    if (this.pendingCR) {
      this.pendingCR = false;
      if (chunk.charCodeAt(0) === LF) {
        // Second half of a CRLF split across chunks.
        i = 1;
        if (this.pendingEmpty) out.push({ text: '', final: true, truncated: false });
        this.prev = PREV_LINE_FEED;
      }
      // else: it was a lone CR; `prev` was already set to LoneCR.
      this.pendingEmpty = false;
    }

    let start = i;
    let cr = chunk.indexOf('\r', i);
    let lf = chunk.indexOf('\n', i);
    while (cr !== -1 || lf !== -1) {
      let pos: number;
      let next: number;
      let kind: 0 | 1 | 2; // 0 line feed, 1 lone CR, 2 CR at the chunk's end (undecided)
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        pos = cr;
        next = cr + 1;
        if (next === n) {
          kind = 2;
        } else if (chunk.charCodeAt(next) === LF) {
          kind = 0;
          next++;
          lf = chunk.indexOf('\n', next);
        } else {
          kind = 1;
        }
        cr = next < n ? chunk.indexOf('\r', next) : -1;
      } else {
        pos = lf;
        next = lf + 1;
        kind = 0;
        lf = next < n ? chunk.indexOf('\n', next) : -1;
      }
      this.complete(out, chunk, start, pos, kind);
      start = next;
    }

    if (start < n) {
      this.tail = start === 0 && this.tail.length === 0 && n <= this.max ? chunk : this.capped(out, chunk, start, n);
      let len = this.tail.length;
      // Hold back a trailing high surrogate: its pair is in the next chunk (and the cap must not
      // separate them, so reporting it now could make the provisional text longer than the piece).
      const last = this.tail.charCodeAt(len - 1);
      if (last >= 0xd800 && last <= 0xdbff) len--;
      if (len > 0 && len !== this.reportedLen) {
        out.push({ text: len === this.tail.length ? this.tail : this.tail.slice(0, len), final: false, truncated: false });
        this.reportedLen = len;
      }
    }
    return out;
  }

  /** Flushes the unterminated tail as a final segment, then resets. */
  end(): Segment[] {
    const out: Segment[] = [];
    if (this.tail.length > 0) out.push({ text: this.tail, final: true, truncated: false });
    this.reset();
    return out;
  }

  /**
   * A whole segment was read elsewhere (the backfill's byte path), ended by a line feed or a lone
   * CR: the next text starts a new segment, after that terminator. Only between whole segments.
   */
  passed(lineFeed: boolean): void {
    this.tail = '';
    this.reportedLen = -1;
    this.pendingCR = false;
    this.pendingEmpty = false;
    this.prev = lineFeed ? PREV_LINE_FEED : PREV_LONE_CR;
  }

  /** Between segments: nothing of a segment is held (what comes next starts one). */
  idle(): boolean {
    return this.tail.length === 0 && !this.pendingCR;
  }

  /** The `\r` that ended the text pushed last is known to be a lone CR (no `\n` follows it). */
  loneCR(): void {
    this.pendingCR = false;
    this.pendingEmpty = false;
  }

  /** Forgets everything (use when the underlying file is truncated or replaced). */
  reset(): void {
    this.tail = '';
    this.prev = PREV_LINE_FEED;
    this.pendingCR = false;
    this.pendingEmpty = false;
    this.reportedLen = -1;
  }

  /** A terminator at `pos` ends the segment `tail + chunk[start, pos)`. */
  private complete(out: Segment[], chunk: string, start: number, pos: number, kind: 0 | 1 | 2): void {
    const text = this.capped(out, chunk, start, pos);
    this.tail = '';
    this.reportedLen = -1;
    if (text.length === 0) {
      if (kind === 0) {
        if (this.prev !== PREV_LONE_CR) out.push({ text: '', final: true, truncated: false });
      } else if (kind === 2) {
        this.pendingEmpty = this.prev !== PREV_LONE_CR;
      }
    } else {
      out.push({ text, final: true, truncated: false });
    }
    if (kind === 0) {
      this.prev = PREV_LINE_FEED;
    } else {
      this.prev = PREV_LONE_CR;
      if (kind === 2) this.pendingCR = true;
    }
  }

  /**
   * The text `tail + chunk[start, end)`, after emitting capped pieces while it is longer than the
   * cap. Pieces are sliced straight from `tail` and `chunk`, so a huge chunk is never copied into a
   * concatenated string.
   */
  private capped(out: Segment[], chunk: string, start: number, end: number): string {
    const tail = this.tail;
    const t = tail.length;
    const len = t + end - start;
    const max = this.max;
    if (len <= max) return t === 0 ? chunk.slice(start, end) : tail + chunk.slice(start, end);
    // Work on the virtual string V = tail + chunk[start, end) without building it.
    const at = (k: number): number => (k < t ? tail.charCodeAt(k) : chunk.charCodeAt(start + k - t));
    const slice = (a: number, b: number): string => {
      if (b <= t) return tail.slice(a, b);
      if (a >= t) return chunk.slice(start + a - t, start + b - t);
      return tail.slice(a) + chunk.slice(start, start + b - t);
    };
    let from = 0;
    while (len - from > max) {
      let to = from + max;
      const c = at(to - 1);
      if (c >= 0xd800 && c <= 0xdbff && max > 1) to--; // keep a surrogate pair together
      out.push({ text: slice(from, to), final: true, truncated: true });
      from = to;
    }
    this.reportedLen = -1;
    return slice(from, len);
  }
}
