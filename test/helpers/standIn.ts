import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { identify, type TrainerIdentity } from '../../src/control/trainerSignals.js';
import { processStartTime } from '../../src/sources/trainerProcess.js';
import { PYTHON } from './sim.js';

/**
 * Stand-ins for the trainer and for processes that are not the trainer, for the tests of run
 * control: a fake ai-toolkit checkout whose `run.py` waits and writes down every signal it can
 * catch, a config per run, and the same program under another name (`other.py`).
 */

/** Waits, writing the name of each signal it gets to $STAND_IN_SIGNALS; INT/TERM/HUP end it (130). */
const STAND_IN = `import os, signal, subprocess, sys, time
log = os.environ.get("STAND_IN_SIGNALS")
def record(sig, frame):
    if log:
        with open(log, "a") as f:
            f.write(signal.Signals(sig).name + "\\n")
    if sig != signal.SIGCONT:
        sys.exit(130)
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCONT):
    signal.signal(s, record)
workers = int(os.environ.get("STAND_IN_WORKERS", "0"))
# Data-loader workers: children of the trainer.
children = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"]) for _ in range(workers)]
print(" ".join(["ready"] + [str(c.pid) for c in children]), flush=True)
while True:
    time.sleep(3600)
`;

export interface FakeToolkit {
  /** The checkout: run.py, other.py, config/<name>.yaml, output/<name>/. */
  root: string;
  folder(name: string): string;
  config(name: string): string;
}

/** A fake ai-toolkit checkout with a config and an output folder for each run name. */
export function fakeToolkit(root: string, names: string[]): FakeToolkit {
  fs.mkdirSync(path.join(root, 'config'), { recursive: true });
  fs.writeFileSync(path.join(root, 'run.py'), STAND_IN);
  fs.writeFileSync(path.join(root, 'other.py'), STAND_IN);
  const toolkit: FakeToolkit = {
    root,
    folder: (name) => path.join(root, 'output', name),
    config: (name) => path.join(root, 'config', `${name}.yaml`),
  };
  for (const name of names) {
    fs.writeFileSync(toolkit.config(name), `job: extension\nconfig:\n  name: ${name}\n  process:\n    - type: diffusion_trainer\n      training_folder: output\n      train:\n        steps: 1000\n`);
    fs.mkdirSync(toolkit.folder(name), { recursive: true });
  }
  return toolkit;
}

export interface StandIn {
  child: ChildProcess;
  id: TrainerIdentity;
  /** The workers it started (its children). */
  workers: number[];
  signalsFile: string;
  /** The signals it caught so far. */
  signals(): string[];
  /** SIGKILL, only while the PID is still this process (PIDs are recycled). */
  kill(): void;
}

const started: StandIn[] = [];

/** Starts `command args…` in `cwd` in a session of its own and waits until it says it is ready. */
export async function startStandIn(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; workers?: number; ready?: boolean },
): Promise<StandIn> {
  const signalsFile = path.join(fs.mkdtempSync(path.join(options.cwd, '.signals-')), 'signals.txt');
  const child = spawn(command, args, {
    cwd: options.cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, ...options.env, STAND_IN_SIGNALS: signalsFile, STAND_IN_WORKERS: String(options.workers ?? 0) },
  });
  let workers: number[] = [];
  if (options.ready !== false) {
    workers = await new Promise<number[]>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (data: Buffer) => {
        text += String(data);
        const line = /^ready(.*)\n/m.exec(text);
        if (line) resolve(line[1]!.trim().split(/\s+/).filter(Boolean).map(Number));
      });
      child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited (${code}) before it was ready`)));
    });
  }
  let id: TrainerIdentity | null = identify(child.pid!);
  for (let i = 0; id === null && i < 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    id = identify(child.pid!);
  }
  if (!id) throw new Error(`${command} is not in /proc`);
  const trainerId = id;
  const ids = [trainerId, ...workers.map(identify).filter((w): w is TrainerIdentity => w !== null)];
  const standIn: StandIn = {
    child,
    id: trainerId,
    workers,
    signalsFile,
    signals: () => (fs.existsSync(signalsFile) ? fs.readFileSync(signalsFile, 'utf8').split('\n').filter(Boolean) : []),
    kill() {
      for (const { pid, startTime } of ids) {
        if (processStartTime(pid) !== startTime) continue;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
    },
  };
  started.push(standIn);
  return standIn;
}

/** The stand-in trainer of run `name`: `python3 run.py config/<name>.yaml`, from the checkout. */
export function startTrainer(toolkit: FakeToolkit, name: string, options: { env?: NodeJS.ProcessEnv; workers?: number } = {}): Promise<StandIn> {
  return startStandIn(PYTHON, ['run.py', path.relative(toolkit.root, toolkit.config(name))], { cwd: toolkit.root, ...options });
}

/** Kills every stand-in started so far (afterEach). */
export function killStandIns(): void {
  for (const s of started.splice(0)) s.kill();
}
