import type { SampleFile } from './runState.js';

/**
 * The samples indexed by step × prompt, and moving through them. Pure. `samples` is always
 * sorted by step, then prompt index, then creation time (runFolder sorts it so).
 */

/** Every step that has at least one sample, ascending. */
export function sampledSteps(samples: readonly SampleFile[]): number[] {
  const steps: number[] = [];
  for (const sample of samples) if (steps[steps.length - 1] !== sample.step) steps.push(sample.step);
  return steps;
}

/** The sample of a step and prompt; when a prompt was sampled twice at one step (a resume), the newer file. */
export function sampleAt(samples: readonly SampleFile[], step: number, index: number): SampleFile | null {
  let found: SampleFile | null = null;
  for (const sample of samples) if (sample.step === step && sample.index === index) found = sample;
  return found;
}

/** How many prompts there are: the config's list, or the most prompt indexes seen at any step. */
export function promptCount(samples: readonly SampleFile[], configPrompts: number): number {
  let most = 0;
  for (const sample of samples) most = Math.max(most, sample.index + 1);
  return Math.max(configPrompts, most);
}

/** What the user asked to see: a step (null follows the newest) and a prompt. */
export interface SamplePick {
  step: number | null;
  index: number;
}

export interface ResolvedSample {
  /** The step shown. */
  step: number;
  index: number;
  /** The file, or null when that prompt has no image at that step (yet). */
  sample: SampleFile | null;
  /** Whether this is the newest sampled step. */
  newest: boolean;
}

/**
 * The sample a pick points at. Following the newest, a prompt not sampled yet at the newest step
 * (sampling under way) shows at the newest step that has it, so the picture never goes blank while
 * the next round of samples is being made.
 */
export function resolvePick(samples: readonly SampleFile[], pick: SamplePick): ResolvedSample | null {
  const steps = sampledSteps(samples);
  if (steps.length === 0) return null;
  const newestStep = steps[steps.length - 1]!;
  if (pick.step === null) {
    for (let i = steps.length - 1; i >= 0; i--) {
      const sample = sampleAt(samples, steps[i]!, pick.index);
      if (sample) return { step: steps[i]!, index: pick.index, sample, newest: i === steps.length - 1 };
    }
    return { step: newestStep, index: pick.index, sample: null, newest: true };
  }
  // A step that is gone (its files deleted) falls to the nearest one before it.
  const step = steps.includes(pick.step) ? pick.step : ([...steps].reverse().find((s) => s < pick.step!) ?? steps[0]!);
  return { step, index: pick.index, sample: sampleAt(samples, step, pick.index), newest: step === newestStep };
}

/** The sampled step before or after `step` (null past either end). */
export function neighbourStep(samples: readonly SampleFile[], step: number, direction: -1 | 1): number | null {
  const steps = sampledSteps(samples);
  if (direction < 0) {
    for (let i = steps.length - 1; i >= 0; i--) if (steps[i]! < step) return steps[i]!;
    return null;
  }
  for (const s of steps) if (s > step) return s;
  return null;
}
