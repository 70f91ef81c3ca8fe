import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { LogReader } from '../parse/logReader.js';
import { setJobFlag } from './jobDb.js';
import { RELEASE, type KeeperMessage, type KeeperSpec } from './promiseKeeper.js';
import { proveTrainer } from './trainerProof.js';
import { processLife, signalTrainer, stillRunning, type TrainerIdentity } from './trainerSignals.js';

/**
 * The keeper (its own process, detached from lora-top and from the terminal): holds one promise the
 * person confirmed, keeps it whatever becomes of lora-top, and ends as soon as it is kept or
 * withdrawn. See promiseKeeper.ts. It never signals a process that fails the proof that it is the
 * run's trainer, and never more than the trainer and its descendants.
 */

const POLL_MS = 200;
const TRAINER_CHECK_MS = 2000;

function say(message: KeeperMessage): void {
  try {
    process.stdout.write(`${JSON.stringify(message)}\n`);
  } catch {
    // lora-top is gone: nobody is listening, the promise still holds.
  }
}

/** null when `trainer` is still proven to be the run's trainer; else why not. */
function disproved(spec: KeeperSpec): string | null {
  const proof = proveTrainer(spec.trainer.pid, spec.expect);
  if (!proof.ok) return `pid ${spec.trainer.pid} is not this run's trainer (${proof.why}): nothing sent`;
  if (proof.id.startTime !== spec.trainer.startTime) return `pid ${spec.trainer.pid} is now another process (the trainer exited): nothing sent`;
  return null;
}

function finish(why: string): never {
  say({ type: 'done', why });
  process.exit(0);
}

/** Lifts a freeze once lora-top is gone (its end of our standard input closed), unless released first. */
function keepThaw(spec: Extract<KeeperSpec, { kind: 'thaw' }>, lines: AsyncIterable<string>): void {
  const watch = setInterval(() => {
    if (!stillRunning(spec.trainer)) finish('the trainer exited');
  }, TRAINER_CHECK_MS);
  void (async () => {
    for await (const line of lines) if (line.trim() === RELEASE) finish('released');
    // End of input without a release: lora-top is gone.
    clearInterval(watch);
    if (processLife(spec.trainer) === 'stopped' && disproved(spec) === null) {
      signalTrainer(spec.trainer, 'SIGCONT', true);
      finish('lora-top ended: the freeze is lifted');
    }
    finish('lora-top ended; the trainer was not frozen');
  })();
}

/** New text of the log since `offset` (from the start again when the file was replaced by a shorter one). */
class LogTail {
  private offset: number;
  constructor(private readonly path: string) {
    this.offset = sizeOf(path);
  }
  read(): string {
    const size = sizeOf(this.path);
    if (size < this.offset) this.offset = 0;
    if (size === this.offset) return '';
    const length = Math.min(size - this.offset, 4 * 1024 * 1024);
    const buffer = Buffer.alloc(length);
    let fd: number | null = null;
    try {
      fd = openSync(this.path, 'r');
      const got = readSync(fd, buffer, 0, length, this.offset);
      this.offset += got;
      return buffer.toString('utf8', 0, got);
    } catch {
      return '';
    } finally {
      if (fd !== null) closeSync(fd);
    }
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** What the log says since the save was asked for. */
type SaveProgress = 'waiting' | 'landed' | 'ended';

export function saveProgress(reader: LogReader, text: string, saving: { step: number | null }): SaveProgress {
  for (const { event } of reader.push(text, Date.now())) {
    switch (event.type) {
      case 'saveStart':
        saving.step = event.step;
        break;
      case 'checkpointSaved':
        // The final save: training is over and the run ends on its own.
        if (event.step === null) return 'ended';
        return 'landed';
      case 'bar':
        // Old versions print no `Saved checkpoint` line: training going on after `Saving at step N` is the save done.
        if (saving.step !== null && 'lr' in event.bar.postfix && event.bar.n >= saving.step) return 'landed';
        break;
      case 'jobStopped':
      case 'error':
      case 'result':
        return 'ended';
      default:
        break;
    }
  }
  return 'waiting';
}

/**
 * "Save, then stop": sets save_now, waits for the checkpoint, then stops the trainer the way the UI
 * does (the stop flag, then SIGINT to the trainer alone). ai-toolkit polls `stop` before `save_now`
 * and again at the start of a save, so the stop can only be asked for once the save has landed.
 */
async function keepStopAfterSave(spec: Extract<KeeperSpec, { kind: 'stopAfterSave' }>): Promise<void> {
  const tail = new LogTail(spec.logPath);
  const reader = new LogReader();
  const saving = { step: null as number | null };
  const flagged = await setJobFlag(spec.db.path, spec.db.jobId, 'save_now');
  if (!flagged.ok) {
    say({ type: 'failed', kind: 'save', reason: flagged.reason });
    finish('the save could not be asked for');
  }
  say({ type: 'saveRequested' });
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (!stillRunning(spec.trainer)) finish('the trainer exited');
    const before = saving.step;
    const progress = saveProgress(reader, tail.read(), saving);
    if (saving.step !== null && saving.step !== before) say({ type: 'saveStarted', step: saving.step });
    if (progress === 'ended') finish('the run ended');
    if (progress === 'landed') break;
  }
  const why = disproved(spec);
  if (why !== null) {
    say({ type: 'failed', kind: 'stop', reason: why });
    finish('not the trainer');
  }
  // The flag is how the UI stops a job; SIGINT stops it at once (a locked database does not hold it up).
  await setJobFlag(spec.db.path, spec.db.jobId, 'stop');
  const result = signalTrainer(spec.trainer, 'SIGINT', false);
  if (!result.ok) say({ type: 'failed', kind: 'stop', reason: result.reason });
  else say({ type: 'stopSent' });
  finish('the save landed and the stop was sent');
}

export async function keeperMain(): Promise<void> {
  // Detached, with no terminal: a hang-up or Ctrl-C meant for lora-top is not meant for the keeper.
  for (const signal of ['SIGHUP', 'SIGINT'] as const) process.on(signal, () => {});
  process.stdout.on('error', () => {});
  const input = createInterface({ input: process.stdin });
  const lines = input[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) process.exit(0);
  let spec: KeeperSpec;
  try {
    spec = JSON.parse(first.value) as KeeperSpec;
  } catch {
    process.exit(2);
  }
  const why = disproved(spec);
  if (why !== null) {
    say({ type: 'failed', kind: spec.kind === 'thaw' ? 'freeze' : 'save', reason: why });
    process.exit(0);
  }
  say({ type: 'ready' });
  const rest: AsyncIterable<string> = { [Symbol.asyncIterator]: () => lines };
  if (spec.kind === 'thaw') keepThaw(spec, rest);
  else {
    // The promise holds without lora-top: its end of the pipe closing changes nothing.
    process.stdin.on('error', () => {});
    await keepStopAfterSave(spec);
  }
}

export type { TrainerIdentity };
