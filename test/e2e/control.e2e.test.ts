import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, PYTHON, TRAINER, hasSimDeps, writeSimConfig } from '../helpers/sim.js';
import { hasTmux, startTmux, type Tmux } from '../helpers/tmux.js';
import { createControlDb } from '../../src/control/controlDb.js';
import { readRunRecord } from '../../src/control/runRecord.js';
import Database from 'better-sqlite3';
import { identify, processState, stillRunning, type TrainerIdentity } from '../../src/control/trainerSignals.js';
import { descendants } from '../../src/control/trainerSignals.js';
import { commandLine, processEnvironment, processStartTime } from '../../src/sources/trainerProcess.js';
import { until } from '../helpers/until.js';

// Run control in a real terminal (tmux) on the simulated trainer: `lora-top run` starts it with a
// control channel, and the keys act on it — p freezes (SIGSTOP: state T), s saves now, S samples
// now, x stops after a save. Quitting or losing the terminal leaves the trainer running, and
// `lora-top <folder>` takes control again. A plain `python run.py` has no channel and says so.
// Every wait is for a condition (the screen, the log, /proc), never a fixed time.
//
// Not here: the stall banner. Its limit is max(5 × s/step, 120 s) of log silence, which no
// option shortens, so it is tested on the run model (test/unit/control.test.ts). A trainer
// stopped from outside lora-top does not stall anyway: lora-top sees the stopped process and
// says FROZEN (tested below).

let root: string;
const sessions: Tmux[] = [];
/** Trainers started in a test: each leads its own process group (detached), killed whole afterwards. */
const trainers = new Map<number, number>();

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-control-e2e-'));
});
afterEach(() => {
  for (const t of sessions.splice(0)) t.kill();
  for (const [pid, startTime] of trainers) {
    // Only while the PID is still that trainer: PIDs wrap at 32768 here, and a stale one may by
    // now be another test's process (a test runner's worker was killed that way).
    if (processStartTime(pid) !== startTime) continue;
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  }
  trainers.clear();
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function open(cwd: string, cols = 120): Tmux {
  const t = startTmux(cwd, cols, 32);
  sessions.push(t);
  return t;
}

/** An ai-toolkit folder: `run.py` (a link to the simulated trainer) and a job config; the run goes to output/<name>. */
function toolkit(name: string): { tk: string; config: string; folder: string } {
  const tk = fs.mkdtempSync(path.join(root, `${name}-`));
  fs.symlinkSync(TRAINER, path.join(tk, 'run.py'));
  const { configPath, folder } = writeSimConfig(tk, { name, steps: 100_000, saveEvery: 100, sampleEvery: 100_000, keep: 100 });
  return { tk, config: path.basename(configPath), folder };
}

const SIM_ARGS = '--step-time 0.1 --load-time 0.3';

const logOf = (folder: string): string => {
  try {
    return fs.readFileSync(path.join(folder, 'log.txt'), 'utf8');
  } catch {
    return '';
  }
};
const stepOf = (screen: string): number => Number(/step (\d+)\/\d+/.exec(screen)?.[1] ?? -1);
/** Well away from the save_every (100) grid: a save asked for now lands off it, before the next scheduled one. */
const offGrid = (screen: string): boolean => {
  const step = stepOf(screen);
  return step > 0 && step % 100 >= 5 && step % 100 <= 70;
};
const gone = (pid: number): boolean => {
  const state = processState(pid);
  return state === null || state === 'Z';
};
const checkpoint = (folder: string, step: number) => path.join(folder, `${path.basename(folder)}_${String(step).padStart(9, '0')}.safetensors`);

/** Starts `lora-top run` on the job inside tmux and waits for the dashboard to have control of the trainer. */
async function launch(name: string, extra: { lora?: string; sim?: string; prefix?: string } = {}): Promise<{ t: Tmux; folder: string; tk: string; config: string; id: TrainerIdentity }> {
  const { tk, config, folder } = toolkit(name);
  const t = open(tk);
  await t.waitFor((s) => s.includes('PROMPT$'));
  t.type(`${extra.prefix ?? ''}node ${CLI} run --no-gpu ${extra.lora ?? ''} -- ${PYTHON} run.py ${config} ${SIM_ARGS} ${extra.sim ?? ''}; echo "EXIT=$?"`);
  t.send('Enter');
  const record = await until(() => readRunRecord(folder), 'the run record');
  trainers.set(record.pid, record.startTime);
  expect(record.controlDb).toBe(path.join(folder, '.lora-top', 'control.db'));
  const id = { pid: record.pid, startTime: record.startTime };
  expect(stillRunning(id)).toBe(true);
  await t.waitFor((s) => new RegExp(`${name} +TRAINING`).test(s) && s.includes('s save now') && stepOf(s) > 0, 30_000);
  return { t, folder, tk, config, id };
}

/** The pid of the lora-top process whose command line has `marker`. */
function loraTopPid(marker: string): number | null {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = commandLine(Number(entry));
    if (argv && argv[1] === CLI && argv.some((a) => a.includes(marker))) return Number(entry);
  }
  return null;
}

describe.skipIf(!hasTmux || !hasSimDeps)('run control in tmux, on the simulated trainer', () => {
  it('a trainer that hangs (alive, silent) raises the stall banner; it is not called frozen or dead', async () => {
    // --stall-after 3: the two-minute floor is for real runs; the rule (five steps, the floor) is the same.
    const { t, id } = await launch('hang_lora', { lora: '--stall-after 3', sim: '--hang-at 40' });
    const stalled = await t.waitFor((s) => s.includes('stalled? the log has been silent for'), 30_000);
    expect(stalled).toMatch(/limit 3\.0s: five steps/);
    expect(stalled).not.toContain('FROZEN');
    expect(stalled).not.toContain('exited unexpectedly');
    expect(processState(id.pid)).not.toBe('T');
    expect(stillRunning(id)).toBe(true);
    expect(stepOf(stalled)).toBeLessThanOrEqual(40);
  });

  it('p freezes the trainer (state T, the screen says FROZEN); p again lets it run on', async () => {
    const { t, id } = await launch('freeze_lora');
    t.send('p');
    await until(() => processState(id.pid) === 'T', 'the trainer in state T');
    const frozen = await t.waitFor((s) => s.includes('FROZEN — GPU memory still held'));
    expect(frozen).toMatch(/freeze_lora +FROZEN/);
    expect(frozen).not.toMatch(/freeze_lora +TRAINING/);
    expect(frozen).toContain('p resume');
    const frozenAt = stepOf(frozen);

    t.send('p');
    await until(() => ['R', 'S'].includes(processState(id.pid) ?? ''), 'the trainer running again');
    const running = await t.waitFor((s) => /freeze_lora +TRAINING/.test(s) && stepOf(s) > frozenAt);
    expect(running).not.toContain('FROZEN');
    t.send('q');
    await t.waitFor((s) => s.includes('EXIT=0'));
    expect(stillRunning(id)).toBe(true);
  }, 90_000);

  it('s saves a checkpoint now, off the save_every grid; S samples now', async () => {
    const { t, folder } = await launch('save_lora');
    await t.waitFor(offGrid, 30_000);
    const offset = logOf(folder).length;
    t.send('s');
    const saved = await until(() => /\nSaving at step (\d+)\n/.exec(logOf(folder).slice(offset)), 'Saving at step N');
    const step = Number(saved[1]);
    expect(step % 100).not.toBe(0);
    await until(() => fs.existsSync(checkpoint(folder, step)), `the checkpoint of step ${step}`);
    expect(logOf(folder).slice(offset)).toContain(`Saved checkpoint to ${checkpoint(folder, step)}`);
    await t.waitFor((s) => s.includes(`saved: checkpoint at step ${step} ✓`));

    const sampleOffset = logOf(folder).length;
    t.send('S');
    const sampled = await until(() => /\nSampling at step (\d+)\n/.exec(logOf(folder).slice(sampleOffset)), 'Sampling at step N');
    await t.waitFor((s) => s.includes(`sampled at step ${sampled[1]} ✓`));
    t.send('q');
    await t.waitFor((s) => s.includes('EXIT=0'));
  }, 90_000);

  it('x asks, and Enter (save, then stop) saves a checkpoint, then stops the trainer: STOPPED', async () => {
    const { t, folder, id } = await launch('stop_lora');
    await t.waitFor(offGrid, 30_000);
    const offset = logOf(folder).length;
    t.send('x');
    const question = await t.waitFor((s) => s.includes('Stop the run?') && s.includes('▸ 1  save, then stop'));
    expect(question).toMatch(/Stopping now loses the work since the last save|Nothing has been saved yet/);
    expect(question).toContain('2  stop now');
    expect(question).toContain('3  cancel');
    const askedAt = stepOf(question);
    t.send('Enter');

    await until(() => gone(id.pid), 'the trainer to exit', 30_000);
    const log = logOf(folder).slice(offset);
    const saved = /\nSaving at step (\d+)\n/.exec(log);
    expect(saved).not.toBeNull();
    const step = Number(saved![1]);
    expect(step).toBeGreaterThanOrEqual(askedAt);
    expect(step % 100).not.toBe(0);
    expect(fs.existsSync(checkpoint(folder, step))).toBe(true);
    // The checkpoint first, then the stop.
    expect(log.indexOf('Job stopped')).toBeGreaterThan(log.indexOf(`Saved checkpoint to ${checkpoint(folder, step)}`));
    await t.waitFor((s) => /stop_lora +STOPPED/.test(s));
    t.send('q');
    await t.waitFor((s) => s.includes('EXIT=0'));
  }, 90_000);

  it('q leaves the trainer running', async () => {
    const { t, folder, id } = await launch('quit_lora');
    t.send('q');
    const after = await t.waitFor((s) => s.includes('EXIT=0'));
    expect(after).toContain('the run goes on');
    expect(stillRunning(id)).toBe(true);
    expect(processState(id.pid)).not.toBe('T');
    // And it trains on: its log grows.
    const size = logOf(folder).length;
    await until(() => logOf(folder).length > size, 'the log to grow');
  }, 90_000);

  it('losing the terminal (SIGHUP) leaves the trainer running, and lora-top <folder> takes control again', async () => {
    const { t, folder, tk, config, id } = await launch('hup_lora');
    const node = await until(() => loraTopPid(config), 'the lora-top process');
    // The terminal goes: tmux hangs up on everything in it.
    sessions.splice(sessions.indexOf(t), 1);
    t.kill();
    await until(() => gone(node), 'lora-top to exit');
    expect(stillRunning(id)).toBe(true);
    const size = logOf(folder).length;
    await until(() => logOf(folder).length > size, 'the log to grow');

    const again = open(tk);
    await again.waitFor((s) => s.includes('PROMPT$'));
    again.type(`node ${CLI} --no-gpu ${folder}; echo "EXIT=$?"`);
    again.send('Enter');
    await again.waitFor((s) => /hup_lora +TRAINING/.test(s) && s.includes('s save now') && offGrid(s), 30_000);
    const offset = logOf(folder).length;
    again.send('s');
    const saved = await until(() => /\nSaving at step (\d+)\n/.exec(logOf(folder).slice(offset)), 'Saving at step N');
    expect(Number(saved[1]) % 100).not.toBe(0);
    await again.waitFor((s) => s.includes(`saved: checkpoint at step ${saved[1]} ✓`));
    again.send('q');
    await again.waitFor((s) => s.includes('EXIT=0'));
    expect(stillRunning(id)).toBe(true);
  }, 90_000);

  it('a plain python run.py has no control channel: s says to use lora-top run; a stop from outside shows FROZEN; p resumes it', async () => {
    const { tk, config, folder } = toolkit('plain_lora');
    const fd = fs.openSync(path.join(folder, 'log.txt'), 'a');
    const child = spawn(PYTHON, ['run.py', config, ...SIM_ARGS.split(' ')], { cwd: tk, detached: true, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    child.unref();
    const pid = child.pid!;
    const id = await until(() => identify(pid), 'the trainer in /proc');
    trainers.set(pid, id.startTime);

    const t = open(tk);
    await t.waitFor((s) => s.includes('PROMPT$'));
    t.type(`node ${CLI} --no-gpu ${folder}; echo "EXIT=$?"`);
    t.send('Enter');
    // Found (p works) but without a channel for flags (no `s save now`).
    const found = await t.waitFor((s) => /plain_lora +TRAINING/.test(s) && s.includes('p freeze'), 30_000);
    expect(found).not.toContain('s save now');
    const offset = logOf(folder).length;
    t.send('s');
    await t.waitFor((s) => s.includes('s: this run has no control channel') && s.includes('`lora-top run'));
    expect(logOf(folder).slice(offset)).not.toContain('Saving at step');

    // Stopped by someone else: lora-top sees the process stopped.
    process.kill(pid, 'SIGSTOP');
    await t.waitFor((s) => /plain_lora +FROZEN/.test(s) && s.includes('FROZEN — GPU memory still held'));
    t.send('p');
    await until(() => ['R', 'S'].includes(processState(pid) ?? ''), 'the trainer running again');
    await t.waitFor((s) => /plain_lora +TRAINING/.test(s) && !s.includes('FROZEN'));

    // The stop question offers no save first.
    t.send('x');
    const question = await t.waitFor((s) => s.includes('Stop the run?') && s.includes('▸ 1  stop now'));
    expect(question).toContain('2  cancel');
    expect(question).not.toContain('save, then stop');
    t.send('Escape');
    await t.waitFor((s) => !s.includes('Stop the run?'));
    t.send('q');
    await t.waitFor((s) => s.includes('EXIT=0'));
    expect(stillRunning(id)).toBe(true);
  }, 90_000);

  // What the person confirmed holds however lora-top ends. Everything lora-top starts inherits its
  // environment, so a mark given to lora-top alone finds what is left of it (the trainer it
  // launched, and that trainer's workers, aside).
  const leftOf = (mark: string, trainer: TrainerIdentity): number[] => {
    const spared = new Set([trainer.pid, ...descendants(trainer).map((d) => d.pid)]);
    return fs
      .readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map(Number)
      .filter((pid) => !spared.has(pid) && processEnvironment(pid)?.get('LORA_TOP_TEST_MARK') === mark);
  };

  for (const signal of ['SIGHUP', 'SIGTERM', 'SIGKILL'] as const) {
    it(`${signal} to lora-top: a freeze is lifted, and a confirmed "save, then stop" still saves, then stops; nothing of lora-top is left`, async () => {
      const mark = `${signal}-${process.pid}-${Date.now()}`;
      const name = `${signal.toLowerCase()}_lora`;
      const { t, folder, config, id } = await launch(name, { prefix: `LORA_TOP_TEST_MARK=${mark} ` });

      // p, then lora-top goes: the trainer runs on.
      t.send('p');
      await t.waitFor((s) => /FROZEN — GPU memory still held/.test(s));
      expect(processState(id.pid)).toBe('T');
      process.kill(await until(() => loraTopPid(config), 'the lora-top process'), signal);
      await until(() => processState(id.pid) !== 'T', 'the freeze lifted');
      const size = logOf(folder).length;
      await until(() => logOf(folder).length > size, 'the trainer to train on');
      await until(() => leftOf(mark, id).length === 0 && leftOf(mark, id), 'nothing of lora-top left');

      // Again, with control, and x → Enter (save, then stop), and lora-top goes as soon as it is confirmed.
      t.send('C-c');
      await t.waitFor((s) => s.includes('PROMPT$'));
      t.send('clear', 'Enter');
      t.type(`LORA_TOP_TEST_MARK=${mark} node ${CLI} --no-gpu ${folder}; echo "EXIT=$?"`);
      t.send('Enter');
      await t.waitFor((s) => new RegExp(`${name} +TRAINING`).test(s) && s.includes('s save now') && offGrid(s), 30_000);
      const offset = logOf(folder).length;
      t.send('x');
      await t.waitFor((s) => s.includes('▸ 1  save, then stop'));
      t.send('Enter');
      await t.waitFor((s) => s.includes('then stop') && !s.includes('Stop the run?'));
      process.kill(await until(() => loraTopPid(folder), 'the second lora-top process'), signal);

      await until(() => gone(id.pid), 'the trainer to stop', 30_000);
      const log = logOf(folder).slice(offset);
      const saved = /\nSaving at step (\d+)\n/.exec(log);
      expect(saved, log.slice(-2000)).not.toBeNull();
      const step = Number(saved![1]);
      expect(step % 100).not.toBe(0);
      expect(fs.existsSync(checkpoint(folder, step))).toBe(true);
      // The checkpoint first, then the stop.
      expect(log.indexOf('Job stopped')).toBeGreaterThan(log.indexOf(`Saved checkpoint to ${checkpoint(folder, step)}`));
      await until(() => leftOf(mark, id).length === 0 && leftOf(mark, id), 'nothing of lora-top left');
    }, 90_000);
  }

  it("a UI job whose Job row holds an unrelated process's pid (a recycled PID): p and x say why and send nothing", async () => {
    const { tk, folder } = toolkit('recycled_lora');
    const jobId = '3b7d0d2b-0b7e-4f9a-6f1c-4c1e9a552a8e';
    const db = path.join(tk, 'aitk_db.db');
    await createControlDb(db, { id: jobId, name: 'recycled_lora', jobConfig: '{}', totalSteps: 100_000, gpuIds: '0' });
    // Someone else's process now has the number the row kept.
    const sleep = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    sleep.unref();
    const sleepId = await until(() => identify(sleep.pid!), 'the sleep in /proc');
    trainers.set(sleepId.pid, sleepId.startTime);
    const handle = new Database(db);
    handle.prepare('UPDATE Job SET pid = ? WHERE id = ?').run(sleepId.pid, jobId);
    handle.close();
    const bar = (n: number) => `\rrecycled_lora:   0%|          | ${n}/100000 [00:${String(n).padStart(2, '0')}<27:46:39,  1.00it/s, lr: 1.0e-04 loss: 2.000e-01]`;
    fs.writeFileSync(path.join(folder, 'log.txt'), `Running 1 job\nUsing SQLite database at ${db}\nJob ID: "${jobId}"\n${[1, 2, 3].map(bar).join('')}`);

    const t = open(tk);
    await t.waitFor((s) => s.includes('PROMPT$'));
    t.type(`node ${CLI} --no-gpu ${folder}; echo "EXIT=$?"`);
    t.send('Enter');
    await t.waitFor((s) => s.includes('recycled_lora') && s.includes('step 3/100000'));
    const why = `the job's pid ${sleepId.pid} is not this run's trainer (sleep)`;
    t.send('p');
    await t.waitFor((s) => s.includes(`p: ${why}`), 15_000);
    t.send('x');
    await t.waitFor((s) => s.includes(`x: ${why}`));
    expect(processState(sleepId.pid)).toMatch(/^[RSD]$/);
    expect(sleep.exitCode).toBeNull();
    expect(sleep.signalCode).toBeNull();
    t.send('q');
    await t.waitFor((s) => s.includes('EXIT=0'));
  }, 60_000);
});
