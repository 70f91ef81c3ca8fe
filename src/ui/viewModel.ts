import { estimateFinish, type Eta } from '../state/eta.js';
import { codePointCount } from '../view/charts/cells.js';
import { liveness, minimumLoss, sessionElapsed, slowdown, stallLimitSeconds, upcoming, SLOW_RATIO, STALL_FLOOR_S } from '../state/derive.js';
import { resmooth } from '../state/lossHistory.js';
import type { RunState, RunStatus } from '../state/runState.js';
import { isFinished } from '../state/runState.js';
import { selectedReading, type GpuPoint, type GpuState } from '../state/gpuState.js';
import type { GpuReading } from '../parse/gpuTypes.js';
import { stripControlSequences } from '../parse/sanitize.js';
import { formatAgeShort, formatBytes, formatBytesShort, formatClock, formatDuration, formatNumber, formatSpeed, wrapText } from '../view/format.js';
import { chartYDomain, progressBar, renderLossChart, sparkline, type CellStyle, type ChartMarker, type Glyphs } from '../view/charts/index.js';
import type { DashboardLayout } from './layout.js';
import type { HalfBlockMode } from '../view/halfBlock.js';
import { checkpointSaves, diskOutlook, savesDeletedNext, smoothedLossAt } from '../state/checkpoints.js';
import { imageCells, missingImageNote, PANEL_PX, pickedImage, promptCaption, shownSample, stepCaption, type ImageCells } from './sampleView.js';
import { sampledSteps } from '../state/sampleIndex.js';
import type { StopChoice, UiState } from './uiState.js';
import { footerItems, helpRows, type KeyContext } from './keymap.js';

/**
 * Everything the dashboard draws, as styled text, from the run state, the UI state, the layout
 * and the clock. Pure: the components only map styles to colours.
 */

export type ViewStyle = CellStyle | 'title' | 'dim' | 'bad' | 'good' | 'key' | 'value' | `status:${RunStatus}`;
export interface ViewRun {
  text: string;
  style: ViewStyle;
  /** Set for text that carries its own colour codes (an image row): how many cells it fills. */
  cells?: number;
}
export type ViewLine = ViewRun[];

export interface ViewModel {
  header: ViewLine[];
  progress: ViewLine[];
  loss: ViewLine[];
  speed: ViewLine[];
  gpu: ViewLine[];
  samples: ViewLine[];
  log: ViewLine[];
  help: ViewLine[];
  /** The stop question, while it is asked. */
  confirm: ViewLine[];
  footer: ViewLine;
  /** The loss chart's value range, to hand back as `previousLossYDomain` next time. */
  lossYDomain: [number, number] | null;
}

export interface ViewInput {
  run: RunState;
  ui: UiState;
  layout: DashboardLayout;
  now: number;
  target: number;
  glyphs: Glyphs;
  /** The range the loss chart used last frame: kept while the data still fits it well. */
  previousLossYDomain?: [number, number] | null;
  /** How sample images are drawn: 24-bit colour, the 256-colour palette, or grey characters (NO_COLOR). */
  imageMode?: HalfBlockMode;
  /** `--stall-after`: the least log silence that reads as a stall (seconds). */
  stallFloorS?: number;
}

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

const run = (text: string, style: ViewStyle = null): ViewRun => ({ text, style });

/** Joins items with a separator, dropping the later ones that would not fit in `width`. */
function fitItems(items: ViewRun[][], width: number, separator: string): ViewLine {
  const out: ViewLine = [];
  let used = 0;
  for (const item of items) {
    const length = item.reduce((n, r) => n + codePointCount(r.text), 0);
    const extra = out.length > 0 ? separator.length : 0;
    if (used + extra + length > width) break;
    if (extra) out.push(run(separator, 'dim'));
    out.push(...item);
    used += extra + length;
  }
  return out;
}

function title(text: string, width: number, glyphs: Glyphs, extra: ViewRun[] = []): ViewLine {
  const rule = glyphs === 'unicode' ? '─' : '-';
  return fitItems([[run(`${rule}${rule} ${text} `, 'title')], ...extra.map((r) => [r])], width, ' ');
}

function clean(text: string): string {
  return stripControlSequences(text);
}

export function buildViewModel(input: ViewInput): ViewModel {
  const { run: state, ui, layout, now, target, glyphs } = input;
  const eta = estimateFinish(state, now, target);
  const ctx: KeyContext = { run: state, ui };
  const side = layout.twoColumns ? layout.sideWidth : layout.cols;
  const fit = (lines: ViewLine[], width: number) => lines.map((line) => fitLine(line, width, glyphs));
  const loss = lossLines(state, ui, layout.rows.loss, layout.mainWidth, glyphs, target, input.previousLossYDomain ?? null);
  return {
    header: fit(headerLines(state, now, layout.cols, input.stallFloorS ?? STALL_FLOOR_S), layout.cols),
    progress: fit(progressLines(state, eta, now, layout.cols, glyphs), layout.cols),
    loss: fit(loss.lines, layout.mainWidth),
    speed: fit(speedLines(state, layout.rows.speed, layout.cols, glyphs), layout.cols),
    gpu: fit(gpuLines(state, layout.rows.gpu, side, glyphs), side),
    samples: fit(samplesLines(state, ui, layout.rows.samples, side, now, glyphs, glyphs === 'ascii' ? 'grey' : (input.imageMode ?? 'truecolor')), side),
    log: fit(logLines(state, layout.rows.log, layout.cols, glyphs), layout.cols),
    // The overlays only when shown: every frame pays for what it builds.
    help: ui.showHelp ? fit(helpLines(ctx, layout.cols, glyphs), layout.cols) : [],
    confirm: ui.confirmStop ? fit(confirmLines(state, ui, layout.cols, glyphs), layout.cols) : [],
    footer: fitLine(footerLine(ctx, now, layout.cols), layout.cols, glyphs),
    lossYDomain: loss.yDomain,
  };
}

const ASCII_FOR: Record<string, string> = { '—': '-', '–': '-', '·': '.', '…': '~', '×': 'x', '▲': '^', '─': '-', '│': '|', '┤': '+', '█': '#', '░': '-', '✗': 'x', '←': '<', '→': '>', '↑': '^', '↓': 'v', '◂': '<' };

/** Text for a terminal without UTF-8: known symbols get an ASCII stand-in, anything else `?`. */
export function asciiOnly(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x20-\x7e]*$/.test(text) ? text : text.replace(/[^\x20-\x7e]/gu, (c) => ASCII_FOR[c] ?? '?');
}

/** Cells a line fills: an image row's own count, else one per code point. */
export function viewLineWidth(line: ViewLine): number {
  let width = 0;
  for (const r of line) width += r.cells ?? codePointCount(r.text);
  return width;
}

/**
 * Cuts a line to `width` columns with an ellipsis (`~` in ASCII mode), so the terminal never has
 * to wrap and Ink never has to truncate with a glyph of its own. Counts code points: wide (CJK)
 * characters in names may still overflow by a little; the panel box clips them.
 */
export function fitLine(line: ViewLine, width: number, glyphs: Glyphs): ViewLine {
  if (glyphs === 'ascii') line = line.map((r) => (r.cells !== undefined ? r : { text: asciiOnly(r.text), style: r.style }));
  if (viewLineWidth(line) <= width) return line;
  const out: ViewLine = [];
  let left = Math.max(0, width - 1);
  for (const r of line) {
    if (left <= 0) break;
    if (r.cells !== undefined) {
      // Text with its own colour codes cannot be cut: it fits whole or not at all.
      if (r.cells > left) break;
      out.push(r);
      left -= r.cells;
      continue;
    }
    const chars = [...r.text];
    out.push({ text: chars.slice(0, left).join(''), style: r.style });
    left -= Math.min(left, chars.length);
  }
  if (width > 0) out.push({ text: glyphs === 'unicode' ? '…' : '~', style: 'dim' });
  return out;
}

function headerLines(state: RunState, now: number, width: number, stallFloorS: number): ViewLine[] {
  const name = clean(state.name ?? '(waiting for the run to name itself)');
  const frozen = state.control.frozenSince !== null && !isFinished(state.status);
  const chip = frozen ? run(' FROZEN ', 'status:saving') : run(` ${STATUS_WORD[state.status]} `, `status:${state.status}`);
  const first: ViewRun[][] = [[run(name, 'title')], [chip]];
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

function progressLines(state: RunState, eta: Eta, now: number, width: number, glyphs: Glyphs): ViewLine[] {
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

function lossLines(
  state: RunState,
  ui: UiState,
  rows: number,
  width: number,
  glyphs: Glyphs,
  target: number,
  previousY: [number, number] | null,
): { lines: ViewLine[]; yDomain: [number, number] | null } {
  if (rows <= 0) return { lines: [], yDomain: null };
  const points = state.lossHistory.points;
  const min = minimumLoss(state);
  const smoothed = ui.smoothing === 0.9 ? points : resmooth(points, ui.smoothing);
  const lastSmooth = smoothed[smoothed.length - 1]?.smoothed ?? null;
  const head: ViewRun[] = [];
  if (state.loss !== null) head.push(run('now ', 'dim'), run(formatNumber(state.loss), 'raw'));
  if (min) head.push(run('  min ', 'dim'), run(`${formatNumber(min.loss)}`, 'value'), run(` @${min.step}`, 'dim'));
  if (lastSmooth !== null) head.push(run('  smoothed ', 'dim'), run(formatNumber(lastSmooth), 'smooth'), run(` (${ui.smoothing.toFixed(2)})`, 'dim'));
  const lines: ViewLine[] = [title('Loss', width, glyphs, head)];
  if (points.length < 2) {
    lines.push([run(points.length === 0 ? 'no loss reported yet' : 'waiting for more steps…', 'dim')]);
    return { lines: lines.slice(0, rows), yDomain: null };
  }
  const markers: ChartMarker[] = state.checkpoints.filter((c) => c.step !== null).map((c) => ({ x: c.step!, style: 'marker' }));
  const first = points[0]!.step;
  const last = points[points.length - 1]!.step;
  if (target >= first && target <= last) markers.push({ x: target, style: 'target' });
  const raw = points.map((p) => ({ x: p.step, y: p.loss }));
  const smooth = ui.smoothing > 0 ? smoothed.map((p) => ({ x: p.step, y: p.smoothed })) : undefined;
  // The steps so far fill most of the width, and both scales move on in round steps (so the chart
  // is not redrawn whole on every step): the trend matters more than the share of the run done.
  const xDomain: [number, number] = [first, Math.min(Math.max(last, state.totalSteps ?? last), Math.max(100, roundUp(last)))];
  const fresh = niceDomain(chartYDomain([{ points: raw, style: 'raw' }, ...(smooth ? [{ points: smooth, style: 'smooth' as const }] : [])], { xDomain }));
  const yDomain = keepDomain(previousY, fresh);
  const chart = renderLossChart({ width, height: rows - 1, raw, smooth, markers, glyphs, xDomain, yDomain });
  return { lines: [...lines, ...chart], yDomain };
}

/**
 * At most `width` means of consecutive values, in buckets of a power-of-two size aligned to each
 * value's absolute position, so a new value changes only the last bucket (the sparkline does not
 * shift, and redraw, on every step).
 */
export function bucketMeans(values: readonly number[], dropped: number, width: number): number[] {
  if (width <= 0 || values.length === 0) return [];
  let size = 1;
  while (Math.floor((dropped + values.length - 1) / size) - Math.floor(dropped / size) + 1 > width) size *= 2;
  const means: number[] = [];
  let bucket = Math.floor(dropped / size);
  let sum = 0;
  let count = 0;
  values.forEach((value, i) => {
    const b = Math.floor((dropped + i) / size);
    if (b !== bucket && count > 0) {
      means.push(sum / count);
      sum = 0;
      count = 0;
    }
    bucket = b;
    sum += value;
    count++;
  });
  if (count > 0) means.push(sum / count);
  return means;
}

/** The previous range while the new one fits inside it and fills at least half of it; else the new one. */
export function keepDomain(previous: [number, number] | null, next: [number, number]): [number, number] {
  if (!previous) return next;
  const fits = next[0] >= previous[0] && next[1] <= previous[1];
  const fills = next[1] - next[0] >= 0.5 * (previous[1] - previous[0]);
  return fits && fills ? previous : next;
}

/** A value range widened to round numbers (a fifth of a power of ten), so small drifts keep it. */
export function niceDomain([lo, hi]: [number, number]): [number, number] {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return [lo, hi];
  const step = 10 ** Math.floor(Math.log10(span)) / 5;
  return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
}

/** The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k) at or above `value`. */
export function roundUp(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * magnitude >= value) return m * magnitude;
  return 10 * magnitude;
}

function speedLines(state: RunState, rows: number, width: number, glyphs: Glyphs): ViewLine[] {
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

const MIB_PER_GIB = 1024;

function gib(mib: number | null): string {
  return mib === null ? '?' : (mib / MIB_PER_GIB).toFixed(1);
}

function gpuLines(state: RunState, rows: number, width: number, glyphs: Glyphs): ViewLine[] {
  if (rows <= 0) return [];
  const gpu = state.gpu;
  const reading = selectedReading(gpu);
  const head: ViewRun[] = reading ? [run(`${reading.index} ${clean(reading.name)}`, 'dim')] : [];
  const lines: ViewLine[] = [title('GPU', width, glyphs, head)];
  if (gpu.problem && (gpu.problem.kind !== 'stalled' || !reading)) {
    lines.push([run(clean(gpu.problem.message), gpu.problem.kind === 'missing' ? 'dim' : 'warn')]);
  } else if (!reading) {
    lines.push([run('waiting for nvidia-smi…', 'dim')]);
  } else {
    if (gpu.problem?.kind === 'stalled') lines.push([run(clean(gpu.problem.message), 'warn')]);
    lines.push(vramLine(gpu, reading, width, glyphs));
    const figures: ViewRun[][] = [];
    if (reading.utilizationPercent !== null) figures.push([run('util ', 'dim'), run(`${reading.utilizationPercent}%`, 'value')]);
    if (reading.temperatureC !== null) figures.push([run(`${reading.temperatureC}°C`, reading.temperatureC >= 85 ? 'warn' : 'value')]);
    if (reading.powerW !== null) {
      figures.push([run(`${Math.round(reading.powerW)}`, 'value'), run(reading.powerLimitW !== null ? `/${Math.round(reading.powerLimitW)} W` : ' W', 'dim')]);
    }
    if (reading.clockMHz !== null) figures.push([run(`${reading.clockMHz} MHz`, 'value')]);
    lines.push(fitItems(figures, width, ' · '));
    const memory = gpu.history.map((p) => p.memoryUsedMiB ?? NaN);
    const spark = sparkline(memory, Math.max(0, width - 6), { glyphs, min: 0, max: reading.memoryTotalMiB ?? undefined });
    lines.push([run('VRAM ', 'dim'), ...spark]);
    lines.push(trainerLine(gpu, width));
    const host = gpu.host;
    if (host) {
      const gibBytes = (bytes: number) => (bytes / 1024 ** 3).toFixed(1);
      const items: ViewRun[][] = [[run('RAM ', 'dim'), run(`${gibBytes(host.memUsedBytes)}/${gibBytes(host.memTotalBytes)} GiB`, 'value')]];
      if (host.swapTotalBytes > 0) items.push([run('swap ', 'dim'), run(`${gibBytes(host.swapUsedBytes)}/${gibBytes(host.swapTotalBytes)} GiB`, host.swapUsedBytes > 0.5 * host.swapTotalBytes ? 'warn' : 'value')]);
      if (host.cpuPercent !== null) items.push([run('CPU ', 'dim'), run(`${Math.round(host.cpuPercent)}%`, 'value')]);
      lines.push(fitItems(items, width, ' · '));
    }
    for (const other of gpu.gpus.filter((g) => g.index !== reading.index)) {
      lines.push(fitItems([[run(`GPU ${other.index} `, 'dim'), run(`${gib(other.memoryUsedMiB)}/${gib(other.memoryTotalMiB)} GiB`, 'value')], [run(other.utilizationPercent !== null ? `${other.utilizationPercent}%` : '', 'dim')], [run(clean(other.name), 'dim')]], width, '  '));
    }
  }
  return lines.slice(0, rows);
}

function vramLine(gpu: GpuState, reading: GpuReading, width: number, glyphs: Glyphs): ViewLine {
  const used = reading.memoryUsedMiB;
  const total = reading.memoryTotalMiB;
  if (used === null || total === null || !(total > 0)) return [run('VRAM ', 'dim'), run(`${gib(used)}/${gib(total)} GiB`, 'value')];
  const free = total - used;
  const headroom = free / total;
  // A LoRA run on a 24 GB card lives a few hundred MiB from an OOM: amber under 10 %, red under 5 %.
  const style: ViewStyle = headroom < 0.05 ? 'bad' : headroom < 0.1 ? 'warn' : 'value';
  const text: ViewRun[] = [
    run(` ${gib(used)}/${gib(total)} GiB`, 'value'),
    run(' · ', 'dim'),
    run(`${gib(free)} GiB free (${Math.round(headroom * 100)}%)`, style),
  ];
  if (gpu.peakMemoryUsedMiB !== null) text.push(run(` · peak ${gib(gpu.peakMemoryUsedMiB)}`, 'dim'));
  const textWidth = text.reduce((n, r) => n + codePointCount(r.text), 0);
  const barWidth = Math.max(4, Math.min(24, width - textWidth - 1));
  const { bar } = progressBar({ value: used, total, width: barWidth, glyphs });
  const barRuns: ViewLine = bar.map((r) => (r.style === 'fill' ? { text: r.text, style: headroom < 0.1 ? style : 'fill' } : r));
  return [...barRuns, ...text];
}

function trainerLine(gpu: GpuState, width: number): ViewLine {
  switch (gpu.processMatch) {
    case 'matched':
      return fitItems([[run(`trainer pid ${gpu.trainerPid} `, 'dim'), run(`${gib(gpu.processMemoryMiB)} GiB`, 'value')]], width, ' ');
    case 'notListed':
      return [run(`trainer pid ${gpu.trainerPid} is not among nvidia-smi's processes (a container?): device totals shown`, 'dim')];
    default:
      return [run('trainer process not found: device totals shown', 'dim')];
  }
}

function samplesLines(state: RunState, ui: UiState, rows: number, width: number, now: number, glyphs: Glyphs, imageMode: HalfBlockMode): ViewLine[] {
  if (rows <= 0) return [];
  const steps = sampledSteps(state.samples).length;
  const head: ViewRun[] = [];
  if (state.samples.length > 0) head.push(run(`${state.samples.length} sample${state.samples.length === 1 ? "" : "s"} · ${steps} step${steps === 1 ? "" : "s"}`, 'dim'));
  const lines: ViewLine[] = [title(state.samples.length > 0 ? 'Samples & checkpoints' : 'Checkpoints', width, glyphs, head)];
  const text: ViewLine[] = [];
  const resolved = shownSample(state, ui);
  let picture: ImageCells | null = null;
  let pictureCols = 0;
  if (resolved && rows >= 4 && width >= 30) {
    pictureCols = Math.floor(width * 0.45);
    const image = pickedImage(state, resolved.sample, PANEL_PX);
    if (image) picture = imageCells(image, pictureCols, rows - 1, imageMode);
    // "step 1200 · 300 steps ago" on one line where it fits, else on two.
    const caption = stepCaption(state, resolved);
    const textWidth = width - (picture ? picture.cols : pictureCols) - 1;
    const style: ViewStyle = resolved.newest ? 'value' : 'warn';
    if ([...caption].length <= textWidth) text.push([run(caption, style)]);
    else text.push(...caption.split(' · ').map((part, i) => [run(part, i === 0 ? style : 'dim')]));
    const note = missingImageNote(resolved, image !== null);
    // The prompt, over as many lines as the picture leaves free beside the checkpoints' first rows.
    const promptLines = Math.max(1, Math.min(4, rows - 1 - text.length - (note ? 1 : 0) - 3));
    for (const line of wrapText(promptCaption(state, resolved.index), textWidth, promptLines)) text.push([run(line, 'dim')]);
    if (note) text.push([run(note, 'dim')]);
    if (picture) pictureCols = picture.cols;
  }
  text.push(...checkpointLines(state, resolved?.step ?? null, now, glyphs, pictureCols > 0 ? width - pictureCols - 1 : width));
  for (let i = 0; i < rows - 1; i++) {
    const cells: ViewLine =
      picture && picture.rows[i] !== undefined
        ? [{ text: picture.rows[i]!, style: null, cells: picture.cols }, run(' ')]
        : pictureCols > 0
          ? [run(' '.repeat(pictureCols + 1))]
          : [];
    const words = text[i] ?? [];
    if (cells.length === 0 && words.length === 0) break;
    lines.push([...cells, ...fitLine(words, width - (pictureCols > 0 ? pictureCols + 1 : 0), glyphs)]);
  }
  return lines.slice(0, rows);
}

/**
 * The saves, newest first: step, size, age and the smoothed loss there, the one ai-toolkit deletes at
 * the next save marked, the one matching the sample on screen pointed at; then the disk outlook.
 */
function checkpointLines(state: RunState, sampleStep: number | null, now: number, glyphs: Glyphs, width: number): ViewLine[] {
  const lines: ViewLine[] = [];
  const saves = checkpointSaves(state.checkpoints).reverse();
  const doomed = new Set(savesDeletedNext(state).map((s) => s.step));
  const outlook = diskOutlook(state);
  const narrow = width < 36;
  const size = (bytes: number | null) => (narrow ? formatBytesShort(bytes) : formatBytes(bytes));
  if (outlook && !outlook.fits) {
    lines.push([run(`disk ${size(outlook.freeBytes)} free < ~${size(outlook.needBytes)} for ${outlook.savesAhead} saves`, 'warn')]);
  }
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
  if (saves.length === 0) lines.push([run(isFinished(state.status) ? 'no checkpoint was saved' : 'no checkpoint yet', 'dim')]);
  if (outlook && outlook.fits && outlook.savesAhead > 0) {
    lines.push([run(`disk ${size(outlook.freeBytes)} free · ${outlook.savesAhead} saves ~${size(outlook.needBytes)}`, 'dim')]);
  } else if (!outlook && state.disk) {
    lines.push([run(`disk ${size(state.disk.freeBytes)} free`, 'dim')]);
  }
  return lines;
}

function formatLoss(loss: number): string {
  return Math.abs(loss) >= 1 ? loss.toFixed(3) : loss.toPrecision(3);
}

function logLines(state: RunState, rows: number, width: number, glyphs: Glyphs): ViewLine[] {
  if (rows <= 0) return [];
  const shown = state.recentLines.slice(-(rows - 1));
  return [title('Log', width, glyphs), ...shown.map((l) => [run(l.text, l.bar !== null ? 'dim' : null)])];
}

/** How long a finished or failed request stays said. */
const REQUEST_NEWS_MS = 15_000;

/**
 * The line under the run's name when the trainer needs saying something about: it died without
 * a word, it is frozen, its log went silent, its GPU idles, or a request to it is under way.
 */
export function controlBanner(state: RunState, now: number, stallFloorS = STALL_FLOOR_S): ViewRun[] | null {
  const life = liveness(state, now, stallFloorS);
  const c = state.control;
  if (life.exited) {
    const last = state.recentLines[state.recentLines.length - 1]?.text;
    return [run('trainer exited unexpectedly (killed? out of memory?)', 'bad'), ...(last ? [run(`  last log line: ${clean(last)}`, 'dim')] : [])];
  }
  if (life.frozen) {
    const reading = selectedReading(state.gpu);
    const held = state.gpu.processMemoryMiB ?? reading?.memoryUsedMiB ?? null;
    return [run(`FROZEN — GPU memory still held${held !== null ? `: ${gib(held)} GiB` : ''}`, 'warn'), run('  p resumes', 'dim')];
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

/**
 * "Stop the run?" with what stopping costs: the steps since the last save are lost, and where the
 * run can resume from.
 */
function confirmLines(state: RunState, ui: UiState, width: number, glyphs: Glyphs): ViewLine[] {
  const ask = ui.confirmStop;
  if (!ask) return [];
  const lines: ViewLine[] = [title('Stop the run?', width, glyphs)];
  const saved = [...state.checkpoints].reverse().find((c) => c.step !== null)?.step ?? (state.lastCheckpoint?.step ?? null);
  const step = state.step;
  if (saved !== null && step !== null) {
    const lost = Math.max(0, step - saved);
    lines.push([run(` Stopping now loses the work since the last save at step ${saved} — ${lost} step${lost === 1 ? '' : 's'}; the run can resume from step ${saved}.`)]);
  } else if (step !== null) {
    lines.push([run(` Nothing has been saved yet: stopping now loses all ${step} steps; the run would start over.`, 'warn')]);
  }
  if (state.control.db !== null) lines.push([run(' Save, then stop: the trainer saves a checkpoint first (at its next step), then stops; nothing is lost.')]);
  if (state.control.db === null) lines.push([run(' This run cannot be told to save first (no control channel): stopping sends SIGINT, as Ctrl-C would.', 'dim')]);
  lines.push([]);
  const words: Record<StopChoice, string> = { saveThenStop: 'save, then stop', stopNow: 'stop now', cancel: 'cancel' };
  ask.choices.forEach((choice, i) => {
    const chosen = choice === ask.choice;
    lines.push([run(chosen ? ' ▸ ' : '   ', 'key'), run(`${i + 1}  ${words[choice]}`, chosen ? 'key' : null)]);
  });
  lines.push([]);
  lines.push([run(' ←/→ choose · Enter answers · Esc cancels · quitting lora-top never stops the run', 'dim')]);
  return lines;
}

function helpLines(ctx: KeyContext, width: number, glyphs: Glyphs): ViewLine[] {
  const lines: ViewLine[] = [title('Keys', width, glyphs)];
  for (const row of helpRows(ctx)) {
    const line: ViewLine = [run(` ${row.label.padEnd(7)}`, 'key'), run(row.help)];
    if (row.unavailable) line.push(run(`  (not now: ${row.unavailable})`, 'dim'));
    lines.push(line);
  }
  lines.push([]);
  lines.push([run(' Quitting lora-top never stops or pauses the training run.', 'dim')]);
  return lines;
}

function footerLine(ctx: KeyContext, now: number, width: number): ViewLine {
  if (ctx.ui.flash && ctx.ui.flash.until > now) return [run(ctx.ui.flash.text, 'warn')];
  return fitItems(
    footerItems(ctx).map((item) => [run(item.label, 'key'), run(` ${item.name}`, 'dim')]),
    width,
    '  ',
  );
}
