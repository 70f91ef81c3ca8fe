import { slowdown, SLOW_RATIO } from '../../state/derive.js';
import type { GpuPoint } from '../../state/gpuState.js';
import { bucketMeans, sparkline } from '../../view/charts/index.js';
import { formatSpeed } from '../../view/format.js';
import { fitLines, run, title, type ViewLine, type ViewRun } from '../viewLine.js';
import type { Panel, PanelInput } from './panel.js';

/** Seconds per step as a sparkline (a slowdown flagged), and under it the GPU's recent utilisation, power, clock and temperature. */

function speedLines({ run: state, glyphs }: PanelInput, rows: number, width: number): ViewLine[] {
  if (rows <= 0) return [];
  const slow = slowdown(state);
  const head: ViewRun[] = [run(formatSpeed(state.speed.secondsPerStep), 'value')];
  if (slow) {
    head.push(run(`  median ${formatSpeed(slow.median)}`, 'dim'));
    if (slow.slow) head.push(run(`  ${glyphs === 'unicode' ? '▲' : '!'} ${slow.ratio.toFixed(1)}× slower than usual`, 'warn'));
  }
  const line = sparkline(bucketMeans(state.speed.history, state.speed.historyDropped, width), width, {
    glyphs,
    ...(slow ? { highlightAbove: slow.median * SLOW_RATIO } : {}),
  });
  const lines: ViewLine[] = [title('Speed (s/step)', width, glyphs, head), line];
  // Right under the speed: the GPU's recent history, so that throttling shows at a glance.
  const history = state.gpu.history;
  if (history.length > 1) {
    // Utilisation, power, SM clock and temperature: each a quarter of the line.
    const part = Math.max(4, Math.floor((width - 26) / 4));
    const series = (pick: (p: GpuPoint) => number | null) => sparkline(history.map((p) => pick(p) ?? NaN), part, { glyphs, style: slow?.slow ? 'warn' : null });
    lines.push([
      run('util ', 'dim'),
      ...series((p) => p.utilizationPercent),
      run(' power ', 'dim'),
      ...series((p) => p.powerW),
      run(' clock ', 'dim'),
      ...series((p) => p.clockMHz),
      run(' temp ', 'dim'),
      ...series((p) => p.temperatureC),
    ]);
  }
  return lines.slice(0, rows);
}

export const speedPanel: Panel = {
  id: 'speed',
  place: 'main',
  priority: 2,
  wants: ({ run: state }) => (state.gpu.history.length > 1 ? { min: 2, ideal: 3, max: 3 } : { min: 2, ideal: 2, max: 2 }),
  build: (input, box) => fitLines(speedLines(input, box.rows, box.cols), box.cols, input.glyphs),
  key({ run: state, glyphs }, box) {
    return `${box.cols}x${box.rows}|${state.speed.history.length}|${state.speed.historyDropped}|${state.speed.history[state.speed.history.length - 1]}|${state.speed.secondsPerStep}|${state.gpu.history.length}|${state.gpu.history[state.gpu.history.length - 1]?.at}|${glyphs}`;
  },
};
