import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandLine, findTrainerPid, processStartTime, visibleDevices } from '../../src/sources/trainerProcess.js';

const PYTHON = '/usr/bin/python3';
const linux = process.platform === 'linux';

function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = (): void => {
      if (check()) resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error('timed out'));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

describe.skipIf(!linux)('trainerProcess (/proc)', () => {
  let dir: string;
  let toolkit: string;
  let runFolder: string;
  let otherRun: string;
  let trainer: ChildProcess;
  let other: ChildProcess;
  let trainerSpawnedAt = 0;

  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'lora-top-trainer-')));
    // A fake ai-toolkit with a run.py, a config per run, and a process name with spaces and parens.
    toolkit = path.join(dir, 'ai toolkit (copy)');
    runFolder = path.join(toolkit, 'output', 'my_lora');
    otherRun = path.join(toolkit, 'output', 'other_lora');
    mkdirSync(runFolder, { recursive: true });
    mkdirSync(otherRun, { recursive: true });
    writeFileSync(
      path.join(toolkit, 'run.py'),
      'import sys, time\ntry:\n  import ctypes; ctypes.CDLL(None).prctl(15, b"we ird) (name", 0, 0, 0)\nexcept Exception:\n  pass\nprint("ready", flush=True)\ntime.sleep(60)\n',
    );
    mkdirSync(path.join(toolkit, 'config'));
    writeFileSync(path.join(toolkit, 'config', 'my_lora.yaml'), 'job: extension\n');
    writeFileSync(path.join(toolkit, 'config', 'other_lora.yaml'), 'job: extension\n');

    const start = async (config: string, cuda: string): Promise<ChildProcess> => {
      const child = spawn(PYTHON, ['-u', 'run.py', config], {
        cwd: toolkit,
        env: { ...process.env, CUDA_VISIBLE_DEVICES: cuda },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        child.stdout?.once('data', () => resolve());
        child.once('error', reject);
      });
      return child;
    };
    other = await start('config/other_lora.yaml', '0');
    await new Promise((r) => setTimeout(r, 30)); // a later start time for the second one
    trainerSpawnedAt = Date.now();
    trainer = await start('config/my_lora.yaml', '1');
  });

  afterAll(async () => {
    for (const child of [trainer, other]) {
      if (child?.pid !== undefined) {
        // child.kill: a child that exited earlier may have left its PID to another process.
        child.kill('SIGKILL');
        await exited(child);
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads the command line', () => {
    expect(commandLine(trainer.pid!)).toEqual([PYTHON, '-u', 'run.py', 'config/my_lora.yaml']);
  });

  it('finds the trainer by its config argument (relative to its cwd)', () => {
    expect(findTrainerPid({ configPath: path.join(toolkit, 'config', 'my_lora.yaml') })).toBe(trainer.pid);
    expect(findTrainerPid({ configPath: path.join(toolkit, 'config', 'other_lora.yaml') })).toBe(other.pid);
    // the config given through a symlinked / non-normalised path still matches
    expect(findTrainerPid({ configPath: path.join(toolkit, 'output', '..', 'config', 'my_lora.yaml') })).toBe(trainer.pid);
  });

  it('config beats run folder, newest wins among equals, no match gives null', () => {
    expect(
      findTrainerPid({ runFolder: otherRun, configPath: path.join(toolkit, 'config', 'other_lora.yaml') }),
    ).toBe(other.pid);
    // both were started from the toolkit folder that holds the run: the newest wins
    expect(findTrainerPid({ runFolder })).toBe(trainer.pid);
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'lora-top-elsewhere-'));
    try {
      expect(findTrainerPid({ runFolder: elsewhere })).toBeNull();
      expect(findTrainerPid({ configPath: path.join(elsewhere, 'x.yaml') })).toBeNull();
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('without a run to match, returns the newest python run.py', () => {
    const found = findTrainerPid({});
    // another test file (or a real trainer) could be newer; ours must at least be a candidate
    expect(found).not.toBeNull();
    expect(commandLine(found!)?.some((a) => path.basename(a) === 'run.py')).toBe(true);
  });

  it('reads CUDA_VISIBLE_DEVICES from the environment it was started with', () => {
    expect(visibleDevices(trainer.pid!)).toBe('1');
    expect(visibleDevices(other.pid!)).toBe('0');
  });

  it('reads the start time even when comm holds spaces and parentheses', () => {
    // run.py renamed its thread to "we ird) (name": a naive split on spaces would be off by two
    expect(readFileSync(`/proc/${trainer.pid}/stat`, 'utf8')).toContain(' (we ird) (name) ');
    const t = processStartTime(trainer.pid!);
    const o = processStartTime(other.pid!);
    expect(t).not.toBeNull();
    expect(o).not.toBeNull();
    expect(t!).toBeGreaterThanOrEqual(o!);
    // ticks since boot: boot time + ticks / CLK_TCK is about when we started it
    const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    const startedAt = btime + t! / ticksPerSecond;
    expect(Math.abs(startedAt - trainerSpawnedAt / 1000)).toBeLessThan(5);
    expect(processStartTime(process.pid)).toBeLessThanOrEqual(t!);
  });

  it('answers null, never throws, for processes that do not exist or are not readable', async () => {
    const gone = spawn(PYTHON, ['-c', 'pass']);
    await exited(gone);
    await waitFor(() => processStartTime(gone.pid!) === null);
    expect(processStartTime(gone.pid!)).toBeNull();
    expect(visibleDevices(gone.pid!)).toBeNull();
    expect(commandLine(gone.pid!)).toBeNull();
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 40]) {
      expect(processStartTime(bad)).toBeNull();
      expect(visibleDevices(bad)).toBeNull();
    }
    expect(visibleDevices(process.pid)).toBe(process.env.CUDA_VISIBLE_DEVICES ?? null);
  });
});
