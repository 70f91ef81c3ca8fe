import { clamp, mergeCells, toDimension, type CellStyle, type Glyphs, type StyledLine } from './cells.js';

/**
 * A multi-row line chart rendered as styled text.
 *
 * ## Dot grid
 * Each cell is a grid of dots: 2×4 in unicode mode (one braille character,
 * U+2800 + bit mask), 1×3 in ascii mode (top / middle / bottom of the cell).
 * A width×height chart therefore has W×H dots: W = 2w, H = 4h (unicode) or
 * W = w, H = 3h (ascii).
 *
 * ## Mapping
 * - x: t = (x − x0) / (x1 − x0); dot column = min(W − 1, floor(t × W)).
 *   Points with t outside [0, 1] (outside xDomain) are ignored.
 * - y: t = (y − y0) / (y1 − y0), clamped to [0, 1] (so clipped points draw
 *   at the top/bottom edge); dot row (from the bottom) = round(t × (H − 1)).
 *   So y0 is the bottom dot row and y1 the top dot row.
 * - Points with a non-finite x or y are skipped (the line joins across them).
 *
 * ## Aggregation (many points per dot column)
 * - 'raw' series: a dot column covers the rows from the min to the max of the
 *   points falling in it, so noise shows as a vertical band.
 * - 'smooth' series: a dot column shows the single row of the mean of its
 *   points' y values.
 *
 * ## Connecting
 * Consecutive non-empty dot columns a < b of one series are joined by a
 * straight segment so lines are continuous (8-connected), also for steep
 * drops: if column b's span lies entirely above column a's, the segment runs
 * from the top of a to the bottom of b; entirely below: from the bottom of a to
 * the top of b; overlapping spans only need joining when there are empty
 * columns between them (flat segment through the middle of the overlap).
 * A segment is rasterised column by column: column k gets row
 * y_k = round(interpolated y at k) plus every row up to (not including) y_{k+1},
 * so a steep step is drawn as a vertical run in its left column.
 *
 * ## Cells
 * One style per cell: a cell with any 'smooth' dot shows ONLY the smooth dots
 * (style 'smooth'), so the smooth line cuts visibly through the raw noise band;
 * otherwise a cell with 'raw' dots shows them (style 'raw'). Markers are
 * vertical lines in the cell column containing marker.x, drawn only in cells no
 * series occupies ('target' wins over 'marker' when both fall in one column).
 *
 * Glyphs:
 * - unicode: series → braille; marker '┊', target '│'.
 * - ascii: raw → by the occupied thirds of the cell: top only `'`, middle only
 *   `-`, bottom only `.`, two or three adjacent thirds `|`, top+bottom `:`;
 *   smooth → `*`; marker `:`; target `|`.
 *
 * ## Y domain
 * `yDomain` if given; otherwise, with `clipOutliers` (default true) the 2nd..98th
 * percentile of all finite y values of all series (nearest-rank:
 * sorted[floor(0.02 (n−1))] .. sorted[ceil(0.98 (n−1))], so with ≤ 50 points
 * nothing is clipped), else min..max. A degenerate domain (lo = hi) is widened
 * by 10 % of |lo| (or ±1 around 0) each way; no points at all → [0, 1].
 *
 * Cost: O(points + W + cells): points are binned in one pass, the percentiles
 * use quickselect, each dot column is painted once per series.
 */

export interface ChartPoint {
  x: number;
  y: number;
}

export type SeriesStyle = 'raw' | 'smooth';

export interface ChartSeries {
  points: ReadonlyArray<ChartPoint>;
  style: SeriesStyle;
}

export interface ChartMarker {
  x: number;
  style?: 'marker' | 'target';
}

export interface LineChartOptions {
  width: number;
  height: number;
  series: ReadonlyArray<ChartSeries>;
  xDomain?: [number, number];
  yDomain?: [number, number];
  markers?: ReadonlyArray<ChartMarker>;
  glyphs: Glyphs;
  /** Default true: y range from the 2nd..98th percentile of all points. Ignored when yDomain is given. */
  clipOutliers?: boolean;
}

export const CLIP_LOW_PERCENTILE = 0.02;
export const CLIP_HIGH_PERCENTILE = 0.98;

/** Dots per cell for each glyph set. */
export const CELL_DOTS: Readonly<Record<Glyphs, { x: number; y: number }>> = {
  unicode: { x: 2, y: 4 },
  ascii: { x: 1, y: 3 },
};

/** Braille bit for the dot at (subX, subY-from-top) in a 2×4 cell. */
const BRAILLE_BITS: readonly (readonly number[])[] = [
  [0x01, 0x08],
  [0x02, 0x10],
  [0x04, 0x20],
  [0x40, 0x80],
];

/** ascii raw glyph by mask (bit 0 = top third, bit 1 = middle, bit 2 = bottom). */
const ASCII_RAW = [' ', "'", '-', '|', '.', ':', '|', '|'] as const;
export const ASCII_SMOOTH = '*';
export const MARKER_GLYPHS: Readonly<Record<Glyphs, { marker: string; target: string }>> = {
  unicode: { marker: '┊', target: '│' },
  ascii: { marker: ':', target: '|' },
};

/**
 * Overflow-safe (v − lo) / (hi − lo): halving first keeps the differences of
 * values near ±Number.MAX_VALUE finite. NaN (degenerate span) → 0.5.
 */
export function domainFraction(v: number, lo: number, hi: number): number {
  const t = (v * 0.5 - lo * 0.5) / (hi * 0.5 - lo * 0.5);
  return t === t ? t : 0.5;
}

/** Makes a usable [lo, hi] with lo < hi from anything; undefined/non-finite ends → fallback. */
export function normalizeDomain(lo: number, hi: number, fallback: [number, number] = [0, 1]): [number, number] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return fallback;
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi || !(hi * 0.5 - lo * 0.5 > 0)) {
    const d = Math.abs(lo) * 0.1 || 1;
    let newLo = lo - d;
    let newHi = hi + d;
    if (!Number.isFinite(newLo)) newLo = lo;
    if (!Number.isFinite(newHi)) newHi = hi;
    if (!(newHi * 0.5 - newLo * 0.5 > 0)) return fallback;
    return [newLo, newHi];
  }
  return [lo, hi];
}

/** The x domain a chart of these series uses: `xDomain` when valid, else min..max of finite x. */
export function chartXDomain(series: ReadonlyArray<ChartSeries>, xDomain?: readonly [number, number]): [number, number] {
  if (xDomain !== undefined && Number.isFinite(xDomain[0]) && Number.isFinite(xDomain[1])) {
    return normalizeDomain(xDomain[0], xDomain[1]);
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const p of s.points) {
      const x = p.x;
      const y = p.y;
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  return normalizeDomain(lo, hi);
}

/**
 * The y domain a chart of these series uses (see the module comment): yDomain
 * when valid, else the clipped (default) or full range of all finite points.
 * Only points inside `xDomain` (when given) count.
 */
export function chartYDomain(
  series: ReadonlyArray<ChartSeries>,
  options: { clipOutliers?: boolean; yDomain?: readonly [number, number]; xDomain?: readonly [number, number] } = {},
): [number, number] {
  const yd = options.yDomain;
  if (yd !== undefined && Number.isFinite(yd[0]) && Number.isFinite(yd[1])) return normalizeDomain(yd[0], yd[1]);
  const xd = options.xDomain !== undefined ? chartXDomain(series, options.xDomain) : undefined;
  let n = 0;
  for (const s of series) n += s.points.length;
  const ys = new Float64Array(n);
  n = 0;
  for (const s of series) {
    for (const p of s.points) {
      const x = p.x;
      const y = p.y;
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (xd !== undefined && (x < xd[0] || x > xd[1])) continue;
      ys[n++] = y;
    }
  }
  if (n === 0) return [0, 1];
  const vals = ys.subarray(0, n);
  if (options.clipOutliers === false) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = vals[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return normalizeDomain(lo, hi);
  }
  const lo = quickselect(vals, Math.floor(CLIP_LOW_PERCENTILE * (n - 1)));
  const hi = quickselect(vals, Math.ceil(CLIP_HIGH_PERCENTILE * (n - 1)));
  return normalizeDomain(lo, hi);
}

/** k-th smallest (0-based) of a NaN-free array, in expected O(n); reorders `a`. */
export function quickselect(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  if (hi < 0) return NaN;
  k = clamp(k, 0, hi);
  while (lo < hi) {
    const x = a[lo]!;
    const y = a[(lo + hi) >> 1]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const tmp = a[i]!;
        a[i] = a[j]!;
        a[j] = tmp;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** Fills `lo/hi` (dot rows from the bottom) of the columns a..b with the segment (a, ya)–(b, yb). */
function drawSegment(lo: Int32Array, hi: Int32Array, a: number, ya: number, b: number, yb: number): void {
  const n = b - a;
  let yk = ya;
  for (let k = a; k <= b; k++) {
    let from = yk;
    let to = yk;
    let yNext = yk;
    if (k < b) {
      yNext = k + 1 === b ? yb : Math.round(ya + ((yb - ya) * (k + 1 - a)) / n);
      if (yNext > yk + 1) to = yNext - 1;
      else if (yNext < yk - 1) from = yNext + 1;
    }
    if (from < lo[k]!) lo[k] = from;
    if (to > hi[k]!) hi[k] = to;
    yk = yNext;
  }
}

/** Rasterises one series into per-dot-column spans and paints them into `mask`. */
function paintSeries(
  s: ChartSeries,
  mask: Uint8Array,
  dims: { w: number; W: number; H: number; cw: number; ch: number; x0: number; x1: number; y0: number; y1: number; ascii: boolean },
): void {
  const { w, W, H, cw, ch, x0, x1, y0, y1, ascii } = dims;
  const dataLo = new Int32Array(W).fill(H);
  const dataHi = new Int32Array(W).fill(-1);
  const smooth = s.style === 'smooth';
  const sum = smooth ? new Float64Array(W) : undefined;
  const count = smooth ? new Uint32Array(W) : undefined;
  const top = H - 1;
  for (const p of s.points) {
    const x = p.x;
    const y = p.y;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const tx = domainFraction(x, x0, x1);
    if (!(tx >= 0 && tx <= 1)) continue;
    const col = Math.min(W - 1, Math.floor(tx * W));
    const ty = domainFraction(y, y0, y1);
    if (sum !== undefined && count !== undefined) {
      sum[col]! += clamp(ty, -1e6, 1e6);
      count[col]!++;
    } else {
      const row = Math.round(clamp(ty, 0, 1) * top);
      if (row < dataLo[col]!) dataLo[col] = row;
      if (row > dataHi[col]!) dataHi[col] = row;
    }
  }
  if (sum !== undefined && count !== undefined) {
    for (let c = 0; c < W; c++) {
      const k = count[c]!;
      if (k === 0) continue;
      const row = Math.round(clamp(sum[c]! / k, 0, 1) * top);
      dataLo[c] = row;
      dataHi[c] = row;
    }
  }

  const lo = dataLo.slice();
  const hi = dataHi.slice();
  let prev = -1;
  for (let c = 0; c < W; c++) {
    if (dataLo[c]! > dataHi[c]!) continue;
    if (prev >= 0) {
      const la = dataLo[prev]!;
      const ha = dataHi[prev]!;
      const lb = dataLo[c]!;
      const hb = dataHi[c]!;
      if (lb > ha) drawSegment(lo, hi, prev, ha, c, lb);
      else if (hb < la) drawSegment(lo, hi, prev, la, c, hb);
      else if (c > prev + 1) {
        const y = Math.round((Math.max(la, lb) + Math.min(ha, hb)) / 2);
        drawSegment(lo, hi, prev, y, c, y);
      }
    }
    prev = c;
  }

  for (let c = 0; c < W; c++) {
    const from = lo[c]!;
    const to = hi[c]!;
    if (from > to) continue;
    const cellCol = (c / cw) | 0;
    const subX = c - cellCol * cw;
    for (let r = from; r <= to; r++) {
      const fromTop = top - r;
      const cellRow = (fromTop / ch) | 0;
      const subY = fromTop - cellRow * ch;
      const bit = ascii ? 1 << subY : BRAILLE_BITS[subY]![subX]!;
      mask[cellRow * w + cellCol]! |= bit;
    }
  }
}

/** Renders the chart: exactly `height` lines of exactly `width` columns (width 0 → empty lines). */
export function renderLineChart(options: LineChartOptions): StyledLine[] {
  const w = toDimension(options.width);
  const h = toDimension(options.height);
  if (h === 0) return [];
  if (w === 0) return Array.from({ length: h }, () => []);
  const ascii = options.glyphs === 'ascii';
  const dots = CELL_DOTS[ascii ? 'ascii' : 'unicode'];
  const cw = dots.x;
  const ch = dots.y;
  const W = w * cw;
  const H = h * ch;
  const series = options.series ?? [];
  const [x0, x1] = chartXDomain(series, options.xDomain);
  const yDomainOptions: { clipOutliers?: boolean; yDomain?: [number, number]; xDomain: [number, number] } = { xDomain: [x0, x1] };
  if (options.clipOutliers !== undefined) yDomainOptions.clipOutliers = options.clipOutliers;
  if (options.yDomain !== undefined) yDomainOptions.yDomain = options.yDomain;
  const [y0, y1] = chartYDomain(series, yDomainOptions);

  const rawMask = new Uint8Array(w * h);
  const smoothMask = new Uint8Array(w * h);
  const dims = { w, W, H, cw, ch, x0, x1, y0, y1, ascii };
  for (const s of series) {
    if (s === undefined || s === null || s.points === undefined) continue;
    paintSeries(s, s.style === 'smooth' ? smoothMask : rawMask, dims);
  }

  // Marker column styles: 0 none, 1 marker, 2 target.
  const markerCols = new Uint8Array(w);
  for (const m of options.markers ?? []) {
    if (!Number.isFinite(m.x)) continue;
    const t = domainFraction(m.x, x0, x1);
    if (!(t >= 0 && t <= 1)) continue;
    const col = Math.floor(Math.min(W - 1, Math.floor(t * W)) / cw);
    const kind = m.style === 'target' ? 2 : 1;
    if (kind > markerCols[col]!) markerCols[col] = kind;
  }
  const markerGlyphs = MARKER_GLYPHS[ascii ? 'ascii' : 'unicode'];

  const lines: StyledLine[] = [];
  const chars = new Array<string>(w);
  const styles = new Array<CellStyle>(w);
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) {
      const i = row * w + col;
      const sm = smoothMask[i]!;
      const rm = rawMask[i]!;
      if (sm !== 0) {
        chars[col] = ascii ? ASCII_SMOOTH : String.fromCharCode(0x2800 + sm);
        styles[col] = 'smooth';
      } else if (rm !== 0) {
        chars[col] = ascii ? (ASCII_RAW[rm & 7] ?? '|') : String.fromCharCode(0x2800 + rm);
        styles[col] = 'raw';
      } else {
        const mk = markerCols[col]!;
        if (mk === 2) {
          chars[col] = markerGlyphs.target;
          styles[col] = 'target';
        } else if (mk === 1) {
          chars[col] = markerGlyphs.marker;
          styles[col] = 'marker';
        } else {
          chars[col] = ' ';
          styles[col] = null;
        }
      }
    }
    lines.push(mergeCells(chars, styles));
  }
  return lines;
}
