import { upcoming } from '../../state/derive.js';
import { progressBar } from '../../view/charts/index.js';
import { formatClock, formatDuration, formatSpeed } from '../../view/format.js';
import { fitItems, fitLines, run, type ViewLine, type ViewRun } from '../viewLine.js';
import { fixedRows, type Panel, type PanelInput } from './panel.js';

/** The progress bar toward the run's end (2000/3000 marked), the step, speed, ETA and the next save and sample. */

function progressLines({ run: state, eta, now, glyphs }: PanelInput, width: number): ViewLine[] {
  const total = state.totalSteps;
  const step = state.step ?? 0;
  if (total === null) return [[run('waiting for the training bar…', 'dim')], [], []];
  const markers = [2000, 3000]
    .filter((at) => at < total)
    .map((at) => ({ at, label: String(at), style: 'target' as const }));
  markers.push({ at: total, label: String(total), style: 'target' });
  const { bar, labels } = progressBar({ value: step, total, width, glyphs, markers });

  const pct = total > 0 ? Math.floor((100 * step) / total) : 0;
  const items: ViewRun[][] = [[run('step ', 'dim'), run(`${step}/${total}`, 'value'), run(` ${pct}%`, 'dim')]];
  items.push([run(formatSpeed(eta.secondsPerStep), 'value')]);
  if (eta.etaTargetSeconds !== null && eta.targetStep !== total && step < eta.targetStep) {
    items.push([run(`to ${eta.targetStep} `, 'dim'), run(formatDuration(eta.etaTargetSeconds), 'value')]);
  }
  if (eta.etaSeconds !== null && eta.finishAtMs !== null) {
    items.push([run('ETA ', 'dim'), run(formatDuration(eta.etaSeconds), 'value'), run(` (${formatClock(eta.finishAtMs, now)})`, 'dim')]);
  } else if (state.status === 'completed') {
    items.push([run('done', 'good')]);
  }
  const next = upcoming(state, eta);
  if (next.save) items.push([run('save ', 'dim'), run(`${next.save.step}`, 'value'), run(next.save.inSeconds !== null ? ` in ${formatDuration(next.save.inSeconds)}` : '', 'dim')]);
  if (next.sample) items.push([run('sample ', 'dim'), run(`${next.sample.step}`, 'value'), run(next.sample.inSeconds !== null ? ` in ${formatDuration(next.sample.inSeconds)}` : '', 'dim')]);
  return [bar, labels, fitItems(items, width, ' · ')];
}

export const progressPanel: Panel = {
  id: 'progress',
  place: 'top',
  priority: 0,
  wants: () => fixedRows(3),
  build: (input, box) => fitLines(progressLines(input, box.cols), box.cols, input.glyphs),
};
