import { baseName, checkpointJobName } from '../parse/checkpointName.js';
import { countMultiples } from './eta.js';
import type { LossHistory } from './lossHistory.js';
import { isFinished, type CheckpointFile, type RunState } from './runState.js';

/**
 * Checkpoints as saves (a Wan 2.2 high/low-noise pair is one save), which one ai-toolkit deletes
 * next, whether the saves still ahead fit on the disk, and each save's smoothed loss. Pure.
 */

export interface CheckpointSave {
  /** null for the final save. */
  step: number | null;
  files: CheckpointFile[];
  /** All its files together. */
  bytes: number | null;
  /** The newest of its files' modification times. */
  mtimeMs: number | null;
  /** Whether it is a high/low-noise pair (or half of one). */
  pair: boolean;
}

const NOISE_SUFFIX = /_(?:high|low)_noise\.safetensors$/;

/** Saves, oldest step first, the final last. */
export function checkpointSaves(checkpoints: readonly CheckpointFile[]): CheckpointSave[] {
  const byKey = new Map<string, CheckpointSave>();
  for (const file of checkpoints) {
    const pair = NOISE_SUFFIX.test(file.path);
    // Step saves group by step; final files by their name without the noise suffix.
    const key = file.step !== null ? `s${file.step}` : `f${baseName(file.path).replace(NOISE_SUFFIX, '.safetensors')}`;
    const save = byKey.get(key);
    if (!save) {
      byKey.set(key, { step: file.step, files: [file], bytes: file.bytes, mtimeMs: file.mtimeMs, pair });
      continue;
    }
    save.files.push(file);
    save.pair ||= pair;
    save.bytes = save.bytes === null || file.bytes === null ? null : save.bytes + file.bytes;
    save.mtimeMs = save.mtimeMs === null || file.mtimeMs === null ? null : Math.max(save.mtimeMs, file.mtimeMs);
  }
  return [...byKey.values()].sort((a, b) => (a.step ?? Infinity) - (b.step ?? Infinity));
}

/** Whether a file is one of the run's own step saves, the ones `max_step_saves_to_keep` counts. */
function isOwnStepSave(file: CheckpointFile, name: string | null): boolean {
  if (file.step === null) return false;
  if (name === null) return true;
  return checkpointJobName(file.path) === name;
}

/**
 * The saves the next save will delete. ai-toolkit, after each save, keeps the newest
 * `max_step_saves_to_keep` step saves of the job by creation time (twice as many files for a
 * high/low pair) and removes the rest; the final save is never counted.
 */
export function savesDeletedNext(state: Pick<RunState, 'checkpoints' | 'config' | 'name'>): CheckpointSave[] {
  const keep = state.config?.maxStepSavesToKeep ?? null;
  if (keep === null || !(keep > 0)) return [];
  const name = state.name ?? state.config?.name ?? null;
  const own = checkpointSaves(state.checkpoints.filter((file) => isOwnStepSave(file, name)));
  const byAge = [...own].sort((a, b) => oldestTime(a) - oldestTime(b) || (a.step ?? 0) - (b.step ?? 0));
  // After the next save there will be own.length + 1; the oldest beyond `keep` go.
  const excess = own.length + 1 - keep;
  return excess > 0 ? byAge.slice(0, excess) : [];
}

function oldestTime(save: CheckpointSave): number {
  let time = Infinity;
  for (const file of save.files) time = Math.min(time, file.ctimeMs ?? file.mtimeMs ?? Infinity);
  return time;
}

export interface DiskOutlook {
  freeBytes: number;
  /** Saves still ahead (step saves, and the final one). */
  savesAhead: number;
  /** What they will take at most, beyond what is used now. */
  needBytes: number;
  fits: boolean;
}

/**
 * Whether the saves still ahead fit on the output's filesystem: each is assumed as large as the
 * newest save, and the deletions `max_step_saves_to_keep` makes are counted (a save is written
 * before the oldest is removed, so at the limit one more save's room is needed for a moment).
 * optimizer.pt is rewritten on each save; its size is added as a margin.
 */
export function diskOutlook(state: RunState): DiskOutlook | null {
  const disk = state.disk;
  if (disk === null) return null;
  const { step, totalSteps: total, config } = state;
  if (step === null || total === null || isFinished(state.status)) return null;
  const saves = checkpointSaves(state.checkpoints);
  const newest = [...saves].reverse().find((s) => s.bytes !== null);
  if (!newest || newest.bytes === null) return null;

  const from = Math.max(step, (state.lastSaveStep ?? -1) + 1, 1);
  const gridAhead = countMultiples(config?.saveEvery ?? null, from, total);
  const finalAhead = state.finalSaved ? 0 : 1;
  const name = state.name ?? config?.name ?? null;
  const current = checkpointSaves(state.checkpoints.filter((file) => isOwnStepSave(file, name))).length;
  const keep = config?.maxStepSavesToKeep ?? null;
  const limit = keep !== null && keep > 0 ? keep : Infinity;
  // Step saves at the peak: growing to the limit, plus the one written before the oldest goes.
  // (Over the limit already — keep was lowered — the next save is still written before the extra go.)
  const peakStepSaves = gridAhead > 0 ? Math.max(current + 1, Math.min(current + gridAhead, limit + 1)) : current;
  const afterGrid = gridAhead > 0 ? Math.min(current + gridAhead, limit) : current;
  const peak = Math.max(peakStepSaves, afterGrid + finalAhead);
  const newSaves = Math.max(0, peak - current);
  const savesAhead = gridAhead + finalAhead;
  const needBytes = savesAhead === 0 ? 0 : newSaves * newest.bytes + (state.optimizerBytes ?? 0);
  return { freeBytes: disk.freeBytes, savesAhead, needBytes, fits: needBytes <= disk.freeBytes };
}

/** The smoothed loss at a step (the nearest point at or before it in the kept history). */
export function smoothedLossAt(history: LossHistory, step: number): number | null {
  const points = history.points;
  let lo = 0;
  let hi = points.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid]!.step <= step) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return null;
  const point = points[found]!;
  return Number.isFinite(point.smoothed) ? point.smoothed : null;
}
