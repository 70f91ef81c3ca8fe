import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readRunOnce, watchRun, type RunWatch } from '../../src/run/watchRun.js';
import type { RunState, RunStatus } from '../../src/state/runState.js';
import { CLI, PYTHON, TRAINER, hasSimDeps, startSim, waitForState, writeSimConfig } from '../helpers/sim.js';

// lora-top against the simulated ai-toolkit trainer: the real tqdm on stderr, messages on stdout,
// both appended to one log.txt as the UI does, with samples, checkpoints and loss_log.db.

let root: string;
const watches: RunWatch[] = [];

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-e2e-'));
});
afterEach(async () => {
  await Promise.all(watches.splice(0).map((w) => w.close()));
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function dir(label: string): string {
  return fs.mkdtempSync(path.join(root, `${label}-`));
}

function watch(folder: string): RunWatch {
  const w = watchRun({ kind: 'folder', folder, logPath: path.join(folder, 'log.txt') }, { notifyMs: 10, rescanMs: 100 });
  watches.push(w);
  return w;
}

function recordStatuses(w: RunWatch): RunStatus[] {
  const seen: RunStatus[] = [];
  w.subscribe((state) => {
    if (seen[seen.length - 1] !== state.status) seen.push(state.status);
  });
  return seen;
}

function onceJson(target: string, extra: string[] = []): Record<string, any> {
  return JSON.parse(execFileSync(process.execPath, [CLI, target, '--once', '--json', ...extra], { encoding: 'utf8' }));
}

const FAST = ['--step-time', '0.03', '--sample-time', '0.03', '--save-time', '0.03', '--load-time', '0.3'];

describe.skipIf(!hasSimDeps)('lora-top against the simulated trainer', () => {
  it('follows a whole run live: preparing, sampling, training, saving, completed', async () => {
    const d = dir('full');
    const { configPath, folder, name } = writeSimConfig(d, { steps: 40, saveEvery: 10, sampleEvery: 10 });
    const w = watch(folder);
    const statuses = recordStatuses(w);
    const sim = startSim(configPath, path.join(folder, 'log.txt'), FAST);
    const training = await waitForState(w, (s) => s.status === 'training' && (s.step ?? 0) >= 3);
    expect(training.name).toBe(name);
    expect(training.totalSteps).toBe(40);
    expect(training.speed.secondsPerStep).not.toBeNull();
    const final = await waitForState(w, (s) => s.status === 'completed' && s.samples.length === 10);
    expect((await sim.done).code).toBe(0);

    for (const status of ['preparing', 'sampling', 'training', 'saving', 'completed'] as const) expect(statuses).toContain(status);
    expect(statuses[statuses.length - 1]).toBe('completed');
    expect(final.step).toBe(40);
    expect(final.finalSaved).toBe(true);
    expect(final.lastCheckpoint).toEqual({ step: null, path: expect.stringMatching(new RegExp(`${name}\\.safetensors$`)) });
    expect(final.lora).toEqual({ rank: 16, alpha: 16 });
    expect(final.error).toBeNull();
    expect(final.loss).not.toBeNull();
    const historySteps = final.lossHistory.points.map((p) => p.step);
    expect(historySteps).toEqual([...historySteps].sort((a, b) => a - b));

    // The snapshot a script gets afterwards, through the compiled CLI.
    const json = onceJson(folder);
    expect(json).toMatchObject({
      name,
      status: 'completed',
      step: 40,
      totalSteps: 40,
      lora: { rank: 16, alpha: 16 },
      error: null,
      gpu: null,
      triggerWord: 'p3rs0n',
      lastCheckpoint: { step: null },
    });
    expect(json.checkpoints.map((c: { step: number | null }) => c.step)).toEqual([10, 20, 30, null]);
    for (const c of json.checkpoints) expect(c.bytes).toBeGreaterThan(0);
    expect(json.samples.map((s: { step: number; index: number }) => [s.step, s.index])).toEqual(
      [0, 10, 20, 30, 40].flatMap((step) => [[step, 0], [step, 1]]),
    );
    expect(typeof json.loss).toBe('number');
    expect(typeof json.lossSmoothed).toBe('number');
    expect(json.etaSeconds).toBeNull();
    for (const key of ['phase', 'lr', 'secondsPerStep', 'targetStep', 'etaTargetSeconds', 'finishAt']) expect(json).toHaveProperty(key);

    // Read back later, the loss history comes from loss_log.db (every step, not just the bar states
    // tqdm happened to print), and the log adds only what comes after it: the final bar state.
    const fromDisk = await readRunOnce({ kind: 'folder', folder, logPath: path.join(folder, 'log.txt') });
    expect(fromDisk.lossFromDbUntil).toBe(39);
    expect(fromDisk.lossHistory.points.map((p) => p.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('reads Ctrl-C on the trainer as a stop, and the run goes on untouched until then', async () => {
    const d = dir('sigint');
    const { configPath, folder } = writeSimConfig(d, { steps: 2000, saveEvery: 1000, sampleEvery: 1000 });
    const w = watch(folder);
    const sim = startSim(configPath, path.join(folder, 'log.txt'), ['--step-time', '0.05', '--load-time', '0.2', '--sample-time', '0.02']);
    await waitForState(w, (s) => s.status === 'training' && (s.step ?? 0) >= 5);
    sim.child.kill('SIGINT');
    expect((await sim.done).code).toBe(0);
    const stopped = await waitForState(w, (s) => s.status === 'stopped');
    expect(stopped.error).toBeNull();
    expect(stopped.step).toBeGreaterThanOrEqual(5);
  });

  it('reads a CUDA out-of-memory crash as failed, kind oom', async () => {
    const d = dir('oom');
    const { configPath, folder } = writeSimConfig(d, { steps: 40 });
    const sim = startSim(configPath, path.join(folder, 'log.txt'), [...FAST, '--oom-at', '15']);
    expect((await sim.done).code).toBe(1);
    const state = await readRunOnce({ kind: 'folder', folder, logPath: path.join(folder, 'log.txt') });
    expect(state.status).toBe('failed');
    expect(state.error?.kind).toBe('oom');
    expect(state.error?.message).toMatch(/CUDA out of memory/);
    expect(state.step).toBeGreaterThanOrEqual(14);
    expect(state.lastCheckpoint?.step).toBe(10);
    // Opened live after the fact, the finished log reads the same, without waiting for more text.
    const later = await waitForState(watch(folder), (s) => s.status === 'failed');
    expect(later.error?.kind).toBe('oom');
    expect(later.step).toBe(state.step);
  });

  it('resumes after a crash through the UI log rotation, without corrupting the loss history', async () => {
    const d = dir('resume');
    const { configPath, folder } = writeSimConfig(d, { steps: 40, saveEvery: 10, sampleEvery: 20 });
    const logPath = path.join(folder, 'log.txt');
    const w = watch(folder);
    const first = startSim(configPath, logPath, [...FAST, '--crash-at', '25']);
    expect((await first.done).code).toBe(1);
    const failed = await waitForState(w, (s) => s.status === 'failed');
    expect(failed.lastCheckpoint?.step).toBe(20);
    const before = failed.lossHistory.points.length;

    // What the UI does on resume: the old log moves to logs/<N>_log.txt and a new log.txt starts.
    fs.mkdirSync(path.join(folder, 'logs'));
    fs.renameSync(logPath, path.join(folder, 'logs', '0_log.txt'));
    const second = startSim(configPath, logPath, FAST);
    const resumed = await waitForState(w, (s) => s.resume !== null && s.status === 'training');
    expect(resumed.resume?.step).toBe(20);
    expect(resumed.error).toBeNull();
    expect((await second.done).code).toBe(0);
    const done = await waitForState(w, (s) => s.status === 'completed');
    expect(done.step).toBe(40);
    const steps = done.lossHistory.points.map((p) => p.step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(new Set(steps).size).toBe(steps.length);
    expect(steps.length).toBeGreaterThan(before / 2);
  });

  it('reads a run piped on standard input', () => {
    const d = dir('stdin');
    const { configPath } = writeSimConfig(d, { steps: 20, saveEvery: 10, sampleEvery: 10 });
    const out = execFileSync(
      '/bin/sh',
      ['-c', `"${PYTHON}" "${TRAINER}" "${configPath}" ${FAST.join(' ')} 2>&1 | "${process.execPath}" "${CLI}" - --once --json`],
      { cwd: d, encoding: 'utf8' },
    );
    const json = JSON.parse(out);
    expect(json).toMatchObject({ name: 'sim_lora', status: 'completed', step: 20, totalSteps: 20 });
    expect(json.lastCheckpoint.step).toBeNull();
  });

  it('reads an old --log run: ASCII bars, every stderr write doubled, pre-2026-08 bar counts', async () => {
    const d = dir('oldlog');
    const { configPath, folder } = writeSimConfig(d, { steps: 30, saveEvery: 10, sampleEvery: 10 });
    const logPath = path.join(folder, 'log.txt');
    await new Promise<void>((resolve, reject) => {
      const child = spawn(PYTHON, [TRAINER, configPath, '--log', logPath, '--doubled-stderr', '--old-bar', ...FAST], { cwd: d, stdio: 'ignore' });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`trainer exited ${code}`))));
    });
    const text = fs.readFileSync(logPath, 'utf8');
    expect(text).toMatch(/\|#+\d? *\|/);
    const state: RunState = await readRunOnce({ kind: 'log', logPath, folder });
    expect(state.status).toBe('completed');
    expect(state.step).toBe(30);
    expect(state.error).toBeNull();
    expect(state.checkpoints.map((c) => c.step)).toEqual([10, 20, null]);
  });
});
