import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TrainerExpectation } from './trainerProof.js';
import type { TrainerIdentity } from './trainerSignals.js';

/**
 * Promises that outlive lora-top (I/O, lora-top's side). What the person confirmed must happen
 * whether lora-top quits, is hung up on, terminated or killed (SIGKILL, the OOM killer): a freeze
 * is lifted as soon as the lora-top that made it is gone, and "save, then stop" stops once the save
 * has landed. Each such action starts a keeper first: a small detached process (its own session,
 * so a hang-up of the terminal does not reach it) that holds the promise, re-proves the trainer
 * before every signal, and ends as soon as the promise is kept or withdrawn.
 *
 * lora-top holds the only writing end of the keeper's standard input, so the kernel tells the
 * keeper at once when lora-top is gone, however it ended: its standard input reaches end-of-file.
 */

/** What a keeper is asked to hold. */
export type KeeperSpec =
  | {
      /** Lift the freeze (SIGCONT to the trainer and its descendants) once lora-top is gone, unless released. */
      kind: 'thaw';
      trainer: TrainerIdentity;
      expect: TrainerExpectation;
    }
  | {
      /** Set save_now, wait for the checkpoint to land in the log, then stop (the stop flag, then SIGINT). */
      kind: 'stopAfterSave';
      trainer: TrainerIdentity;
      expect: TrainerExpectation;
      db: { path: string; jobId: string };
      logPath: string;
    };

/** What a keeper says on its standard output, one JSON object a line. */
export type KeeperMessage =
  | { type: 'ready' }
  | { type: 'saveRequested' }
  /** The log says the trainer began the save (`Saving at step N`): the stop waits for it to land. */
  | { type: 'saveStarted'; step: number }
  | { type: 'stopSent' }
  | { type: 'failed'; kind: 'save' | 'stop' | 'freeze'; reason: string }
  /** The promise is moot (the run ended, the trainer exited) or kept; the keeper ends. */
  | { type: 'done'; why: string };

/** The line lora-top writes to withdraw a promise (a resume by lora-top itself). */
export const RELEASE = 'release';

/** How long a keeper may take to start and say it is ready. */
const READY_MS = 5000;

/** The keeper's program: beside the bundle, beside the compiled module, or the built bundle (tests run the sources). */
export function keeperScript(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'keeper.mjs'), join(here, 'keeper.js'), resolve(here, '../../dist/bundle/keeper.mjs')];
  return candidates.find((file) => existsSync(file)) ?? null;
}

export interface Keeper {
  readonly pid: number;
  /** Withdraws the promise: the keeper ends without acting. */
  release(): void;
}

/**
 * Starts a keeper for `spec` and resolves once it is ready (it has proven the trainer and holds the
 * promise), or with the reason it could not start. Messages after `ready` go to `onMessage`.
 */
export function startKeeper(spec: KeeperSpec, onMessage: (message: KeeperMessage) => void): Promise<Keeper | { error: string }> {
  const script = keeperScript();
  if (!script) return Promise.resolve({ error: 'the keeper program is missing (npm run build makes it)' });
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [script], { detached: true, cwd: '/', stdio: ['pipe', 'pipe', 'ignore'] });
  } catch (error) {
    return Promise.resolve({ error: (error as Error).message });
  }
  return new Promise((resolveStart) => {
    let ready = false;
    const settle = (value: Keeper | { error: string }) => {
      if (ready) return;
      ready = true;
      clearTimeout(timer);
      resolveStart(value);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle({ error: 'the keeper did not start in time' });
    }, READY_MS);
    child.once('error', (error) => settle({ error: error.message }));
    child.once('exit', () => settle({ error: 'the keeper ended before it was ready' }));
    child.stdin!.on('error', () => {});
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let message: KeeperMessage;
      try {
        message = JSON.parse(line) as KeeperMessage;
      } catch {
        return;
      }
      if (message.type === 'ready' && !ready) {
        // lora-top may now exit whenever it likes: the keeper is on its own.
        child.unref();
        (child.stdout as unknown as { unref?: () => void }).unref?.();
        (child.stdin as unknown as { unref?: () => void }).unref?.();
        settle({
          pid: child.pid!,
          release() {
            if (child.stdin!.writable) child.stdin!.end(`${RELEASE}\n`);
          },
        });
        return;
      }
      if (!ready && message.type === 'failed') {
        settle({ error: message.reason });
        return;
      }
      if (ready) onMessage(message);
    });
    child.stdin!.write(`${JSON.stringify(spec)}\n`);
  });
}
