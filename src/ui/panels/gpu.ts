import type { GpuReading } from '../../parse/gpuTypes.js';
import { selectedReading, type GpuState } from '../../state/gpuState.js';
import type { HostLink } from '../../state/runState.js';
import { codePointCount, progressBar, sparkline, type Glyphs } from '../../view/charts/index.js';
import { formatGib } from '../../view/format.js';
import { clean, fitItems, fitLines, run, title, type ViewLine, type ViewRun, type ViewStyle } from '../viewLine.js';
import type { Panel, PanelInput } from './panel.js';

/**
 * The GPU the trainer uses: VRAM headroom (amber under 10 %, red under 5 %), utilisation,
 * temperature, power, clock, the VRAM history, the trainer's own share, the host's memory, and the
 * other GPUs in a line each. Without a reading it is one line that says why.
 */

function vramLine(gpu: GpuState, reading: GpuReading, width: number, glyphs: Glyphs): ViewLine {
  const used = reading.memoryUsedMiB;
  const total = reading.memoryTotalMiB;
  if (used === null || total === null || !(total > 0)) return [run('VRAM ', 'dim'), run(`${formatGib(used)}/${formatGib(total)} GiB`, 'value')];
  const free = total - used;
  const headroom = free / total;
  // A LoRA run on a 24 GB card lives a few hundred MiB from an OOM: amber under 10 %, red under 5 %.
  const style: ViewStyle = headroom < 0.05 ? 'bad' : headroom < 0.1 ? 'warn' : 'value';
  const text: ViewRun[] = [
    run(` ${formatGib(used)}/${formatGib(total)} GiB`, 'value'),
    run(' · ', 'dim'),
    run(`${formatGib(free)} GiB free (${Math.round(headroom * 100)}%)`, style),
  ];
  if (gpu.peakMemoryUsedMiB !== null) text.push(run(` · peak ${formatGib(gpu.peakMemoryUsedMiB)}`, 'dim'));
  const textWidth = text.reduce((n, r) => n + codePointCount(r.text), 0);
  const barWidth = Math.max(4, Math.min(24, width - textWidth - 1));
  const { bar } = progressBar({ value: used, total, width: barWidth, glyphs });
  const barRuns: ViewLine = bar.map((r) => (r.style === 'fill' ? { text: r.text, style: headroom < 0.1 ? style : 'fill' } : r));
  return [...barRuns, ...text];
}

function trainerLine(gpu: GpuState, width: number): ViewLine {
  switch (gpu.processMatch) {
    case 'matched':
      return fitItems([[run(`trainer pid ${gpu.trainerPid} `, 'dim'), run(`${formatGib(gpu.processMemoryMiB)} GiB`, 'value')]], width, ' ');
    case 'notListed':
      return [run(`trainer pid ${gpu.trainerPid} is not among nvidia-smi's processes (a container?): device totals shown`, 'dim')];
    default:
      return [run('trainer process not found: device totals shown', 'dim')];
  }
}

/** Why there is no reading, when there is none: one line instead of a panel. */
function noReading(gpu: GpuState, host: HostLink | null): ViewRun | null {
  const reading = selectedReading(gpu);
  // nvidia-smi runs over the host's link: its failure while the link is down is the link's.
  if (gpu.problem && host?.link === 'down') return run(`no GPU figures while ${clean(host.label)} is unreachable`, 'dim');
  if (gpu.problem && (gpu.problem.kind !== 'stalled' || !reading)) return run(clean(gpu.problem.message), gpu.problem.kind === 'missing' ? 'dim' : 'warn');
  if (!reading) return run('waiting for nvidia-smi…', 'dim');
  return null;
}

function gpuLines({ run: state, glyphs }: PanelInput, rows: number, width: number): ViewLine[] {
  if (rows <= 0) return [];
  const gpu = state.gpu;
  const reading = selectedReading(gpu);
  const none = noReading(gpu, state.host);
  if (none || !reading) return [[run(glyphs === 'unicode' ? '── GPU ' : '-- GPU ', 'title'), none ?? run('')]];
  const lines: ViewLine[] = [title('GPU', width, glyphs, [run(`${reading.index} ${clean(reading.name)}`, 'dim')])];
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
    lines.push(fitItems([[run(`GPU ${other.index} `, 'dim'), run(`${formatGib(other.memoryUsedMiB)}/${formatGib(other.memoryTotalMiB)} GiB`, 'value')], [run(other.utilizationPercent !== null ? `${other.utilizationPercent}%` : '', 'dim')], [run(clean(other.name), 'dim')]], width, '  '));
  }
  return lines.slice(0, rows);
}

export const gpuPanel: Panel = {
  id: 'gpu',
  place: 'main',
  priority: 3,
  wants({ run: state }) {
    const gpu = state.gpu;
    if (noReading(gpu, state.host)) return { min: 1, ideal: 1, max: 1 };
    const lines = 5 + (gpu.problem?.kind === 'stalled' ? 1 : 0) + (gpu.host ? 1 : 0) + Math.max(0, gpu.gpus.length - 1);
    return { min: 3, ideal: lines, max: lines };
  },
  build: (input, box) => fitLines(gpuLines(input, box.rows, box.cols), box.cols, input.glyphs),
  key({ run: state, glyphs }, box) {
    const gpu = state.gpu;
    // A new reading (every second or so) changes the figures; the rest changes with news of its own.
    return `${box.cols}x${box.rows}|${gpu.lastReadingAt}|${gpu.history.length}|${gpu.selected}|${gpu.gpus.length}|${gpu.problem?.kind}|${gpu.problem?.message}|${gpu.processMatch}|${gpu.trainerPid}|${gpu.processMemoryMiB}|${gpu.host?.memUsedBytes}|${gpu.host?.cpuPercent}|${state.host?.link}|${glyphs}`;
  },
};
