/**
 * Raw and smoothed loss over the run, bounded in size, safe against resumes that rewind steps.
 * The smoothed value is a bias-corrected exponential moving average, as the ai-toolkit UI draws it.
 */

export interface LossPoint {
  step: number;
  loss: number;
  smoothed: number;
}

export interface LossHistory {
  points: LossPoint[];
  /** Keep one point every `stride` steps; doubles whenever the history fills up. */
  stride: number;
  /** EMA state after the last point: the running average and how many values went in. */
  ema: number;
  count: number;
  /** EMA state before the last point, so that a re-reported step replaces it cleanly. */
  prevEma: number;
  prevCount: number;
  lastStep: number | null;
}

export const MAX_LOSS_POINTS = 4096;
/** Weight of the past in the moving average (0.9 ≈ the last ten steps). */
export const DEFAULT_SMOOTHING = 0.9;

export function emptyLossHistory(): LossHistory {
  return { points: [], stride: 1, ema: 0, count: 0, prevEma: 0, prevCount: 0, lastStep: null };
}

export function copyLossHistory(history: LossHistory): LossHistory {
  // Every field named, in emptyLossHistory's order: a spread copy of an object with this many
  // fields got a map of its own each time, and the code reading it went slow (a backfill copies once
  // a read).
  return {
    points: [...history.points],
    stride: history.stride,
    ema: history.ema,
    count: history.count,
    prevEma: history.prevEma,
    prevCount: history.prevCount,
    lastStep: history.lastStep,
  };
}

/**
 * Records the loss reported at `step`; returns the smoothed value. Changes `history` (a copy the
 * caller owns). A step reported again replaces its value; a step lower than the last one (a resume
 * that went back to an earlier checkpoint) drops everything after it first.
 */
export function recordLoss(history: LossHistory, step: number, loss: number, smoothing = DEFAULT_SMOOTHING): number {
  if (!Number.isFinite(loss)) return history.count > 0 ? debias(history.ema, history.count, smoothing) : loss;
  if (history.lastStep !== null && step < history.lastStep) rewind(history, step, smoothing);
  if (history.lastStep === step) {
    history.ema = history.prevEma;
    history.count = history.prevCount;
  } else {
    history.prevEma = history.ema;
    history.prevCount = history.count;
  }
  history.ema = smoothing * history.ema + (1 - smoothing) * loss;
  history.count += 1;
  const smoothed = debias(history.ema, history.count, smoothing);

  const last = history.points[history.points.length - 1];
  if (last && last.step === step) {
    history.points[history.points.length - 1] = { step, loss, smoothed };
  } else if (!last || step - last.step >= history.stride) {
    history.points.push({ step, loss, smoothed });
    if (history.points.length > MAX_LOSS_POINTS) thin(history);
  }
  history.lastStep = step;
  return smoothed;
}

function debias(ema: number, count: number, smoothing: number): number {
  // After a few hundred values the correction is below one part in a billion.
  return count > 500 ? ema : ema / (1 - smoothing ** count);
}

function rewind(history: LossHistory, step: number, smoothing: number): void {
  let keep = history.points.length;
  while (keep > 0 && history.points[keep - 1]!.step >= step) keep--;
  history.points.length = keep;
  // Restart the average from the last kept point, as if it had been the only one.
  const last = history.points[keep - 1];
  if (last) {
    history.count = Math.max(1, Math.round(1 / (1 - smoothing)));
    history.ema = last.smoothed * (1 - smoothing ** history.count);
  } else {
    history.count = 0;
    history.ema = 0;
  }
  history.prevEma = history.ema;
  history.prevCount = history.count;
  history.lastStep = last ? last.step : null;
}

function thin(history: LossHistory): void {
  history.stride *= 2;
  history.points = history.points.filter((_, i) => i % 2 === 0);
}

/** Smooths a series again with another strength (for the dashboard's smoothing key). */
export function resmooth(points: readonly LossPoint[], smoothing: number): LossPoint[] {
  let ema = 0;
  return points.map((point, i) => {
    ema = smoothing * ema + (1 - smoothing) * point.loss;
    return { ...point, smoothed: debias(ema, i + 1, smoothing) };
  });
}
