import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunWatch } from '../../src/run/watchRun.js';
import type { RunState } from '../../src/state/runState.js';

/** Drives test/sim/trainer.py, the simulated ai-toolkit trainer (real tqdm to stderr). */

export const PYTHON = '/usr/bin/python3';
export const TRAINER = fileURLToPath(new URL('../sim/trainer.py', import.meta.url));
export const CLI = fileURLToPath(new URL('../../bin/lora-top.js', import.meta.url));

export const hasSimDeps =
  fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import tqdm, PIL'], { stdio: 'ignore' }).status === 0;

export interface SimJob {
  name?: string;
  steps?: number;
  saveEvery?: number;
  keep?: number;
  sampleEvery?: number;
  prompts?: string[];
  triggerWord?: string;
}

export interface SimRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Writes an ai-toolkit JSON config for a job whose output folder is `<dir>/output/<name>`. */
export function writeSimConfig(dir: string, job: SimJob = {}): { configPath: string; folder: string; name: string } {
  const name = job.name ?? 'sim_lora';
  const config = {
    job: 'extension',
    config: {
      name,
      process: [
        {
          type: 'sd_trainer',
          training_folder: path.join(dir, 'output'),
          trigger_word: job.triggerWord ?? 'p3rs0n',
          network: { type: 'lora', linear: 16, linear_alpha: 16 },
          save: { save_every: job.saveEvery ?? 10, max_step_saves_to_keep: job.keep ?? 4 },
          train: { steps: job.steps ?? 40, lr: 1e-4, batch_size: 1 },
          sample: { sample_every: job.sampleEvery ?? 10, prompts: job.prompts ?? ['a photo of p3rs0n', 'p3rs0n at the beach'], width: 64, height: 64 },
          logging: { log_every: 1, use_ui_logger: true },
        },
      ],
    },
  };
  const configPath = path.join(dir, `${name}.json`);
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
  const folder = path.join(dir, 'output', name);
  fs.mkdirSync(folder, { recursive: true });
  return { configPath, folder, name };
}

/** Starts the trainer with stdout and stderr appended to one log file, as the ai-toolkit UI does. */
export function startSim(configPath: string, logPath: string, args: string[] = []): SimRun {
  const fd = fs.openSync(logPath, 'a');
  const child = spawn(PYTHON, [TRAINER, configPath, ...args], {
    cwd: path.dirname(configPath),
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, done };
}

/** Resolves with the first state that satisfies `test`; rejects after `timeoutMs` with what it last saw. */
export function waitForState(watch: RunWatch, test: (state: RunState) => boolean, timeoutMs = 20_000): Promise<RunState> {
  return new Promise((resolve, reject) => {
    const check = (state: RunState) => {
      if (!test(state)) return false;
      clearTimeout(timer);
      unsubscribe();
      resolve(state);
      return true;
    };
    const unsubscribe = watch.subscribe(check);
    const timer = setTimeout(() => {
      unsubscribe();
      const s = watch.getState();
      reject(new Error(`timed out; last state: status=${s.status} step=${s.step}/${s.totalSteps} phase=${s.phase?.text ?? ''}`));
    }, timeoutMs);
    check(watch.getState());
  });
}
