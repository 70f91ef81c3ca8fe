import { LineBuilder, toDimension, type Glyphs, type StyledLine } from './cells.js';
import { CELL_DOTS, domainFraction } from './lineChart.js';

/**
 * Short number for a y-axis label.
 * - 0 → '0' (or fixed like the others when a span is given); non-finite → 'NaN' / 'inf' / '-inf'.
 * - |v| < 0.01 or |v| ≥ 1e6 → one-decimal exponent without '+': '1.2e-3', '3.4e6'.
 * - otherwise fixed with decimals = clamp(2 − floor(log10(span)), 0, 4) where
 *   span is the axis range (so labels of one axis can be told apart):
 *   span 0.4 → '0.412', span 3 → '1.23', span 500 → '123'.
 */
export function formatAxisValue(value: number, span = Math.abs(value)): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0 && !(span > 0 && Number.isFinite(span))) return '0';
  const abs = Math.abs(value);
  if (value !== 0 && (abs < 0.01 || abs >= 1e6)) return value.toExponential(1).replace('e+', 'e');
  const s = span > 0 && Number.isFinite(span) ? span : abs;
  const decimals = Math.max(0, Math.min(4, 2 - Math.floor(Math.log10(s))));
  const out = value.toFixed(decimals);
  return /^-0(\.0*)?$/.test(out) ? out.slice(1) : out;
}

/**
 * Step label for the x axis. Integers print plainly ('0', '1000', '3000');
 * with `short`, |v| ≥ 1000 becomes '2k', '2.5k', '1.25M'. Non-integers use
 * {@link formatAxisValue}; |v| ≥ 1e9 always uses the exponent form.
 */
export function formatStep(value: number, short = false, span = Math.abs(value)): string {
  if (!Number.isFinite(value)) return formatAxisValue(value);
  const abs = Math.abs(value);
  if (abs >= 1e9) return formatAxisValue(value);
  if (short && abs >= 1000) {
    const [div, suffix] = abs >= 1e6 ? [1e6, 'M'] : [1e3, 'k'];
    const out = (value / div).toFixed(2).replace(/\.?0+$/, '');
    return out + suffix;
  }
  if (Number.isInteger(value)) return String(value);
  return formatAxisValue(value, span);
}

export interface YAxis {
  /** One line per chart row, each exactly `width` columns: right-aligned label + axis char. */
  lines: StyledLine[];
  /** Total width including the axis character (0 when height is 0). */
  width: number;
}

/**
 * The y-axis column for a chart of `height` rows over `yDomain` (same dot
 * mapping as renderLineChart). Labelled rows: top (value y1), bottom (y0) and
 * n − 1 evenly spaced rows between, n = max(1, round((height − 1) / 4)), at
 * row round(i × (height − 1) / n); an inner row's value is that of its centre
 * dot. The axis char is '┤' on labelled rows and '│' elsewhere ('+' / '|' in
 * ascii). Labels are style 'label', the axis char style 'axis'.
 */
export function renderYAxis(options: { height: number; yDomain: readonly [number, number]; glyphs: Glyphs }): YAxis {
  const h = toDimension(options.height);
  if (h === 0) return { lines: [], width: 0 };
  const ascii = options.glyphs === 'ascii';
  const [y0, y1] = options.yDomain;
  const ch = CELL_DOTS[ascii ? 'ascii' : 'unicode'].y;
  const H = h * ch;
  const span = y1 - y0;
  const labels = new Map<number, string>();
  const n = h === 1 ? 0 : Math.max(1, Math.round((h - 1) / 4));
  if (h === 1) labels.set(0, formatAxisValue(y1, span));
  for (let i = 0; i <= n; i++) {
    const row = n === 0 ? 0 : Math.round((i * (h - 1)) / n);
    let v: number;
    if (row === 0) v = y1;
    else if (row === h - 1) v = y0;
    else {
      const fromBottom = H - 1 - (row * ch + (ch - 1) / 2);
      const f = fromBottom / (H - 1);
      v = y0 * (1 - f) + y1 * f;
    }
    if (!labels.has(row)) labels.set(row, formatAxisValue(v, span));
  }
  let labelWidth = 0;
  for (const s of labels.values()) labelWidth = Math.max(labelWidth, s.length);
  const width = labelWidth + 1;
  const tick = ascii ? '+' : '┤';
  const bar = ascii ? '|' : '│';
  const lines: StyledLine[] = [];
  for (let row = 0; row < h; row++) {
    const label = labels.get(row);
    const b = new LineBuilder(width);
    if (label !== undefined) {
      b.write(labelWidth - label.length, label, 'label');
      b.set(labelWidth, tick, 'axis');
    } else b.set(labelWidth, bar, 'axis');
    lines.push(b.toLine());
  }
  return { lines, width };
}

/**
 * The x-axis label row (exactly `width` columns, labels style 'label').
 * Ticks are x0, x1 and the multiples of a "nice" step (1, 2 or 5 × 10^k; at
 * least 1 when both domain ends are integers) in between, aiming at one label
 * per ~8 columns; a tick
 * sits in the column renderLineChart uses for that x (floor(t × width)).
 * Each label is centred on its tick column (left-biased for even lengths) and
 * shifted to stay inside the row, so x0's label starts at the left edge and
 * x1's ends at the right edge. Placement priority: last, first, then left to right;
 * a label that would touch or overlap a placed one is dropped. Plain integers
 * are tried first ('1000'); if that drops a label, the short form ('1k') is
 * used when it places more labels.
 */
export function renderXAxis(options: { width: number; xDomain: readonly [number, number]; glyphs: Glyphs }): StyledLine {
  const w = toDimension(options.width);
  if (w === 0) return [];
  const [x0, x1] = options.xDomain;
  const ticks = niceTicks(x0, x1, Math.max(1, Math.floor(w / 8)));
  // Always label the domain ends.
  if (Number.isFinite(x0) && Number.isFinite(x1) && x1 > x0) {
    if (ticks[0] !== x0) ticks.unshift(x0);
    if (ticks[ticks.length - 1] !== x1) ticks.push(x1);
  }
  const span = x1 - x0;
  const place = (short: boolean): { line: LineBuilder; placed: number } => {
    const line = new LineBuilder(w);
    const taken = new Uint8Array(w);
    const order: number[] = [];
    if (ticks.length > 0) order.push(ticks.length - 1);
    if (ticks.length > 1) order.push(0);
    for (let i = 1; i < ticks.length - 1; i++) order.push(i);
    let placed = 0;
    for (const i of order) {
      const v = ticks[i]!;
      const text = formatStep(v, short, span).slice(0, w);
      const len = text.length;
      const col = Math.min(w - 1, Math.max(0, Math.floor(domainFraction(v, x0, x1) * w)));
      const start = Math.max(0, Math.min(w - len, col - Math.floor((len - 1) / 2)));
      let free = true;
      for (let c = start - 1; c <= start + len && free; c++) if (c >= 0 && c < w && taken[c] === 1) free = false;
      if (!free) continue;
      taken.fill(1, start, start + len);
      line.write(start, text, 'label');
      placed++;
    }
    return { line, placed };
  };
  const long = place(false);
  if (long.placed === ticks.length) return long.line.toLine();
  const short = place(true);
  return (short.placed > long.placed ? short : long).line.toLine();
}

/** Multiples of a nice step inside [x0, x1] (at most ~target + 1 values, never more than 1000). */
export function niceTicks(x0: number, x1: number, target: number): number[] {
  if (!Number.isFinite(x0) || !Number.isFinite(x1) || x1 < x0) return [];
  const span = x1 * 0.5 - x0 * 0.5;
  if (!(span > 0)) return [x0];
  const raw = (span * 2) / Math.max(1, target);
  if (!Number.isFinite(raw) || raw <= 0) return [x0, x1];
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  let step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  if (Number.isInteger(x0) && Number.isInteger(x1) && step < 1) step = 1;
  if (!(step > 0) || !Number.isFinite(step)) return [x0, x1];
  const first = Math.ceil(x0 / step - 1e-9);
  const last = Math.floor(x1 / step + 1e-9);
  // Past 2^53 `k++` no longer moves k: the loop below would never end (a domain of huge values).
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last - first > 1000) return [x0, x1];
  const out: number[] = [];
  for (let k = first; k <= last; k++) {
    // Round away float noise (0.30000000000000004 → 0.3).
    const v = Number((k * step).toPrecision(12));
    out.push(v);
  }
  return out.length > 0 ? out : [x0, x1];
}

