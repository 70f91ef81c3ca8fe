import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ControlAction, ControlEvent, ControlSource, RequestKind } from '../state/controlState.js';
import { openRequest, requestKindOf, stopDue } from '../state/controlState.js';
import { isFinished, type RunState } from '../state/runState.js';
import { findTrainerPid } from '../sources/trainerProcess.js';
import { readJob, setJobFlag, type JobFlag } from './jobDb.js';
import { readRunRecord } from './runRecord.js';
import { identify, processLife, signalTrainer, stillRunning, type SignalResult, type TrainerIdentity } from './trainerSignals.js';

/**
 * The control side of a run (I/O): finds the trainer and its control channel, watches whether its
 * process lives and is frozen, and carries out the keys' requests — SIGSTOP/SIGCONT for freeze,
 * the Job row's flags for save/sample/stop, SIGINT for stop. Every signal checks first that the PID
 * is still the same process.
 */

export type { ControlAction } from '../state/controlState.js';

export interface ControlOptions {
  folder: string | null;
  getState(): RunState;
  apply(events: ControlEvent[]): void;
  /** `--readonly`: nothing acts on the trainer. */
  readonly?: boolean;
  /** `--pid N`. */
  pid?: number | null;
  /** `--db PATH`: the ai-toolkit UI's database. */
  db?: string | null;
  pollMs?: number;
}

const NO_TRAINER = 'no trainer process found for this run (--pid N names it)';

export const NO_CHANNEL =
  'this run has no control channel (a plain `python run.py` run): start it with `lora-top run -- python run.py cfg.yaml` or from the ai-toolkit UI';

/** How often the trainer is looked for while none is known, and the process polled once it is. */
const LOOKUP_MS = 5000;
const POLL_MS = 2000;

interface Found {
  id: TrainerIdentity;
  source: ControlSource;
  db: { path: string; jobId: string } | null;
}

export class RunControl {
  private found: Found | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastLookup = 0;
  private lastState: { alive: boolean; stopped: boolean } | null = null;
  private closed = false;
  private looking = false;

  constructor(private readonly options: ControlOptions) {
    this.schedule(0);
  }

  /** Whether lora-top froze the trainer (and has not resumed it since). */
  private frozeIt = false;

  /**
   * Stops watching. A trainer lora-top froze is resumed first: quitting lora-top never leaves the
   * run stopped.
   */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.frozeIt && this.found && processLife(this.found.id) === 'stopped') this.thaw(this.found);
  }

  private thaw(found: Found): void {
    this.setFrozen(found, false);
  }

  /** SIGSTOP or SIGCONT to the trainer's group, and the state says so at once. */
  private setFrozen(found: Found, stop: boolean): SignalResult {
    const result = signalTrainer(found.id, stop ? 'SIGSTOP' : 'SIGCONT', true);
    if (!result.ok) return result;
    this.frozeIt = stop;
    this.lastState = { alive: true, stopped: stop };
    if (!this.closed) this.options.apply([{ type: 'trainerProcessState', alive: true, stopped: stop }]);
    return result;
  }

  act(action: ControlAction): void {
    void this.perform(action);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    try {
      const now = Date.now();
      const life = this.found ? processLife(this.found.id) : 'gone';
      if (life === 'gone' && now - this.lastLookup >= LOOKUP_MS && !this.looking) {
        this.lastLookup = now;
        await this.lookup();
        this.watchProcess(this.found ? processLife(this.found.id) : 'gone');
      } else this.watchProcess(life);
      if (this.found && stopDue(this.options.getState().control) && !openRequest(this.options.getState().control, 'stop')) {
        await this.perform({ type: 'stop', saveFirst: false });
      }
    } finally {
      this.schedule(this.options.pollMs ?? POLL_MS);
    }
  }

  /** Whether the process lives and is stopped, said when it changes. */
  private watchProcess(life: 'gone' | 'running' | 'stopped'): void {
    if (!this.found) return;
    const alive = life !== 'gone';
    const stopped = life === 'stopped';
    if (this.lastState && this.lastState.alive === alive && this.lastState.stopped === stopped) return;
    this.lastState = { alive, stopped };
    this.options.apply([{ type: 'trainerProcessState', alive, stopped }]);
  }

  private async lookup(): Promise<void> {
    this.looking = true;
    try {
      const found = await this.find();
      const key = found ? `${found.id.pid}:${found.id.startTime}:${found.source}:${found.db?.path ?? ''}:${found.db?.jobId ?? ''}` : 'none';
      this.found = found;
      if (key === this.announced) return;
      this.announced = key;
      this.lastState = null;
      this.options.apply([
        {
          type: 'controlChannel',
          pid: found?.id.pid ?? null,
          source: found?.source ?? null,
          db: found?.db ?? null,
          noChannel: found?.db ? '' : found ? NO_CHANNEL : NO_TRAINER,
          readonly: this.options.readonly === true,
        },
      ]);
    } finally {
      this.looking = false;
    }
  }

  private announced: string | null = null;

  /** lora-top's own launch, else the UI job's pid, else `--pid`, else a `python run.py` of this run. */
  private async find(): Promise<Found | null> {
    const { folder } = this.options;
    const state = this.options.getState();
    if (folder) {
      const record = readRunRecord(folder);
      if (record && stillRunning({ pid: record.pid, startTime: record.startTime })) {
        const db = record.controlDb && record.jobId && existsSync(record.controlDb) ? { path: record.controlDb, jobId: record.jobId } : null;
        return { id: { pid: record.pid, startTime: record.startTime }, source: 'launch', db };
      }
    }
    const dbPath = this.uiDbPath(state);
    if (dbPath) {
      const job = await readJob(dbPath, { id: state.jobId, name: state.name ?? state.config?.name ?? null });
      if (job.ok && job.value) {
        const id = job.value.pid !== null ? identify(job.value.pid) : null;
        if (id && !isFinished(state.status)) return { id, source: 'ui', db: { path: dbPath, jobId: job.value.id } };
      }
    }
    if (this.options.pid) {
      const id = identify(this.options.pid);
      if (id) return { id, source: 'flag', db: null };
    }
    const pid = findTrainerPid({ runFolder: folder });
    const id = pid !== null ? identify(pid) : null;
    return id ? { id, source: 'scan', db: null } : null;
  }

  private uiDbPath(state: RunState): string | null {
    const candidates = [this.options.db, state.sqliteDbPath, state.config?.sqliteDbPath].filter((p): p is string => typeof p === 'string' && p.length > 0);
    for (const candidate of candidates) {
      // A relative path is relative to the trainer's working directory, unknown here: try ours.
      const path = isAbsolute(candidate) ? candidate : resolve(candidate);
      if (existsSync(path)) return path;
    }
    return null;
  }

  private fail(kind: RequestKind, reason: string): void {
    this.options.apply([{ type: 'controlFailed', kind, reason }]);
  }

  private async perform(action: ControlAction): Promise<void> {
    const kind = requestKindOf(action);
    if (this.options.readonly) return this.fail(kind, 'lora-top was started with --readonly');
    const found = this.found;
    if (!found) return this.fail(kind, NO_TRAINER);
    switch (action.type) {
      case 'freeze':
      case 'resume': {
        const result = this.setFrozen(found, action.type === 'freeze');
        if (!result.ok) this.fail('freeze', result.reason);
        return;
      }
      case 'save':
      case 'sample':
        return this.setFlag(found, kind, kind === 'save' ? 'save_now' : 'sample_now', false);
      case 'stop': {
        // A frozen trainer can neither save nor act on SIGINT: let it run again first.
        if (processLife(found.id) === 'stopped') this.thaw(found);
        if (action.saveFirst && found.db) return this.setFlag(found, 'save', 'save_now', true);
        this.options.apply([{ type: 'controlRequest', kind: 'stop' }]);
        // The flag is how the UI stops a job; SIGINT alone stops it too, so a locked database does not hold the stop up.
        if (found.db) await setJobFlag(found.db.path, found.db.jobId, 'stop');
        const result = signalTrainer(found.id, 'SIGINT', false);
        if (!result.ok) this.fail('stop', result.reason);
        return;
      }
    }
  }

  private async setFlag(found: Found, kind: RequestKind, flag: JobFlag, stopAfterSave: boolean): Promise<void> {
    if (!found.db) return this.fail(kind, NO_CHANNEL);
    if (!stillRunning(found.id)) return this.fail(kind, `the trainer (pid ${found.id.pid}) has exited`);
    this.options.apply([{ type: 'controlRequest', kind, stopAfterSave }]);
    const result = await setJobFlag(found.db.path, found.db.jobId, flag);
    if (!result.ok) this.fail(kind, result.reason);
  }
}
