import type { RateUnit, TqdmBar, TqdmCounter } from './events.js';
import { parseInterval } from './timeFields.js';

/**
 * Reads one tqdm state (one `\r`/`\n` segment) into its fields, or returns null.
 *
 * Layout: `{desc}: {pct:3.0f}%|{bar}| {n}/{total} [{elapsed}<{remaining}, {rate}, {postfix}]`.
 * Tolerates a 0- or 1-cell bar, ASCII or unicode cells, two spaces after the comma, hours over 99,
 * a postfix cut at the terminal width (no `]`), and text glued after the `]`.
 * Written as an anchored scan from the `%|` marker so that long garbage lines cost linear time.
 */

// What follows the `%|` marker: the bar cells, `|`, then counts, times, rate and the postfix.
const AFTER_MARKER =
  /^([^|]{0,400})\|\s*(\d+)\/(\d+)\s*\[(\d+(?::\d{1,2}){0,2})<(\d+(?::\d{1,2}){0,2}|\?),\s*(\d+(?:\.\d+)?|\?)(it\/s|s\/it)(?:,\s*([^\]]*))?(\])?/;

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
  while (pctStart > 0 && marker - pctStart < 3 && isDigit(segment.charCodeAt(pctStart - 1))) pctStart--;
  if (pctStart === marker) return null;
  let head = pctStart;
  while (head > 0 && segment.charCodeAt(head - 1) === 32) head--;

  let desc: string | null = null;
  if (head > 0) {
    // A desc is separated from the percentage by `: ` (tqdm adds it); anything else is not a bar.
    if (segment.charCodeAt(head - 1) !== 58 /* : */) {
      // `desc:  12%` leaves the colon just before the padding; `x12%` is not a bar.
      return null;
    }
    const raw = segment.slice(0, head - 1).trim();
    desc = raw.length > 0 ? raw : null;
  }

  const rest = AFTER_MARKER.exec(segment.slice(marker + 2, marker + 2 + MAX_BAR_SCAN));
  if (!rest) return null;
  const [whole, , nText, totalText, elText, etaText, rateText, unitText, postText, closing] = rest;
  const elapsedS = parseInterval(elText!);
  if (elapsedS === null) return null;
  const remainingS = etaText === '?' ? null : parseInterval(etaText!);

  const terminated = closing === ']';
  const postfix = postText !== undefined ? parsePostfix(postText, terminated) : {};
  const trailing = terminated ? segment.slice(marker + 2 + whole.length) : '';

  return {
    desc,
    n: Number(nText),
    total: Number(totalText),
    percent: Number(segment.slice(pctStart, marker)),
    elapsedS,
    remainingS,
    rate: rateText === '?' ? null : Number(rateText),
    unit: unitText as RateUnit,
    postfix,
    trailing,
  };
}

/**
 * `lr: 1.0e-04 loss: 4.123e-01` → `{lr: '1.0e-04', loss: '4.123e-01'}`. Keys are any run of
 * non-space characters before `: `. When the postfix was cut off (no `]`), the last value is kept
 * only when it is visibly whole, so `loss: 4.123e` never reads as 4.123.
 */
export function parsePostfix(text: string, terminated: boolean): Record<string, string> {
  const pairs: Record<string, string> = {};
  const re = /(\S+?):\s+(\S+)/g;
  let match: RegExpExecArray | null;
  const found: Array<[string, string, number]> = [];
  while ((match = re.exec(text)) !== null) found.push([match[1]!, match[2]!, re.lastIndex]);
  found.forEach(([key, value, end], i) => {
    const cutOff = !terminated && i === found.length - 1 && end === text.trimEnd().length;
    if (cutOff && !EXPONENT_VALUE.test(value)) return;
    pairs[key] = value;
  });
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
  if (value === undefined) return null;
  if (!COMPLETE_VALUE.test(value)) return null;
  return Number(value.replace(/^([-+]?)inf$/i, '$1Infinity').replace(/^[-+]?nan$/i, 'NaN'));
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}
