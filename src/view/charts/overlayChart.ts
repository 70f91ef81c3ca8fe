import { chartXDomain, chartYDomain, domainFraction, type ChartSeries } from './lineChart.js';
import { toDimension, type Glyphs } from './cells.js';

/**
 * Several curves on one chart, one character a column each, so that every curve keeps its own
 * glyph (told apart without colour) and its own colour (the `series` index). The y range is the
 * 2nd..98th percentile of every point, as in the loss chart. Pure.
 */

export interface OverlayCell {
  text: string;
  /** The curve this cell belongs to, or null for an empty cell. */
  series: number | null;
}

export type OverlayLine = OverlayCell[];

/** Each curve's glyph, by its index (round the list beyond). */
export const SERIES_GLYPHS: Readonly<Record<Glyphs, readonly string[]>> = {
  unicode: ['●', '▲', '■', '◆', '✚', '○', '×'],
  ascii: ['*', 'o', '+', 'x', '#', '@', '%'],
};

export function seriesGlyph(index: number, glyphs: Glyphs): string {
  const set = SERIES_GLYPHS[glyphs];
  return set[index % set.length]!;
}

export interface OverlayChart {
  lines: OverlayLine[];
  xDomain: [number, number];
  yDomain: [number, number];
}

export function renderOverlayChart(curves: ReadonlyArray<ReadonlyArray<readonly [number, number]>>, width: number, height: number, glyphs: Glyphs): OverlayChart {
  const w = toDimension(width);
  const h = toDimension(height);
  const series: ChartSeries[] = curves.map((c) => ({ points: c.map(([x, y]) => ({ x, y })), style: 'smooth' }));
  const xDomain = chartXDomain(series);
  const yDomain = chartYDomain(series, { xDomain });
  const grid: OverlayCell[][] = Array.from({ length: h }, () => Array.from({ length: w }, () => ({ text: ' ', series: null })));
  if (w === 0 || h === 0) return { lines: grid, xDomain, yDomain };
  curves.forEach((curve, index) => {
    // The mean of the points that fall in each column; a column between points takes the line between them.
    const sum = new Float64Array(w);
    const count = new Uint32Array(w);
    for (const [x, y] of curve) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const t = domainFraction(x, xDomain[0], xDomain[1]);
      if (!(t >= 0 && t <= 1)) continue;
      const col = Math.min(w - 1, Math.floor(t * w));
      sum[col]! += y;
      count[col]! += 1;
    }
    const value: Array<number | null> = Array.from({ length: w }, (_, c) => (count[c]! > 0 ? sum[c]! / count[c]! : null));
    let previous = -1;
    for (let c = 0; c < w; c++) {
      if (value[c] === null) continue;
      if (previous >= 0 && c > previous + 1) {
        for (let k = previous + 1; k < c; k++) value[k] = value[previous]! + ((value[c]! - value[previous]!) * (k - previous)) / (c - previous);
      }
      previous = c;
    }
    const glyph = seriesGlyph(index, glyphs);
    for (let c = 0; c < w; c++) {
      const v = value[c];
      if (v === null || v === undefined) continue;
      const t = domainFraction(v, yDomain[0], yDomain[1]);
      const row = (h - 1) - Math.round(Math.min(1, Math.max(0, t)) * (h - 1));
      grid[row]![c] = { text: glyph, series: index };
    }
  });
  return { lines: grid, xDomain, yDomain };
}
