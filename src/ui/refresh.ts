import type { RunState } from '../state/runState.js';

/**
 * When the dashboard redraws. A change a person must see at once (the run starts saving or
 * sampling, fails, finishes, a checkpoint lands) is drawn within the watch's 100 ms; routine
 * progress (the next step, the next loss) every two seconds, like btop's default. Over SSH for hours
 * that keeps the bytes sent and the CPU used small. Pure.
 */
export const ROUTINE_REFRESH_MS = 2000;

export function isNewsworthy(shown: RunState, next: RunState): boolean {
  return (
    shown.status !== next.status ||
    shown.phase?.text !== next.phase?.text ||
    shown.error !== next.error ||
    shown.name !== next.name ||
    shown.totalSteps !== next.totalSteps ||
    shown.checkpoints.length !== next.checkpoints.length ||
    shown.lastCheckpoint?.path !== next.lastCheckpoint?.path ||
    shown.samples.length !== next.samples.length ||
    shown.images !== next.images ||
    shown.control !== next.control ||
    shown.recognised !== next.recognised ||
    shown.gpu.problem !== next.gpu.problem
  );
}
