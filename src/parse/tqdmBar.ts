import type { RateUnit, TqdmBar, TqdmCounter } from './events.js';
import { readIntervalAt, scanEnd } from './timeFields.js';

/**
 * Reads one tqdm state (one `\r`/`\n` segment) into its fields, or returns null.
 *
 * Layout: `{desc}: {pct:3.0f}%|{bar}| {n}/{total} [{elapsed}<{remaining}, {rate}, {postfix}]`.
 * Tolerates a 0- or 1-cell bar, ASCII or unicode cells, two spaces after the comma, hours over 99,
 * a postfix cut at the terminal width (no `]`), and text glued after the `]`.
 * Written as an anchored scan from the `%|` marker so that long garbage lines cost linear time.
 */

// A counter with no total: `Downloading: 12.0MB [00:03, 4.01MB/s]` or `0.00B [00:00, ?B/s]`.
const COUNTER = /^(?:(.*?): )?\s*(\d+(?:\.\d+)?\s?[kMGTPE]?(?:B|it)?)\s*\[(\d+(?::\d{1,2}){0,2}),\s*(?:\?|\d+(?:\.\d+)?)\s?[kMGTPE]?(?:B|it)\/s\]/;

// A value exactly as ai-toolkit prints it (`%.1e`, `%.3e`), or a plain number, nan, inf.
const COMPLETE_VALUE = /^(?:[-+]?\d+(?:\.\d+)?(?:e[-+]\d+)?|[-+]?nan|[-+]?inf)$/i;
const EXPONENT_VALUE = /^(?:[-+]?\d\.\d+e[-+]\d{2,}|[-+]?nan|[-+]?inf)$/i;

const MAX_BAR_SCAN = 8192;

export function parseTqdmBar(segment: string): TqdmBar | null {
  const marker = segment.indexOf('%|');
  if (marker < 1 || marker > MAX_BAR_SCAN) return null;

  // Walk back over the percentage (1–3 digits), then the padding before it.
  let pctStart = marker;
  let percent = 0;
  let scale = 1;
  while (pctStart > 0 && marker - pctStart < 3 && isDigit(segment.charCodeAt(pctStart - 1))) {
    pctStart--;
    percent += (segment.charCodeAt(pctStart) - 48) * scale;
    scale *= 10;
  }
  if (pctStart === marker) return null;
  let head = pctStart;
  while (head > 0 && segment.charCodeAt(head - 1) === 32) head--;

  let desc: string | null = null;
  if (head > 0) {
    // A desc is separated from the percentage by `: ` (tqdm adds it); `x12%` is not a bar.
    if (segment.charCodeAt(head - 1) !== 58 /* : */) return null;
    const raw = segment.slice(0, head - 1).trim();
    desc = raw.length > 0 ? raw : null;
  }

  // The bar cells, then ` n/total [elapsed<remaining, rate unit, postfix]`, read by hand: this
  // runs for every bar state of a 50 MB log.
  const barEnd = segment.indexOf('|', marker + 2);
  if (barEnd < 0 || barEnd - marker - 2 > 400) return null;
  let i = skipSpaces(segment, barEnd + 1);
  const n = readIntAt(segment, i);
  if (n < 0 || segment.charCodeAt(intEnd) !== 47 /* / */) return null;
  const total = readIntAt(segment, intEnd + 1);
  if (total < 0) return null;
  i = skipSpaces(segment, intEnd);
  if (segment.charCodeAt(i) !== 91 /* [ */) return null;
  const elapsedS = readIntervalAt(segment, i + 1);
  if (elapsedS < 0 || segment.charCodeAt(scanEnd) !== 60 /* < */) return null;
  i = scanEnd + 1;
  let remainingS: number | null = null;
  if (segment.charCodeAt(i) === 63 /* ? */) {
    i++;
  } else {
    remainingS = readIntervalAt(segment, i);
    if (remainingS < 0) return null;
    i = scanEnd;
  }
  if (segment.charCodeAt(i) !== 44 /* , */) return null;
  i = skipSpaces(segment, i + 1);
  let rate: number | null = null;
  if (segment.charCodeAt(i) === 63 /* ? */) {
    i++;
  } else {
    const rateStart = i;
    while (isDigit(segment.charCodeAt(i))) i++;
    if (i === rateStart) return null;
    if (segment.charCodeAt(i) === 46 /* . */) {
      const fraction = ++i;
      while (isDigit(segment.charCodeAt(i))) i++;
      if (i === fraction) return null;
    }
    rate = Number(segment.slice(rateStart, i));
  }
  let unit: RateUnit;
  if (segment.startsWith('it/s', i)) unit = 'it/s';
  else if (segment.startsWith('s/it', i)) unit = 's/it';
  else return null;
  i += 4;

  let postfix: Record<string, string> = {};
  let terminated = false;
  let after = i;
  if (segment.charCodeAt(i) === 44 /* , */) {
    const close = segment.indexOf(']', i);
    terminated = close >= 0;
    const postEnd = terminated ? close : segment.length;
    postfix = parsePostfix(segment.slice(skipSpaces(segment, i + 1), postEnd), terminated);
    after = terminated ? close + 1 : segment.length;
  } else if (segment.charCodeAt(i) === 93 /* ] */) {
    terminated = true;
    after = i + 1;
  }

  // A count or a time no run can reach is a corrupted line, not a bar: nothing downstream should
  // have to guard against steps past 2^53 or an Infinity rate.
  if (!Number.isSafeInteger(n) || (total !== null && !Number.isSafeInteger(total))) return null;
  if (!saneNumber(elapsedS) || !saneNumber(remainingS) || !saneNumber(rate)) return null;
  return {
    desc,
    n,
    total,
    percent,
    elapsedS,
    remainingS,
    rate,
    unit,
    postfix,
    trailing: terminated ? segment.slice(after) : '',
  };
}

/**
 * `lr: 1.0e-04 loss: 4.123e-01` → `{lr: '1.0e-04', loss: '4.123e-01'}`. Keys are any run of
 * non-space characters before `: `. When the postfix was cut off (no `]`), the last value is kept
 * only when it is visibly whole, so `loss: 4.123e` never reads as 4.123.
 */
export function parsePostfix(text: string, terminated: boolean): Record<string, string> {
  const pairs: Record<string, string> = {};
  let lastKey: string | null = null;
  let i = 0;
  const end = text.length;
  while (i < end) {
    // A key runs to the first `: ` within its word.
    const colon = text.indexOf(': ', i);
    if (colon < 0) break;
    const space = text.lastIndexOf(' ', colon - 1);
    const keyStart = space >= i ? space + 1 : i;
    let v = colon + 2;
    while (v < end && text.charCodeAt(v) === 32) v++;
    if (v >= end || colon === keyStart) break;
    let valueEnd = text.indexOf(' ', v);
    if (valueEnd < 0) valueEnd = end;
    const key = text.slice(keyStart, colon);
    pairs[key] = text.slice(v, valueEnd);
    lastKey = valueEnd === end ? key : null;
    i = valueEnd + 1;
  }
  // A value at the very end of a postfix that was cut at the terminal's edge may be partial.
  if (!terminated && lastKey !== null && !EXPONENT_VALUE.test(pairs[lastKey]!)) delete pairs[lastKey];
  return pairs;
}

export function parseTqdmCounter(segment: string): TqdmCounter | null {
  if (!segment.includes('/s]')) return null;
  const match = COUNTER.exec(segment.slice(0, MAX_BAR_SCAN).trimStart());
  if (!match) return null;
  const desc = match[1]?.trim();
  return { desc: desc ? desc : null, text: match[2]! };
}

/** A postfix value as a number: `9.2e-05` → 0.000092, `nan` → NaN; null when it is not numeric. */
export function postfixNumber(value: string | undefined): number | null {
  if (value === undefined || value.length === 0) return null;
  // Every ai-toolkit value ends in a digit: the common case needs no pattern.
  if (isDigit(value.charCodeAt(value.length - 1)) && isDigitOrSign(value.charCodeAt(0))) {
    const number = Number(value);
    if (!Number.isNaN(number)) return number;
  }
  if (!COMPLETE_VALUE.test(value)) return null;
  if (isDigit(value.charCodeAt(value.length - 1))) return Number(value);
  return /nan$/i.test(value) ? NaN : value.startsWith('-') ? -Infinity : Infinity;
}

/** null, or a finite number of a size a real bar prints. */
function saneNumber(value: number | null): boolean {
  return value === null || (Number.isFinite(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER);
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isDigitOrSign(code: number): boolean {
  return isDigit(code) || code === 45 /* - */ || code === 43 /* + */ || code === 46 /* . */;
}

function skipSpaces(text: string, i: number): number {
  while (text.charCodeAt(i) === 32) i++;
  return i;
}

/** Where the last successful `readIntAt` stopped (a module cursor: no allocation per call). */
let intEnd = 0;

/** A run of up to 15 digits at `start`, or -1; the end goes to `intEnd`. */
function readIntAt(text: string, start: number): number {
  let value = 0;
  let i = start;
  while (i < text.length && isDigit(text.charCodeAt(i))) value = value * 10 + (text.charCodeAt(i++) - 48);
  if (i === start || i - start > 15) return -1;
  intEnd = i;
  return value;
}
