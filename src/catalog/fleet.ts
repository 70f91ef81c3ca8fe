import { dirname } from 'node:path';
import { UserError } from '../cli/errors.js';
import type { GpuReading } from '../parse/gpuTypes.js';
import { localFiles, type HostFiles } from '../run/hostFiles.js';
import { locateTarget } from '../run/locateRun.js';
import { hostAccess, type HostPool } from '../remote/hostPool.js';
import { remotePath, type SshDestination } from '../remote/remoteTarget.js';
import type { SshHost } from '../remote/sshHost.js';
import type { GpuMonitor } from '../sources/gpuMonitor.js';
import type { HostRow, RunsEntry } from '../state/runsList.js';
import { openRunCatalog, type CatalogOptions, type RunCatalog } from './runCatalog.js';

/**
 * The runs of several targets on several hosts, as one catalog (I/O): each target (a run, or a
 * folder of runs, on this machine or on a host over SSH) is a catalog of its own, read by the same
 * code through the host's files; their entries are tagged with their host. Each host has a line:
 * reachable or not (since when, and ssh's reason), its GPUs from one resident nvidia-smi, its runs.
 */

export interface FleetTarget {
  /** null: this machine. */
  destination: SshDestination | null;
  path: string;
}

export interface FleetOptions {
  targets: FleetTarget[];
  pool: HostPool;
  cacheDir: string | null;
  target: number;
  follow: boolean;
  version: string;
  /** Read each host's GPUs for its line (off with --no-gpu, and for --once). */
  gpus: boolean;
  /** nvidia-smi's report interval for the host lines. */
  gpuIntervalMs?: number;
  nvidiaSmi?: string;
  /** How long --once waits for a host that does not answer. */
  connectWaitMs?: number;
  cwd: string;
}

/** The name of this machine in the host lines and the metrics. */
export const LOCAL_HOST = 'local';

interface HostSlot {
  label: string;
  ssh: SshHost | null;
  gpus: GpuReading[];
  gpuProblem: string | null;
  monitor: GpuMonitor | null;
}

interface TargetSlot {
  host: HostSlot;
  target: FleetTarget;
  catalog: RunCatalog | null;
  problem: string | null;
}

export interface Fleet extends RunCatalog {
  hosts(): HostRow[];
  /** The files of a host (by its label), for opening one of its runs. */
  filesOf(host: string | null): HostFiles;
  sshOf(host: string | null): SshHost | null;
}

export function openFleet(options: FleetOptions): Fleet {
  const hostSlots = new Map<string, HostSlot>();
  const targets: TargetSlot[] = [];
  const listeners = new Set<(entries: RunsEntry[]) => void>();
  let closed = false;
  let notifyTimer: NodeJS.Timeout | null = null;

  const changed = () => {
    if (notifyTimer || closed) return;
    notifyTimer = setTimeout(() => {
      notifyTimer = null;
      if (closed) return;
      const list = entries();
      for (const listener of listeners) listener(list);
    }, 100);
  };

  for (const target of options.targets) {
    const label = target.destination?.label ?? LOCAL_HOST;
    let host = hostSlots.get(label);
    if (!host) {
      host = { label, ssh: target.destination ? options.pool.get(target.destination) : null, gpus: [], gpuProblem: null, monitor: null };
      hostSlots.set(label, host);
      host.ssh?.subscribe(() => changed());
    }
    targets.push({ host, target, catalog: null, problem: null });
  }

  const startGpus = async (host: HostSlot) => {
    const { startGpuMonitor } = await import('../sources/gpuMonitor.js');
    if (closed) return;
    host.monitor = startGpuMonitor({
      intervalMs: options.gpuIntervalMs ?? 2000,
      hostReadings: false,
      ...(options.nvidiaSmi ? { nvidiaSmi: options.nvidiaSmi } : {}),
      ...(host.ssh ? { command: hostAccess(host.ssh).command } : {}),
      onEvent(event) {
        if (event.type === 'gpuReadings') {
          host.gpus = event.gpus;
          host.gpuProblem = null;
        } else if (event.type === 'gpuProblem') {
          host.gpuProblem = event.message;
          if (event.kind === 'missing') host.gpus = [];
        } else return;
        changed();
      },
    });
  };

  const open = async (slot: TargetSlot): Promise<void> => {
    const { ssh } = slot.host;
    let files: HostFiles = localFiles;
    let path = slot.target.path;
    if (ssh) {
      // Wait for the host (a --once gives up after a while; the screen waits for as long as it is open).
      for (;;) {
        try {
          await ssh.whenUp(options.follow ? 60_000 : (options.connectWaitMs ?? 20_000));
          break;
        } catch (error) {
          if (closed) return;
          if (!options.follow) {
            slot.problem = (error as Error).message;
            changed();
            return;
          }
        }
      }
      files = hostAccess(ssh).files;
      path = remotePath(path, String(ssh.hello?.home ?? '/'));
    }
    let located;
    try {
      located = await locateTarget(path, options.cwd, null, files);
    } catch (error) {
      slot.problem = error instanceof UserError ? error.message : `cannot read ${path}: ${(error as Error).message}`;
      changed();
      return;
    }
    if (closed) return;
    const base: CatalogOptions = {
      root: null,
      db: null,
      cacheDir: options.cacheDir,
      target: options.target,
      follow: options.follow,
      version: options.version,
      files,
    };
    let catalog: RunCatalog;
    if (located.kind === 'runs') catalog = openRunCatalog({ ...base, root: located.root, db: ssh ? null : located.db });
    else if (located.kind !== 'stdin' && located.folder) catalog = openRunCatalog({ ...base, root: dirname(located.folder), only: [located.folder] });
    else {
      slot.problem = `${path}: a log file alone cannot be listed with other runs (name its run folder)`;
      changed();
      return;
    }
    slot.catalog = catalog;
    catalog.subscribe(() => changed());
    await catalog.loaded;
    changed();
  };

  const loaded = Promise.all(targets.map((slot) => open(slot).catch((error: unknown) => {
    slot.problem = (error as Error).message;
  }))).then(() => undefined);
  if (options.gpus && options.follow) for (const host of hostSlots.values()) void startGpus(host);

  function entries(): RunsEntry[] {
    const out: RunsEntry[] = [];
    for (const slot of targets) {
      const host = slot.host.label;
      if (slot.problem !== null && !slot.catalog) {
        out.push({ key: `${host}\u0000${slot.target.path}`, name: slot.target.path || '~', folder: null, summary: null, job: null, live: false, problem: slot.problem, host });
        continue;
      }
      for (const entry of slot.catalog?.entries() ?? []) out.push({ ...entry, key: `${host}\u0000${entry.key}`, host });
    }
    return out;
  }

  return {
    entries,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    loaded,
    queue() {
      const local = targets.find((t) => !t.host.ssh && t.catalog)?.catalog?.queue();
      // A UI database another host's list could not read is said too, with its host.
      const troubled = targets.find((t) => t.host.ssh && t.catalog?.queue().problem);
      const problem = local?.problem ?? (troubled ? `${troubled.host.label}: ${troubled.catalog!.queue().problem}` : null);
      return { db: local?.db ?? null, problem };
    },
    hosts() {
      return [...hostSlots.values()].map((host): HostRow => {
        const link = host.ssh?.status() ?? { kind: 'up' as const, since: 0 };
        return {
          host: host.label,
          link: link.kind,
          since: link.since,
          why: link.kind === 'down' ? link.why : null,
          gpus: host.gpus,
          gpuProblem: host.gpuProblem,
        };
      });
    },
    filesOf(host) {
      const ssh = host === null || host === LOCAL_HOST ? null : hostSlots.get(host)?.ssh;
      return ssh ? hostAccess(ssh).files : localFiles;
    },
    readSample(host, path) {
      return this.filesOf(host).readFile(path);
    },
    sshOf(host) {
      return host === null ? null : (hostSlots.get(host)?.ssh ?? null);
    },
    async close() {
      closed = true;
      if (notifyTimer) clearTimeout(notifyTimer);
      await Promise.all(targets.map((t) => t.catalog?.close()));
      await Promise.all([...hostSlots.values()].map((h) => h.monitor?.close()));
    },
  };
}
