import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ControlAction, ControlEvent, ControlSource, RequestKind } from '../state/controlState.js';
import { requestKindOf } from '../state/controlState.js';
import type { RunState } from '../state/runState.js';
import { readJob, setJobFlag, type JobFlag } from './jobDb.js';
import { startKeeper, type Keeper, type KeeperMessage } from './promiseKeeper.js';
import { readRunRecord } from './runRecord.js';
import { findProvenTrainers, proveTrainer, type TrainerExpectation } from './trainerProof.js';
import { descendants, identify, processLife, signalTrainer, stillRunning, type TrainerIdentity } from './trainerSignals.js';

/**
 * The control side of a run (I/O): finds the trainer and its control channel, watches whether its
 * process lives and is frozen, and carries out the keys' requests — SIGSTOP/SIGCONT for freeze,
 * the Job row's flags for save/sample/stop, SIGINT for stop. A PID from any source is used only
 * once it is proven to be this run's trainer (trainerProof.ts), and proven again before every
 * signal. A freeze and a "save, then stop" are held by a keeper (promiseKeeper.ts) that outlives
 * lora-top, so that what the person confirmed happens however lora-top ends.
 */

export type { ControlAction } from '../state/controlState.js';

export interface ControlOptions {
  folder: string | null;
  /** The log the run writes (where a "save, then stop" watches for the checkpoint). */
  logPath?: string | null;
  getState(): RunState;
  apply(events: ControlEvent[]): void;
  /** `--readonly`: nothing acts on the trainer. */
  readonly?: boolean;
  /** `--pid N`. */
  pid?: number | null;
  /** `--db PATH`: the ai-toolkit UI's database. */
  db?: string | null;
  pollMs?: number;
  /** How often the trainer is looked for while none is known. */
  lookupMs?: number;
}

const NO_TRAINER = 'no trainer process found for this run (--pid N names it)';

export const NO_CHANNEL =
  'this run has no control channel (a plain `python run.py` run): start it with `lora-top run -- python run.py cfg.yaml` or from the ai-toolkit UI';

/**
 * What one look for the trainer tells the screen (`why`: the look's reason when it found none), and
 * the key that says whether that is news since the last look. Shared by the local and remote controls.
 */
export function channelNews(
  found: { id: TrainerIdentity; source: ControlSource; db: { path: string; jobId: string } | null } | null,
  why: string,
  readonly: boolean,
): { key: string; event: Extract<ControlEvent, { type: 'controlChannel' }> } {
  const key = found ? `${found.id.pid}:${found.id.startTime}:${found.source}:${found.db?.path ?? ''}:${found.db?.jobId ?? ''}` : `none:${why}`;
  const noChannel = found?.db ? '' : found ? NO_CHANNEL : why;
  return { key, event: { type: 'controlChannel', pid: found?.id.pid ?? null, source: found?.source ?? null, db: found?.db ?? null, noChannel, readonly } };
}

/** How often the trainer is looked for while none is known, and the process polled once it is. */
const LOOKUP_MS = 5000;
const POLL_MS = 2000;
/** How long a signal's effect is looked for in /proc before the screen is told what is there. */
const READ_BACK_MS = 1500;

interface Found {
  id: TrainerIdentity;
  source: ControlSource;
  db: { path: string; jobId: string } | null;
  /** What the process was proven to be, to prove it again before each signal. */
  expect: TrainerExpectation;
}

type Lookup = { found: Found } | { found: null; why: string };

export class RunControl {
  private found: Found | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastLookup = 0;
  private lastState: { alive: boolean; stopped: boolean } | null = null;
  private closed = false;
  /** The look for the trainer under way, if one is. */
  private lookingFor: Promise<void> | null = null;
  private announced: string | null = null;
  /** The keeper that lifts lora-top's freeze if lora-top goes; null while lora-top has not frozen the trainer. */
  private thawKeeper: Keeper | null = null;
  /** Actions run one after another (a second key press waits for the first to be carried out). */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: ControlOptions) {
    this.schedule(0);
  }

  /**
   * Stops watching. A trainer lora-top froze is resumed first: quitting lora-top never leaves the
   * run stopped (and were lora-top killed instead, its keeper would resume it). A "save, then stop"
   * under way goes on in its keeper.
   */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.thawKeeper && this.found && processLife(this.found.id) === 'stopped' && this.disproved(this.found) === null) {
      signalTrainer(this.found.id, 'SIGCONT', true);
    }
    this.releaseThaw();
  }

  act(action: ControlAction): void {
    this.queue = this.queue.then(() => this.perform(action)).catch(() => {});
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    try {
      const now = Date.now();
      const life = this.found ? processLife(this.found.id) : 'gone';
      if (life === 'gone' && now - this.lastLookup >= (this.options.lookupMs ?? LOOKUP_MS) && this.lookingFor === null) {
        this.lastLookup = now;
        await this.lookup();
        this.watchProcess(this.found ? processLife(this.found.id) : 'gone');
      } else this.watchProcess(life);
    } finally {
      this.schedule(this.options.pollMs ?? POLL_MS);
    }
  }

  /** Whether the process lives and is stopped, said when it changes. */
  private watchProcess(life: 'gone' | 'running' | 'stopped'): void {
    if (!this.found || this.closed) return;
    const alive = life !== 'gone';
    const stopped = life === 'stopped';
    const was = this.lastState;
    if (was && was.alive === alive && was.stopped === stopped) return;
    this.lastState = { alive, stopped };
    this.options.apply([{ type: 'trainerProcessState', alive, stopped }]);
    // Running again (resumed from outside) or gone: lora-top's freeze is over, and so is its promise.
    if (was?.stopped && !stopped) this.releaseThaw();
  }

  /** Looks for the trainer (or joins the look under way). */
  private lookup(): Promise<void> {
    this.lookingFor ??= this.lookOnce().finally(() => {
      this.lookingFor = null;
    });
    return this.lookingFor;
  }

  private async lookOnce(): Promise<void> {
    const result = await this.find();
    const found = result.found;
    if (found?.id.pid !== this.found?.id.pid) this.releaseThaw();
    this.found = found;
    const { key, event } = channelNews(found, result.found === null ? result.why : '', this.options.readonly === true);
    if (key === this.announced || this.closed) return;
    this.announced = key;
    this.lastState = null;
    this.options.apply([event]);
  }

  private expectation(state: RunState, jobId: string | null): TrainerExpectation {
    return { runFolder: this.options.folder, name: state.name ?? state.config?.name ?? null, jobId };
  }

  /**
   * lora-top's own launch, else the UI job's pid (or, when that is a launcher, the trainer among its
   * descendants), else `--pid`, else a scan of /proc. Each candidate must prove to be this run's
   * trainer; the first that fails says why.
   */
  private async find(): Promise<Lookup> {
    const { folder } = this.options;
    const state = this.options.getState();
    const reasons: string[] = [];
    if (folder) {
      const record = readRunRecord(folder);
      if (record && identify(record.pid) !== null) {
        const expect = this.expectation(state, record.jobId);
        const proof = proveTrainer(record.pid, expect);
        if (proof.ok && proof.id.startTime === record.startTime) {
          const db = record.controlDb && record.jobId && existsSync(record.controlDb) ? { path: record.controlDb, jobId: record.jobId } : null;
          return { found: { id: proof.id, source: 'launch', db, expect } };
        }
        if (proof.ok) reasons.push(`the trainer lora-top run started (pid ${record.pid}) has exited; that pid is now another process`);
        else reasons.push(`the pid ${record.pid} that lora-top run recorded is not this run's trainer (${proof.why})`);
      }
    }
    const dbPath = this.uiDbPath(state);
    if (dbPath) {
      const job = await readJob(dbPath, { id: state.jobId, name: state.name ?? state.config?.name ?? null });
      const row = job.ok ? job.value : null;
      // A row keeps its pid after the job ended: only a running job has a trainer.
      if (row && row.status === 'running' && row.pid !== null) {
        const expect = this.expectation(state, row.id);
        const db = { path: dbPath, jobId: row.id };
        const proof = proveTrainer(row.pid, expect);
        if (proof.ok) return { found: { id: proof.id, source: 'ui', db, expect } };
        // The row may name a launcher (a shell script, `conda run`): the trainer is then among its descendants.
        const launcher = identify(row.pid);
        for (const child of launcher ? descendants(launcher) : []) {
          const inner = proveTrainer(child.pid, expect);
          if (inner.ok) return { found: { id: inner.id, source: 'ui', db, expect } };
        }
        if (launcher) reasons.push(`the job's pid ${row.pid} is not this run's trainer (${proof.why})`);
      }
    }
    if (this.options.pid) {
      const pid = this.options.pid;
      const expect = this.expectation(state, state.jobId);
      if (identify(pid) === null) return { found: null, why: `pid ${pid} (--pid) is not running` };
      const proof = proveTrainer(pid, expect);
      if (proof.ok) return { found: { id: proof.id, source: 'flag', db: null, expect } };
      return { found: null, why: `pid ${pid} (--pid) is not this run's trainer (${proof.why})` };
    }
    const expect = this.expectation(state, state.jobId);
    const scanned = findProvenTrainers(expect)[0];
    if (scanned) return { found: { id: scanned, source: 'scan', db: null, expect } };
    return { found: null, why: reasons[0] ?? NO_TRAINER };
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

  /** null while `found` is still proven to be the run's trainer; else why nothing may be sent. */
  private disproved(found: Found): string | null {
    const proof = proveTrainer(found.id.pid, found.expect);
    if (proof.ok && proof.id.startTime === found.id.startTime) return null;
    if (identify(found.id.pid) === null) return `the trainer (pid ${found.id.pid}) has exited`;
    if (proof.ok) return `pid ${found.id.pid} is now another process (the trainer exited): nothing sent`;
    return `pid ${found.id.pid} is not this run's trainer (${proof.why}): nothing sent`;
  }

  private fail(kind: RequestKind, reason: string): void {
    if (!this.closed) this.options.apply([{ type: 'controlFailed', kind, reason }]);
  }

  private releaseThaw(): void {
    this.thawKeeper?.release();
    this.thawKeeper = null;
  }

  /** Waits for /proc to show the trainer stopped (or running), and tells the screen what it shows. */
  private async readBack(found: Found, want: 'stopped' | 'running'): Promise<'gone' | 'running' | 'stopped'> {
    const started = Date.now();
    let life = processLife(found.id);
    while (life !== want && life !== 'gone' && Date.now() - started < READ_BACK_MS) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      life = processLife(found.id);
    }
    this.watchProcess(life);
    return life;
  }

  private async freeze(found: Found): Promise<void> {
    const why = this.disproved(found);
    if (why !== null) return this.fail('freeze', why);
    // The keeper first: were lora-top to die the moment after SIGSTOP, the freeze is still lifted.
    const keeper = await startKeeper({ kind: 'thaw', trainer: found.id, expect: found.expect }, () => {});
    if ('error' in keeper) return this.fail('freeze', `not frozen: the keeper that lifts the freeze if lora-top ends could not start (${keeper.error})`);
    const result = signalTrainer(found.id, 'SIGSTOP', true);
    if (!result.ok) {
      keeper.release();
      return this.fail('freeze', result.reason);
    }
    this.releaseThaw();
    this.thawKeeper = keeper;
    await this.readBack(found, 'stopped');
  }

  private async thaw(found: Found): Promise<boolean> {
    const why = this.disproved(found);
    if (why !== null) {
      this.fail('freeze', why);
      return false;
    }
    const result = signalTrainer(found.id, 'SIGCONT', true);
    if (!result.ok) {
      this.fail('freeze', result.reason);
      return false;
    }
    await this.readBack(found, 'running');
    this.releaseThaw();
    return true;
  }

  private async perform(action: ControlAction): Promise<void> {
    const kind = requestKindOf(action);
    if (this.options.readonly) return this.fail(kind, 'lora-top was started with --readonly');
    if (!this.found) {
      // Nothing known to act on: look again now, after any look under way (the dashboard may have
      // just opened, or the log named the UI's job since the last look), and answer with that.
      if (this.lookingFor) await this.lookingFor;
      if (!this.found && !this.closed) {
        this.lastLookup = Date.now();
        await this.lookup();
      }
    }
    const found = this.found;
    if (!found) return this.fail(kind, this.options.getState().control.noChannel || NO_TRAINER);
    switch (action.type) {
      case 'freeze':
        return this.freeze(found);
      case 'resume':
        return void (await this.thaw(found));
      case 'save':
      case 'sample':
        return this.setFlag(found, kind, kind === 'save' ? 'save_now' : 'sample_now');
      case 'stop': {
        // A frozen trainer can neither save nor act on SIGINT: let it run again first.
        if (processLife(found.id) === 'stopped' && !(await this.thaw(found))) return;
        if (action.saveFirst && found.db) return this.stopAfterSave(found, found.db);
        const why = this.disproved(found);
        if (why !== null) return this.fail('stop', why);
        this.options.apply([{ type: 'controlRequest', kind: 'stop' }]);
        // The flag is how the UI stops a job; SIGINT alone stops it too, so a locked database does not hold the stop up.
        if (found.db) await setJobFlag(found.db.path, found.db.jobId, 'stop');
        const result = signalTrainer(found.id, 'SIGINT', false);
        if (!result.ok) this.fail('stop', result.reason);
        return;
      }
    }
  }

  /**
   * "Save, then stop", held by a keeper: the stop goes once the save has landed, with or without
   * lora-top. The screen says "save requested … then stop" only once the keeper holds the promise.
   */
  private async stopAfterSave(found: Found, db: { path: string; jobId: string }): Promise<void> {
    const why = this.disproved(found);
    if (why !== null) return this.fail('save', why);
    const logPath = this.options.logPath ?? null;
    if (logPath === null) return this.fail('save', 'lora-top does not know the log to watch for the save');
    const onMessage = (message: KeeperMessage) => {
      if (this.closed) return;
      if (message.type === 'saveRequested') this.options.apply([{ type: 'controlRequest', kind: 'save', stopAfterSave: true }]);
      else if (message.type === 'stopSent') this.options.apply([{ type: 'controlRequest', kind: 'stop' }]);
      else if (message.type === 'failed') this.fail(message.kind, message.reason);
    };
    const keeper = await startKeeper({ kind: 'stopAfterSave', trainer: found.id, expect: found.expect, db, logPath }, onMessage);
    if ('error' in keeper) this.fail('save', `nothing sent: the keeper that stops the run after the save could not start (${keeper.error})`);
  }

  private async setFlag(found: Found, kind: RequestKind, flag: JobFlag): Promise<void> {
    if (!found.db) return this.fail(kind, NO_CHANNEL);
    if (!stillRunning(found.id)) return this.fail(kind, `the trainer (pid ${found.id.pid}) has exited`);
    this.options.apply([{ type: 'controlRequest', kind, stopAfterSave: false }]);
    const result = await setJobFlag(found.db.path, found.db.jobId, flag);
    if (!result.ok) this.fail(kind, result.reason);
  }
}
