import { promptCount, resolvePick, sampledSteps } from '../state/sampleIndex.js';
import type { RunState } from '../state/runState.js';
import type { UiState } from './uiState.js';

/**
 * The grid of samples (`g`), like the trainer UI's samples page: the sampled steps across (oldest
 * left, newest right), the prompts down, each a thumbnail. Which steps and prompts fit on the
 * screen, and how big a thumbnail is. Pure.
 */

export interface GridGeometry {
  /** The steps shown, left to right. */
  steps: number[];
  /** The prompt indexes shown, top to bottom. */
  prompts: number[];
  thumbCols: number;
  thumbRows: number;
  /** The selected cell. */
  selected: { step: number; index: number } | null;
}

/** Rows the grid keeps for its own lines: a title and the steps above, the caption and keys below. */
export const GRID_CHROME_ROWS = 4;
const MIN_THUMB_ROWS = 4;
const MAX_THUMB_COLS = 48;

/** A window of `size` items of `count` that holds `at`, as late in the list as it can be. */
function window(count: number, size: number, at: number): [number, number] {
  const start = Math.max(0, Math.min(at - size + 1 + Math.floor((size - 1) / 2), count - size));
  return [Math.max(0, start), Math.min(count, Math.max(0, start) + size)];
}

export function gridGeometry(run: RunState, ui: UiState, cols: number, height: number): GridGeometry {
  const allSteps = sampledSteps(run.samples);
  const prompts = promptCount(run.samples, run.config?.prompts.length ?? 0);
  const resolved = resolvePick(run.samples, ui.sample);
  if (allSteps.length === 0 || prompts === 0 || !resolved) return { steps: [], prompts: [], thumbCols: 0, thumbRows: 0, selected: null };
  const room = Math.max(MIN_THUMB_ROWS, height - GRID_CHROME_ROWS);
  // Every prompt on the screen when they fit at the least size; else as many as do.
  const promptRows = Math.max(1, Math.min(prompts, Math.floor(room / MIN_THUMB_ROWS)));
  const thumbRows = Math.max(MIN_THUMB_ROWS, Math.floor(room / promptRows));
  // Square pictures in half blocks: two pixel rows a cell.
  const thumbCols = Math.max(8, Math.min(MAX_THUMB_COLS, thumbRows * 2, cols));
  const stepCols = Math.max(1, Math.floor((cols + 1) / (thumbCols + 1)));
  const stepAt = allSteps.indexOf(resolved.step);
  const [s0, s1] = window(allSteps.length, stepCols, stepAt < 0 ? allSteps.length - 1 : stepAt);
  const [p0, p1] = window(prompts, promptRows, resolved.index);
  return {
    steps: allSteps.slice(s0, s1),
    prompts: Array.from({ length: p1 - p0 }, (_, i) => p0 + i),
    thumbCols,
    thumbRows,
    selected: { step: resolved.step, index: resolved.index },
  };
}
