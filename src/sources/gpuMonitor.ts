/**
 * GPU and host figures for the dashboard, gathered without ever blocking the event loop.
 *
 * - ONE resident `nvidia-smi --query-gpu=... -lms N` child for the whole session. Its stdout is
 *   split into lines, each line parsed (`parseGpuLine`), lines grouped into samples
 *   (`GpuSampleGrouper`, plus a short quiet-time flush so a sample is not held back until the next
 *   one starts) and every sample is emitted as `gpuReadings`.
 * - Watchdog: when no readable line has come for 3 intervals (after a first-output grace at
 *   start), `gpuProblem` 'stalled' (or 'error' when only unreadable lines came) is emitted, OUR
 *   child is killed by its PID (SIGTERM, SIGKILL after a grace period) and a new one is started
 *   after a backoff (1 s, 2 s, 4 s … 30 s; back to 1 s once a child had given readings for 30 s
 *   before it failed, so one that fails right after each start is not restarted every second). The
 *   first readings after a problem bring `gpuRecovered`.
 * - The child ending on its own is classified (`classifyNvidiaSmiFailure`): 'missing' (ENOENT)
 *   is reported once and nvidia-smi is never tried again; 'driver' is retried every 60 s; anything
 *   else is retried with the backoff. The same problem is not reported twice in a row.
 * - Compute apps: every `appsEveryMs` (a minute), while the resident child is healthy, one
 *   `nvidia-smi --query-compute-apps=...` (execFile, 5 s timeout, never two at once) →
 *   `gpuProcesses`. When `trainerPid` is given and answers null, the query is skipped (there is no
 *   trainer whose GPU memory could be attributed).
 * - Host: every `hostEveryMs`, memory from /proc/meminfo (read once, synchronously; systeminformation
 *   `mem()` where there is no /proc) and the CPU load computed here from /proc/stat deltas
 *   (os.cpus() elsewhere) → `hostReading`.
 *   systeminformation's `currentLoad()` is NOT used: on Linux it runs
 *   `execSync('cat /proc/stat | grep cpu')`, a blocking shell pipeline on every call.
 * - `close()` kills every child by PID, waits for them to exit and clears every timer; no event
 *   is emitted after it is called. A process 'exit' hook kills live children synchronously in case
 *   the app exits without close() (removed by close()).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseMeminfo, parseProcStatCpu, type HostMemory } from '../parse/procHost.js';
import os from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import type { ComputeApp, GpuProblemKind, GpuReading, HostReading } from '../parse/gpuTypes.js';
import {
  classifyNvidiaSmiFailure,
  computeAppsArgs,
  GpuSampleGrouper,
  gpuQueryArgs,
  parseComputeApps,
  parseGpuLine,
} from '../parse/nvidiaSmi.js';

export type GpuEvent =
  | { type: 'gpuReadings'; at: number; gpus: GpuReading[] }
  | { type: 'gpuProcesses'; at: number; apps: ComputeApp[] }
  | { type: 'gpuProblem'; at: number; kind: GpuProblemKind; message: string }
  | { type: 'gpuRecovered'; at: number }
  | { type: 'hostReading'; at: number; host: HostReading };

export interface GpuMonitorOptions {
  /** nvidia-smi sampling interval (`-lms`), ms. Default 1000. */
  intervalMs?: number;
  /** How often to list the processes holding GPU memory, ms. Default 60000. */
  appsEveryMs?: number;
  /** How often to read host memory and CPU, ms. Default 2000. */
  hostEveryMs?: number;
  /** The nvidia-smi executable: a path, or a name looked up on PATH (of `env` when given). Default 'nvidia-smi'. */
  nvidiaSmi?: string;
  /** Environment for the nvidia-smi children. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** How long the first output of a freshly started nvidia-smi may take, ms. Default 5000 (at least 3 intervals). */
  startupGraceMs?: number;
  onEvent(event: GpuEvent): void;
  /** The trainer's PID when known; while it answers null the compute-apps query is skipped. */
  trainerPid?: () => number | null;
  /** How each nvidia-smi is started: on another host, through its SSH connection. Default: as it is. */
  command?: (file: string, args: string[]) => { file: string; args: string[] };
  /** Read this machine's memory and CPU (false for another host's GPUs). Default true. */
  hostReadings?: boolean;
}

export interface GpuMonitor {
  /** Kills every child by PID and waits for them to exit; clears every timer. Idempotent. */
  close(): Promise<void>;
  /** PIDs of the live children (the resident nvidia-smi and an in-flight compute-apps query), for tests. */
  pids(): number[];
}

const asIs = (file: string, args: string[]) => ({ file, args });

const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
/** A child that gave readings this long before it failed resets the backoff to its first step. */
const HEALTHY_RESET_MS = 30_000;
const DRIVER_RETRY_MS = 60_000;
const KILL_GRACE_MS = 1000;
const KILL_GIVE_UP_MS = 2000;
const APPS_TIMEOUT_MS = 5000;
const TAIL_MAX = 8192;
const LINE_MAX = 64 * 1024;

/** Splits decoded text into lines (`\n` or `\r\n`); keeps the unfinished last line for the next chunk. */
class LineSplitter {
  private rest = '';
  /** True when an over-long line was dropped since the last call. */
  dropped = false;

  push(text: string): string[] {
    const all = this.rest + text;
    const parts = all.split('\n');
    this.rest = parts.pop() ?? '';
    if (this.rest.length > LINE_MAX) {
      this.rest = '';
      this.dropped = true;
    }
    return parts.map((p) => (p.endsWith('\r') ? p.slice(0, -1) : p));
  }
}

/** A child process we own, with a promise that settles when it has exited (or could not start). */
interface Owned {
  proc: ChildProcess;
  pid: number | undefined;
  exited: boolean;
  whenExited: Promise<void>;
}

function own(proc: ChildProcess): Owned {
  const owned: Owned = { proc, pid: proc.pid, exited: false, whenExited: Promise.resolve() };
  owned.whenExited = new Promise<void>((resolve) => {
    const done = (): void => {
      owned.exited = true;
      resolve();
    };
    proc.once('exit', done);
    proc.once('close', done); // a failed spawn ('error' with ENOENT) gets 'close' but no 'exit'
    if (proc.pid === undefined) proc.once('error', done);
  });
  return owned;
}

function signalPid(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM, SIGKILL after a grace period; resolves when it exited, or after giving up on it. */
function killOwned(owned: Owned, graceMs = KILL_GRACE_MS): Promise<void> {
  if (owned.exited || owned.pid === undefined) return owned.whenExited;
  signalPid(owned.pid, 'SIGTERM');
  return new Promise<void>((resolve) => {
    let giveUp: NodeJS.Timeout | undefined;
    const hard = setTimeout(() => {
      if (owned.exited) return;
      signalPid(owned.pid, 'SIGKILL');
      giveUp = setTimeout(resolve, KILL_GIVE_UP_MS); // stuck in the kernel: stop waiting
    }, graceMs);
    void owned.whenExited.then(() => {
      clearTimeout(hard);
      if (giveUp) clearTimeout(giveUp);
      resolve();
    });
  });
}

interface Resident {
  owned: Owned;
  spawned: boolean;
  finished: boolean;
  stopping: boolean;
  grouper: GpuSampleGrouper;
  splitter: LineSplitter;
  decoder: StringDecoder;
  /** The last unreadable stdout lines and stderr, for classifying a failure. */
  tail: string;
  sawAnyLine: boolean;
  sawReading: boolean;
  firstReadingAt: number | null;
  /** Unreadable lines since the last readable one. */
  garbageSinceReading: number;
  firstGarbage: string | null;
  deadline: number;
  spawnErrorCode: string | undefined;
  exitCode: number | null;
  flushTimer: NodeJS.Timeout | undefined;
  closeFallback: NodeJS.Timeout | undefined;
}

/** CPU busy percent between two /proc/stat (or os.cpus()) snapshots. */
interface CpuTimes {
  busy: number;
  total: number;
}

/** A /proc file's text, read synchronously (procfs answers from memory: no thread-pool round trip); null where there is none. */
function readProc(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function readCpuTimes(): CpuTimes | null {
  const stat = readProc('/proc/stat');
  const fromProc = stat === null ? null : parseProcStatCpu(stat);
  if (fromProc) return fromProc;
  try {
    let busy = 0;
    let total = 0;
    for (const c of os.cpus()) {
      const t = c.times;
      busy += t.user + t.nice + t.sys + t.irq;
      total += t.user + t.nice + t.sys + t.irq + t.idle;
    }
    return total > 0 ? { busy, total } : null;
  } catch {
    return null;
  }
}

type SystemInformation = typeof import('systeminformation');

export function startGpuMonitor(options: GpuMonitorOptions): GpuMonitor {
  const intervalMs = Math.max(1, Math.round(options.intervalMs ?? 1000));
  // Once a minute: with the resident child that is two processes a minute in all. The device
  // totals stay live; only the trainer's own share of them is this coarse.
  const appsEveryMs = Math.max(1, options.appsEveryMs ?? 60_000);
  const hostEveryMs = Math.max(1, options.hostEveryMs ?? 2000);
  const nvidiaSmi = options.nvidiaSmi ?? 'nvidia-smi';
  const env = options.env ?? process.env;
  const stallMs = 3 * intervalMs;
  const startupMs = Math.max(stallMs, options.startupGraceMs ?? 5000);
  const flushDelayMs = Math.max(5, Math.min(100, Math.floor(intervalMs / 4)));

  let closed = false;
  let gaveUp = false;
  let resident: Resident | null = null;
  let restartTimer: NodeJS.Timeout | undefined;
  let backoffMs = BACKOFF_FIRST_MS;
  let problem: { kind: GpuProblemKind; message: string } | null = null;
  let appsInFlight = false;
  let appsEverQueried = false;
  let hostInFlight = false;
  let lastCpu: CpuTimes | null = null;
  let si: SystemInformation | null | undefined;
  const live = new Set<Owned>();
  const closing: Promise<void>[] = [];

  const emit = (event: GpuEvent): void => {
    if (closed) return;
    try {
      options.onEvent(event);
    } catch {
      // a consumer's bug must not kill the monitor
    }
  };

  const reportProblem = (kind: GpuProblemKind, message: string): void => {
    if (problem && problem.kind === kind && problem.message === message) return;
    problem = { kind, message };
    emit({ type: 'gpuProblem', at: Date.now(), kind, message });
  };

  const track = (owned: Owned): void => {
    if (owned.pid === undefined) return;
    live.add(owned);
    void owned.whenExited.then(() => live.delete(owned));
  };

  const onProcessExit = (): void => {
    for (const o of live) if (!o.exited) signalPid(o.pid, 'SIGTERM');
  };
  process.on('exit', onProcessExit);

  const healthy = (): boolean =>
    resident !== null && !resident.stopping && !resident.finished && resident.sawReading && problem === null;

  // ---- resident nvidia-smi ----

  const scheduleRestart = (delayMs: number): void => {
    if (closed || gaveUp) return;
    if (restartTimer) clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      startResident();
    }, delayMs);
  };

  /** The delay before restarting after `r`: 1 s, 2 s, 4 s … 30 s; back to 1 s after a long healthy run. */
  const nextBackoff = (r?: Resident): number => {
    if (r?.firstReadingAt != null && Date.now() - r.firstReadingAt >= HEALTHY_RESET_MS) backoffMs = BACKOFF_FIRST_MS;
    const d = backoffMs;
    backoffMs = Math.min(BACKOFF_MAX_MS, backoffMs * 2);
    return d;
  };

  const addTail = (r: Resident, text: string): void => {
    r.tail = (r.tail + text).slice(-TAIL_MAX);
  };

  const emitSample = (gpus: GpuReading[]): void => {
    if (gpus.length === 0) return;
    emit({ type: 'gpuReadings', at: Date.now(), gpus });
    if (!appsEverQueried) queryApps(); // the first list of GPU processes need not wait a whole appsEveryMs
  };

  const onLine = (r: Resident, line: string): void => {
    const now = Date.now();
    if (!r.sawAnyLine) {
      r.sawAnyLine = true;
      r.deadline = now + stallMs; // it is running: from now on the normal stall limit applies
    }
    if (line.trim() === '') return;
    const reading = parseGpuLine(line);
    if (!reading) {
      r.garbageSinceReading++;
      if (r.firstGarbage === null) r.firstGarbage = line.slice(0, 200);
      addTail(r, line + '\n');
      return;
    }
    r.deadline = now + stallMs;
    r.garbageSinceReading = 0;
    r.firstGarbage = null;
    if (!r.sawReading) {
      r.sawReading = true;
      r.firstReadingAt = now;
    }
    if (problem !== null) {
      problem = null;
      emit({ type: 'gpuRecovered', at: now });
    }
    const batch = r.grouper.push(reading);
    if (batch) emitSample(batch);
  };

  const onStdout = (r: Resident, chunk: Buffer): void => {
    if (closed || r.stopping || r.finished) return;
    const lines = r.splitter.push(r.decoder.write(chunk));
    for (const line of lines) {
      if (closed || r.stopping) return;
      onLine(r, line);
    }
    if (r.flushTimer) clearTimeout(r.flushTimer);
    r.flushTimer = setTimeout(() => {
      r.flushTimer = undefined;
      if (closed || r.stopping || r.finished || resident !== r) return;
      const batch = r.grouper.flush();
      if (batch) emitSample(batch);
    }, flushDelayMs);
  };

  const finishResident = (r: Resident): void => {
    if (r.finished) return;
    r.finished = true;
    if (r.flushTimer) clearTimeout(r.flushTimer);
    if (r.closeFallback) clearTimeout(r.closeFallback);
    r.owned.proc.stdout?.destroy();
    r.owned.proc.stderr?.destroy();
    if (resident === r) resident = null;
    if (closed) return;
    if (r.stopping) {
      // killed by the watchdog, which already reported why
      scheduleRestart(nextBackoff(r));
      return;
    }
    const output = r.tail + r.splitter.push('\n').join('\n');
    let verdict: { kind: GpuProblemKind; message: string };
    try {
      verdict = classifyNvidiaSmiFailure(output, r.exitCode, r.spawnErrorCode);
    } catch {
      verdict = { kind: 'error', message: `nvidia-smi ended (exit code ${String(r.exitCode)})` };
    }
    reportProblem(verdict.kind, verdict.message);
    if (verdict.kind === 'missing') {
      giveUp();
      return;
    }
    scheduleRestart(verdict.kind === 'driver' ? DRIVER_RETRY_MS : nextBackoff(r));
  };

  const startResident = (): void => {
    if (closed || gaveUp || resident) return;
    let proc: ChildProcess;
    try {
      const how = (options.command ?? asIs)(nvidiaSmi, gpuQueryArgs(intervalMs));
      proc = spawn(how.file, how.args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
        windowsHide: true,
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      let verdict: { kind: GpuProblemKind; message: string };
      try {
        verdict = classifyNvidiaSmiFailure('', null, code ?? 'EINVAL');
      } catch {
        verdict = { kind: 'error', message: `nvidia-smi could not be started: ${String(e)}` };
      }
      reportProblem(verdict.kind, verdict.message);
      if (verdict.kind === 'missing') giveUp();
      else scheduleRestart(nextBackoff());
      return;
    }
    const owned = own(proc);
    track(owned);
    const r: Resident = {
      owned,
      spawned: proc.pid !== undefined,
      finished: false,
      stopping: false,
      grouper: new GpuSampleGrouper(),
      splitter: new LineSplitter(),
      decoder: new StringDecoder('utf8'),
      tail: '',
      sawAnyLine: false,
      sawReading: false,
      firstReadingAt: null,
      garbageSinceReading: 0,
      firstGarbage: null,
      deadline: Date.now() + startupMs,
      spawnErrorCode: undefined,
      exitCode: null,
      flushTimer: undefined,
      closeFallback: undefined,
    };
    resident = r;
    proc.once('spawn', () => {
      r.spawned = true;
    });
    proc.on('error', (e: NodeJS.ErrnoException) => {
      if (!r.spawned && r.spawnErrorCode === undefined) r.spawnErrorCode = e.code ?? 'UNKNOWN';
    });
    proc.stdout?.on('data', (chunk: Buffer) => onStdout(r, chunk));
    proc.stdout?.on('error', () => undefined);
    proc.stderr?.on('data', (chunk: Buffer) => addTail(r, chunk.toString('utf8')));
    proc.stderr?.on('error', () => undefined);
    proc.once('exit', (code) => {
      r.exitCode = code;
      // 'close' (all output read) normally follows at once; do not wait on a pipe some
      // grandchild might still hold open.
      r.closeFallback = setTimeout(() => finishResident(r), 300);
    });
    proc.once('close', (code) => {
      if (r.exitCode === null && typeof code === 'number' && code >= 0) r.exitCode = code;
      finishResident(r);
    });
  };

  const watchdog = (): void => {
    const r = resident;
    if (closed || !r || r.stopping || r.finished || !r.spawned) return;
    if (Date.now() < r.deadline) return;
    if (r.garbageSinceReading > 0 && r.firstGarbage !== null) {
      reportProblem('error', `nvidia-smi printed output lora-top cannot read (${JSON.stringify(r.firstGarbage)}); restarting it`);
    } else {
      reportProblem('stalled', 'nvidia-smi stopped answering; restarting it');
    }
    r.stopping = true;
    if (r.flushTimer) clearTimeout(r.flushTimer);
    void killOwned(r.owned).then(() => finishResident(r));
  };

  // ---- compute apps ----

  const queryApps = (): void => {
    if (closed || appsInFlight || !healthy()) return;
    if (options.trainerPid) {
      let pid: number | null = null;
      try {
        pid = options.trainerPid();
      } catch {
        pid = null;
      }
      if (pid === null) return;
    }
    appsInFlight = true;
    appsEverQueried = true;
    let proc: ChildProcess;
    const how = (options.command ?? asIs)(nvidiaSmi, computeAppsArgs());
    try {
      proc = execFile(
        how.file,
        how.args,
        { env, timeout: APPS_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024, windowsHide: true },
        (err, stdout) => {
          appsInFlight = false;
          if (closed || err) return;
          let apps: ComputeApp[];
          try {
            apps = parseComputeApps(String(stdout));
          } catch {
            return;
          }
          emit({ type: 'gpuProcesses', at: Date.now(), apps });
        },
      );
    } catch {
      appsInFlight = false;
      return;
    }
    proc.on('error', () => undefined);
    track(own(proc));
  };

  // ---- host ----

  const sampleHost = async (): Promise<void> => {
    if (closed || hostInFlight || si === null) return;
    hostInFlight = true;
    try {
      // Linux: /proc/meminfo read once. Elsewhere systeminformation's mem().
      const meminfo = readProc('/proc/meminfo');
      const fromProc = meminfo === null ? null : parseMeminfo(meminfo);
      if (fromProc === null && si === undefined) {
        try {
          const mod = (await import('systeminformation')) as SystemInformation & { default?: SystemInformation };
          si = typeof mod.mem === 'function' ? mod : (mod.default ?? null);
        } catch {
          si = null;
        }
      }
      if ((!fromProc && !si) || closed) return;
      const memory: HostMemory = fromProc ?? (await si!.mem().then((m) => ({ totalBytes: m.total, usedBytes: m.active, swapTotalBytes: m.swaptotal, swapUsedBytes: m.swapused })));
      const cpu = readCpuTimes();
      let cpuPercent: number | null = null;
      if (cpu && lastCpu) {
        const dt = cpu.total - lastCpu.total;
        const db = cpu.busy - lastCpu.busy;
        if (dt > 0) cpuPercent = Math.min(100, Math.max(0, (100 * db) / dt));
      }
      if (cpu) lastCpu = cpu;
      emit({
        type: 'hostReading',
        at: Date.now(),
        host: {
          memUsedBytes: memory.usedBytes,
          memTotalBytes: memory.totalBytes,
          swapUsedBytes: memory.swapUsedBytes,
          swapTotalBytes: memory.swapTotalBytes,
          cpuPercent,
        },
      });
    } catch {
      // host figures are a nicety; try again next tick
    } finally {
      hostInFlight = false;
    }
  };

  // ---- timers ----

  let watchdogTimer: NodeJS.Timeout | undefined = setInterval(watchdog, Math.max(10, Math.min(intervalMs, 1000)));
  let appsTimer: NodeJS.Timeout | undefined = setInterval(queryApps, appsEveryMs);
  const hostTimer = options.hostReadings === false ? undefined : setInterval(() => void sampleHost(), hostEveryMs);

  function giveUp(): void {
    gaveUp = true;
    if (restartTimer) clearTimeout(restartTimer);
    restartTimer = undefined;
    if (watchdogTimer) clearInterval(watchdogTimer);
    watchdogTimer = undefined;
    if (appsTimer) clearInterval(appsTimer);
    appsTimer = undefined;
  }

  startResident();
  if (hostTimer) void sampleHost();

  let closePromise: Promise<void> | null = null;
  return {
    close(): Promise<void> {
      if (closePromise) return closePromise;
      closed = true;
      giveUp();
      clearInterval(hostTimer);
      const r = resident;
      if (r) {
        if (r.flushTimer) clearTimeout(r.flushTimer);
        r.stopping = true;
      }
      for (const o of live) closing.push(killOwned(o, 500));
      closePromise = Promise.all(closing).then(() => {
        if (r) {
          if (r.closeFallback) clearTimeout(r.closeFallback);
          r.finished = true;
          r.owned.proc.stdout?.destroy();
          r.owned.proc.stderr?.destroy();
        }
        resident = null;
        process.removeListener('exit', onProcessExit);
      });
      return closePromise;
    },
    pids(): number[] {
      const out: number[] = [];
      for (const o of live) if (!o.exited && o.pid !== undefined) out.push(o.pid);
      return out;
    },
  };
}
