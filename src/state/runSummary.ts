import type { Eta } from './eta.js';
import type { RunState } from './runState.js';
import { jsonSnapshot, type JsonSnapshot } from '../view/snapshot.js';

/**
 * One run as the runs screen, the comparison and `--once --json` over many runs need it: the
 * single-run JSON object, the smoothed loss curve cut down to a few hundred points, and when its
 * log last changed. Plain data (it is what the summary cache stores). Pure.
 */

export interface RunSummary {
  /** The run folder (or the log's folder); null for a run read from somewhere else. */
  folder: string | null;
  logPath: string | null;
  snapshot: JsonSnapshot;
  /** (step, smoothed loss) pairs over the whole run, at most LOSS_SERIES_POINTS of them. */
  lossSeries: Array<[number, number]>;
  /** When the log last changed (ms); what "age" counts from. */
  lastLogAt: number | null;
  /** The UI database the run's log names, if any (a way to find the UI's queue). */
  sqliteDbPath: string | null;
}

export const LOSS_SERIES_POINTS = 240;

export function summarizeRun(state: RunState, eta: Eta, where: { folder: string | null; logPath: string | null; lastLogAt: number | null }): RunSummary {
  return {
    folder: where.folder,
    logPath: where.logPath,
    snapshot: jsonSnapshot(state, eta),
    lossSeries: lossSeries(state),
    lastLogAt: where.lastLogAt,
    sqliteDbPath: state.sqliteDbPath,
  };
}

/** Evenly spaced points of the smoothed curve, the last one always kept. */
export function lossSeries(state: Pick<RunState, 'lossHistory'>, limit = LOSS_SERIES_POINTS): Array<[number, number]> {
  const points = state.lossHistory.points;
  const out: Array<[number, number]> = [];
  if (points.length === 0) return out;
  const every = Math.max(1, Math.ceil(points.length / limit));
  for (let i = 0; i < points.length; i += every) {
    const p = points[i]!;
    if (Number.isFinite(p.smoothed)) out.push([p.step, round(p.smoothed)]);
  }
  const last = points[points.length - 1]!;
  if (out.length > 0 && out[out.length - 1]![0] !== last.step && Number.isFinite(last.smoothed)) {
    if (out.length >= limit) out.pop();
    out.push([last.step, round(last.smoothed)]);
  }
  return out;
}

function round(value: number): number {
  return Number(value.toPrecision(6));
}
