import { blankLine, concatLines, toDimension, type Glyphs, type StyledLine } from './cells.js';
import { renderXAxis, renderYAxis } from './axis.js';
import { chartXDomain, chartYDomain, renderLineChart, type ChartMarker, type ChartPoint, type ChartSeries } from './lineChart.js';

export interface LossChartOptions {
  width: number;
  height: number;
  raw: ReadonlyArray<ChartPoint>;
  smooth?: ReadonlyArray<ChartPoint>;
  markers?: ReadonlyArray<ChartMarker>;
  glyphs: Glyphs;
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** Default true (see renderLineChart). */
  clipOutliers?: boolean;
}

/** Minimum plot width kept when a y-axis column is added. */
export const MIN_PLOT_WIDTH = 8;

/**
 * Loss chart with axes: exactly `height` lines of exactly `width` columns.
 *
 * Layout: `[y labels │ plot]` rows, then one x-label row under the plot.
 * - The x-label row is shown when height ≥ 3 (the plot gets height − 1 rows).
 * - The y-axis column (see renderYAxis) is shown when it leaves at least
 *   MIN_PLOT_WIDTH plot columns and takes at most half the width.
 * The labels use the same x/y domains as the plot (chartXDomain/chartYDomain).
 */
export function renderLossChart(options: LossChartOptions): StyledLine[] {
  const w = toDimension(options.width);
  const h = toDimension(options.height);
  if (h === 0) return [];
  if (w === 0) return Array.from({ length: h }, () => []);
  const series: ChartSeries[] = [{ points: options.raw ?? [], style: 'raw' }];
  if (options.smooth !== undefined) series.push({ points: options.smooth, style: 'smooth' });
  const xDomain = chartXDomain(series, options.xDomain);
  const yOpts: { clipOutliers?: boolean; yDomain?: [number, number]; xDomain: [number, number] } = { xDomain };
  if (options.clipOutliers !== undefined) yOpts.clipOutliers = options.clipOutliers;
  if (options.yDomain !== undefined) yOpts.yDomain = options.yDomain;
  const yDomain = chartYDomain(series, yOpts);

  const showX = h >= 3;
  const plotH = showX ? h - 1 : h;
  const yAxis = renderYAxis({ height: plotH, yDomain, glyphs: options.glyphs });
  const showY = w - yAxis.width >= MIN_PLOT_WIDTH && yAxis.width * 2 <= w;
  const axisW = showY ? yAxis.width : 0;
  const plotW = w - axisW;

  const lineOpts: Parameters<typeof renderLineChart>[0] = {
    width: plotW,
    height: plotH,
    series,
    xDomain,
    yDomain,
    glyphs: options.glyphs,
  };
  if (options.markers !== undefined) lineOpts.markers = options.markers;
  const plot = renderLineChart(lineOpts);
  const lines: StyledLine[] = plot.map((row, i) => (showY ? concatLines(yAxis.lines[i] ?? blankLine(axisW), row) : row));
  if (showX) lines.push(concatLines(blankLine(axisW), renderXAxis({ width: plotW, xDomain, glyphs: options.glyphs })));
  return lines;
}
