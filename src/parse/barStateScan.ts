import { wasmBase64 } from './generated/barStateScanWasm.js';
import { decimalAt, postfixNumberAt, TRAINING_STEP_FIELDS, type TrainingStateScratch, type TrainingSteps } from './trainingState.js';

/**
 * The backfill's byte scan (wasm/barStateScan.ts, compiled to WebAssembly): a piece of a log read
 * back, split into segments, with a record for each segment that the very next one redraws at the
 * same step (to be passed over unread) or that is a plain training-bar state (read from its bytes);
 * and the pack those states go into (held until the next state shows it was not redrawn, as
 * parse/logReader.ts decides). WebAssembly because a fresh process runs it at full speed from its
 * first byte, where the same work in JavaScript took most of a 50 MB backfill before V8 had
 * compiled it well. Pure: bytes in, records and packs out (the module's memory is its scratch
 * space; each piece is read to its end, its pack handed on, before the next piece begins).
 */

/** What this file uses of the WebAssembly API (Node has it; its types come with the DOM library, not used here). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

interface ScanExports {
  memory: { buffer: ArrayBuffer };
  inputOffset(): number;
  begin(length: number): number;
  sealed(): void;
  scan(lastCrKnown: number, fast: number): number;
  scanEnd(): number;
  done(): number;
  readAt(start: number, k: number, record: number): number;
  takeState(record: number): number;
  packHeld(): number;
  setDescOf(record: number): void;
  descOffset(): number;
  setDescLength(length: number): void;
  heldFrom(): number;
  heldKeyEnd(): number;
  dropHeld(): void;
  packSize(): number;
  packValuesOffset(): number;
  packEndsOffset(): number;
  packRingOffset(): number;
  packBytesOffset(): number;
  clearPack(): void;
}

// A record's slots as wasm/barStateScan.ts writes them: i32 slots in 4-byte units, f64 slots in 8-byte units from the record's start.
const RECORD_I32 = 32;
const START = 0;
const K = 1;
const END = 2;
const LINE_FEED = 3;
const REDRAWN_KEY_END = 4;
const FAST = 5;
const DESC_END = 6;
const KEY_END = 7;
const POSTFIX_START = 8;
const POSTFIX_END = 9;
const FLAGS = 10;
const RATE_FROM = 13;
const LR_FROM = 14;
const LR_TO = 15;
const LOSS_FROM = 28;
const LOSS_TO = 29;
const RATE_TO = 30;
const N = 8;
const TOTAL = 9;
const ELAPSED = 10;
const RATE = 11;
const LOSS = 12;
const LR = 13;

// FLAGS bits
const UNIT_S_PER_IT = 1;
const RATE_UNKNOWN = 2;
const RATE_BY_CALLER = 4;
const NO_LOSS = 8;
const LOSS_BY_CALLER = 16;
const LR_BY_CALLER = 32;
const NO_LR = 64;

/** takeState's answer (bits). */
export const NEEDS_DESC = 1;
export const PACK_FULL = 2;
export const PACKED = 4;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

let loaded: ScanExports | null = null;

function scanModule(): ScanExports {
  if (loaded === null) {
    // Compiled at once (V8's baseline compiler; the optimizing one follows in the background).
    const module = new WebAssembly.Module(Buffer.from(wasmBase64, 'base64'));
    loaded = new WebAssembly.Instance(module, {}).exports as unknown as ScanExports;
  }
  return loaded;
}

/** One segment's record: where it is, and what the scan found. */
export interface SegmentRecord {
  start: number;
  /** Where its text ends (its terminator begins). */
  k: number;
  /** After its terminator. */
  end: number;
  lineFeed: boolean;
  /** >= 0: the very next segment draws this bar state again at the same step; its key's end. */
  redrawnKeyEnd: number;
}

/** A pack handed on: the states' numbers and postfixes (TrainingSteps), and where each state's segment is in the piece. */
export interface BarStatePack extends TrainingSteps {
  from: Int32Array;
  to: Int32Array;
}

/**
 * The scan of one piece of bytes at a time: `begin` copies the piece in; `next` gives its records a
 * batch at a time; `state` reads a record as a training state; `take` puts it into the pack.
 */
export class BarStateScan {
  private readonly wasm = scanModule();
  private i32 = new Int32Array(this.wasm.memory.buffer);
  private f64 = new Float64Array(this.wasm.memory.buffer);
  private bytes = new Uint8Array(this.wasm.memory.buffer);
  private data: Uint8Array | null = null;
  /** The records' first slot (in i32 units), and how many the last `next` wrote. */
  private base = 0;
  count = 0;
  private lastCrKnown = 0;
  private fast = 1;

  /**
   * A new piece: `lastCrKnown`, the byte after it is known (a CR that ends it is a lone one); `fast`
   * false: segment ends only; `desc`, the pack's desc from an earlier piece (null: none yet).
   */
  begin(data: Uint8Array, lastCrKnown: boolean, fast: boolean, desc: Uint8Array | null): void {
    const wasm = this.wasm;
    const records = wasm.begin(data.length);
    if (records === 0) throw new Error('no memory for the log scan');
    if (this.i32.buffer !== wasm.memory.buffer) {
      this.i32 = new Int32Array(wasm.memory.buffer);
      this.f64 = new Float64Array(wasm.memory.buffer);
      this.bytes = new Uint8Array(wasm.memory.buffer);
    }
    this.bytes.set(data, wasm.inputOffset());
    wasm.sealed();
    if (desc !== null) {
      this.bytes.set(desc, wasm.descOffset());
      wasm.setDescLength(desc.length);
    }
    this.base = records >> 2;
    this.count = 0;
    this.data = data;
    this.lastCrKnown = lastCrKnown ? 1 : 0;
    this.fast = fast ? 1 : 0;
  }

  /** The next batch of records (`count` of them; 0 when the piece is done). */
  next(): number {
    this.count = this.wasm.done() ? 0 : this.wasm.scan(this.lastCrKnown, this.fast);
    return this.count;
  }

  /** Where the last terminated segment scanned ends (what is after it is unterminated). */
  scanEnd(): number {
    return this.wasm.scanEnd();
  }

  /** Record `r` of the last batch. */
  segment(r: number, out: SegmentRecord): void {
    const s = this.i32;
    const at = this.base + r * RECORD_I32;
    out.start = s[at + START]!;
    out.k = s[at + K]!;
    out.end = s[at + END]!;
    out.lineFeed = s[at + LINE_FEED] === 1;
    out.redrawnKeyEnd = s[at + REDRAWN_KEY_END]!;
  }

  /** Whether record `r` of the last batch is a training state the fast path takes (read now if it was passed over). */
  state(r: number): boolean {
    const s = this.i32;
    const at = this.base + r * RECORD_I32;
    let fast = s[at + FAST]!;
    if (fast < 0) {
      fast = this.wasm.readAt(s[at + START]!, s[at + K]!, at * 4);
      s[at + FAST] = fast;
    }
    return fast === 1 && this.settleNumbers(at);
  }

  /** Record `r`'s key end (a training state read). */
  keyEnd(r: number): number {
    return this.i32[this.base + r * RECORD_I32 + KEY_END]!;
  }

  /** Record `r`'s desc, `[start, descEnd)`. */
  descEnd(r: number): number {
    return this.i32[this.base + r * RECORD_I32 + DESC_END]!;
  }

  /** Record `r` (a training state read) into the pack: 0, PACKED, or NEEDS_DESC / PACK_FULL having done nothing. */
  take(r: number): number {
    return this.wasm.takeState((this.base + r * RECORD_I32) * 4);
  }

  /** Record `r`'s desc is the pack's from now on (the pack was handed on). */
  setDescOf(r: number): void {
    this.wasm.setDescOf((this.base + r * RECORD_I32) * 4);
  }

  /** Packs the held state: 1, 0 when none is held, -1 when the pack is full. */
  packHeld(): number {
    return this.wasm.packHeld();
  }

  /** Where the held state begins in the piece (-1: none), and its key's end. */
  heldFrom(): number {
    return this.wasm.heldFrom();
  }

  heldKeyEnd(): number {
    return this.wasm.heldKeyEnd();
  }

  dropHeld(): void {
    this.wasm.dropHeld();
  }

  packSize(): number {
    return this.wasm.packSize();
  }

  /** The pack's contents (copies), and an empty pack. */
  takePack(): BarStatePack {
    const wasm = this.wasm;
    const count = wasm.packSize();
    const valuesAt = wasm.packValuesOffset() >> 3;
    const endsAt = wasm.packEndsOffset() >> 2;
    const ringAt = wasm.packRingOffset() >> 2;
    const bytesAt = wasm.packBytesOffset();
    const postfixEnds = this.i32.slice(endsAt, endsAt + count);
    const from = new Int32Array(count);
    const to = new Int32Array(count);
    for (let k = 0; k < count; k++) {
      from[k] = this.i32[ringAt + 2 * k]!;
      to[k] = this.i32[ringAt + 2 * k + 1]!;
    }
    const pack = {
      count,
      values: this.f64.slice(valuesAt, valuesAt + count * TRAINING_STEP_FIELDS),
      postfixBytes: this.bytes.slice(bytesAt, bytesAt + (count === 0 ? 0 : postfixEnds[count - 1]!)),
      postfixEnds,
      from,
      to,
    };
    wasm.clearPack();
    return pack;
  }

  /**
   * The numbers the scan left to Number() (digits past what it reads exactly), read here into the
   * record; false when the rate they make is not one the text path takes.
   */
  private settleNumbers(at: number): boolean {
    const s = this.i32;
    let flags = s[at + FLAGS]!;
    if ((flags & (RATE_BY_CALLER | LOSS_BY_CALLER | LR_BY_CALLER)) === 0) return true;
    const data = this.data!;
    const f = this.f64;
    const f64At = at >> 1;
    if ((flags & RATE_BY_CALLER) !== 0) {
      const rate = decimalAt(data, s[at + RATE_FROM]!, s[at + RATE_TO]!);
      if (!(Number.isFinite(rate) && Math.abs(rate) <= MAX_SAFE)) return false;
      f[f64At + RATE] = rate;
    }
    if ((flags & LOSS_BY_CALLER) !== 0) {
      const loss = postfixNumberAt(data, s[at + LOSS_FROM]!, s[at + LOSS_TO]!);
      if (loss === null) flags |= NO_LOSS;
      else f[f64At + LOSS] = loss;
    }
    if ((flags & LR_BY_CALLER) !== 0) {
      const lr = postfixNumberAt(data, s[at + LR_FROM]!, s[at + LR_TO]!);
      if (lr === null) flags |= NO_LR;
      else f[f64At + LR] = lr;
    }
    s[at + FLAGS] = flags & ~(RATE_BY_CALLER | LOSS_BY_CALLER | LR_BY_CALLER);
    return true;
  }

  /** Record 0's room: the segment `[start, k)` of the piece read as a training state (for tests of the reading). */
  readOne(start: number, k: number, out: TrainingStateScratch): boolean {
    const at = this.base;
    if (this.wasm.readAt(start, k, at * 4) !== 1 || !this.settleNumbers(at)) return false;
    const s = this.i32;
    const f = this.f64;
    const flags = s[at + FLAGS]!;
    const f64At = at >> 1;
    out.descEnd = s[at + DESC_END]!;
    out.keyEnd = s[at + KEY_END]!;
    out.postfixStart = s[at + POSTFIX_START]!;
    out.postfixEnd = s[at + POSTFIX_END]!;
    out.n = f[f64At + N]!;
    out.total = f[f64At + TOTAL]!;
    out.elapsedS = f[f64At + ELAPSED]!;
    out.rate = (flags & RATE_UNKNOWN) !== 0 ? null : f[f64At + RATE]!;
    out.unit = (flags & UNIT_S_PER_IT) !== 0 ? 's/it' : 'it/s';
    out.loss = (flags & NO_LOSS) !== 0 ? null : f[f64At + LOSS]!;
    out.lr = (flags & NO_LR) !== 0 ? null : f[f64At + LR]!;
    return true;
  }
}

let single: BarStateScan | null = null;

/**
 * One segment `b[start, end)` (its terminator excluded; the bytes around it as in a real piece)
 * read as a plain training-bar state, as the backfill reads it; the offsets left in `out` are into
 * `b`. For tests of the reading itself: the backfill scans whole pieces.
 */
export function readTrainingStateBytes(b: Uint8Array, start: number, end: number, out: TrainingStateScratch): boolean {
  single ??= new BarStateScan();
  single.begin(b, true, true, null);
  return single.readOne(start, end, out);
}
