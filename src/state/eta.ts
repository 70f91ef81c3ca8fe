import { median } from './speed.js';
import { isFinished, type RunState } from './runState.js';

/**
 * Time to the end of the run and to a target step, counting the sampling and saving pauses still
 * ahead (how many the config's `sample_every`/`save_every` leave, each as long as the ones measured
 * so far). Pure: `now` is passed in.
 */
export interface Eta {
  secondsPerStep: number | null;
  /** Seconds to the run's total steps (including the final save and sample). */
  etaSeconds: number | null;
  targetStep: number;
  /** Seconds to the target step; 0 once reached; null when the run will not get there. */
  etaTargetSeconds: number | null;
  /** Clock time of the end of the run (ms since epoch). */
  finishAtMs: number | null;
  /** Pauses ahead and what each is assumed to take. */
  samplesAhead: number;
  savesAhead: number;
  sampleSeconds: number | null;
  saveSeconds: number | null;
  /** True while a pause length is a guess rather than measured in this run. */
  pausesEstimated: boolean;
}

export const DEFAULT_TARGET_STEP = 3000;

/** Without a measured sample, assume this many step-times per sample image. */
const SAMPLE_STEP_TIMES_PER_IMAGE = 4;
/** Without a measured save, assume this many step-times. */
const SAVE_STEP_TIMES = 2;

/** A hundred years: beyond this an ETA is a corrupted figure, not a forecast. */
const MAX_ETA_SECONDS = 100 * 365 * 86400;

export function estimateFinish(state: RunState, now: number, targetStep = DEFAULT_TARGET_STEP): Eta {
  const secondsPerStep = state.speed.secondsPerStep;
  const base: Eta = {
    secondsPerStep,
    etaSeconds: null,
    targetStep,
    etaTargetSeconds: null,
    finishAtMs: null,
    samplesAhead: 0,
    savesAhead: 0,
    sampleSeconds: null,
    saveSeconds: null,
    pausesEstimated: false,
  };
  const { step, totalSteps: total } = state;
  if (step === null) return base;
  if (step >= targetStep) base.etaTargetSeconds = 0;
  if (isFinished(state.status) || secondsPerStep === null || total === null) return base;

  const config = state.config;
  const prompts = Math.max(1, config?.prompts.length ?? 1);
  const measuredSample = median(state.pauses.sampleSeconds);
  const measuredSave = median(state.pauses.saveSeconds);
  const sampleSeconds = measuredSample ?? SAMPLE_STEP_TIMES_PER_IMAGE * prompts * secondsPerStep;
  const saveSeconds = measuredSave ?? SAVE_STEP_TIMES * secondsPerStep;
  const sampling = config !== null && !config.disableSampling && config.sampleEvery !== null && config.sampleEvery > 0;

  // Pauses still ahead. While step N runs, its own save and sample (when N is a multiple) are still
  // to come unless they have begun already; the final save and sample come after the last step.
  const finalSampleBegun = state.finalSaved && (state.status === 'sampling' || state.status === 'completed');
  const pausesUntil = (end: number, includeFinal: boolean) => {
    const saveFrom = Math.max(step, (state.lastSaveStep ?? -1) + 1, 1);
    const sampleFrom = Math.max(step, (state.lastSampleStep ?? -1) + 1, 1, config?.sampleStartStep ?? 0);
    const saves = countMultiples(config?.saveEvery ?? null, saveFrom, end) + (includeFinal && !state.finalSaved ? 1 : 0);
    const samples = sampling ? countMultiples(config!.sampleEvery, sampleFrom, end) + (includeFinal && !finalSampleBegun ? 1 : 0) : 0;
    return { saves, samples, seconds: saves * saveSeconds + samples * sampleSeconds };
  };

  // What is left of the pause or step under way.
  // A frozen trainer (SIGSTOP) makes no progress: the countdown stands still until it is resumed.
  const clock = state.control.frozenSince ?? now;
  const sinceBar = state.lastTrainingAt === null ? 0 : Math.max(0, (clock - state.lastTrainingAt) / 1000);
  let current = 0;
  const pause = state.pauses.current;
  if (pause) {
    const expected = pause.kind === 'save' ? saveSeconds : sampleSeconds;
    current = Math.max(0, expected - (clock - pause.since) / 1000);
  } else if (state.status === 'training') {
    current = -Math.min(sinceBar, secondsPerStep);
  }

  const toEnd = pausesUntil(total, true);
  const eta = Math.max(0, (total - step) * secondsPerStep + toEnd.seconds + current);
  // Past any date a clock can show (a corrupted rate): unknown rather than absurd.
  if (!(eta < MAX_ETA_SECONDS)) return base;
  base.etaSeconds = eta;
  base.finishAtMs = now + eta * 1000;
  base.samplesAhead = toEnd.samples;
  base.savesAhead = toEnd.saves;
  base.sampleSeconds = sampling ? sampleSeconds : null;
  base.saveSeconds = saveSeconds;
  base.pausesEstimated = (sampling && measuredSample === null) || measuredSave === null;

  if (step < targetStep && targetStep <= total) {
    // Up to and including the save at the target step, which is what a person stopping there wants.
    const toTarget = pausesUntil(targetStep + 1, targetStep === total);
    base.etaTargetSeconds = Math.max(0, (targetStep - step) * secondsPerStep + toTarget.seconds + current);
  }
  return base;
}

/** How many multiples of `every` lie in [from, before). */
export function countMultiples(every: number | null, from: number, before: number): number {
  if (every === null || !(every > 0)) return 0;
  const high = before - 1;
  if (high < from) return 0;
  return Math.floor(high / every) - Math.floor((from - 1) / every);
}
