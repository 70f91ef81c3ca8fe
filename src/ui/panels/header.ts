import { liveness, sessionElapsed, stallLimitSeconds, STALL_FLOOR_S } from '../../state/derive.js';
import { selectedReading } from '../../state/gpuState.js';
import { isFinished, type RunState, type RunStatus } from '../../state/runState.js';
import { formatClock, formatDuration, formatGib } from '../../view/format.js';
import { clean, fitItems, fitLines, run, type ViewLine, type ViewRun } from '../viewLine.js';
import { fixedRows, type Panel } from './panel.js';
import type { RunNav } from '../keymap.js';

/** The run's name and state, what it is doing, and on the second line what needs saying (or the run's facts). */

const STATUS_WORD: Record<RunStatus, string> = {
  starting: 'STARTING',
  preparing: 'PREPARING',
  sampling: 'SAMPLING',
  training: 'TRAINING',
  saving: 'SAVING',
  stopped: 'STOPPED',
  failed: 'FAILED',
  completed: 'COMPLETED',
};

/** How long a finished or failed request stays said. */
const REQUEST_NEWS_MS = 15_000;

/**
 * The line under the run's name when the trainer needs saying something about: it died without
 * a word, it is frozen, its log went silent, its GPU idles, or a request to it is under way.
 */
export function controlBanner(state: RunState, now: number, stallFloorS = STALL_FLOOR_S): ViewRun[] | null {
  const life = liveness(state, now, stallFloorS);
  const c = state.control;
  if (life.unreachable) {
    const { label, since, why } = life.unreachable;
    return [run(`${clean(label)} unreachable since ${formatClock(since, now)}`, 'bad'), run(`  ${why ? `${clean(why)} · ` : ''}reconnecting; the log is read on from where it stopped`, 'dim')];
  }
  if (life.exited) {
    const last = state.recentLines[state.recentLines.length - 1]?.text;
    return [run('trainer exited unexpectedly (killed? out of memory?)', 'bad'), ...(last ? [run(`  last log line: ${clean(last)}`, 'dim')] : [])];
  }
  if (life.frozen) {
    const reading = selectedReading(state.gpu);
    const held = state.gpu.processMemoryMiB ?? reading?.memoryUsedMiB ?? null;
    return [run(`FROZEN — GPU memory still held${held !== null ? `: ${formatGib(held)} GiB` : ''}`, 'warn'), run('  p resumes', 'dim')];
  }
  if (life.stalledS !== null) {
    return [run(`stalled? the log has been silent for ${formatDuration(life.stalledS)}`, 'warn'), run(`  (limit ${formatDuration(stallLimitSeconds(state.speed.secondsPerStep, stallFloorS))}: five steps, ${stallFloorS === STALL_FLOOR_S ? 'two minutes' : formatDuration(stallFloorS)} at least)`, 'dim')];
  }
  if (life.gpuIdleS !== null) return [run(`GPU idle for ${formatDuration(life.gpuIdleS)} while training`, 'warn')];
  const request = [...c.requests].reverse().find((r) => r.kind !== 'freeze' && (r.phase === 'sent' || r.phase === 'working' || (r.doneAt !== null && now - r.doneAt < REQUEST_NEWS_MS)));
  if (!request) {
    const failed = [...c.requests].reverse().find((r) => r.kind === 'freeze' && r.doneAt !== null && now - r.doneAt < REQUEST_NEWS_MS);
    return failed ? [run(`freeze failed: ${clean(failed.detail ?? '')}`, 'bad')] : null;
  }
  const word = request.kind === 'save' ? 'save' : request.kind === 'sample' ? 'sample' : 'stop';
  switch (request.phase) {
    case 'sent':
      return [run(`${word} requested at step ${request.step ?? '?'}`, 'value'), run(request.kind === 'stop' ? '  (stopping…)' : c.stopAfterSave ? '  then stop' : '  (the trainer acts at its next step)', 'dim')];
    case 'working':
      return [run(request.kind === 'save' ? 'saving…' : request.kind === 'sample' ? 'sampling…' : 'stopping…', 'value'), ...(c.stopAfterSave && request.kind === 'save' ? [run('  then stop', 'dim')] : [])];
    case 'done':
      return [run(request.kind === 'save' ? `saved: checkpoint at step ${request.detail} ✓` : request.kind === 'sample' ? `sampled at step ${request.detail} ✓` : `run ${request.detail}`, 'good')];
    case 'failed':
      return [run(`${word} failed: ${clean(request.detail ?? '')}`, 'bad')];
  }
}

function headerLines(state: RunState, now: number, width: number, stallFloorS: number, nav: RunNav | null): ViewLine[] {
  const name = clean(state.name ?? '(waiting for the run to name itself)');
  const frozen = state.control.frozenSince !== null && !isFinished(state.status);
  const chip = frozen ? run(' FROZEN ', 'status:saving') : run(` ${STATUS_WORD[state.status]} `, `status:${state.status}`);
  // Opened from the runs screen: which of its runs this is.
  const first: ViewRun[][] = [...(nav ? [[run(`${nav.position + 1}/${nav.count}`, 'dim')]] : []), [run(name, 'title')], [chip]];
  // Another host's run says where it is.
  if (state.host) first.push([run(`on ${clean(state.host.label)}`, state.host.link === 'down' ? 'bad' : 'dim')]);
  if (state.phase) {
    const progress = state.phase.n !== null && state.phase.total !== null ? ` ${state.phase.n}/${state.phase.total}` : '';
    const detail = state.phase.detail ? ` (${clean(state.phase.detail)})` : '';
    first.push([run(`${clean(state.phase.text)}${progress}${detail}`, 'value')]);
  }
  if (!state.recognised) first.push([run('no ai-toolkit output recognised yet', 'dim')]);

  let second: ViewLine;
  const banner = controlBanner(state, now, stallFloorS);
  if (banner && !state.error) {
    second = fitItems([banner], width, '  ');
  } else if (state.error) {
    const kind = state.error.kind === 'oom' ? 'OUT OF MEMORY' : state.error.kind === 'cuda' ? 'CUDA ERROR' : 'ERROR';
    second = fitItems([[run(`${kind}: `, 'bad'), run(clean(state.error.message), 'bad')]], width, '  ');
    if (second.length === 0) second = [run(kind, 'bad')];
  } else {
    const items: ViewRun[][] = [];
    const elapsed = sessionElapsed(state, now);
    if (elapsed !== null) items.push([run('elapsed ', 'dim'), run(formatDuration(elapsed), 'value')]);
    if (state.lr !== null) items.push([run('lr ', 'dim'), run(state.lr.toExponential(1), 'value')]);
    if (state.lora) items.push([run('LoRA ', 'dim'), run(`${state.lora.rank}/${state.lora.alpha}`, 'value')]);
    const trigger = state.config?.triggerWord;
    if (trigger) items.push([run('trigger ', 'dim'), run(`"${clean(trigger)}"`, 'value')]);
    if (state.resume?.step != null) items.push([run('resumed at ', 'dim'), run(String(state.resume.step), 'value')]);
    if (state.oomSkips > 0) items.push([run(`${state.oomSkips} OOM-skipped step${state.oomSkips === 1 ? '' : 's'}`, 'warn')]);
    if (state.config?.modelName) items.push([run(clean(state.config.modelName), 'dim')]);
    second = fitItems(items, width, '  ');
  }
  return [fitItems(first, width, '  '), second];
}

export const headerPanel: Panel = {
  id: 'header',
  place: 'top',
  priority: 0,
  wants: () => fixedRows(2),
  build: (input, box) => fitLines(headerLines(input.run, input.now, box.cols, input.stallFloorS, input.keys.nav ?? null), box.cols, input.glyphs),
};
