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

/**
 * The training bar's states that moved the step, oldest first, as columns of numbers (a backfill
 * adds hundreds of thousands: no object each). Mark i is `n[i]`, `elapsedS[i]`, `at[i]` and
 * `flags[i]`: AFTER_PAUSE (a save, a sample or another pause came between the previous mark and
 * this one) and LIVE (it arrived as the trainer wrote it, not read back from a log already there).
 *
 * The columns are shared by the states that follow one another (a state reads its first
 * `markCount`), so that a reduce does not copy them: a mark is written only past every mark any
 * state holds (`filled`); anything else (a second state made from the same one, a new session, the
 * trim) takes fresh columns.
 */
export interface BarMarks {
  n: Float64Array;
  elapsedS: Float64Array;
  at: Float64Array;
  flags: Uint8Array;
  /** How many marks have been written into these columns (by any state that shares them). */
  filled: number;
}

const AFTER_PAUSE = 1;
const LIVE = 2;

function emptyMarks(capacity = 16): BarMarks {
  return { n: new Float64Array(capacity), elapsedS: new Float64Array(capacity), at: new Float64Array(capacity), flags: new Uint8Array(capacity), filled: 0 };
}

/** Fresh columns with room for `capacity`, holding `marks[from, to)`. */
function copyMarks(marks: BarMarks, from: number, to: number, capacity: number): BarMarks {
  const copy = emptyMarks(capacity);
  copy.n.set(marks.n.subarray(from, to));
  copy.elapsedS.set(marks.elapsedS.subarray(from, to));
  copy.at.set(marks.at.subarray(from, to));
  copy.flags.set(marks.flags.subarray(from, to));
  copy.filled = to - from;
  return copy;
}

export interface SpeedState {
  marks: BarMarks;
  /** How many of `marks` are this state's. */
  markCount: number;
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
  return { marks: emptyMarks(), markCount: 0, secondsPerStep: null, basis: null, history: [], historyDropped: 0, pausedSinceLastMark: false };
}

/** A copy that `addBarSample` and `notePause` may change without touching the original. */
export function copySpeed(speed: SpeedState): SpeedState {
  // Every field named, in initialSpeed's order (see copyLossHistory).
  return {
    marks: speed.marks,
    markCount: speed.markCount,
    secondsPerStep: speed.secondsPerStep,
    basis: speed.basis,
    history: [...speed.history],
    historyDropped: speed.historyDropped,
    pausedSinceLastMark: speed.pausedSinceLastMark,
  };
}

/** Changes `speed` (a copy the caller owns) with one training bar state. */
export function addBarSample(speed: SpeedState, n: number, elapsedS: number, at: number, printedSecondsPerStep: number | null, live: boolean): void {
  let marks = speed.marks;
  let count = speed.markCount;
  if (count > 0 && (n < marks.n[count - 1]! || elapsedS + 1 < marks.elapsedS[count - 1]!)) {
    // A new session (resume, restart): its elapsed and counts start again.
    count = 0;
  } else if (count > 0 && n === marks.n[count - 1]) {
    // The postfix refresh of the same step: nothing new about speed.
    return;
  }
  if (count !== marks.filled || count === marks.n.length) {
    const capacity = count === marks.n.length ? Math.min(2 * marks.n.length, 2 * MAX_MARKS + 1) : marks.n.length;
    speed.marks = marks = copyMarks(marks, 0, count, capacity);
  }
  marks.n[count] = n;
  marks.elapsedS[count] = elapsedS;
  marks.at[count] = at;
  marks.flags[count] = (speed.pausedSinceLastMark ? AFTER_PAUSE : 0) | (live ? LIVE : 0);
  marks.filled = ++count;
  speed.markCount = count;
  speed.pausedSinceLastMark = false;
  // Trimmed in batches so that a long run does not shift the whole list on every step.
  if (count > 2 * MAX_MARKS) {
    speed.marks = copyMarks(marks, count - MAX_MARKS, count, marks.n.length);
    speed.markCount = MAX_MARKS;
  }

  const basis = estimateFromMarks(speed.marks, speed.markCount);
  if (basis !== null) {
    speed.secondsPerStep = estimated;
    speed.basis = basis;
    speed.history.push(estimated);
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

/** The seconds per step the last estimateFromMarks that found one found (no object per estimate: a backfill makes hundreds of thousands). */
let estimated = 0;

/**
 * The newest mark before the last that is at least WINDOW_STEPS steps and WINDOW_SECONDS of
 * elapsed behind the last one; 0 when none is (the oldest mark is used then).
 */
export function windowStart(ns: Float64Array, elapsed: Float64Array, count: number): number {
  const lastN = ns[count - 1]!;
  const lastElapsed = elapsed[count - 1]!;
  // Steps only grow from mark to mark (a new session starts new marks), so the marks at least
  // WINDOW_STEPS behind are a prefix. Its end is found first (at once when each mark is one step,
  // else by halving), then, going back from there, the newest mark far enough behind in elapsed too:
  // the mark that a walk back from the newest would stop at.
  const last = count - 2;
  let p = count - 1 - WINDOW_STEPS;
  if (!(p >= 0 && lastN - ns[p]! >= WINDOW_STEPS && !(p + 1 <= last && lastN - ns[p + 1]! >= WINDOW_STEPS))) {
    if (!(lastN - ns[0]! >= WINDOW_STEPS)) return 0;
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lastN - ns[mid]! >= WINDOW_STEPS) lo = mid;
      else hi = mid - 1;
    }
    p = lo;
  }
  for (let i = p; i > 0; i--) if (lastElapsed - elapsed[i]! >= WINDOW_SECONDS) return i;
  return 0;
}

/** The estimate's basis, its value in `estimated`; null when none can be made yet. */
function estimateFromMarks(marks: BarMarks, count: number): 'wall' | 'elapsed' | null {
  if (count < 2) return null;
  const ns = marks.n;
  const elapsed = marks.elapsedS;
  const ats = marks.at;
  const flags = marks.flags;
  const lastN = ns[count - 1]!;
  const lastElapsed = elapsed[count - 1]!;
  const first = windowStart(ns, elapsed, count);

  // Wall clock: only over the trailing marks that arrived live (a log read back after the fact
  // stamps its states with the time of reading), and only over pairs that no pause separates.
  let liveFrom = count - 1;
  while (liveFrom > first && (flags[liveFrom - 1]! & LIVE) !== 0) liveFrom--;
  if ((flags[count - 1]! & LIVE) === 0) liveFrom = count - 1;
  if (ats[count - 1]! - ats[liveFrom]! >= MIN_WALL_SPAN_MS) {
    let steps = 0;
    let seconds = 0;
    for (let i = liveFrom + 1; i < count; i++) {
      if ((flags[i]! & AFTER_PAUSE) !== 0) continue;
      steps += ns[i]! - ns[i - 1]!;
      seconds += (ats[i]! - ats[i - 1]!) / 1000;
    }
    if (steps > 0 && seconds / steps >= MIN_SECONDS_PER_STEP) {
      estimated = seconds / steps;
      return 'wall';
    }
  }

  // tqdm's elapsed: pause-free, one-second resolution, so only over a window of a few seconds or more.
  const steps = lastN - ns[first]!;
  const elapsedSpan = lastElapsed - elapsed[first]!;
  if (steps > 0 && elapsedSpan >= 1) {
    estimated = elapsedSpan / steps;
    return 'elapsed';
  }
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
