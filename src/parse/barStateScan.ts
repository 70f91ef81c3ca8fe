import { wasmBase64 } from './generated/barStateScanWasm.js';
import { decimalAt, postfixNumberAt, type TrainingStateScratch } from './trainingState.js';

/**
 * The backfill's byte scan (wasm/barStateScan.ts, compiled to WebAssembly): a piece of a log read
 * back, split into segments, with a record for each segment that the very next one redraws at the
 * same step (to be passed over unread) or that is a plain training-bar state (read from its bytes).
 * WebAssembly because a fresh process runs it at full speed from its first byte, where the same
 * scan in JavaScript spent most of a 50 MB backfill before V8 had compiled it well. Pure: bytes in,
 * records out (the module's memory is this file's scratch space).
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
}

// A record's slots, as wasm/barStateScan.ts writes them: i32 slots (in 4-byte units), then f64 ones (8-byte units).
const RECORD_I32 = 32;
const RECORD_F64 = 16;
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
const KEY_HASH = 11;
const DESC_HASH = 12;
const RATE_FROM = 13;
const LR_FROM = 14;
const LR_TO = 15;
const LOSS_FROM = 16 + 12; // i32 slots inside the last f64 slot
const LOSS_TO = 16 + 13;
const RATE_TO = 16 + 14;
const N = 8;
const TOTAL = 9;
const ELAPSED = 10;
const RATE = 11;
const LOSS = 12;
const LR = 13;

const UNIT_S_PER_IT = 1;
const RATE_UNKNOWN = 2;
const RATE_BY_CALLER = 4;
const NO_LOSS = 8;
const LOSS_BY_CALLER = 16;
const LR_BY_CALLER = 32;

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

/**
 * A scan of one piece of bytes at a time. `begin` copies the piece in; `next` gives its records a
 * batch at a time; `state` reads a record's training state into a scratch record.
 */
export class BarStateScan {
  private readonly wasm = scanModule();
  private i32 = new Int32Array(this.wasm.memory.buffer);
  private f64 = new Float64Array(this.wasm.memory.buffer);
  private data: Uint8Array | null = null;
  /** The records' first slot (in i32 units), and how many the last `next` wrote. */
  private base = 0;
  count = 0;
  private lastCrKnown = 0;
  private fast = 1;

  /** A new piece: `lastCrKnown`, the byte after it is known (a CR that ends it is a lone one); `fast` false: segment ends only. */
  begin(data: Uint8Array, lastCrKnown: boolean, fast: boolean): void {
    const wasm = this.wasm;
    const records = wasm.begin(data.length);
    if (records === 0) throw new Error('no memory for the log scan');
    if (this.i32.buffer !== wasm.memory.buffer) {
      this.i32 = new Int32Array(wasm.memory.buffer);
      this.f64 = new Float64Array(wasm.memory.buffer);
    }
    new Uint8Array(wasm.memory.buffer, wasm.inputOffset(), data.length).set(data);
    wasm.sealed();
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

  /**
   * Record `r` of the last batch as a training state, read into `out` (offsets into the piece);
   * false when its segment is not one the fast path takes.
   */
  state(r: number, out: TrainingStateScratch): boolean {
    const s = this.i32;
    const at = this.base + r * RECORD_I32;
    let fast = s[at + FAST]!;
    // A segment passed over is read only when asked.
    if (fast < 0) fast = this.wasm.readAt(s[at + START]!, s[at + K]!, (this.base + r * RECORD_I32) * 4);
    return fast === 1 && this.fields(at, out);
  }

  /** The segment at `start` (its text ending at `k`) of the piece read as a training state (record 0's room is used). */
  readOne(start: number, k: number, out: TrainingStateScratch): boolean {
    return this.wasm.readAt(start, k, this.base * 4) === 1 && this.fields(this.base, out);
  }

  private fields(at: number, out: TrainingStateScratch): boolean {
    const s = this.i32;
    const f = this.f64;
    const data = this.data!;
    const flags = s[at + FLAGS]!;
    const f64At = (at >> 1) + RECORD_F64 / 2;
    let rate: number | null = null;
    if ((flags & RATE_BY_CALLER) !== 0) {
      // Digits that Number() reads from their text (more than 15 of them).
      rate = decimalAt(data, s[at + RATE_FROM]!, s[at + RATE_TO]!);
      if (!(Number.isFinite(rate) && Math.abs(rate) <= MAX_SAFE)) return false;
    } else if ((flags & RATE_UNKNOWN) === 0) {
      rate = f[f64At + RATE - 8]!;
    }
    out.descEnd = s[at + DESC_END]!;
    out.keyEnd = s[at + KEY_END]!;
    out.postfixStart = s[at + POSTFIX_START]!;
    out.postfixEnd = s[at + POSTFIX_END]!;
    out.keyHash = s[at + KEY_HASH]!;
    out.descHash = s[at + DESC_HASH]!;
    out.n = f[f64At + N - 8]!;
    out.total = f[f64At + TOTAL - 8]!;
    out.elapsedS = f[f64At + ELAPSED - 8]!;
    out.rate = rate;
    out.unit = (flags & UNIT_S_PER_IT) !== 0 ? 's/it' : 'it/s';
    out.lr = (flags & LR_BY_CALLER) !== 0 ? postfixNumberAt(data, s[at + LR_FROM]!, s[at + LR_TO]!) : f[f64At + LR - 8]!;
    out.loss = (flags & NO_LOSS) !== 0 ? null : (flags & LOSS_BY_CALLER) !== 0 ? postfixNumberAt(data, s[at + LOSS_FROM]!, s[at + LOSS_TO]!) : f[f64At + LOSS - 8]!;
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
  single.begin(b, true, true);
  return single.readOne(start, end, out);
}
