import type { ComputeApp, GpuProblemKind, GpuReading, HostReading } from '../parse/gpuTypes.js';

/**
 * The GPU side of the run state: the newest readings of every GPU, the one the panel follows (the
 * trainer's), its last ten minutes, its peak VRAM, the trainer's own VRAM, host memory, and why
 * there are no figures when there are none. Pure.
 */

export interface GpuPoint {
  at: number;
  memoryUsedMiB: number | null;
  utilizationPercent: number | null;
  temperatureC: number | null;
  powerW: number | null;
  clockMHz: number | null;
}

/** How the trainer's process was matched to nvidia-smi's list of GPU processes. */
export type ProcessMatch = 'matched' | 'notListed' | 'noPid';

export interface GpuState {
  gpus: GpuReading[];
  /** The GPU index the panel follows. */
  selected: number | null;
  /** Why: the trainer runs on it, CUDA_VISIBLE_DEVICES says so, `--gpu` asked for it, or the first one. */
  selectedBy: 'trainer' | 'visibleDevices' | 'requested' | 'first' | null;
  /** `--gpu N`, when given. */
  requested: number | null;
  history: GpuPoint[];
  peakMemoryUsedMiB: number | null;
  problem: { kind: GpuProblemKind; message: string } | null;
  apps: ComputeApp[];
  trainerPid: number | null;
  trainerVisibleDevices: string | null;
  processMemoryMiB: number | null;
  processMatch: ProcessMatch;
  host: HostReading | null;
  lastReadingAt: number | null;
}

/** Ten minutes of history. */
export const GPU_HISTORY_MS = 10 * 60 * 1000;

export type GpuEvent =
  | { type: 'gpuReadings'; gpus: GpuReading[] }
  | { type: 'gpuProcesses'; apps: ComputeApp[] }
  | { type: 'gpuProblem'; kind: GpuProblemKind; message: string }
  | { type: 'gpuRecovered' }
  | { type: 'hostReading'; host: HostReading }
  | { type: 'trainerProcess'; pid: number | null; visibleDevices: string | null }
  /** `--gpu N`. */
  | { type: 'gpuRequested'; index: number | null };

const GPU_EVENT_TYPES = new Set(['gpuReadings', 'gpuProcesses', 'gpuProblem', 'gpuRecovered', 'hostReading', 'trainerProcess', 'gpuRequested']);

export function isGpuEvent(event: { type: string }): event is GpuEvent {
  return GPU_EVENT_TYPES.has(event.type);
}

export function initialGpu(requested: number | null = null): GpuState {
  return {
    gpus: [],
    selected: null,
    selectedBy: null,
    requested,
    history: [],
    peakMemoryUsedMiB: null,
    problem: null,
    apps: [],
    trainerPid: null,
    trainerVisibleDevices: null,
    processMemoryMiB: null,
    processMatch: 'noPid',
    host: null,
    lastReadingAt: null,
  };
}

export function copyGpu(gpu: GpuState): GpuState {
  return { ...gpu, history: [...gpu.history] };
}

/** Applies one GPU event to `gpu` (a copy the caller owns). */
export function applyGpuEvent(gpu: GpuState, event: GpuEvent, at: number): void {
  switch (event.type) {
    case 'gpuReadings': {
      gpu.gpus = event.gpus;
      gpu.lastReadingAt = at;
      gpu.problem = gpu.problem?.kind === 'stalled' ? null : gpu.problem;
      select(gpu);
      const reading = gpu.gpus.find((g) => g.index === gpu.selected);
      if (!reading) return;
      const previous = gpu.history[gpu.history.length - 1];
      const point: GpuPoint = {
        at,
        memoryUsedMiB: reading.memoryUsedMiB,
        utilizationPercent: reading.utilizationPercent,
        temperatureC: reading.temperatureC,
        powerW: reading.powerW,
        clockMHz: reading.clockMHz,
      };
      if (previous && previous.at === at) gpu.history[gpu.history.length - 1] = point;
      else gpu.history.push(point);
      const cutoff = at - GPU_HISTORY_MS;
      let drop = 0;
      while (drop < gpu.history.length && gpu.history[drop]!.at < cutoff) drop++;
      if (drop > 0) gpu.history.splice(0, drop);
      if (reading.memoryUsedMiB !== null) gpu.peakMemoryUsedMiB = Math.max(gpu.peakMemoryUsedMiB ?? 0, reading.memoryUsedMiB);
      matchProcess(gpu);
      return;
    }
    case 'gpuProcesses':
      gpu.apps = event.apps;
      select(gpu);
      matchProcess(gpu);
      return;
    case 'gpuProblem':
      gpu.problem = { kind: event.kind, message: event.message };
      if (event.kind !== 'stalled') gpu.gpus = [];
      return;
    case 'gpuRecovered':
      gpu.problem = null;
      return;
    case 'hostReading':
      gpu.host = event.host;
      return;
    case 'gpuRequested':
      gpu.requested = event.index;
      select(gpu);
      return;
    case 'trainerProcess':
      gpu.trainerPid = event.pid;
      gpu.trainerVisibleDevices = event.visibleDevices;
      select(gpu);
      matchProcess(gpu);
      return;
  }
}

/** The trainer's GPU (by its process, then CUDA_VISIBLE_DEVICES), else `--gpu N`, else the first one. */
function select(gpu: GpuState): void {
  const byProcess = gpu.trainerPid === null ? undefined : gpu.apps.find((a) => a.pid === gpu.trainerPid);
  const viaProcess = byProcess ? gpu.gpus.find((g) => g.uuid !== null && g.uuid === byProcess.gpuUuid) : undefined;
  const visible = firstVisibleIndex(gpu.trainerVisibleDevices, gpu.gpus);
  let selected: number | null;
  let by: GpuState['selectedBy'];
  if (viaProcess) [selected, by] = [viaProcess.index, 'trainer'];
  else if (visible !== null) [selected, by] = [visible, 'visibleDevices'];
  else if (gpu.requested !== null) [selected, by] = [gpu.requested, 'requested'];
  else if (gpu.gpus.length > 0) [selected, by] = [gpu.gpus[0]!.index, 'first'];
  else [selected, by] = [null, null];
  if (selected !== gpu.selected) {
    gpu.history = [];
    gpu.peakMemoryUsedMiB = null;
  }
  gpu.selected = selected;
  gpu.selectedBy = by;
}

/** CUDA_VISIBLE_DEVICES lists indices or UUIDs; the first one is the trainer's device 0. */
function firstVisibleIndex(visible: string | null, gpus: GpuReading[]): number | null {
  const first = visible?.split(',')[0]?.trim();
  if (!first) return null;
  if (/^\d+$/.test(first)) return gpus.some((g) => g.index === Number(first)) ? Number(first) : null;
  const byUuid = gpus.find((g) => g.uuid !== null && (g.uuid === first || g.uuid.startsWith(first)));
  return byUuid ? byUuid.index : null;
}

function matchProcess(gpu: GpuState): void {
  if (gpu.trainerPid === null) {
    gpu.processMatch = 'noPid';
    gpu.processMemoryMiB = null;
    return;
  }
  const app = gpu.apps.find((a) => a.pid === gpu.trainerPid);
  // In containers nvidia-smi lists host PIDs, which do not match: say so and show device totals.
  gpu.processMatch = app ? 'matched' : 'notListed';
  gpu.processMemoryMiB = app?.usedMemoryMiB ?? null;
}

/** The reading of the GPU the panel follows. */
export function selectedReading(gpu: GpuState): GpuReading | null {
  return gpu.gpus.find((g) => g.index === gpu.selected) ?? null;
}
