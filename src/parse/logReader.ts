import { MAX_RECENT_LINES, type LogEvent, type StampedEvent } from './events.js';
import { LogParser } from './logParser.js';
import { SegmentSplitter } from './segmentSplitter.js';
import { stripControlSequences } from './sanitize.js';
import { BarStateScan, NEEDS_DESC, PACK_FULL, PACKED, type SegmentRecord } from './barStateScan.js';

type LineEvent = Extract<LogEvent, { type: 'line' }>;
/** How many raw lines a read-back batch keeps for the log view (bars collapse, so more than shown). */
const RING = 4 * MAX_RECENT_LINES;

/** The byte path hands an unterminated line on to the text path once it is this long. */
const LONG_PENDING_BYTES = 256 * 1024;

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
 * Where the first segment of `data` ends: after its first LF, or after its first CR (and the LF
 * that follows it); -1 when there is none, or the CR is the last byte (a LF may still follow).
 */
function firstSegmentEnd(data: Buffer): number {
  const cr = data.indexOf(13);
  if (cr < 0) {
    const lf = data.indexOf(10);
    return lf < 0 ? -1 : lf + 1;
  }
  const lf = data.subarray(0, cr).indexOf(10);
  if (lf >= 0) return lf + 1;
  if (cr + 1 >= data.length) return -1;
  return data[cr + 1] === 10 ? cr + 2 : cr + 1;
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
  /** Read plain training-bar states back from bytes by the fast path (false: every line decoded and read the general way, for tests). */
  private readonly fast: boolean;
  /** The byte scan of a piece (WebAssembly), and the record it reads each segment's place into. */
  private readonly scan = new BarStateScan();
  private readonly segment: SegmentRecord = { start: 0, k: 0, end: 0, lineFeed: false, redrawnKeyEnd: -1 };
  /** The desc of the training states in the scan's pack (its bytes, kept for the next piece). */
  private packDesc: string | null = null;
  private packDescBytes: Buffer | null = null;
  /** The bytes `pushBytes` is reading (the held state's and the lazy ring lines' offsets are into them). */
  private data: Buffer | null = null;
  /** The end of the last bytes pushed: a segment not terminated yet. */
  private pendingBytes: Buffer | null = null;
  private reportedTail: string | null = null;
  /** A backfilled bar state held back until the next segment shows whether it was redrawn. */
  private heldText: string | null = null;
  private heldKey: string | null = null;
  /** While reading back: the newest lines for the log view, in a ring (no object per line). */
  private readonly ringText: Array<string | null> = new Array<string | null>(RING);
  /** A line read by the byte path is decoded only if the ring keeps it: its bytes in `data`. */
  private readonly ringFrom = new Int32Array(RING);
  private readonly ringTo = new Int32Array(RING);
  private readonly ringBar: Array<string | null> = new Array<string | null>(RING);
  private ringNext = 0;
  private ringSize = 0;

  constructor(options: { fastPath?: boolean } = {}) {
    this.fast = options.fastPath !== false;
  }

  /** `live` is false for text read back from a log that was already written. */
  push(text: string, at: number, live = true): StampedEvent[] {
    const out: StampedEvent[] = [];
    if (this.pendingBytes) {
      // Text after bytes (a backfill read as bytes, then followed, the switch at a character's
      // end): what the bytes left unterminated begins this text.
      text = this.pendingBytes.toString('utf8') + text;
      this.pendingBytes = null;
    }
    this.pushText(text, at, live, out);
    this.endBatch(at, live, out);
    return out;
  }

  /**
   * A log read back (a backfill) as its bytes: the terminators are found in the bytes, a plain
   * training-bar state is read straight from them (parse/barStateScan.ts, in WebAssembly), and only the other
   * lines are decoded and read the general way — the same events as `push` of the decoded text,
   * at a fraction of the cost. Bytes after the last terminator wait for the next call (or `end`, or
   * the next `push` of text); `nextByte`, the byte that follows these bytes when it is known (never a
   * LF), makes a CR that ends them a lone one.
   * Each call's end settles what is held (a bar state that a redraw in the next call would have
   * replaced is applied too: the same step, so the same end state), and so does the end of the
   * bytes kept from the last call joined to this call's first segment, read as a piece of its own.
   */
  pushBytes(bytes: Uint8Array, at: number, nextByte = -1): StampedEvent[] {
    const out: StampedEvent[] = [];
    let data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const pending = this.pendingBytes;
    if (pending) {
      this.pendingBytes = null;
      const head = firstSegmentEnd(data);
      if (head < 0 || head === data.length) {
        data = Buffer.concat([pending, data]);
      } else {
        // The bytes kept from the last call and the first segment of these, read on their own:
        // joining the kept bytes to all of these copied every byte of a backfill once more.
        this.nextByte = data[head]!;
        this.readPiece(Buffer.concat([pending, data.subarray(0, head)]), at, out);
        this.nextByte = -1;
        data = data.subarray(head);
      }
    }
    this.nextByte = nextByte;
    this.readPiece(data, at, out);
    this.nextByte = -1;
    return out;
  }

  /** How many bar states a backfill passed over unread, their redraw next to them (for tests and the bench). */
  redrawsPassed = 0;
  /**
   * Before a bar state the byte path takes (or passes over), at `data[start, …)` with its key ending
   * at `keyEnd` (-1: none): a bar state the general path holds is read now, or dropped when this
   * one redraws it — what the general path does on reading this one. (Once the general path held a
   * state, every later one went its way too, until another kind of line came.)
   */
  private settleHeldText(data: Buffer, start: number, keyEnd: number, at: number, out: StampedEvent[]): void {
    if (this.heldText === null || !this.splitter.idle()) return;
    if (keyEnd >= 0 && data.toString('utf8', start, keyEnd) === this.heldKey) {
      this.heldText = null;
      this.heldKey = null;
    } else {
      this.releaseHeld(at, out, false);
    }
  }

  /** Where the segment loop left the bytes it did not read itself (see readSegments). */
  private slowFrom = 0;
  /**
   * The byte that follows the piece being read, when known (-1: not known yet). Only consulted for a
   * CR that ends the piece, which the piece would have taken with its LF: then never a LF.
   */
  private nextByte = -1;

  /** One piece of bytes read as one batch. */
  private readPiece(data: Buffer, at: number, out: StampedEvent[]): void {
    this.data = data;
    const start = this.readSegments(data, at, out);
    if (this.slowFrom < start) this.pushSlow(data, this.slowFrom, start, at, out);
    this.finishBytes(data, start, at, out);
  }

  /**
   * The terminated segments of `data`: plain training-bar states by the fast path, the runs of
   * other segments between them the general way. Returns where the last terminated segment ends;
   * `slowFrom` is where the bytes not read yet begin. A method of its own, with nothing after its
   * loop: V8 compiles the hot loop on the fly (on-stack replacement) and reuses that code on the
   * next call, and code after the loop that had not run then made it bail out on every call.
   */
  private readSegments(data: Buffer, at: number, out: StampedEvent[]): number {
    const scan = this.scan;
    const segment = this.segment;
    this.slowFrom = 0;
    scan.begin(data, this.nextByte >= 0, this.fast, this.packDescBytes);
    while (scan.next() > 0) {
      for (let r = 0; r < scan.count; r++) {
        scan.segment(r, segment);
        const start = segment.start;
        // The very next segment draws this state again at the same step: only that one counts, as on
        // the text path, so this one is passed over unread (ai-toolkit draws each step twice).
        if (segment.redrawnKeyEnd >= 0 && this.fastLaneAt(data, start, segment.redrawnKeyEnd, at, out)) {
          this.splitter.passed(segment.lineFeed);
          this.redrawsPassed++;
          this.slowFrom = segment.end;
          continue;
        }
        if (scan.state(r) && this.fastLaneAt(data, start, scan.keyEnd(r), at, out)) {
          this.takeFast(data, r, start, at, out);
          this.splitter.passed(segment.lineFeed);
          this.slowFrom = segment.end;
        }
      }
    }
    return scan.scanEnd();
  }

  /**
   * Whether the byte path may take (or pass over) the bar state at `data[start, …)`, its key ending
   * at `keyEnd`. What came before it is read first (it may leave a bar state held, or a block open),
   * and what the general path holds is settled; then only between plain lines: a segment the general
   * path has begun, or a config dump or result block it is in, takes this one too.
   */
  private fastLaneAt(data: Buffer, start: number, keyEnd: number, at: number, out: StampedEvent[]): boolean {
    if (this.slowFrom < start) {
      this.pushSlow(data, this.slowFrom, start, at, out);
      this.slowFrom = start;
    }
    this.settleHeldText(data, start, keyEnd, at, out);
    return this.heldText === null && this.splitter.idle() && this.parser.readsBars();
  }

  /** After the terminated segments: a very long unterminated line, and the bytes kept for next time. */
  private finishBytes(data: Buffer, start: number, at: number, out: StampedEvent[]): void {
    const n = data.length;
    if (n - start > LONG_PENDING_BYTES) {
      // A line that goes on and on: the text path takes what there is of it (it caps long segments),
      // cut where a UTF-8 character ends; the rest waits as usual.
      let cut = n;
      while (cut > start && (data[cut - 1]! & 0xc0) === 0x80) cut--;
      if (cut > start && data[cut - 1]! >= 0xc0) cut--;
      // Bytes that are no UTF-8 at all (a run of continuation bytes) are taken whole.
      if (cut <= start + 4) cut = n;
      this.pushText(data.toString('utf8', start, cut), at, false, out);
      start = cut;
    }
    if (start < n) this.pendingBytes = Buffer.from(data.subarray(start));
    this.endBatch(at, false, out);
    this.data = null;
  }

  /** Whole segments the byte path does not read itself: decoded, and read the general way. */
  private pushSlow(data: Buffer, from: number, to: number, at: number, out: StampedEvent[]): void {
    // No settling here: text that makes no segment (the empty run between `\r\r`) must not end a
    // held state's chance to be replaced by its redraw; pushText settles before each segment.
    this.pushText(data.toString('utf8', from, to), at, false, out);
    // They end at a terminator the byte path saw whole: a final CR is a lone one.
    if (data[to - 1] === 13) this.splitter.loneCR();
  }

  private pushText(text: string, at: number, live: boolean, out: StampedEvent[]): void {
    for (const segment of this.splitter.push(text)) {
      // A state the byte path holds comes before this segment, unless this one redraws it (the
      // same key): then, as the text path does, only this one counts.
      if (!live && segment.final && this.data !== null && this.scan.heldFrom() >= 0) {
        const key = barStateKey(segment.text);
        if (key !== null && key === this.heldKeyText()) this.scan.dropHeld();
      }
      this.settleFast(at, out);
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
  }

  private endBatch(at: number, live: boolean, out: StampedEvent[]): void {
    if (!live) {
      // What was read back may be all there is for a while (a finished log): hold nothing over.
      this.settleFast(at, out);
      this.releaseHeld(at, out, live);
      this.flushRing(at, out);
    }
    // The text may end inside the config dump: what it has said so far counts now.
    const partial = this.parser.partialConfig();
    if (partial) out.push(live ? { at, event: partial } : { at, event: partial, live });
  }

  end(at: number): StampedEvent[] {
    const out: StampedEvent[] = [];
    if (this.pendingBytes) {
      // The log's last line, unterminated: read as the text path reads a tail.
      const text = this.pendingBytes.toString('utf8');
      this.pendingBytes = null;
      out.push(...this.push(text, at, false));
    }
    this.settleFast(at, out);
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
    this.packDesc = null;
    this.packDescBytes = null;
    this.pendingBytes = null;
  }

  /**
   * Record `r` of the scan, a plain training-bar state at `data[start, …)`, into the scan's pack: it
   * is held back until the next state shows it was not redrawn at the same step, then packed; the
   * pack goes out as one event before anything else is read.
   */
  private takeFast(data: Buffer, r: number, start: number, at: number, out: StampedEvent[]): void {
    const scan = this.scan;
    let answer = scan.take(r);
    if ((answer & NEEDS_DESC) !== 0) {
      // A state of another bar: what was packed goes out under its own desc first.
      this.settleFast(at, out);
      const descEnd = scan.descEnd(r);
      scan.setDescOf(r);
      this.packDescBytes = Buffer.from(data.subarray(start, descEnd));
      this.packDesc = this.packDescBytes.toString('latin1');
      answer = scan.take(r);
    }
    if ((answer & PACK_FULL) !== 0) {
      this.sendPack(at, out);
      answer = scan.take(r);
    }
    // The general path has seen a bar: a traceback or block it was in is over.
    if ((answer & PACKED) !== 0) this.parser.sawBar();
  }

  /** The held state's key as text (for a segment the text path reads next), or null. */
  private heldKeyText(): string | null {
    const from = this.scan.heldFrom();
    const keyEnd = this.scan.heldKeyEnd();
    if (from < 0 || keyEnd < 0 || this.data === null) return null;
    return this.data.toString('utf8', from, keyEnd);
  }

  /** The pack goes out as one event; the last of its states go into the ring for the log view (decoded only if the ring still holds them at the end of the batch). */
  private sendPack(at: number, out: StampedEvent[]): void {
    if (this.scan.packSize() === 0 || this.packDesc === null) return;
    const { from, to, ...steps } = this.scan.takePack();
    for (let k = Math.max(0, steps.count - RING); k < steps.count; k++) {
      this.ringText[this.ringNext] = null;
      this.ringFrom[this.ringNext] = from[k]!;
      this.ringTo[this.ringNext] = to[k]!;
      this.ringBar[this.ringNext] = this.packDesc;
      this.ringNext = (this.ringNext + 1) % RING;
      if (this.ringSize < RING) this.ringSize++;
    }
    out.push({ at, event: { type: 'trainingSteps', desc: this.packDesc, ...steps }, live: false });
  }

  /** Everything the fast path holds goes out, in order, before any other event. */
  private settleFast(at: number, out: StampedEvent[]): void {
    if (this.data === null) return;
    let packed = this.scan.packHeld();
    if (packed < 0) {
      this.sendPack(at, out);
      packed = this.scan.packHeld();
    }
    if (packed > 0) this.parser.sawBar();
    this.sendPack(at, out);
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
      const line = lineEvent(this.ringText[i] ?? shownPart(this.data!.toString('utf8', this.ringFrom[i], this.ringTo[i])), bar);
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
