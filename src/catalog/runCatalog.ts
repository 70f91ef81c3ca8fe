import { dirname, join } from 'node:path';
import { exists, localFiles, type HostFiles } from '../run/hostFiles.js';
import { listRunFolders, logPathOfFolder } from '../run/locateRun.js';
import { readRunOnce, watchRun, type RunWatch, type WatchOptions } from '../run/watchRun.js';
import { estimateFinish } from '../state/eta.js';
import { isFinished, type RunState } from '../state/runState.js';
import { summarizeRun, type RunSummary } from '../state/runSummary.js';
import { joinRunsAndJobs, type HostRow, type ListJob, type RunsEntry } from '../state/runsList.js';
import { fingerprint, sameFingerprint, SummaryCache, type RunFingerprint } from './summaryCache.js';
import { readUiJobsOn } from './uiJobs.js';

/**
 * Every run of a folder of runs and of the UI's queue, kept up to date (I/O): the folder is listed
 * again and the queue read again every few seconds; a finished run is read once (or taken from the
 * summary cache while its files are unchanged); a run that is not over and whose log changed lately
 * is followed live, as the dashboard follows one. The list it gives is plain data for the runs
 * screen and `--once --json`.
 */

export interface CatalogOptions {
  /** The folder whose run folders are listed (ai-toolkit's output/); null: the UI queue only. */
  root: string | null;
  /** `--db`: the UI database; else aitk_db.db beside the folder, else the one a run's log names. */
  db: string | null;
  /** Where finished runs' summaries are kept between sessions; null: in memory only. */
  cacheDir: string | null;
  /** The step an ETA is shown for. */
  target: number;
  /** Follow live runs and look again every `rescanMs`; false: read everything once (`--once`). */
  follow: boolean;
  rescanMs?: number;
  /** A log changed within this long (or a running UI job) is followed rather than read once. */
  liveWithinMs?: number;
  /** Runs read at once while the list is first filled. */
  concurrency?: number;
  /** What reads the runs (lora-top's version): cached summaries another version made are read again. */
  version?: string;
  now?: () => number;
  /** Where the runs are (default this machine). Another host's UI database is not read. */
  files?: HostFiles;
  /** Only these run folders of `root` (a single run among the runs of several hosts). */
  only?: string[];
  /** More for each followed run's watch (another host's GPU and control). */
  watchExtras?: Partial<WatchOptions>;
}

export interface RunCatalog {
  entries(): RunsEntry[];
  /** Called when the list changed (at most every `notifyMs`). */
  subscribe(listener: (entries: RunsEntry[]) => void): () => void;
  /** Resolves once every run found by the first look has been read. */
  loaded: Promise<void>;
  /** The UI database in use, if any, and why it could not be read, if it could not. */
  queue(): { db: string | null; problem: string | null };
  /** Over several hosts: each host's line (reachable or not, its GPUs), in the order given. */
  hosts?(): HostRow[];
  /** A sample's bytes from the host its run is on (for the comparison's pictures). */
  readSample?(host: string, path: string): Promise<Buffer>;
  close(): Promise<void>;
}

interface Slot {
  entry: RunsEntry;
  print: RunFingerprint | null;
  watch: RunWatch | null;
  unsubscribe: (() => void) | null;
  reading: boolean;
  stopSettle?: (() => void) | null;
}

const DAY_MS = 24 * 3600 * 1000;
const NO_FOLDER = 'no run folder yet';

/** How often a listed live run's log is read: one read for all it wrote since (no read a write). */
const LIST_POLL_MS = 2000;
/** How long a followed run stays followed after it ended. */
const FINISHED_SETTLE_MS = 10_000;

export function openRunCatalog(options: CatalogOptions): RunCatalog {
  const now = options.now ?? Date.now;
  const files = options.files ?? localFiles;
  // The cache keeps another host's runs apart from this machine's folders of the same path.
  const cacheKey = (folder: string) => (files.host === null ? folder : `${files.host}:${folder}`);
  const cache = new SummaryCache(options.cacheDir, options.version ?? '');
  const slots = new Map<string, Slot>();
  const listeners = new Set<(entries: RunsEntry[]) => void>();
  let list: RunsEntry[] = [];
  let closed = false;
  let dbPath: string | null = options.db;
  let dbProblem: string | null = null;
  let jobs: ListJob[] = [];
  let rescanTimer: NodeJS.Timeout | null = null;
  let notifyTimer: NodeJS.Timeout | null = null;

  const publish = () => {
    notifyTimer = null;
    if (closed) return;
    list = [...slots.values()].map((s) => s.entry);
    for (const listener of listeners) listener(list);
  };
  const changed = () => {
    if (!notifyTimer && !closed) notifyTimer = setTimeout(publish, 100);
  };
  const setEntry = (slot: Slot, patch: Partial<RunsEntry>) => {
    slot.entry = { ...slot.entry, ...patch };
    changed();
  };

  const summaryOf = (state: RunState, folder: string, logPath: string, lastLogAt: number | null): RunSummary =>
    summarizeRun(state, estimateFinish(state, now(), options.target), { folder, logPath, lastLogAt });

  const follow = (slot: Slot, folder: string, logPath: string) => {
    // The list shows no checkpoint or sample detail and redraws every two seconds: its runs are
    // followed at that pace, not the dashboard's.
    const watch = watchRun({ kind: 'folder', folder, logPath }, { previews: false, control: null, notifyMs: 1000, rescanMs: 30_000, follow: { pollMs: LIST_POLL_MS, watch: false }, files, ...options.watchExtras });
    slot.watch = watch;
    setEntry(slot, { live: true });
    let settle: NodeJS.Timeout | null = null;
    const onState = (state: RunState) => {
      const summary = summaryOf(state, folder, logPath, slot.print?.logMtimeMs || null);
      setEntry(slot, { summary, live: true, problem: null });
      // A run that ended is let go once its last words are written (the exit repaint, the final
      // sample): then its summary is kept like any finished run's, under its files as they are.
      if (isFinished(state.status) && !settle) {
        settle = setTimeout(() => {
          settle = null;
          if (closed || slot.watch !== watch || !isFinished(watch.getState().status)) return;
          const last = summaryOf(watch.getState(), folder, logPath, slot.print?.logMtimeMs || null);
          stopFollowing(slot);
          void fingerprint(folder, logPath, files).then((print) => {
            slot.print = print;
            setEntry(slot, { summary: { ...last, lastLogAt: print.logMtimeMs || last.lastLogAt }, live: false });
            return cache.put(cacheKey(folder), print, last);
          });
        }, FINISHED_SETTLE_MS);
      }
    };
    slot.unsubscribe = watch.subscribe(onState);
    slot.stopSettle = () => {
      if (settle) clearTimeout(settle);
    };
  };
  const stopFollowing = (slot: Slot) => {
    slot.stopSettle?.();
    slot.stopSettle = null;
    slot.unsubscribe?.();
    slot.unsubscribe = null;
    const watch = slot.watch;
    slot.watch = null;
    void watch?.close();
  };

  /** Reads a run folder: from the cache, once, or by following it. */
  const read = async (slot: Slot): Promise<void> => {
    const folder = slot.entry.folder;
    if (!folder || slot.reading || closed) return;
    slot.reading = true;
    // The slot may be dropped (its run gone from the folder) or the catalog closed during any wait.
    const current = () => !closed && slots.get(slot.entry.key) === slot;
    try {
      const there = await exists(files, folder);
      if (!current()) return;
      if (!there) {
        // A job the UI has not started yet (or whose folder was removed): nothing to read.
        if (slot.entry.problem !== NO_FOLDER) setEntry(slot, { problem: NO_FOLDER, summary: null, live: false });
        return;
      }
      const logPath = await logPathOfFolder(folder, files);
      const print = await fingerprint(folder, logPath, files);
      if (!current()) return;
      const previous = slot.print;
      slot.print = print;
      if (slot.watch) {
        // Followed: only the age of its log moves here.
        if (slot.entry.summary && print.logMtimeMs) setEntry(slot, { summary: { ...slot.entry.summary, lastLogAt: print.logMtimeMs } });
        return;
      }
      if (previous && sameFingerprint(previous, print) && slot.entry.summary) return;
      const cached = await cache.get(cacheKey(folder), print);
      if (!current()) return;
      if (cached) {
        // A finished run's only moving figure is the step it is measured against (--target).
        const step = cached.snapshot.step;
        const snapshot = { ...cached.snapshot, targetStep: options.target, etaTargetSeconds: step !== null && step >= options.target ? 0 : null };
        setEntry(slot, { summary: { ...cached, snapshot }, live: false, problem: null });
        return;
      }
      const state = await readRunOnce({ kind: 'folder', folder, logPath }, undefined, undefined, files);
      if (!current()) return;
      const summary = summaryOf(state, folder, logPath, print.logMtimeMs || null);
      const recent = print.logMtimeMs > now() - (options.liveWithinMs ?? DAY_MS) || slot.entry.job?.status === 'running';
      // A run that is not over is followed where its log moved lately (or has moved since it was
      // last read): from its start, as the dashboard reads it.
      if (options.follow && !isFinished(state.status) && (recent || previous !== null)) {
        setEntry(slot, { summary, problem: null });
        follow(slot, folder, logPath);
        return;
      }
      setEntry(slot, { summary, live: false, problem: null });
      if (isFinished(state.status)) await cache.put(cacheKey(folder), print, summary);
    } catch (error) {
      setEntry(slot, { problem: (error as Error).message.split('\n')[0] ?? 'unreadable' });
    } finally {
      slot.reading = false;
    }
  };

  const readAll = async (todo: Slot[]) => {
    const queue = [...todo];
    const workers = Array.from({ length: Math.max(1, options.concurrency ?? 4) }, async () => {
      for (let slot = queue.shift(); slot && !closed; slot = queue.shift()) await read(slot);
    });
    await Promise.all(workers);
  };

  const findDb = async (): Promise<string | null> => {
    if (dbPath) return dbPath;
    if (options.root) {
      const beside = join(dirname(options.root), 'aitk_db.db');
      if (await exists(files, beside)) return beside;
    }
    for (const slot of slots.values()) {
      const named = slot.entry.summary?.sqliteDbPath;
      if (named && (await exists(files, named))) return named;
    }
    return null;
  };

  // One scan at a time: the first look's extra scan and the rescan timer never overlap.
  let scanning: Promise<void> = Promise.resolve();
  const scan = (): Promise<void> => {
    scanning = scanning.then(scanOnce, scanOnce);
    return scanning;
  };
  const scanOnce = async (): Promise<void> => {
    // Another host that cannot be reached now lists nothing: its runs are kept as they were.
    if (!files.reachable()) return;
    // Real paths on both sides: a job's training_folder and the folder listed may name one folder
    // two ways (a symlinked output/, a relative path).
    const listed = options.root ? (await listRunFolders(options.root, files)).filter((f) => !options.only || options.only.includes(f.folder)) : [];
    if (!files.reachable()) return;
    dbPath = await findDb();
    // Another host without a UI database has nothing to join its folders with: they are taken as listed (no round trip each).
    const real = (path: string) => (files.host !== null && dbPath === null ? Promise.resolve(path) : files.realpath(path).catch(() => path));
    const folders = await Promise.all(listed.map(async (f) => ({ ...f, folder: await real(f.folder) })));
    if (dbPath) {
      const read = await readUiJobsOn(files, dbPath, dirname(dbPath));
      if (read.ok) {
        jobs = await Promise.all(read.value.filter((j) => j.jobType === null || j.jobType === 'train').map(async (j) => (j.folder ? { ...j, folder: await real(j.folder) } : j)));
        dbProblem = null;
      } else {
        // A locked or broken database keeps the jobs last read.
        dbProblem = read.reason;
      }
    }
    if (closed) return;
    const joined = joinRunsAndJobs(folders.map((f) => ({ folder: f.folder, name: f.name })), jobs);
    const keys = new Set(joined.map((j) => j.key));
    for (const [key, slot] of slots) {
      if (keys.has(key)) continue;
      stopFollowing(slot);
      slots.delete(key);
      changed();
    }
    const todo: Slot[] = [];
    for (const item of joined) {
      let slot = slots.get(item.key);
      if (!slot) {
        slot = { entry: { key: item.key, name: item.name, folder: item.folder, summary: null, job: item.job, live: false, problem: null }, print: null, watch: null, unsubscribe: null, reading: false };
        slots.set(item.key, slot);
        changed();
      } else if (JSON.stringify(slot.entry.job) !== JSON.stringify(item.job) || slot.entry.name !== item.name) {
        setEntry(slot, { job: item.job, name: item.name });
      }
      if (item.folder) todo.push(slot);
    }
    await readAll(todo);
  };

  const loop = async () => {
    rescanTimer = null;
    try {
      await scan();
    } finally {
      if (!closed && options.follow) rescanTimer = setTimeout(() => void loop(), options.rescanMs ?? 5000);
    }
  };
  const loaded = loop().then(async () => {
    // A database only a run's log names is found once that run has been read.
    if (!options.db && dbPath === null && !closed && (await findDb())) await scan();
    publish();
  });

  return {
    entries: () => list,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    loaded,
    queue: () => ({ db: dbPath, problem: dbProblem }),
    async close() {
      closed = true;
      if (rescanTimer) clearTimeout(rescanTimer);
      if (notifyTimer) clearTimeout(notifyTimer);
      await Promise.all([...slots.values()].map(async (slot) => {
        slot.stopSettle?.();
        slot.unsubscribe?.();
        await slot.watch?.close();
      }));
    },
  };
}
