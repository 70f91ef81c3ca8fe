import type { ControlOptions } from '../control/controlSource.js';
import { channelNews, NO_CHANNEL } from '../control/controlSource.js';
import { recordPath } from '../control/runRecord.js';
import { judgeTrainer, type ConfigFiles, type ProcessFacts, type Proof, type TrainerExpectation } from '../control/trainerProof.js';
import type { TrainerIdentity } from '../control/trainerSignals.js';
import { requestKindOf, type ControlAction, type ControlSource, type RequestKind } from '../state/controlState.js';
import type { RunState } from '../state/runState.js';
import type { TrainerControl } from '../run/watchRun.js';
import type { SshHost } from './sshHost.js';

/**
 * The control side of a run on another host (I/O through its agent): the same proof as on this
 * machine (trainerProof.ts judges the process from the host's /proc facts and the config files it
 * names, fetched from the host), proven again before every signal; the agent checks the process's
 * start time at the moment it signals, and lifts a freeze it holds when the connection ends however
 * it ends (end of input, a hang-up, a failed write). Freeze and resume are SIGSTOP/SIGCONT to the
 * trainer and its own descendants (never a process group); save now, sample now and stop set the
 * Job row's flags in the run's control database there; stop also sends SIGINT to the trainer.
 */

const LOOKUP_MS = 5000;
const POLL_MS = 2000;
const READ_BACK_MS = 1500;
const NO_TRAINER = 'no trainer process found for this run on its host (--pid N names it)';
/** What the proof's cheap first test is on the host (trainerProcess.ts isPython / runPyIndex). */
const PYTHON = '^python[\\d.]*[a-z]?$';

interface Found {
  id: TrainerIdentity;
  source: ControlSource;
  db: { path: string; jobId: string } | null;
  expect: TrainerExpectation;
}

/** Config files read from the host: a judge pass notes what it lacks; the next pass has it. */
class HostConfigFiles implements ConfigFiles {
  private readonly known = new Map<string, { isFile: boolean; real: string | null; text: string | null }>();
  readonly missing = new Set<string>();

  isFile(file: string): boolean {
    return this.look(file)?.isFile ?? false;
  }
  read(file: string): string | null {
    return this.look(file)?.text ?? null;
  }
  canonical(file: string): string {
    return this.look(file)?.real ?? file;
  }
  private look(file: string) {
    const entry = this.known.get(file);
    if (!entry) this.missing.add(file);
    return entry;
  }
  async fetch(host: SshHost): Promise<void> {
    const paths = [...this.missing];
    this.missing.clear();
    const { header } = await host.request('files', { paths });
    const files = header.files as Record<string, { isFile: boolean; real: string | null; text: string | null }>;
    for (const path of paths) this.known.set(path, files[path] ?? { isFile: false, real: null, text: null });
  }
}

export class RemoteRunControl implements TrainerControl {
  private found: Found | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastLookup = 0;
  private lastState: { alive: boolean; stopped: boolean } | null = null;
  private announced: string | null = null;
  private closed = false;
  private holding = false;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: SshHost,
    private readonly options: ControlOptions,
  ) {
    this.schedule(0);
  }

  act(action: ControlAction): void {
    this.queue = this.queue.then(() => this.perform(action)).catch((error: Error) => this.fail(requestKindOf(action), error.message));
  }

  /** Quitting never leaves the run frozen: a freeze lora-top holds is lifted first (the agent would too, at end of input). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.holding && this.found) {
      const { pid, startTime } = this.found.id;
      void this.host.request('signal', { pid, start: startTime, signal: 'SIGCONT', tree: true, release: true }).catch(() => {});
    }
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    try {
      if (this.host.status().kind !== 'up') return;
      const life = this.found ? await this.life(this.found.id) : 'gone';
      if (life === 'gone' && Date.now() - this.lastLookup >= (this.options.lookupMs ?? LOOKUP_MS)) {
        this.lastLookup = Date.now();
        await this.lookup();
        this.watchProcess(this.found ? await this.life(this.found.id) : 'gone');
      } else this.watchProcess(life);
    } catch {
      // The host went away meanwhile: looked at again once it is back.
    } finally {
      this.schedule(this.options.pollMs ?? POLL_MS);
    }
  }

  private async life(id: TrainerIdentity): Promise<'gone' | 'running' | 'stopped'> {
    const { header } = await this.host.request('life', { pid: id.pid, start: id.startTime });
    return header.life === 'running' || header.life === 'stopped' ? header.life : 'gone';
  }

  private watchProcess(life: 'gone' | 'running' | 'stopped'): void {
    if (!this.found || this.closed) return;
    const alive = life !== 'gone';
    const stopped = life === 'stopped';
    const was = this.lastState;
    if (was && was.alive === alive && was.stopped === stopped) return;
    this.lastState = { alive, stopped };
    this.options.apply([{ type: 'trainerProcessState', alive, stopped }]);
    if (was?.stopped && !stopped) this.holding = false;
  }

  private async facts(pid: number): Promise<ProcessFacts | null> {
    const { header } = await this.host.request('proc', { pid });
    if (header.gone) return null;
    const env = header.env as Record<string, string> | null;
    return { pid, startTime: Number(header.start), argv: (header.argv as string[] | null) ?? null, cwd: (header.cwd as string | null) ?? null, env: env ? new Map(Object.entries(env)) : null };
  }

  /** The proof, with the config files it reads fetched from the host (a few round trips at most). */
  private async prove(pid: number, expect: TrainerExpectation): Promise<Proof> {
    const facts = await this.facts(pid);
    if (!facts) return { ok: false, why: 'no such process' };
    const files = new HostConfigFiles();
    if (expect.runFolder) files.canonical(expect.runFolder);
    for (let pass = 0; ; pass++) {
      const proof = judgeTrainer(facts, expect, files);
      if (files.missing.size === 0 || pass >= 5) return proof;
      await files.fetch(this.host);
    }
  }

  private expectation(state: RunState, jobId: string | null): TrainerExpectation {
    return { runFolder: this.options.folder, name: state.name ?? state.config?.name ?? null, jobId };
  }

  private async lookup(): Promise<void> {
    const result = await this.find();
    const found = 'id' in result ? result : null;
    if (found?.id.pid !== this.found?.id.pid) this.holding = false;
    this.found = found;
    const { key, event } = channelNews(found, 'why' in result ? result.why : '', this.options.readonly === true);
    if (key === this.announced || this.closed) return;
    this.announced = key;
    this.lastState = null;
    this.options.apply([event]);
  }

  /** `lora-top run`'s record, the UI job's pid, `--pid`, else a scan of the host's processes: each proven. */
  private async find(): Promise<Found | { why: string }> {
    const { folder } = this.options;
    const state = this.options.getState();
    const reasons: string[] = [];
    if (folder) {
      const record = await this.host
        .request('read', { path: recordPath(folder), max: 65536 })
        .then(({ data }) => JSON.parse(String(data ?? '')) as { pid?: number; startTime?: number; jobId?: string | null; controlDb?: string | null })
        .catch(() => null);
      if (record && typeof record.pid === 'number') {
        const expect = this.expectation(state, record.jobId ?? null);
        const proof = await this.prove(record.pid, expect);
        if (proof.ok && proof.id.startTime === record.startTime) {
          const dbThere = record.controlDb ? await this.host.request('stat', { path: record.controlDb }).then(() => true, () => false) : false;
          const db = dbThere && record.controlDb && record.jobId ? { path: record.controlDb, jobId: record.jobId } : null;
          return { id: proof.id, source: 'launch', db, expect };
        }
        if (!proof.ok && proof.why !== 'no such process') reasons.push(`the pid ${record.pid} that lora-top run recorded is not this run's trainer (${proof.why})`);
      }
    }
    const dbPath = [this.options.db, state.sqliteDbPath, state.config?.sqliteDbPath].find((p): p is string => typeof p === 'string' && p.startsWith('/')) ?? null;
    if (dbPath) {
      const key = state.jobId ? ['id', state.jobId] : ['name', state.name ?? state.config?.name ?? ''];
      const row = await this.host
        .request('query', { db: dbPath, sql: `SELECT id, status, pid FROM Job WHERE ${key[0]} = ?`, args: [key[1]] })
        .then(({ header }) => (header.rows as unknown[][])[0] ?? null)
        .catch(() => null);
      if (row && row[1] === 'running' && typeof row[2] === 'number') {
        const expect = this.expectation(state, String(row[0]));
        const proof = await this.prove(row[2], expect);
        if (proof.ok) return { id: proof.id, source: 'ui', db: { path: dbPath, jobId: String(row[0]) }, expect };
        reasons.push(`the job's pid ${row[2]} is not this run's trainer (${proof.why})`);
      }
    }
    if (this.options.pid) {
      const expect = this.expectation(state, state.jobId);
      const proof = await this.prove(this.options.pid, expect);
      if (proof.ok) return { id: proof.id, source: 'flag', db: null, expect };
      return { why: `pid ${this.options.pid} (--pid) is not this run's trainer on its host (${proof.why})` };
    }
    const expect = this.expectation(state, state.jobId);
    const { header } = await this.host.request('procs', { argv0: PYTHON, script: 'run.py' });
    const candidates = (header.procs as Array<{ pid: number; start: number }>).sort((a, b) => b.start - a.start || b.pid - a.pid);
    for (const candidate of candidates) {
      const proof = await this.prove(candidate.pid, expect);
      if (proof.ok) return { id: proof.id, source: 'scan', db: null, expect };
    }
    return { why: reasons[0] ?? NO_TRAINER };
  }

  /** null while `found` is still proven to be the run's trainer; else why nothing may be sent. */
  private async disproved(found: Found): Promise<string | null> {
    const proof = await this.prove(found.id.pid, found.expect);
    if (proof.ok && proof.id.startTime === found.id.startTime) return null;
    if (!proof.ok && proof.why === 'no such process') return `the trainer (pid ${found.id.pid}) has exited`;
    if (proof.ok) return `pid ${found.id.pid} is now another process (the trainer exited): nothing sent`;
    return `pid ${found.id.pid} is not this run's trainer (${proof.why}): nothing sent`;
  }

  private fail(kind: RequestKind, reason: string): void {
    if (!this.closed) this.options.apply([{ type: 'controlFailed', kind, reason }]);
  }

  private async signal(found: Found, signal: 'SIGSTOP' | 'SIGCONT' | 'SIGINT', extra: Record<string, unknown>): Promise<void> {
    await this.host.request('signal', { pid: found.id.pid, start: found.id.startTime, signal, ...extra });
  }

  private async readBack(found: Found, want: 'stopped' | 'running'): Promise<void> {
    const started = Date.now();
    let life = await this.life(found.id);
    while (life !== want && life !== 'gone' && Date.now() - started < READ_BACK_MS) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      life = await this.life(found.id);
    }
    this.watchProcess(life);
  }

  private async perform(action: ControlAction): Promise<void> {
    const kind = requestKindOf(action);
    if (this.options.readonly) return this.fail(kind, 'lora-top was started with --readonly');
    const found = this.found;
    if (!found) return this.fail(kind, this.options.getState().control.noChannel || NO_TRAINER);
    const why = await this.disproved(found);
    if (why !== null) return this.fail(kind, why);
    switch (action.type) {
      case 'freeze':
        // Held by the agent: were the connection to drop, it lifts the freeze itself.
        await this.signal(found, 'SIGSTOP', { tree: true, hold: true });
        this.holding = true;
        return this.readBack(found, 'stopped');
      case 'resume':
        await this.signal(found, 'SIGCONT', { tree: true, release: true });
        this.holding = false;
        return this.readBack(found, 'running');
      case 'save':
      case 'sample': {
        if (!found.db) return this.fail(kind, NO_CHANNEL);
        this.options.apply([{ type: 'controlRequest', kind, stopAfterSave: false }]);
        await this.host.request('flag', { db: found.db.path, jobId: found.db.jobId, flag: kind === 'save' ? 'save_now' : 'sample_now' });
        return;
      }
      case 'stop': {
        if ((await this.life(found.id)) === 'stopped') {
          await this.signal(found, 'SIGCONT', { tree: true, release: true });
          this.holding = false;
        }
        if (action.saveFirst) {
          return this.fail('save', 'on another host "save, then stop" is not offered (its keeper would have to live there): press s, then x once the checkpoint is listed');
        }
        this.options.apply([{ type: 'controlRequest', kind: 'stop' }]);
        if (found.db) await this.host.request('flag', { db: found.db.path, jobId: found.db.jobId, flag: 'stop' }).catch(() => {});
        await this.signal(found, 'SIGINT', { tree: false });
        return;
      }
    }
  }
}

