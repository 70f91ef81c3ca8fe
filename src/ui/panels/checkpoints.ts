import { checkpointSaves, diskOutlook, savesDeletedNext, smoothedLossAt } from '../../state/checkpoints.js';
import { upcoming } from '../../state/derive.js';
import { isFinished } from '../../state/runState.js';
import { formatAgeShort, formatBytes, formatBytesShort, formatDuration } from '../../view/format.js';
import { shownSample } from '../sampleView.js';
import { fitItems, fitLines, run, title, type ViewLine, type ViewRun } from '../viewLine.js';
import type { Panel, PanelInput } from './panel.js';

/**
 * The saves, newest first: step, size, age and the smoothed loss there; the one ai-toolkit deletes
 * at the next save marked ✗, the one matching the sample on screen pointed at ◂; then the disk
 * outlook (amber when the saves still ahead will not fit). None yet: one line with the first save's
 * countdown.
 */

function formatLoss(loss: number): string {
  return Math.abs(loss) >= 1 ? loss.toFixed(3) : loss.toPrecision(3);
}

function checkpointLines(input: PanelInput, width: number): ViewLine[] {
  const { run: state, now, glyphs, eta, ui } = input;
  const sampleStep = shownSample(state, ui)?.step ?? null;
  const saves = checkpointSaves(state.checkpoints).reverse();
  const outlook = diskOutlook(state);
  const narrow = width < 36;
  const size = (bytes: number | null) => (narrow ? formatBytesShort(bytes) : formatBytes(bytes));
  const disk: ViewLine[] = [];
  if (outlook && !outlook.fits) disk.push([run(`disk ${size(outlook.freeBytes)} free < ~${size(outlook.needBytes)} for ${outlook.savesAhead} saves`, 'warn')]);
  else if (outlook && outlook.savesAhead > 0) disk.push([run(`disk ${size(outlook.freeBytes)} free · ${outlook.savesAhead} saves ~${size(outlook.needBytes)}`, 'dim')]);
  else if (state.disk) disk.push([run(`disk ${size(state.disk.freeBytes)} free`, 'dim')]);

  if (saves.length === 0) {
    const head: ViewRun[] = [run(glyphs === 'unicode' ? '── Checkpoints ' : '-- Checkpoints ', 'title')];
    const next = upcoming(state, eta).save;
    if (isFinished(state.status)) head.push(run('none was saved', 'dim'));
    else if (next) head.push(run('none yet · first at step ', 'dim'), run(String(next.step), 'value'), run(next.inSeconds !== null ? ` in ${formatDuration(next.inSeconds)}` : '', 'dim'));
    else head.push(run('none yet', 'dim'));
    const diskText = disk[0]?.map((r) => r.text).join('');
    if (diskText) head.push(run(` · ${diskText}`, outlook && !outlook.fits ? 'warn' : 'dim'));
    return [head];
  }
  const doomed = new Set(savesDeletedNext(state).map((s) => s.step));
  const lines: ViewLine[] = [title('Checkpoints', width, glyphs, [run(`${saves.length} saved`, 'dim')])];
  if (outlook && !outlook.fits) lines.push(...disk);
  for (const save of saves) {
    const step = save.step ?? state.totalSteps;
    const label = save.step === null ? 'final' : narrow ? `${save.step}` : `step ${save.step}`;
    const loss = step !== null ? smoothedLossAt(state.lossHistory, step) : null;
    const age = save.mtimeMs !== null ? Math.max(0, (now - save.mtimeMs) / 1000) : null;
    const items: ViewRun[][] = [
      [run(label.padStart(narrow ? 5 : 10), save.step !== null && save.step === sampleStep ? 'value' : null)],
      [run(size(save.bytes).padStart(narrow ? 5 : 9), 'dim')],
      [run(age === null ? '' : narrow ? formatAgeShort(age).padStart(3) : `${formatDuration(age)} ago`.padStart(10), 'dim')],
    ];
    if (loss !== null) items.push([run(`${narrow ? '' : 'loss '}${formatLoss(loss)}`, 'dim')]);
    if (save.pair) items.push([run(narrow ? 'h+l' : 'high+low', 'dim')]);
    if (doomed.has(save.step)) items.push([run(narrow ? '✗next' : '✗ deleted at next save', 'warn')]);
    else if (save.step !== null && save.step === sampleStep) items.push([run(glyphs === 'unicode' ? '◂' : '<', 'value')]);
    lines.push(fitItems(items, width, ' '));
  }
  if (!(outlook && !outlook.fits)) lines.push(...disk);
  return lines;
}

export const checkpointsPanel: Panel = {
  id: 'checkpoints',
  place: 'main',
  priority: 5,
  wants(input) {
    const saves = checkpointSaves(input.run.checkpoints).length;
    if (saves === 0) return { min: 1, ideal: 1, max: 1 };
    const all = 1 + saves + 1;
    return { min: 2, ideal: Math.min(all, 8), max: all };
  },
  key({ run: state, ui, now, glyphs, eta }, box) {
    const last = state.checkpoints[state.checkpoints.length - 1];
    // Ages are shown to the second; the first save's countdown too.
    return `${box.cols}x${box.rows}|${state.checkpoints.length}|${last?.path}|${last?.mtimeMs}|${last?.bytes}|${state.disk?.freeBytes}|${state.optimizerBytes}|${state.status}|${state.lossHistory.points.length}|${shownSample(state, ui)?.step}|${Math.floor(now / 1000)}|${eta.secondsPerStep}|${state.step}|${glyphs}`;
  },
  build: (input, box) => {
    const lines = checkpointLines(input, box.cols);
    // Short of rows, the newest saves and the disk line stay.
    const shown = lines.length > box.rows && box.rows >= 3 ? [...lines.slice(0, box.rows - 1), lines[lines.length - 1]!] : lines.slice(0, box.rows);
    return fitLines(shown, box.cols, input.glyphs);
  },
};
