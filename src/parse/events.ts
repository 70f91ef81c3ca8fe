import type { TrainingSteps } from './trainingState.js';
/**
 * Typed events that the log parser produces from ai-toolkit output.
 * Pure data: no I/O, no React. Times are seconds unless the name says otherwise.
 */

export type RateUnit = 'it/s' | 's/it';

/** How many log lines the run state keeps for the log view. */
export const MAX_RECENT_LINES = 200;

/** One tqdm bar state, as printed (one `\r`/`\n` segment). */
export interface TqdmBar {
  /** The bar's description (text before `: `), trimmed; null for an unnamed bar. */
  desc: string | null;
  n: number;
  total: number;
  percent: number;
  /** Seconds shown as elapsed. */
  elapsedS: number;
  /** Seconds shown as remaining; null when tqdm printed `?`. */
  remainingS: number | null;
  /** The printed rate value; null when tqdm printed `?`. */
  rate: number | null;
  unit: RateUnit;
  /** Every `key: value` pair of the postfix, in order, values as printed. */
  postfix: Record<string, string>;
  /** Text glued after the closing `]` (a message printed without a newline). */
  trailing: string;
}

/** A byte or item counter with no total (`Downloading: 0.00B [00:00, ?B/s]`). */
export interface TqdmCounter {
  desc: string | null;
  text: string;
}

export type ErrorKind = 'oom' | 'cuda' | 'error';

export type LogEvent =
  | { type: 'bar'; bar: TqdmBar }
  /**
   * Plain states of the training bar read back from a log (the backfill's fast path): what each
   * bar event would have carried, packed, `TRAINING_STEP_FIELDS` numbers a state (see
   * parse/trainingState.ts), and each state's postfix text.
   */
  | ({ type: 'trainingSteps'; desc: string } & TrainingSteps)
  | { type: 'counter'; counter: TqdmCounter }
  /** A `leave=False` bar wiped itself on close (a line of spaces): its phase is over. */
  | { type: 'barCleared' }
  | { type: 'jobsStart'; count: number }
  /** The config dump the trainer prints at start, as read so far (`complete` once its closing brace came). */
  | { type: 'config'; data: Record<string, unknown>; complete: boolean }
  | { type: 'sqliteDb'; path: string }
  | { type: 'jobId'; id: string }
  | { type: 'jobName'; name: string }
  | { type: 'processStart'; count: number }
  | { type: 'phase'; text: string }
  | { type: 'network'; rank: number; alpha: number }
  | { type: 'networkModules'; target: 'unet' | 'te'; count: number }
  | { type: 'dataset'; path: string }
  | { type: 'datasetImages'; count: number }
  | { type: 'buckets'; count: number }
  | { type: 'baseline'; skipped: boolean }
  | { type: 'saveStart'; step: number }
  | { type: 'checkpointSaved'; path: string; step: number | null }
  | { type: 'optimizerSaved'; path: string }
  | { type: 'saveRemoved'; path: string }
  | { type: 'samplingStart'; step: number }
  | { type: 'oomSkip'; attempt: number; of: number }
  | { type: 'resume'; path: string; step: number | null }
  | { type: 'resumeStep'; step: number }
  | { type: 'error'; kind: ErrorKind; message: string }
  | { type: 'errorSecondary'; message: string }
  | { type: 'result'; completed: number; failures: number }
  | { type: 'traceback' }
  /** A traceback whose outermost frame is run.py's module level: an exception nothing caught, the trainer is dying. */
  | { type: 'uncaughtTraceback' }
  /**
   * The last line of a traceback. `uncaught`: true when that traceback went through run.py's module
   * level (nothing caught it), false when its outermost frame is elsewhere (code that caught it
   * printed it), null when no frame of it was in view.
   */
  | { type: 'exception'; name: string; message: string; uncaught: boolean | null }
  | { type: 'jobStopped' }
  | { type: 'processExit'; signal: string | null; code: number | null; text: string }
  /** The kernel's OOM killer line (from dmesg, pasted or piped in). */
  | { type: 'oomKill'; pid: number; process: string }
  | { type: 'warning'; text: string }
  /** Any other non-empty line. */
  | { type: 'text'; text: string }
  /**
   * Every non-empty line as a person would read it (control sequences stripped, cut to a sane
   * length), for the log view. `bar` names the tqdm bar the line is a state of (`''` for an
   * unnamed bar), so that successive states of one bar can replace each other.
   */
  | { type: 'line'; text: string; bar: string | null };

/** An event stamped with the wall-clock time (ms since epoch) its bytes arrived. */
export interface StampedEvent {
  at: number;
  event: LogEvent;
  /** false for what was read back from a log already written (a backfill); true by default. */
  live?: boolean;
}
