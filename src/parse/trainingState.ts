import { postfixNumber } from './tqdmBar.js';

/**
 * The fast path for the one line a backfill reads hundreds of thousands of times: a plain state of
 * the training bar, `{desc}: {pct}%|{cells}| {n}/{total} [{elapsed}<{remaining}, {rate}{unit},
 * lr: … loss: …]`. Read straight from the log's bytes into a reused scratch record — no text, no
 * bar object, no postfix record — and only when the line is exactly what the general parser would
 * read the same way: printable ASCII but the bar's cells, nothing after the `]` but spaces, an `lr`
 * key in the postfix, a named bar that is no sample bar. Anything else returns false and goes the
 * general way (parseTqdmBar). Pure.
 */

export interface TrainingStateScratch {
  /** Where the desc ends (the `:`); the desc is the text before it. */
  descEnd: number;
  n: number;
  total: number;
  elapsedS: number;
  /** null: `?`. */
  rate: number | null;
  unit: 'it/s' | 's/it';
  loss: number | null;
  lr: number | null;
  /** The postfix text, from its first key to before the `]`. */
  postfixStart: number;
  postfixEnd: number;
  /**
   * Where the state's key ends: the first ` [` after the `%|` (the text path's barStateKey is the
   * text before it; two states with the same key are one step drawn twice). -1: none.
   */
  keyEnd: number;
}

export function trainingScratch(): TrainingStateScratch {
  return { descEnd: 0, n: 0, total: 0, elapsedS: 0, rate: null, unit: 'it/s', loss: null, lr: null, postfixStart: 0, postfixEnd: 0, keyEnd: -1 };
}

/** The general path's limits: it reads at most this much of a line, and a `%|` only this far in. */
const MAX_CHARS = 16 * 1024;
const MAX_BAR_SCAN = 8192;

function sane(value: number | null): boolean {
  return value === null || (Number.isFinite(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER);
}

/** Numbers a packed training state takes: n, total, elapsed, rate, unit, loss, loss known, lr, lr known. */
export const TRAINING_STEP_FIELDS = 9;

/** Training states packed in one typed array as they are read, handed out as one event's payload. */
export class TrainingStepPack {
  private values = new Float64Array(TRAINING_STEP_FIELDS * 256);
  /** Each state's postfix as its bytes (ASCII), one after the other; `postfixEnds[k]` ends state k's. */
  private postfixBytes = new Uint8Array(64 * 256);
  private postfixEnds = new Int32Array(256);
  count = 0;

  add(state: Pick<TrainingStateScratch, 'n' | 'total' | 'elapsedS' | 'rate' | 'unit' | 'loss' | 'lr'>, bytes: Uint8Array, postfixFrom: number, postfixTo: number): void {
    let at = this.count * TRAINING_STEP_FIELDS;
    if (at + TRAINING_STEP_FIELDS > this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
      const ends = new Int32Array(this.postfixEnds.length * 2);
      ends.set(this.postfixEnds);
      this.postfixEnds = ends;
    }
    const v = this.values;
    v[at++] = state.n;
    v[at++] = state.total;
    v[at++] = state.elapsedS;
    v[at++] = state.rate === null ? NaN : state.rate;
    v[at++] = state.unit === 's/it' ? 1 : 0;
    v[at++] = state.loss === null ? 0 : state.loss;
    v[at++] = state.loss === null ? 0 : 1;
    v[at++] = state.lr === null ? 0 : state.lr;
    v[at] = state.lr === null ? 0 : 1;
    // The postfix's bytes are copied, not made into text: the reducer needs the text of one state a batch.
    const from = this.count === 0 ? 0 : this.postfixEnds[this.count - 1]!;
    const length = postfixTo - postfixFrom;
    if (from + length > this.postfixBytes.length) {
      const grown = new Uint8Array(Math.max(this.postfixBytes.length * 2, from + length));
      grown.set(this.postfixBytes.subarray(0, from));
      this.postfixBytes = grown;
    }
    const out = this.postfixBytes;
    for (let k = 0; k < length; k++) out[from + k] = bytes[postfixFrom + k]!;
    this.postfixEnds[this.count] = from + length;
    this.count++;
  }

  /** What was packed (copies), and an empty pack again. */
  take(): TrainingSteps {
    const count = this.count;
    const bytes = count === 0 ? 0 : this.postfixEnds[count - 1]!;
    const out = {
      count,
      values: this.values.slice(0, count * TRAINING_STEP_FIELDS),
      postfixBytes: this.postfixBytes.slice(0, bytes),
      postfixEnds: this.postfixEnds.slice(0, count),
    };
    this.count = 0;
    return out;
  }
}

/** Packed training states: TRAINING_STEP_FIELDS numbers each, and each one's postfix as ASCII bytes. */
export interface TrainingSteps {
  count: number;
  values: Float64Array;
  postfixBytes: Uint8Array;
  /** Where state k's postfix ends in `postfixBytes` (it begins where state k - 1's ends). */
  postfixEnds: Int32Array;
}

/** The postfix text of packed state `k`. */
export function packedPostfix(steps: Pick<TrainingSteps, 'postfixBytes' | 'postfixEnds'>, k: number): string {
  const from = k === 0 ? 0 : steps.postfixEnds[k - 1]!;
  const to = steps.postfixEnds[k]!;
  const b = steps.postfixBytes;
  return Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1');
}

/** Where the last successful `intervalAt` stopped. */
let byteEnd = 0;

/** A tqdm interval (`SS`, `MM:SS`, `H:MM:SS`) in bytes at `i`, as readIntervalAt reads it; -1 when none. */
function intervalAt(b: Uint8Array, i: number, end: number): number {
  let seconds = 0;
  let part = 0;
  let digits = 0;
  let parts = 1;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      digits++;
      if (parts > 1 && digits > 2) return -1;
    } else if (c === 58 /* : */) {
      if (digits === 0 || parts === 3) return -1;
      seconds = seconds * 60 + part;
      part = 0;
      digits = 0;
      parts++;
    } else {
      break;
    }
  }
  if (digits === 0) return -1;
  byteEnd = i;
  return seconds * 60 + part;
}

/** 1–15 digits at `i` as a number, or -1; the end goes to `byteEnd`. */
function intAt(b: Uint8Array, i: number, end: number): number {
  let value = 0;
  const start = i;
  while (i < end && b[i]! >= 48 && b[i]! <= 57) value = value * 10 + (b[i++]! - 48);
  if (i === start || i - start > 15) return -1;
  byteEnd = i;
  return value;
}

function bytesAre(b: Uint8Array, at: number, end: number, ascii: string): boolean {
  if (at + ascii.length > end) return false;
  for (let k = 0; k < ascii.length; k++) if (b[at + k] !== ascii.charCodeAt(k)) return false;
  return true;
}

/**
 * The same reading as `readTrainingState`, straight from the log's bytes `b[start, end)` (one
 * segment, its terminator excluded), so that the backfill decodes no training-bar state at all.
 * Stricter than the text version: the desc and everything after the bar's cells must be printable
 * ASCII (only the cells may be UTF-8), so that the bytes mean what their characters would. The
 * offsets it leaves in `out` are into `b`.
 */
export function readTrainingStateBytes(b: Buffer, start: number, end: number, out: TrainingStateScratch): boolean {
  const length = end - start;
  if (length > MAX_CHARS || length < 20) return false;
  let marker = -1;
  for (let k = start; k + 1 < end; k++) {
    const c = b[k]!;
    if (c === 37 /* % */ && b[k + 1] === 124 /* | */) {
      marker = k;
      break;
    }
    if (c < 32 || c > 126) return false;
  }
  if (marker <= start || marker - start > MAX_BAR_SCAN) return false;
  let p = marker;
  while (p > start && marker - p < 3 && b[p - 1]! >= 48 && b[p - 1]! <= 57) p--;
  if (p === marker) return false;
  let head = p;
  while (head > start && b[head - 1] === 32) head--;
  if (head < start + 2 || b[head - 1] !== 58 /* : */) return false;
  const descEnd = head - 1;
  if (b[start] === 32 || b[descEnd - 1] === 32) return false;
  if (bytesAre(b, start, end, 'Generating Images') || bytesAre(b, start, end, 'Generating Samples')) return false;

  // The cells: anything but a control character up to the next `|` (bytes of a UTF-8 character are never `|`).
  let barEnd = -1;
  // The key's end (the first ` [` after the `%|`), should the cells hold one.
  let keyEnd = -1;
  for (let k = marker + 2; k < end; k++) {
    const c = b[k]!;
    if (c === 124) {
      barEnd = k;
      break;
    }
    if (c === 32 && keyEnd < 0 && b[k + 1] === 91) keyEnd = k;
    if (c < 32 || c === 127) return false;
    if (c >= 0x80) {
      // Well-formed UTF-8 only (what decodes to the same text whatever bytes it is), and no C1 control.
      const length = utf8Length(b, k, end);
      if (length === 0 || (c === 0xc2 && b[k + 1]! <= 0x9f)) return false;
      k += length - 1;
    }
  }
  if (barEnd < 0 || barEnd - marker - 2 > 400) return false;
  // After the cells every byte is matched below but the postfix's, which is checked on its own.
  let i = barEnd + 1;
  while (b[i] === 32) i++;
  const n = intAt(b, i, end);
  if (n < 0 || b[byteEnd] !== 47 /* / */) return false;
  const total = intAt(b, byteEnd + 1, end);
  if (total < 0) return false;
  i = byteEnd;
  while (i < end && b[i] === 32) i++;
  if (b[i] !== 91 /* [ */) return false;
  // Else the first ` [` is the one before this `[` (nothing between the cells and here can make one).
  if (keyEnd < 0 && b[i - 1] === 32) keyEnd = i - 1;
  const elapsedS = intervalAt(b, i + 1, end);
  if (elapsedS < 0 || b[byteEnd] !== 60 /* < */) return false;
  i = byteEnd + 1;
  let remainingS: number | null = null;
  if (b[i] === 63 /* ? */) {
    i++;
  } else {
    remainingS = intervalAt(b, i, end);
    if (remainingS < 0) return false;
    i = byteEnd;
  }
  if (b[i] !== 44 /* , */) return false;
  i++;
  while (i < end && b[i] === 32) i++;
  let rate: number | null = null;
  if (b[i] === 63 /* ? */) {
    i++;
  } else {
    const rateStart = i;
    while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
    if (i === rateStart) return false;
    if (b[i] === 46 /* . */) {
      const fraction = ++i;
      while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
      if (i === fraction) return false;
    }
    rate = decimalAt(b, rateStart, i);
  }
  let unit: 'it/s' | 's/it';
  if (bytesAre(b, i, end, 'it/s')) unit = 'it/s';
  else if (bytesAre(b, i, end, 's/it')) unit = 's/it';
  else return false;
  i += 4;
  if (b[i] !== 44 /* , */) return false;
  // The `]`, and on the way printable ASCII only (the postfix, after the `,` and its spaces).
  let close = -1;
  for (let k = i; k < end; k++) {
    const c = b[k]!;
    if (c === 93 /* ] */) {
      close = k;
      break;
    }
    if (c < 32 || c > 126) return false;
  }
  if (close < 0) return false;
  for (let k = close + 1; k < end; k++) if (b[k] !== 32) return false;
  let pStart = i + 1;
  while (b[pStart] === 32) pStart++;
  const pEnd = close;

  let lrAt = -1;
  let lrEnd = -1;
  let lossAt = -1;
  let lossEnd = -1;
  let k = pStart;
  while (k < pEnd) {
    let colon = -1;
    for (let j = k; j + 1 < pEnd + 1 && j < pEnd; j++) {
      if (b[j] === 58 && b[j + 1] === 32) {
        colon = j;
        break;
      }
    }
    if (colon < 0 || colon + 1 >= pEnd) break;
    let space = -1;
    for (let j = colon - 1; j >= k; j--) {
      if (b[j] === 32) {
        space = j;
        break;
      }
    }
    const keyStart = space >= k ? space + 1 : k;
    let v = colon + 2;
    while (v < pEnd && b[v] === 32) v++;
    if (v >= pEnd || colon === keyStart) break;
    let valueEnd = v;
    while (valueEnd < pEnd && b[valueEnd] !== 32) valueEnd++;
    const keyLength = colon - keyStart;
    if (keyLength === 2 && b[keyStart] === 108 && b[keyStart + 1] === 114) {
      lrAt = v;
      lrEnd = valueEnd;
    } else if (keyLength === 4 && bytesAre(b, keyStart, colon, 'loss')) {
      lossAt = v;
      lossEnd = valueEnd;
    }
    k = valueEnd + 1;
  }
  if (lrAt < 0) return false;
  if (!sane(elapsedS) || !sane(remainingS) || !sane(rate)) return false;
  out.descEnd = descEnd;
  out.n = n;
  out.total = total;
  out.elapsedS = elapsedS;
  out.rate = rate;
  out.unit = unit;
  out.lr = postfixNumberAt(b, lrAt, lrEnd);
  out.loss = lossAt < 0 ? null : postfixNumberAt(b, lossAt, lossEnd);
  out.postfixStart = pStart;
  out.postfixEnd = pEnd;
  if (keyEnd < 0) {
    for (let j = marker; j + 1 < end; j++) {
      if (b[j] === 32 && b[j + 1] === 91) {
        keyEnd = j;
        break;
      }
    }
  }
  out.keyEnd = keyEnd;
  return true;
}

/** The length of the well-formed UTF-8 sequence at `k` (2 to 4 bytes), or 0 when it is not one. */
function utf8Length(b: Uint8Array, k: number, end: number): number {
  const c = b[k]!;
  if (c >= 0xc2 && c <= 0xdf) return continues(b, k + 1, end, 0x80, 0xbf) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return continues(b, k + 1, end, lo, hi) && continues(b, k + 2, end, 0x80, 0xbf) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return continues(b, k + 1, end, lo, hi) && continues(b, k + 2, end, 0x80, 0xbf) && continues(b, k + 3, end, 0x80, 0xbf) ? 4 : 0;
  }
  return 0;
}

/** A continuation byte in `[lo, hi]` at `j`, before `end`. */
function continues(b: Uint8Array, j: number, end: number, lo: number, hi: number): boolean {
  return j < end && b[j]! >= lo && b[j]! <= hi;
}

/** Exact powers of ten (10^0 … 10^22 are exact doubles). */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * A decimal number in ASCII bytes, exactly as Number() reads its text: digits, a fraction, an
 * exponent. Where at most 15 digits and a power of ten up to 10^22 make the value one correctly
 * rounded division or an exact product (Clinger's fast path), it is computed; anything else is
 * Number() of the text.
 */
export function decimalAt(b: Uint8Array, from: number, to: number): number {
  let i = from;
  let negative = false;
  if (b[i] === 45) {
    negative = true;
    i++;
  } else if (b[i] === 43) {
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let fraction = 0;
  while (i < to && b[i]! >= 48 && b[i]! <= 57) {
    mantissa = mantissa * 10 + (b[i++]! - 48);
    digits++;
  }
  if (i < to && b[i] === 46) {
    i++;
    while (i < to && b[i]! >= 48 && b[i]! <= 57) {
      mantissa = mantissa * 10 + (b[i++]! - 48);
      digits++;
      fraction++;
    }
  }
  let exponent = 0;
  if (i < to && (b[i] === 101 || b[i] === 69)) {
    i++;
    let negativeExponent = false;
    if (b[i] === 45) {
      negativeExponent = true;
      i++;
    } else if (b[i] === 43) {
      i++;
    }
    let exponentDigits = 0;
    while (i < to && b[i]! >= 48 && b[i]! <= 57 && exponentDigits < 4) {
      exponent = exponent * 10 + (b[i++]! - 48);
      exponentDigits++;
    }
    if (exponentDigits === 0) i = -1;
    if (negativeExponent) exponent = -exponent;
  }
  const power = exponent - fraction;
  if (i !== to || digits === 0 || digits > 15 || power < -22 || power > 22) return Number(Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1'));
  let value: number;
  if (power === 0) value = mantissa;
  else if (power < 0) value = mantissa / POW10[-power]!;
  else {
    value = mantissa * POW10[power]!;
    if (value > Number.MAX_SAFE_INTEGER) return Number(Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1'));
  }
  return negative ? -value : value;
}

/** postfixNumber() of the ASCII bytes `b[from, to)`, without making their text in the common case. */
function postfixNumberAt(b: Uint8Array, from: number, to: number): number | null {
  const first = b[from]!;
  const last = b[to - 1]!;
  // The shape postfixNumber reads with Number() at once: a digit last, a digit, sign or point first.
  if (to > from && last >= 48 && last <= 57 && ((first >= 48 && first <= 57) || first === 45 || first === 43 || first === 46)) {
    const value = decimalAt(b, from, to);
    if (!Number.isNaN(value)) return value;
  }
  return postfixNumber(Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1'));
}
