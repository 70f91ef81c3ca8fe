import type { GpuReading } from '../parse/gpuTypes.js';
import type { RunStatus } from './runState.js';
import { isFinished } from './runState.js';
import type { RunSummary } from './runSummary.js';
import { stallLimitSeconds } from './derive.js';

/**
 * The runs of an output folder and of the UI's queue as one list: each found run folder, joined
 * with the UI job that writes to it; a queued job with no folder yet is an entry of its own. Its
 * order, filter and status chips. Pure.
 */

/** A `Job` row of the ai-toolkit UI as the list needs it (catalog/uiJobs.ts reads them). */
export interface ListJob {
  id: string;
  name: string;
  /** `queued`, `running`, `stopped`, `error`, `completed`; anything else the UI may write later is kept as it is. */
  status: string;
  /** The GPU ids the job runs on, as the UI stores them ("0", "0,1"). */
  gpuIds: number[];
  step: number | null;
  totalSteps: number | null;
  info: string | null;
  speedString: string | null;
  /** Its place in its GPU's queue (the UI's queue_position), for queued jobs. */
  queuePosition: number | null;
  /** The run folder the job writes to: its config's training_folder and name. */
  folder: string | null;
}

export interface RunsEntry {
  /** The folder's path, or `job:<id>` for a job with no folder. */
  key: string;
  name: string;
  folder: string | null;
  /** What was read of the run folder, or null while it has not been read (or has no folder). */
  summary: RunSummary | null;
  job: ListJob | null;
  /** Followed live (its log is being tailed), rather than read once or cached. */
  live: boolean;
  /** Why the run could not be read, if it could not. */
  problem: string | null;
  /** The host the run is on (`user@box`); absent or null: this machine. */
  host?: string | null;
}

/** A host's line in the runs screen over several hosts. */
export interface HostRow {
  host: string;
  link: 'up' | 'connecting' | 'down';
  /** Since when it is up, or cannot be reached. */
  since: number;
  /** Why it cannot be reached (ssh's words), when it cannot. */
  why: string | null;
  /** Its GPUs as nvidia-smi last reported them (empty: none reported yet, or none). */
  gpus: GpuReading[];
  gpuProblem: string | null;
}

/** The status a list shows: the run's own, or the UI's `queued` for a job that has not started. */
export type ListStatus = RunStatus | 'queued';

export function listStatus(entry: RunsEntry): ListStatus {
  const job = entry.job;
  const run = entry.summary?.snapshot.status ?? null;
  if (job?.status === 'queued' && (run === null || isFinished(run))) return 'queued';
  if (run !== null) {
    // The UI says a job ended whose log does not say so (killed, or its log was cut short): the
    // UI saw the process end.
    if (!isFinished(run) && job) {
      if (job.status === 'error') return 'failed';
      if (job.status === 'stopped') return 'stopped';
      if (job.status === 'completed') return 'completed';
    }
    return run;
  }
  if (!job) return 'starting';
  if (job.status === 'running') return 'starting';
  if (job.status === 'error') return 'failed';
  if (job.status === 'stopped' || job.status === 'completed') return job.status;
  return 'starting';
}

export function isActive(status: ListStatus): boolean {
  return status !== 'queued' && !isFinished(status);
}

/**
 * How long a run that is not over has been silent, when that is longer than a stall (five steps,
 * two minutes at least): a trainer killed without a word (the OOM killer, a reboot) leaves its last
 * status behind. null: not silent, or no clock to tell.
 */
export function silentFor(entry: RunsEntry, now: number | null): number | null {
  if (now === null || !isActive(listStatus(entry))) return null;
  const last = entry.summary?.lastLogAt ?? null;
  if (last === null) return null;
  const seconds = (now - last) / 1000;
  return seconds > stallLimitSeconds(entry.summary?.snapshot.secondsPerStep ?? null) ? seconds : null;
}

/** Running first, then the queue, then what failed, stopped and completed. */
const STATUS_ORDER: Record<ListStatus, number> = {
  training: 0,
  sampling: 0,
  saving: 0,
  preparing: 0,
  starting: 0,
  queued: 1,
  failed: 2,
  stopped: 3,
  completed: 4,
};

export type RunsSort = 'status' | 'activity' | 'name' | 'loss' | 'progress';
export const RUNS_SORTS: readonly RunsSort[] = ['status', 'activity', 'name', 'loss', 'progress'];

export function nextSort(sort: RunsSort): RunsSort {
  return RUNS_SORTS[(RUNS_SORTS.indexOf(sort) + 1) % RUNS_SORTS.length]!;
}

function activity(entry: RunsEntry): number {
  return entry.summary?.lastLogAt ?? -Infinity;
}

function progress(entry: RunsEntry): number {
  const s = entry.summary?.snapshot;
  const step = s?.step ?? entry.job?.step ?? null;
  const total = s?.totalSteps ?? entry.job?.totalSteps ?? null;
  return step !== null && total ? step / total : -1;
}

export function compareEntries(sort: RunsSort, now: number | null = null) {
  // A silent run sorts after the queue: it is probably not running any more.
  const group = (e: RunsEntry) => (silentFor(e, now) !== null ? 1.5 : STATUS_ORDER[listStatus(e)]);
  return (a: RunsEntry, b: RunsEntry): number => {
    const byName = a.name.localeCompare(b.name) || a.key.localeCompare(b.key);
    switch (sort) {
      case 'name':
        return byName;
      case 'activity':
        return activity(b) - activity(a) || byName;
      case 'loss': {
        const la = a.summary?.snapshot.lossSmoothed ?? Infinity;
        const lb = b.summary?.snapshot.lossSmoothed ?? Infinity;
        return la - lb || byName;
      }
      case 'progress':
        return progress(b) - progress(a) || byName;
      case 'status': {
        const sa = listStatus(a);
        const sb = listStatus(b);
        if (sa === 'queued' && sb === 'queued') return (a.job?.queuePosition ?? Infinity) - (b.job?.queuePosition ?? Infinity) || byName;
        return group(a) - group(b) || activity(b) - activity(a) || byName;
      }
    }
  };
}

/** The entries to show: those whose name holds the filter (any case), in the chosen order. */
export function visibleEntries(entries: readonly RunsEntry[], sort: RunsSort, filter: string, now: number | null = null, hostOrder: readonly string[] = []): RunsEntry[] {
  const needle = filter.trim().toLowerCase();
  const byRun = compareEntries(sort, now);
  // Over several hosts the runs are grouped by host, hosts in the order they were given.
  const rank = (e: RunsEntry) => {
    const at = hostOrder.indexOf(e.host ?? '');
    return at < 0 ? hostOrder.length : at;
  };
  return entries.filter((e) => needle === '' || e.name.toLowerCase().includes(needle)).sort((a, b) => rank(a) - rank(b) || byRun(a, b));
}

/**
 * Folders found on disk and the UI's jobs, joined by folder: a job writing to a found folder is
 * that entry's job; a job whose folder is elsewhere (or not made yet) is an entry of its own.
 */
export function joinRunsAndJobs(folders: ReadonlyArray<{ folder: string; name: string }>, jobs: readonly ListJob[]): Array<{ key: string; name: string; folder: string | null; job: ListJob | null }> {
  const byFolder = new Map<string, ListJob>();
  for (const job of jobs) if (job.folder) byFolder.set(job.folder, job);
  const out: Array<{ key: string; name: string; folder: string | null; job: ListJob | null }> = [];
  const seen = new Set<string>();
  for (const f of folders) {
    const job = byFolder.get(f.folder) ?? null;
    out.push({ key: f.folder, name: job?.name ?? f.name, folder: f.folder, job });
    seen.add(f.folder);
  }
  for (const job of jobs) {
    if (job.folder && seen.has(job.folder)) continue;
    // A job whose folder exists outside the scanned folder is still read from there.
    out.push({ key: job.folder ?? `job:${job.id}`, name: job.name, folder: job.folder, job });
    if (job.folder) seen.add(job.folder);
  }
  return out;
}
