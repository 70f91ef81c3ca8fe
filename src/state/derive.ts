import type { Eta } from './eta.js';
import { median } from './speed.js';
import { isFinished, type RunState } from './runState.js';

/** Figures the dashboard shows that follow from the run state. Pure. */

export interface Slowdown {
  /** Seconds per step over the last few steps. */
  recent: number;
  /** Seconds per step over the run so far (median of estimates). */
  median: number;
  /** recent / median. */
  ratio: number;
  /** The run is markedly slower now than it has been: worth a look at the GPU. */
  slow: boolean;
}

/** A run is flagged slow when its recent speed is this much slower than its median. */
export const SLOW_RATIO = 1.5;
const RECENT_SAMPLES = 10;
const MIN_HISTORY = 30;

export function slowdown(state: RunState): Slowdown | null {
  const history = state.speed.history;
  if (history.length < MIN_HISTORY) return null;
  const all = median(history);
  const recent = median(history.slice(-RECENT_SAMPLES));
  if (all === null || recent === null || !(all > 0)) return null;
  const ratio = recent / all;
  return { recent, median: all, ratio, slow: ratio >= SLOW_RATIO };
}

export interface Upcoming {
  step: number;
  /** Seconds until it starts, or null when the speed is unknown. */
  inSeconds: number | null;
}

/** The next scheduled save and sample, with a countdown. */
export function upcoming(state: RunState, eta: Eta): { save: Upcoming | null; sample: Upcoming | null } {
  const { step, totalSteps: total, config } = state;
  if (step === null || total === null || isFinished(state.status)) return { save: null, sample: null };
  const next = (every: number | null | undefined, from = 0): number | null => {
    if (!every || !(every > 0)) return null;
    const candidate = Math.max((Math.floor(step / every) + 1) * every, Math.ceil(from / every) * every);
    return candidate < total ? candidate : total;
  };
  const sampling = config !== null && !config.disableSampling;
  const saveStep = next(config?.saveEvery) ?? (total > step ? total : null);
  const sampleStep = sampling ? next(config?.sampleEvery, config?.sampleStartStep ?? 0) : null;
  const countdown = (target: number | null): Upcoming | null => {
    if (target === null) return null;
    const sps = eta.secondsPerStep;
    return { step: target, inSeconds: sps === null ? null : Math.max(0, (target - step) * sps) };
  };
  return { save: countdown(saveStep), sample: countdown(sampleStep) };
}

/** Time spent in this session, from tqdm's elapsed and the wall clock since its last state. */
export function sessionElapsed(state: RunState, now: number): number | null {
  if (state.sessionElapsedS === null) return null;
  // While the trainer is frozen its clock stands still.
  const clock = state.control.frozenSince ?? now;
  const since = state.status === 'training' && state.lastTrainingAt !== null ? Math.max(0, (clock - state.lastTrainingAt) / 1000) : 0;
  // Past a minute without news the trainer is stalled or paused: do not keep counting.
  return state.sessionElapsedS + Math.min(since, 60);
}

/** The lowest loss seen in the history. */
export function minimumLoss(state: RunState): { step: number; loss: number } | null {
  let best: { step: number; loss: number } | null = null;
  for (const point of state.lossHistory.points) {
    if (Number.isFinite(point.loss) && (best === null || point.loss < best.loss)) best = { step: point.step, loss: point.loss };
  }
  return best;
}

export interface Liveness {
  /** The trainer's process is gone although the log never said the run ended. */
  exited: boolean;
  /** The log has been silent this long while training (seconds), past the limit; else null. */
  stalledS: number | null;
  /** The GPU has been idle this long while training (seconds), past a minute; else null. */
  gpuIdleS: number | null;
  frozen: boolean;
  /** The run is on another host whose link is down: its silence says nothing about the trainer. */
  unreachable: { label: string; since: number; why: string | null } | null;
}

/** The least silence that counts as a stall (`--stall-after` changes it). */
export const STALL_FLOOR_S = 120;

/** How long a training run's log may be silent before it looks stalled: five steps, at least two minutes. */
export function stallLimitSeconds(secondsPerStep: number | null, floorS = STALL_FLOOR_S): number {
  return Math.max(floorS, 5 * (secondsPerStep ?? 0));
}

const GPU_IDLE_S = 60;
const EXIT_GRACE_MS = 3000;

/**
 * Whether a run that looks alive is dead: the most common complaint about long runs. A frozen run
 * (lora-top's own `p`) is neither stalled nor idle.
 */
export function liveness(state: RunState, now: number, stallFloorS = STALL_FLOOR_S): Liveness {
  const frozen = state.control.frozenSince !== null;
  const host = state.host;
  const unreachable = host !== null && host.link === 'down' ? { label: host.label, since: host.since, why: host.why } : null;
  const running = state.status === 'training' && !frozen && unreachable === null;
  // A moment's grace: the trainer's last lines ("Job stopped", the Result block) may reach lora-top
  // just after the process is seen gone.
  const exited = unreachable === null && state.control.exitedAt !== null && !isFinished(state.status) && now - state.control.exitedAt >= EXIT_GRACE_MS;
  let stalledS: number | null = null;
  if (running && !exited && state.lastEventAt !== null && state.inputEnded === false) {
    const silent = (now - state.lastEventAt) / 1000;
    if (silent > stallLimitSeconds(state.speed.secondsPerStep, stallFloorS)) stalledS = silent;
  }
  let gpuIdleS: number | null = null;
  const history = state.gpu.history;
  if (running && !exited && history.length > 1) {
    let since: number | null = null;
    for (let i = history.length - 1; i >= 0; i--) {
      const util = history[i]!.utilizationPercent;
      if (util === null || util > 0) break;
      since = history[i]!.at;
    }
    if (since !== null && (now - since) / 1000 >= GPU_IDLE_S) gpuIdleS = (now - since) / 1000;
  }
  return { exited, stalledS, gpuIdleS, frozen, unreachable };
}
