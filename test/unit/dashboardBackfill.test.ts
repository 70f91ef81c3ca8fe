import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LogReader } from '../../src/parse/logReader.js';
import { watchRun } from '../../src/run/watchRun.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState, type RunState } from '../../src/state/runState.js';
import { buildDemoLog } from '../helpers/demoLog.js';

// The dashboard reads what a local log already holds as bytes (up to its last line end), then
// follows it as text. Its state must be what reading the whole log as text gives.

let dir: string;
beforeEach(async () => {
  dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'lora-top-dash-backfill-'));
});
afterEach(async () => {
  await fs.promises.rm(dir, { recursive: true, force: true });
});

/** What does not depend on when the bytes were read. */
function figures(s: RunState) {
  return {
    name: s.name,
    status: s.status,
    phase: s.phase,
    step: s.step,
    totalSteps: s.totalSteps,
    loss: s.loss,
    lossSmoothed: s.lossSmoothed,
    lossHistory: s.lossHistory,
    lr: s.lr,
    postfix: s.postfix,
    resume: s.resume,
    error: s.error,
    lastCheckpoint: s.lastCheckpoint,
    secondsPerStep: s.speed.secondsPerStep,
    basis: s.speed.basis,
    speedHistory: s.speed.history,
    marks: Array.from(s.speed.marks.n.subarray(0, s.speed.markCount)),
    recentLines: s.recentLines,
    lastTrainingN: s.lastTrainingN,
    sessionElapsedS: s.sessionElapsedS,
  };
}

/** The dashboard's state once it has read `text` from a log file that held it at the start. */
async function dashboardState(text: string): Promise<RunState> {
  const logPath = path.join(dir, `log-${Math.random().toString(36).slice(2)}.txt`);
  fs.writeFileSync(logPath, text);
  const expected = JSON.stringify(figures(textState(text)));
  const watch = watchRun({ kind: 'log', logPath, folder: null }, { control: null, gpu: { enabled: false }, notifyMs: 5, rescanMs: 600_000 });
  try {
    if (JSON.stringify(figures(watch.getState())) !== expected) {
      // Until the figures match, or 10 s: then the caller's comparison shows how they differ.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 10_000);
        const stop = watch.subscribe((state) => {
          if (JSON.stringify(figures(state)) !== expected) return;
          clearTimeout(timer);
          stop();
          resolve();
        });
      });
    }
    return watch.getState();
  } finally {
    await watch.close();
  }
}

/** Just after the last LF, or the last CR followed by a byte other than LF; 0: none. */
function lastLineEnd(b: Buffer): number {
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] === 10) return i + 1;
    if (b[i] === 13 && i + 1 < b.length) return i + 1;
  }
  return 0;
}

/** The same log read as text, all of it a backfill. */
function textState(text: string): RunState {
  const reader = new LogReader({ fastPath: false });
  return reduceRun(initialRunState(), reader.push(text, 1000, false));
}

describe('the dashboard reads a log it starts on as bytes', () => {
  it('the same figures as reading it as text: ending in a line feed, in a running bar (a CR, then the state being drawn), in a CR, in CR LF, with no line end', async () => {
    const demo = await buildDemoLog(1200, 500);
    const lastLf = demo.lastIndexOf('\n', demo.length - 2);
    const running = demo.slice(0, demo.indexOf('\r', lastLf - 4000) + 1) + 'flux:  50%|█████     | 3/6 [00:09<00:09,  3.00s/it, lr: 1.0e-04 loss: 2.5e-01]';
    const cases: Array<[string, string]> = [
      ['ends in a line feed', demo],
      ['ends in a running bar', running],
      ['ends in a CR', `${running}\r`],
      ['ends in CR LF', `${running}\r\n`],
      ['no line end at all', 'job:   0%|          | 0/10 [00:00<?, ?it/s, lr: 1.0e-04 loss: 2.5e-01]'],
    ];
    const pushBytes = vi.spyOn(LogReader.prototype, 'pushBytes');
    try {
      for (const [what, text] of cases) {
        pushBytes.mockClear();
        const state = await dashboardState(text);
        expect(JSON.stringify(figures(state)), what).toBe(JSON.stringify(figures(textState(text))));
        // Read as bytes up to the last line end (a log with none is all text).
        const bytes = pushBytes.mock.calls.reduce((sum, [b]) => sum + b.length, 0);
        expect(bytes, what).toBe(lastLineEnd(Buffer.from(text)));
      }
    } finally {
      pushBytes.mockRestore();
    }
  });

  it('what is written after the start is live progress', async () => {
    const logPath = path.join(dir, 'live.txt');
    const state = (n: number) => `job:  50%|█████     | ${n}/10 [00:0${n}<00:05,  1.00it/s, lr: 1.0e-04 loss: 2.5e-01]`;
    fs.writeFileSync(logPath, `start\n\r${state(1)}\r${state(2)}`);
    const watch = watchRun({ kind: 'log', logPath, folder: null }, { control: null, gpu: { enabled: false }, notifyMs: 5, rescanMs: 600_000 });
    const LIVE = 2;
    const newest = (s: RunState) => ({ n: s.speed.marks.n[s.speed.markCount - 1], live: (s.speed.marks.flags[s.speed.markCount - 1]! & LIVE) !== 0 });
    const until = (pred: (s: RunState) => boolean, what: string) =>
      pred(watch.getState())
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 10_000);
            const stop = watch.subscribe((s) => {
              if (!pred(s)) return;
              clearTimeout(timer);
              stop();
              resolve();
            });
          });
    try {
      await until((s) => s.step === 2, 'step 2 read back');
      expect(newest(watch.getState())).toEqual({ n: 2, live: false });
      fs.appendFileSync(logPath, `\r${state(3)}`);
      await until((s) => s.step === 3, 'step 3 written live');
      expect(newest(watch.getState())).toEqual({ n: 3, live: true });
    } finally {
      await watch.close();
    }
  });
});
