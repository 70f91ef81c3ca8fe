/**
 * lora-top's own seconds-per-step, from the training bar's successive states.
 *
 * Two clocks are available for each state: the wall-clock time its bytes arrived, and the
 * elapsed time tqdm printed. tqdm's elapsed already leaves out save and sample pauses
 * (ai-toolkit's bar moves its start time forward on unpause) but has one-second resolution;
 * the wall clock is exact while the run is live but includes pauses, and means nothing for
 * states read back from a log that was already written. So: over states that arrived live, use
 * wall-clock deltas of pairs that no pause separates; otherwise use the printed elapsed over a
 * window wide enough to make its resolution small. tqdm's own rate is used only while neither
 * can measure anything yet in this session, so its absurd post-pause figures (the `2566.52it/s`
 * that follows a long sample) never replace a measurement.
 * Pure functions over plain data.
 */

export interface BarMark {
  n: number;
  elapsedS: number;
  at: number;
  /** A save, a sample or another pause happened between the previous mark and this one. */
  afterPause: boolean;
  /** It arrived as the trainer wrote it (not read back from a log that was already there). */
  live: boolean;
}

export interface SpeedState {
  marks: BarMark[];
  /** Seconds per step now, or null while unknown. */
  secondsPerStep: number | null;
  /** Where the figure came from. */
  basis: 'wall' | 'elapsed' | 'tqdm' | null;
  /** Recent estimates, one per new step (bounded), for sparklines and slowdown checks. */
  history: number[];
  /** How many estimates were dropped from the front of `history` so far. */
  historyDropped: number;
  pausedSinceLastMark: boolean;
}


const MAX_MARKS = 512;
const MAX_HISTORY = 600;
const WINDOW_STEPS = 50;
const WINDOW_SECONDS = 20;
/** Wall-clock deltas are used once the live marks span this long. */
const MIN_WALL_SPAN_MS = 1000;
/** A step faster than this (or a rate whose implied time per step is) cannot be real. */
const MIN_SECONDS_PER_STEP = 0.005;

export function initialSpeed(): SpeedState {
  return { marks: [], secondsPerStep: null, basis: null, history: [], historyDropped: 0, pausedSinceLastMark: false };
}

/** A copy that `addBarSample` and `notePause` may change without touching the original. */
export function copySpeed(speed: SpeedState): SpeedState {
  return { ...speed, marks: [...speed.marks], history: [...speed.history] };
}

/** Changes `speed` (a copy the caller owns) with one training bar state. */
export function addBarSample(speed: SpeedState, n: number, elapsedS: number, at: number, printedSecondsPerStep: number | null, live: boolean): void {
  const last = speed.marks[speed.marks.length - 1];
  if (last && (n < last.n || elapsedS + 1 < last.elapsedS)) {
    // A new session (resume, restart): its elapsed and counts start again.
    speed.marks = [];
  } else if (last && n === last.n) {
    // The postfix refresh of the same step: nothing new about speed.
    return;
  }
  speed.marks.push({ n, elapsedS, at, afterPause: speed.pausedSinceLastMark, live });
  speed.pausedSinceLastMark = false;
  // Trimmed in batches so that a long run does not shift the whole list on every step.
  if (speed.marks.length > 2 * MAX_MARKS) speed.marks.splice(0, speed.marks.length - MAX_MARKS);

  const estimate = estimateFromMarks(speed.marks);
  if (estimate) {
    speed.secondsPerStep = estimate.seconds;
    speed.basis = estimate.basis;
    speed.history.push(estimate.seconds);
    if (speed.history.length > 2 * MAX_HISTORY) {
      speed.historyDropped += speed.history.length - MAX_HISTORY;
      speed.history.splice(0, speed.history.length - MAX_HISTORY);
    }
  } else {
    // Too early in this session to measure: tqdm's own figure is all there is.
    adoptPrinted(speed, printedSecondsPerStep);
  }
}

/** Marks that a pause (save, sample, anything not training) began since the last bar state. */
export function notePause(speed: SpeedState): void {
  speed.pausedSinceLastMark = true;
}

function adoptPrinted(speed: SpeedState, printed: number | null): void {
  if (printed === null || !(printed >= MIN_SECONDS_PER_STEP)) return;
  speed.secondsPerStep = printed;
  speed.basis = 'tqdm';
}

function estimateFromMarks(marks: BarMark[]): { seconds: number; basis: 'wall' | 'elapsed' } | null {
  if (marks.length < 2) return null;
  const last = marks[marks.length - 1]!;
  let first = marks.length - 2;
  while (first > 0) {
    const m = marks[first]!;
    if (last.n - m.n >= WINDOW_STEPS && last.elapsedS - m.elapsedS >= WINDOW_SECONDS) break;
    first--;
  }

  // Wall clock: only over the trailing marks that arrived live (a log read back after the fact
  // stamps its states with the time of reading), and only over pairs that no pause separates.
  let liveFrom = marks.length - 1;
  while (liveFrom > first && marks[liveFrom - 1]!.live) liveFrom--;
  if (!last.live) liveFrom = marks.length - 1;
  if (last.at - marks[liveFrom]!.at >= MIN_WALL_SPAN_MS) {
    let steps = 0;
    let seconds = 0;
    for (let i = liveFrom + 1; i < marks.length; i++) {
      const mark = marks[i]!;
      if (mark.afterPause) continue;
      steps += mark.n - marks[i - 1]!.n;
      seconds += (mark.at - marks[i - 1]!.at) / 1000;
    }
    if (steps > 0 && seconds / steps >= MIN_SECONDS_PER_STEP) return { seconds: seconds / steps, basis: 'wall' };
  }

  // tqdm's elapsed: pause-free, one-second resolution, so only over a window of a few seconds or more.
  const start = marks[first]!;
  const steps = last.n - start.n;
  const elapsedSpan = last.elapsedS - start.elapsedS;
  if (steps > 0 && elapsedSpan >= 1) return { seconds: elapsedSpan / steps, basis: 'elapsed' };
  return null;
}

/** tqdm's printed rate as seconds per step (`2.16s/it` → 2.16, `4.00it/s` → 0.25). */
export function printedSecondsPerStep(rate: number | null, unit: 'it/s' | 's/it'): number | null {
  if (rate === null || !(rate > 0)) return null;
  return unit === 's/it' ? rate : 1 / rate;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
