import type { Eta } from '../state/eta.js';
import type { RunState } from '../state/runState.js';
import { selectedReading } from '../state/gpuState.js';
import type { GpuReading } from '../parse/gpuTypes.js';
import { stripControlSequences } from '../parse/sanitize.js';
import { formatBytes, formatClock, formatDuration, formatNumber, formatSpeed } from './format.js';

/** The `--once` snapshot, as one JSON object for scripts and as a few readable lines. Pure. */

export interface JsonSnapshot {
  name: string | null;
  status: RunState['status'];
  phase: { text: string; n: number | null; total: number | null; detail: string | null } | null;
  step: number | null;
  totalSteps: number | null;
  loss: number | null;
  lossSmoothed: number | null;
  lr: number | null;
  secondsPerStep: number | null;
  etaSeconds: number | null;
  targetStep: number;
  etaTargetSeconds: number | null;
  finishAt: string | null;
  lastCheckpoint: { step: number | null; path: string } | null;
  checkpoints: Array<{ step: number | null; path: string; bytes: number | null }>;
  samples: Array<{ step: number; index: number; path: string; prompt: string | null }>;
  error: { kind: string; message: string } | null;
  lora: { rank: number; alpha: number } | null;
  gpu: GpuJson | null;
  gpus: GpuJson[];
  triggerWord: string | null;
  resume: { path: string | null; step: number | null } | null;
  nextSave: number | null;
  nextSample: number | null;
  warnings: number;
}

/** A GPU as `--json` gives it: nvidia-smi's figures, and the trainer's own VRAM when its process is listed. */
export type GpuJson = Omit<GpuReading, 'uuid'> & { processMemoryMiB: number | null };

function gpuJson(state: RunState, reading: GpuReading): GpuJson {
  const own = state.gpu.selected === reading.index ? state.gpu.processMemoryMiB : null;
  return {
    index: reading.index,
    name: stripControlSequences(reading.name),
    memoryUsedMiB: reading.memoryUsedMiB,
    memoryTotalMiB: reading.memoryTotalMiB,
    utilizationPercent: reading.utilizationPercent,
    temperatureC: reading.temperatureC,
    powerW: reading.powerW,
    powerLimitW: reading.powerLimitW,
    clockMHz: reading.clockMHz,
    processMemoryMiB: own,
  };
}

export function jsonSnapshot(state: RunState, eta: Eta): JsonSnapshot {
  const selected = selectedReading(state.gpu);
  return {
    name: state.name,
    status: state.status,
    phase: state.phase && { ...state.phase },
    step: state.step,
    totalSteps: state.totalSteps,
    loss: finite(state.loss),
    lossSmoothed: finite(state.lossSmoothed),
    lr: finite(state.lr),
    secondsPerStep: round(eta.secondsPerStep, 4),
    etaSeconds: round(eta.etaSeconds, 1),
    targetStep: eta.targetStep,
    etaTargetSeconds: round(eta.etaTargetSeconds, 1),
    finishAt: eta.finishAtMs === null ? null : new Date(eta.finishAtMs).toISOString(),
    lastCheckpoint: state.lastCheckpoint,
    checkpoints: state.checkpoints.map(({ step, path, bytes }) => ({ step, path, bytes })),
    samples: state.samples.map(({ step, index, path }) => ({ step, index, path, prompt: state.config?.prompts[index] ?? null })),
    error: state.error,
    lora: state.lora,
    gpu: selected ? gpuJson(state, selected) : null,
    gpus: state.gpu.gpus.map((g) => gpuJson(state, g)),
    triggerWord: state.config?.triggerWord ?? null,
    resume: state.resume,
    nextSave: nextMultiple(state.step, state.config?.saveEvery ?? null, state.totalSteps),
    nextSample: state.config?.disableSampling ? null : nextMultiple(state.step, state.config?.sampleEvery ?? null, state.totalSteps),
    warnings: state.warnings,
  };
}

/** The readable snapshot: a handful of lines a person can take in at a glance. */
export function textSnapshot(state: RunState, eta: Eta, now: number): string {
  const lines: string[] = [];
  const name = state.name ?? '(unnamed run)';
  lines.push(`${name}  [${state.status}]${state.phase ? `  ${phaseText(state.phase)}` : ''}`);
  if (!state.recognised) {
    lines.push('no ai-toolkit training output recognised yet');
    return clean(lines);
  }
  if (state.step !== null && state.totalSteps !== null) {
    const pct = state.totalSteps > 0 ? Math.floor((100 * state.step) / state.totalSteps) : 0;
    lines.push(`step ${state.step}/${state.totalSteps} (${pct}%)  ${formatSpeed(eta.secondsPerStep)}`);
  }
  if (eta.etaSeconds !== null && eta.finishAtMs !== null) {
    lines.push(`ETA ${formatDuration(eta.etaSeconds)} (done ~${formatClock(eta.finishAtMs, now)})` +
      (eta.etaTargetSeconds !== null && eta.targetStep !== state.totalSteps ? `  to step ${eta.targetStep}: ${formatDuration(eta.etaTargetSeconds)}` : ''));
  }
  if (state.loss !== null) lines.push(`loss ${formatNumber(state.loss)}  smoothed ${formatNumber(state.lossSmoothed)}  lr ${formatNumber(state.lr)}`);
  if (state.lora) lines.push(`LoRA rank ${state.lora.rank} alpha ${state.lora.alpha}${state.config?.triggerWord ? `  trigger "${state.config.triggerWord}"` : ''}`);
  if (state.lastCheckpoint) {
    const bytes = state.checkpoints.find((c) => c.path === state.lastCheckpoint?.path)?.bytes ?? null;
    lines.push(`last checkpoint: ${state.lastCheckpoint.step === null ? 'final' : `step ${state.lastCheckpoint.step}`}  ${state.lastCheckpoint.path}${bytes !== null ? ` (${formatBytes(bytes)})` : ''}`);
  }
  if (state.samples.length > 0) {
    const newest = state.samples[state.samples.length - 1]!;
    lines.push(`samples: ${state.samples.length}, newest at step ${newest.step}`);
  }
  const gpu = selectedReading(state.gpu);
  if (gpu && gpu.memoryUsedMiB !== null && gpu.memoryTotalMiB !== null) {
    const free = gpu.memoryTotalMiB - gpu.memoryUsedMiB;
    lines.push(`GPU ${gpu.index} ${gpu.name}: ${(gpu.memoryUsedMiB / 1024).toFixed(1)}/${(gpu.memoryTotalMiB / 1024).toFixed(1)} GiB, ${(free / 1024).toFixed(1)} GiB free` +
      (gpu.utilizationPercent !== null ? `, ${gpu.utilizationPercent}% busy` : '') + (gpu.temperatureC !== null ? `, ${gpu.temperatureC}°C` : ''));
  } else if (state.gpu.problem) {
    lines.push(`GPU: ${state.gpu.problem.message}`);
  }
  if (state.error) lines.push(`error (${state.error.kind}): ${state.error.message}`);
  return clean(lines);
}

function phaseText(phase: NonNullable<RunState['phase']>): string {
  const progress = phase.n !== null && phase.total !== null ? ` ${phase.n}/${phase.total}` : '';
  return `${phase.text}${progress}${phase.detail ? ` (${phase.detail})` : ''}`;
}

function clean(lines: string[]): string {
  return lines.map(stripControlSequences).join('\n') + '\n';
}

function finite(value: number | null): number | null {
  return value !== null && Number.isFinite(value) ? value : null;
}

function round(value: number | null, digits: number): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function nextMultiple(step: number | null, every: number | null, total: number | null): number | null {
  if (step === null || every === null || !(every > 0)) return null;
  const next = (Math.floor(step / every) + 1) * every;
  return total !== null && next >= total ? total : next;
}
