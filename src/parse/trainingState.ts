import { postfixNumber } from './tqdmBar.js';

/**
 * Training-bar states as the backfill's fast path reads them: the scratch record one is read into
 * (by parse/barStateScan.ts, from the log's bytes: `{desc}: {pct}%|{cells}| {n}/{total}
 * [{elapsed}<{remaining}, {rate}{unit}, lr: … loss: …]`, no text, no bar object), the pack that
 * carries many of them as one event, and the number readers for what that scan leaves to
 * Number(). Pure.
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

/** Numbers a packed training state takes: n, total, elapsed, rate, unit, loss, loss known, lr, lr known. */
export const TRAINING_STEP_FIELDS = 9;

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
export function postfixNumberAt(b: Uint8Array, from: number, to: number): number | null {
  const first = b[from]!;
  const last = b[to - 1]!;
  // The shape postfixNumber reads with Number() at once: a digit last, a digit, sign or point first.
  if (to > from && last >= 48 && last <= 57 && ((first >= 48 && first <= 57) || first === 45 || first === 43 || first === 46)) {
    const value = decimalAt(b, from, to);
    if (!Number.isNaN(value)) return value;
  }
  return postfixNumber(Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1'));
}
