import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RunControl, type ControlAction } from '../../src/control/controlSource.js';
import { createControlDb } from '../../src/control/controlDb.js';
import { readJob } from '../../src/control/jobDb.js';
import { keeperScript, startKeeper, type KeeperMessage } from '../../src/control/promiseKeeper.js';
import { writeRunRecord } from '../../src/control/runRecord.js';
import { descendants, processState, signalTrainer } from '../../src/control/trainerSignals.js';
import { readRunConfig } from '../../src/parse/runConfig.js';
import type { ControlEvent } from '../../src/state/controlState.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState, type RunState } from '../../src/state/runState.js';
import { commandLine } from '../../src/sources/trainerProcess.js';
import { fakeToolkit, killStandIns, startStandIn, startTrainer, type FakeToolkit, type StandIn } from '../helpers/standIn.js';
import { PYTHON } from '../helpers/sim.js';
import { until } from '../helpers/until.js';

// Run control on real processes: a PID from any source (lora-top run's record, the UI's Job row,
// --pid, a scan of /proc) is signalled only when it is proven to be this run's trainer; a freeze
// reaches the trainer and its descendants, never its process group; the screen hears FROZEN only
// once /proc shows it; and the keepers hold a freeze and a "save, then stop" past lora-top's end.

let dir: string;
let tk: FakeToolkit;
const controls: RunControl[] = [];
const NAME = 'my_lora';
const JOB = '0b7e4f9a-6f1c-4c1e-9a55-2a8e3b7d0d2b';

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-runcontrol-')));
  tk = fakeToolkit(path.join(dir, 'ai-toolkit'), [NAME, 'other_lora']);
});
afterEach(() => {
  for (const c of controls.splice(0)) c.close();
  killStandIns();
  fs.rmSync(path.join(tk.folder(NAME), '.lora-top'), { recursive: true, force: true });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The run as lora-top has read it: the config, and for a UI job the log's database and Job ID lines. */
function runState(ui: { db: string; jobId: string } | null = null): RunState {
  const config = readRunConfig({ job: 'extension', config: { name: NAME, process: [{ type: 'diffusion_trainer', train: { steps: 1000 } }] } })!;
  const events = [{ at: 0, event: { type: 'configLoaded' as const, config } }];
  if (ui) events.push({ at: 0, event: { type: 'sqliteDb', path: ui.db } as never }, { at: 0, event: { type: 'jobId', id: ui.jobId } as never });
  return reduceRun(initialRunState(), events);
}

interface Watched {
  source: RunControl;
  events: ControlEvent[];
  /** The trainer's /proc state at the moment each "stopped" was told to the screen. */
  stateWhenToldStopped: Array<string | null>;
  channel(): Extract<ControlEvent, { type: 'controlChannel' }> | undefined;
  failures(): Array<Extract<ControlEvent, { type: 'controlFailed' }>>;
  /** The log names the UI's database and job now (as its lines are read). */
  learnUi(ui: { db: string; jobId: string }): void;
}

function watch(options: { pid?: number; db?: string; ui?: { db: string; jobId: string } | null; lookupMs?: number } = {}): Watched {
  const events: ControlEvent[] = [];
  const stateWhenToldStopped: Array<string | null> = [];
  let state = runState(options.ui ?? null);
  let channelPid: number | null = null;
  const source = new RunControl({
    folder: tk.folder(NAME),
    logPath: path.join(tk.folder(NAME), 'log.txt'),
    getState: () => state,
    apply: (batch) => {
      for (const e of batch) {
        if (e.type === 'controlChannel') channelPid = e.pid;
        if (e.type === 'trainerProcessState' && e.stopped && channelPid !== null) stateWhenToldStopped.push(processState(channelPid));
      }
      events.push(...batch);
      state = reduceRun(state, batch.map((event) => ({ at: Date.now(), event })));
    },
    pollMs: 20,
    lookupMs: options.lookupMs ?? 50,
    ...(options.pid !== undefined ? { pid: options.pid } : {}),
    ...(options.db !== undefined ? { db: options.db } : {}),
  });
  controls.push(source);
  return {
    source,
    events,
    stateWhenToldStopped,
    channel: () => [...events].reverse().find((e): e is Extract<ControlEvent, { type: 'controlChannel' }> => e.type === 'controlChannel'),
    failures: () => events.filter((e): e is Extract<ControlEvent, { type: 'controlFailed' }> => e.type === 'controlFailed'),
    learnUi: (ui) => {
      state = reduceRun(state, [
        { at: Date.now(), event: { type: 'sqliteDb', path: ui.db } as never },
        { at: Date.now(), event: { type: 'jobId', id: ui.jobId } as never },
      ]);
    },
  };
}

/** A UI database with one Job row for the run. */
async function uiDb(pid: number | null, status = 'running'): Promise<string> {
  const db = path.join(fs.mkdtempSync(path.join(dir, 'ui-')), 'aitk_db.db');
  await createControlDb(db, { id: JOB, name: NAME, jobConfig: '{}', totalSteps: 1000, gpuIds: '0' });
  const handle = new Database(db);
  handle.prepare('UPDATE Job SET pid = ?, status = ? WHERE id = ?').run(pid, status, JOB);
  handle.close();
  return db;
}

/** lora-top run's record in the run folder, naming `s`. */
async function launchRecord(s: StandIn): Promise<string> {
  const db = path.join(tk.folder(NAME), '.lora-top', 'control.db');
  await createControlDb(db, { id: JOB, name: NAME, jobConfig: '{}', totalSteps: 1000, gpuIds: '' });
  writeRunRecord(tk.folder(NAME), { pid: s.id.pid, startTime: s.id.startTime, jobId: JOB, controlDb: db, command: ['python3', 'run.py'], config: 'x', startedAt: '' });
  return db;
}

/** Processes that are not this run's trainer. */
const IMPOSTORS: Array<{ what: string; why: RegExp; start(): Promise<StandIn> }> = [
  { what: 'a sleep', why: /\(sleep\)/, start: () => startStandIn('sleep', ['300'], { cwd: tk.root, ready: false }) },
  { what: 'a Python process running another script', why: /\(python3 other\.py\)/, start: () => startStandIn(PYTHON, ['other.py', `config/${NAME}.yaml`], { cwd: tk.root }) },
  { what: 'the run.py of another run folder', why: /\(run\.py of another run: .*other_lora\)/, start: () => startTrainer(tk, 'other_lora', { env: { AITK_JOB_ID: JOB } }) },
];

const ACTIONS: ControlAction[] = [{ type: 'freeze' }, { type: 'stop', saveFirst: false }, { type: 'stop', saveFirst: true }, { type: 'resume' }];

/** Every key that signals was pressed, each failed, and `s` got nothing: not stopped, alive, no signal caught. */
async function expectNothingSent(w: Watched, s: StandIn): Promise<void> {
  for (const action of ACTIONS) w.source.act(action);
  await until(() => w.failures().length >= ACTIONS.length, 'every action to fail');
  expect(processState(s.id.pid)).toMatch(/^[RSD]$/);
  expect(s.child.exitCode).toBeNull();
  expect(s.signals()).toEqual([]);
}

describe('a PID that is not the trainer is never signalled, whatever its source', () => {
  for (const impostor of IMPOSTORS) {
    it(`lora-top run's record naming ${impostor.what}`, async () => {
      const s = await impostor.start();
      await launchRecord(s);
      const w = watch();
      const channel = await until(w.channel, 'the channel');
      expect(channel.pid).toBeNull();
      expect(channel.noChannel).toMatch(new RegExp(`^the pid ${s.id.pid} that lora-top run recorded is not this run's trainer ${impostor.why.source}$`));
      await expectNothingSent(w, s);
    });

    it(`the UI Job row naming ${impostor.what}`, async () => {
      const s = await impostor.start();
      const db = await uiDb(s.id.pid);
      const w = watch({ ui: { db, jobId: JOB } });
      const channel = await until(w.channel, 'the channel');
      expect(channel.pid).toBeNull();
      expect(channel.noChannel).toMatch(new RegExp(`^the job's pid ${s.id.pid} is not this run's trainer ${impostor.why.source}$`));
      await expectNothingSent(w, s);
      // And p says why.
      expect(w.failures()[0]!.reason).toBe(channel.noChannel);
    });

    it(`--pid naming ${impostor.what}`, async () => {
      const s = await impostor.start();
      const w = watch({ pid: s.id.pid });
      const channel = await until(w.channel, 'the channel');
      expect(channel.pid).toBeNull();
      expect(channel.noChannel).toMatch(new RegExp(`^pid ${s.id.pid} \\(--pid\\) is not this run's trainer ${impostor.why.source}$`));
      await expectNothingSent(w, s);
    });
  }

  it('a key pressed before the first look for the trainer is over gets what that look finds, not "none found yet"', async () => {
    const s = await IMPOSTORS[0]!.start();
    const db = await uiDb(s.id.pid);
    const w = watch({ ui: { db, jobId: JOB } });
    // At once: the first look (started by a timer) has not run yet.
    expect(w.channel()).toBeUndefined();
    w.source.act({ type: 'freeze' });
    await until(() => w.failures().length >= 1, 'the freeze to fail');
    expect(w.failures()[0]!.reason).toMatch(new RegExp(`^the job's pid ${s.id.pid} is not this run's trainer \\(sleep\\)$`));
    expect(s.signals()).toEqual([]);
  });

  it('a key pressed after the log named the UI job, before the next look, gets a fresh look: why that job is not the trainer', async () => {
    const s = await IMPOSTORS[0]!.start();
    const db = await uiDb(s.id.pid);
    const w = watch({ lookupMs: 60_000 });
    const first = await until(w.channel, 'the first look');
    expect(first.noChannel).not.toMatch(/job's pid/);
    w.learnUi({ db, jobId: JOB });
    w.source.act({ type: 'freeze' });
    await until(() => w.failures().length >= 1, 'the freeze to fail');
    expect(w.failures()[0]!.reason).toMatch(new RegExp(`^the job's pid ${s.id.pid} is not this run's trainer \\(sleep\\)$`));
    expect(s.signals()).toEqual([]);
  });

  it('a scan passes over all of them, and finds the real trainer once it runs', async () => {
    const impostors = await Promise.all(IMPOSTORS.map((i) => i.start()));
    const w = watch();
    const none = await until(w.channel, 'the channel');
    expect(none.pid).toBeNull();
    expect(none.noChannel).toBe('no trainer process found for this run (--pid N names it)');
    const trainer = await startTrainer(tk, NAME);
    const found = await until(() => w.channel()?.pid === trainer.id.pid && w.channel(), 'the trainer found');
    expect(found.source).toBe('scan');
    w.source.act({ type: 'freeze' });
    await until(() => processState(trainer.id.pid) === 'T', 'the trainer stopped');
    for (const s of impostors) {
      expect(processState(s.id.pid)).toMatch(/^[RSD]$/);
      expect(s.signals()).toEqual([]);
    }
  });

  it("a Job row whose job is not running gives no trainer, though its pid is one: the row's flags are not the channel", async () => {
    const trainer = await startTrainer(tk, NAME, { env: { AITK_JOB_ID: JOB } });
    const db = await uiDb(trainer.id.pid, 'stopped');
    const w = watch({ ui: { db, jobId: JOB } });
    const channel = await until(w.channel, 'the channel');
    // Only the scan's own proof finds it, without the stopped job's flags.
    expect(channel).toMatchObject({ pid: trainer.id.pid, source: 'scan', db: null });
  });
});

describe('the real trainer still is, from every source', () => {
  const sources: Array<{ source: string; setUp(t: StandIn): Promise<Parameters<typeof watch>[0]> }> = [
    { source: 'launch', setUp: async (t) => (await launchRecord(t), {}) },
    { source: 'ui', setUp: async (t) => ({ ui: { db: await uiDb(t.id.pid), jobId: JOB } }) },
    { source: 'flag', setUp: async (t) => ({ pid: t.id.pid }) },
    { source: 'scan', setUp: async () => ({}) },
  ];
  for (const { source, setUp } of sources) {
    it(`${source}: p freezes the trainer and its workers (FROZEN once /proc says T), p resumes, x stops it`, async () => {
      const trainer = await startTrainer(tk, NAME, { env: { AITK_JOB_ID: JOB }, workers: 2 });
      const w = watch(await setUp(trainer));
      const channel = await until(() => w.channel()?.pid !== null && w.channel(), 'the channel');
      expect(channel).toMatchObject({ pid: trainer.id.pid, source });

      w.source.act({ type: 'freeze' });
      await until(() => w.events.some((e) => e.type === 'trainerProcessState' && e.stopped), 'FROZEN');
      expect(w.stateWhenToldStopped[0]).toBe('T');
      // The workers got their SIGSTOP right after the trainer; the kernel delivers it a moment later.
      await until(() => trainer.workers.every((pid) => processState(pid) === 'T'), 'the workers stopped');

      w.source.act({ type: 'resume' });
      await until(() => w.events.at(-1)?.type === 'trainerProcessState' && !(w.events.at(-1) as { stopped: boolean }).stopped, 'running again');
      await until(() => [trainer.id.pid, ...trainer.workers].every((pid) => /^[RSD]$/.test(processState(pid) ?? '')), 'all running again');
      // Python runs its handler (which records the signal) a moment after the kernel sets the process running.
      await until(() => trainer.signals().length > 0, 'the SIGCONT recorded');
      expect(trainer.signals()).toEqual(['SIGCONT']);

      w.source.act({ type: 'stop', saveFirst: false });
      await until(() => trainer.child.exitCode !== null, 'the trainer to stop');
      expect(trainer.signals()).toEqual(['SIGCONT', 'SIGINT']);
    });
  }

  it("a Job row naming the trainer's launcher: the trainer among its descendants is frozen, not the launcher's process group", async () => {
    // sh starts a `sleep` of the person's own in the same process group, then the trainer.
    const launcher = await startStandIn('sh', ['-c', `sleep 300 & ${PYTHON} run.py config/${NAME}.yaml; wait`], { cwd: tk.root, env: { AITK_JOB_ID: JOB } });
    const [sleep, trainer] = await until(() => {
      const kids = descendants(launcher.id);
      const find = (word: string) => kids.find((k) => commandLine(k.pid)?.includes(word));
      const s = find('sleep');
      const t = find('run.py');
      return s && t ? ([s, t] as const) : null;
    }, 'the launcher to start both');
    try {
      const db = await uiDb(launcher.id.pid);
      const w = watch({ ui: { db, jobId: JOB } });
      const channel = await until(() => w.channel()?.pid !== null && w.channel(), 'the channel');
      expect(channel).toMatchObject({ pid: trainer.pid, source: 'ui' });
      w.source.act({ type: 'freeze' });
      await until(() => processState(trainer.pid) === 'T', 'the trainer stopped');
      expect(processState(launcher.id.pid)).toMatch(/^[RSD]$/);
      expect(processState(sleep.pid)).toMatch(/^[RSD]$/);
      w.source.act({ type: 'resume' });
      await until(() => processState(trainer.pid) !== 'T', 'the trainer running again');
    } finally {
      for (const p of [sleep, trainer]) signalTrainer(p, 'SIGCONT', false), signalTrainer(p, 'SIGINT', false);
    }
  });

  it('quitting lora-top resumes a trainer it froze, and its keeper ends', async () => {
    const trainer = await startTrainer(tk, NAME);
    const w = watch({ pid: trainer.id.pid });
    await until(() => w.channel()?.pid === trainer.id.pid, 'the channel');
    w.source.act({ type: 'freeze' });
    await until(() => w.events.some((e) => e.type === 'trainerProcessState' && e.stopped), 'FROZEN');
    const keeper = await until(() => keeperOf(), 'its keeper');
    w.source.close();
    expect(processState(trainer.id.pid)).toMatch(/^[RSD]$/);
    await until(() => processState(keeper) === null, 'the keeper to end');
  });

  it('--readonly: nothing acts, each action fails of its own kind', async () => {
    const trainer = await startTrainer(tk, NAME);
    const events: ControlEvent[] = [];
    const source = new RunControl({ folder: tk.folder(NAME), getState: () => runState(), apply: (e) => events.push(...e), pollMs: 20, lookupMs: 50, readonly: true });
    controls.push(source);
    await until(() => events.some((e) => e.type === 'controlChannel'), 'the channel');
    for (const action of ACTIONS) source.act(action);
    await until(() => events.filter((e) => e.type === 'controlFailed').length === 4, 'four failures');
    const failures = events.filter((e): e is Extract<ControlEvent, { type: 'controlFailed' }> => e.type === 'controlFailed');
    expect(failures.map((f) => f.kind)).toEqual(['freeze', 'stop', 'save', 'freeze']);
    for (const f of failures) expect(f.reason).toBe('lora-top was started with --readonly');
    expect(processState(trainer.id.pid)).toMatch(/^[RSD]$/);
    expect(trainer.signals()).toEqual([]);
  });
});

/** The pid of a keeper this test process started (for a RunControl here), if one runs. */
function keeperOf(): number | null {
  const script = keeperScript();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = commandLine(Number(entry));
    if (!argv || argv[1] !== script) continue;
    const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/)[1]);
    if (ppid === process.pid) return Number(entry);
  }
  return null;
}

describe('keepers: what the person confirmed holds without lora-top', () => {
  const expectRun = () => ({ runFolder: tk.folder(NAME), name: NAME, jobId: null });

  it('a freeze is lifted when the lora-top that made it is killed (SIGKILL), and its keeper ends', async () => {
    const trainer = await startTrainer(tk, NAME, { workers: 1 });
    // A stand-in for lora-top: starts the keeper, freezes the trainer, then waits to be killed.
    const owner = spawn(process.execPath, ['--input-type=module', '-e', `
      const { startKeeper } = await import(${JSON.stringify(new URL('../../dist/control/promiseKeeper.js', import.meta.url).href)});
      const { signalTrainer } = await import(${JSON.stringify(new URL('../../dist/control/trainerSignals.js', import.meta.url).href)});
      const spec = ${JSON.stringify({ kind: 'thaw', trainer: trainer.id, expect: expectRun() })};
      const keeper = await startKeeper(spec, () => {});
      if ('error' in keeper) { console.log('error ' + keeper.error); process.exit(1); }
      signalTrainer(spec.trainer, 'SIGSTOP', true);
      console.log('frozen ' + keeper.pid);
      setInterval(() => {}, 1e6);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => owner.stdout!.once('data', (d: Buffer) => resolve(String(d).trim())));
    expect(line).toMatch(/^frozen \d+$/);
    const keeper = Number(line.split(' ')[1]);
    expect(processState(trainer.id.pid)).toBe('T');
    expect(processState(trainer.workers[0]!)).toBe('T');
    owner.kill('SIGKILL');
    await until(() => processState(trainer.id.pid) !== 'T' && processState(trainer.workers[0]!) !== 'T', 'the freeze lifted');
    await until(() => processState(keeper) === null, 'the keeper to end');
    // Python runs its handler (which records the signal) a moment after the kernel sets the process running.
    await until(() => trainer.signals().length > 0, 'the SIGCONT recorded');
    expect(trainer.signals()).toEqual(['SIGCONT']);
  });

  it('a released keeper ends without acting; a keeper asked to hold a freeze on a process that is not the trainer refuses', async () => {
    const trainer = await startTrainer(tk, NAME);
    const keeper = await startKeeper({ kind: 'thaw', trainer: trainer.id, expect: expectRun() }, () => {});
    if ('error' in keeper) throw new Error(keeper.error);
    keeper.release();
    await until(() => processState(keeper.pid) === null, 'the keeper to end');
    expect(trainer.signals()).toEqual([]);

    const sleep = await startStandIn('sleep', ['300'], { cwd: tk.root, ready: false });
    const refused = await startKeeper({ kind: 'thaw', trainer: sleep.id, expect: expectRun() }, () => {});
    expect(refused).toEqual({ error: `pid ${sleep.id.pid} is not this run's trainer (sleep): nothing sent` });
  });

  it('save, then stop: save_now now, the stop flag and SIGINT only once the checkpoint is in the log', async () => {
    const trainer = await startTrainer(tk, NAME, { env: { AITK_JOB_ID: JOB } });
    const db = await launchRecord(trainer);
    const log = path.join(tk.folder(NAME), 'log.txt');
    fs.writeFileSync(log, `${NAME}:  10%|#         | 100/1000 [01:40<15:00,  1.00it/s, lr: 1.0e-04 loss: 2.000e-01]`);
    const messages: KeeperMessage[] = [];
    const keeper = await startKeeper({ kind: 'stopAfterSave', trainer: trainer.id, expect: { ...expectRun(), jobId: JOB }, db: { path: db, jobId: JOB }, logPath: log }, (m) => messages.push(m));
    if ('error' in keeper) throw new Error(keeper.error);
    await until(() => messages.some((m) => m.type === 'saveRequested'), 'the save asked for');
    const row = async () => {
      const r = await readJob(db, { id: JOB });
      return r.ok ? r.value : null;
    };
    expect(await row()).toMatchObject({ saveNow: true, stop: false });
    // The trainer takes the flag and starts saving: no stop yet, whatever the keeper sees.
    new Database(db).prepare('UPDATE Job SET save_now = 0 WHERE id = ?').run(JOB);
    fs.appendFileSync(log, '\nSaving at step 101\n');
    await until(() => messages.some((m) => m.type === 'saveStarted' && m.step === 101), 'the keeper to see the save begin');
    expect(await row()).toMatchObject({ stop: false });
    expect(trainer.signals()).toEqual([]);
    // The checkpoint lands.
    fs.appendFileSync(log, `Saved checkpoint to ${tk.folder(NAME)}/${NAME}_000000101.safetensors\n`);
    await until(() => trainer.child.exitCode !== null, 'the trainer to stop');
    expect(trainer.signals()).toEqual(['SIGINT']);
    expect(await row()).toMatchObject({ stop: true });
    await until(() => messages.some((m) => m.type === 'stopSent'), 'the keeper to say so');
    await until(() => processState(keeper.pid) === null, 'the keeper to end');
  });
});
