import { estimateFinish } from '../state/eta.js';
import { initialRunState } from '../state/runState.js';
import { listStatus, silentFor, visibleEntries, type ListStatus, type RunsEntry } from '../state/runsList.js';
import { jsonSnapshot, type JsonSnapshot } from './snapshot.js';
import { stripControlSequences } from '../parse/sanitize.js';
import { formatAgeShort, formatDuration, formatNumber, formatSpeed } from './format.js';

/** `--once` over a folder of runs: `{"runs": [...]}` for scripts, or a line a run. Pure. */

export type RunsJsonEntry = Omit<JsonSnapshot, 'status'> & {
  /** `unreadable`: a target that could not be read at all (its host unreachable, its folder gone); `problem` says why. */
  status: ListStatus | 'unreadable';
  problem?: string;
  path: string | null;
  /** The host the run is on, over several hosts (`local`: this machine). */
  host?: string;
  jobId?: string;
  queuePosition?: number | null;
  gpuIds?: number[];
  /** The UI's own words for the job (`info`) and its speed string. */
  jobInfo?: string | null;
  jobSpeed?: string | null;
};

/** A target that gave nothing to read (an unreachable host, a missing folder): no run, only why. */
export function isUnreadable(entry: RunsEntry): boolean {
  return entry.problem !== null && !entry.summary && !entry.job;
}

/** A run not read yet (a queued job): the empty snapshot, with what the job row says. */
function bareSnapshot(entry: RunsEntry, target: number): JsonSnapshot {
  const state = { ...initialRunState(), name: entry.name, step: entry.job?.step ?? null, totalSteps: entry.job?.totalSteps ?? null };
  return jsonSnapshot(state, estimateFinish(state, 0, target));
}

export function runsJson(entries: readonly RunsEntry[], target: number): { runs: RunsJsonEntry[] } {
  return {
    runs: visibleEntries(entries, 'status', '').map((entry) => {
      const snapshot = entry.summary?.snapshot ?? bareSnapshot(entry, target);
      const out: RunsJsonEntry = { ...snapshot, name: snapshot.name ?? entry.name, status: isUnreadable(entry) ? 'unreadable' : listStatus(entry), path: entry.folder };
      if (entry.host) out.host = entry.host;
      if (entry.problem !== null) out.problem = entry.problem;
      if (entry.job) {
        out.jobId = entry.job.id;
        out.queuePosition = entry.job.status === 'queued' ? entry.job.queuePosition : null;
        out.gpuIds = entry.job.gpuIds;
        out.jobInfo = entry.job.info;
        out.jobSpeed = entry.job.speedString;
      }
      return out;
    }),
  };
}

export function runsText(entries: readonly RunsEntry[], now: number): string {
  // Over several hosts each line starts with its host.
  const hosts = new Set(entries.map((e) => e.host ?? ''));
  const byHost = hosts.size > 1 || entries.some((e) => e.host !== undefined && e.host !== 'local');
  const rows = visibleEntries(entries, 'status', '', now, byHost ? [...hosts] : undefined).map((entry) => {
    const s = entry.summary?.snapshot;
    const step = s?.step ?? entry.job?.step ?? null;
    const total = s?.totalSteps ?? entry.job?.totalSteps ?? null;
    const silent = silentFor(entry, now);
    const parts = [...(byHost ? [entry.host ?? 'local'] : []), entry.name, `[${isUnreadable(entry) ? 'unreadable' : listStatus(entry)}]`];
    if (silent !== null) parts.push(`(silent for ${formatDuration(silent)})`);
    if (step !== null) parts.push(total !== null ? `${step}/${total}` : `${step}`);
    if (s?.lossSmoothed != null) parts.push(`loss ${formatNumber(s.lossSmoothed)}`);
    if (s?.secondsPerStep != null) parts.push(formatSpeed(s.secondsPerStep));
    if (s?.etaSeconds != null) parts.push(`ETA ${formatDuration(s.etaSeconds)}`);
    const last = entry.summary?.lastLogAt;
    if (last) parts.push(`log ${formatAgeShort(Math.max(0, (now - last) / 1000))} ago`);
    if (entry.problem) parts.push(`(${entry.problem})`);
    return stripControlSequences(parts.join('  '));
  });
  return rows.length ? `${rows.join('\n')}\n` : 'no runs\n';
}
