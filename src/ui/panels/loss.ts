import { minimumLoss } from '../../state/derive.js';
import { resmooth } from '../../state/lossHistory.js';
import { chartYDomain, keepDomain, niceDomain, renderLossChart, roundUp, type ChartMarker } from '../../view/charts/index.js';
import { formatNumber } from '../../view/format.js';
import { fitLines, run, title, type ViewLine, type ViewRun } from '../viewLine.js';
import type { Box, Panel, PanelInput, PanelMemory } from './panel.js';

/**
 * The loss: the smoothed curve is the line to read (bold), the raw values a light band of each
 * column's min to max under it, checkpoints marked. The scales move on in round steps and are kept
 * while the data fits them, so the chart is not redrawn whole on every step.
 */

function lossLines({ run: state, ui, glyphs, target }: PanelInput, { rows, cols: width }: Box, memory: PanelMemory): ViewLine[] {
  if (rows <= 0) return [];
  const points = state.lossHistory.points;
  const min = minimumLoss(state);
  const smoothed = ui.smoothing === 0.9 ? points : resmooth(points, ui.smoothing);
  const lastSmooth = smoothed[smoothed.length - 1]?.smoothed ?? null;
  const head: ViewRun[] = [];
  if (lastSmooth !== null) head.push(run('smoothed ', 'dim'), run(formatNumber(lastSmooth), 'smooth'), run(` (${ui.smoothing.toFixed(2)})`, 'dim'));
  if (state.loss !== null) head.push(run('  now ', 'dim'), run(formatNumber(state.loss), 'raw'));
  if (min) head.push(run('  min ', 'dim'), run(`${formatNumber(min.loss)}`, 'value'), run(` @${min.step}`, 'dim'));
  const lines: ViewLine[] = [title('Loss', width, glyphs, head)];
  if (points.length < 2) {
    lines.push([run(points.length === 0 ? 'no loss reported yet' : 'waiting for more steps…', 'dim')]);
    memory.yDomain = null;
    return lines.slice(0, rows);
  }
  const markers: ChartMarker[] = state.checkpoints.filter((c) => c.step !== null).map((c) => ({ x: c.step!, style: 'marker' }));
  const first = points[0]!.step;
  const last = points[points.length - 1]!.step;
  if (target >= first && target <= last) markers.push({ x: target, style: 'target' });
  const raw = points.map((p) => ({ x: p.step, y: p.loss }));
  const smooth = ui.smoothing > 0 ? smoothed.map((p) => ({ x: p.step, y: p.smoothed })) : undefined;
  // The steps so far fill most of the width: the trend matters more than the share of the run done.
  const xDomain: [number, number] = [first, Math.min(Math.max(last, state.totalSteps ?? last), Math.max(100, roundUp(last)))];
  const fresh = niceDomain(chartYDomain([{ points: raw, style: 'raw' }, ...(smooth ? [{ points: smooth, style: 'smooth' as const }] : [])], { xDomain }));
  const yDomain = keepDomain((memory.yDomain as [number, number] | null | undefined) ?? null, fresh);
  memory.yDomain = yDomain;
  const chart = renderLossChart({ width, height: rows - 1, raw, smooth, markers, glyphs, xDomain, yDomain });
  return [...lines, ...chart];
}

export const lossPanel: Panel = {
  id: 'loss',
  place: 'main',
  priority: 1,
  wants: () => ({ min: 6, ideal: 12, max: Number.POSITIVE_INFINITY }),
  build: (input, box, memory) => fitLines(lossLines(input, box, memory), box.cols, input.glyphs),
  key({ run: state, ui, target, glyphs }, box) {
    const points = state.lossHistory.points;
    const last = points[points.length - 1];
    return `${box.cols}x${box.rows}|${points.length}|${last?.step}|${last?.loss}|${state.loss}|${ui.smoothing}|${state.checkpoints.length}|${state.totalSteps}|${target}|${glyphs}`;
  },
};
