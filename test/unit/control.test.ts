import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { LogReader } from '../../src/parse/logReader.js';
import { readRunConfig } from '../../src/parse/runConfig.js';
import type { GpuReading } from '../../src/parse/gpuTypes.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState, type RunEvent, type RunState } from '../../src/state/runState.js';
import { openRequest, type ControlEvent } from '../../src/state/controlState.js';
import { liveness, sessionElapsed, stallLimitSeconds } from '../../src/state/derive.js';
import { estimateFinish } from '../../src/state/eta.js';
import { dispatchKey, footerItems, type KeyPress } from '../../src/ui/keymap.js';
import { initialUi, reduceUi, type UiAction, type UiState } from '../../src/ui/uiState.js';
import type { ViewLine } from '../../src/ui/viewLine.js';
import { controlBanner, headerPanel } from '../../src/ui/panels/header.js';
import { confirmPanel } from '../../src/ui/panels/confirm.js';
import { footerPanel } from '../../src/ui/panels/footer.js';
import { panelInput } from '../../src/ui/screen.js';
import { dueNotices, noticeBytes } from '../../src/ui/notifications.js';
import { parseCli } from '../../src/cli/args.js';
import { EXIT, UserError } from '../../src/cli/errors.js';
import { createControlDb, setJobPid } from '../../src/control/controlDb.js';
import { readJob, setJobFlag } from '../../src/control/jobDb.js';
import { findConfigArg, launchTrainer, rotateLog } from '../../src/control/launch.js';
import { readRunRecord } from '../../src/control/runRecord.js';
import { NO_CHANNEL, type ControlAction } from '../../src/control/controlSource.js';
import { STAND_IN_RTX_4090 } from '../helpers/gpu.js';
import { until } from '../helpers/until.js';

// Run control: the pure side (the control state in the run model, liveness, keys, banners,
// notifications, the command line) and the small I/O pieces (signals to a real child process,
// the Job row in a real SQLite file, lora-top run's launch).

// ---------------------------------------------------------------------------------------------
// A run fed the way lora-top reads one: real log text through the LogReader, other events typed.

const TOTAL = 1000;
const config = readRunConfig({
  job: 'extension',
  config: { name: 'job', process: [{ type: 'sd_trainer', train: { steps: TOTAL }, save: { save_every: 100 }, sample: { sample_every: 250, prompts: ['a', 'b'] } }] },
})!;

function clock(seconds: number): string {
  const s = Math.floor(seconds);
  const mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** One state of ai-toolkit's training bar, as tqdm draws it (a carriage return first). */
function barText(n: number, elapsedS: number): string {
  const pct = Math.floor((100 * n) / TOTAL);
  return `\rjob: ${String(pct).padStart(3)}%|${'█'.repeat(Math.floor(pct / 10)).padEnd(10)}| ${n}/${TOTAL} [${clock(elapsedS)}<${clock(TOTAL - n)},  1.00s/it, lr: 1.0e-04 loss: ${(0.5 / (1 + n / 100)).toExponential(3)}]`;
}

const savedText = (step: number) => `\nSaving at step ${step}\nSaved checkpoint to output/job/job_${String(step).padStart(9, '0')}.safetensors\nSaved optimizer to output/job/optimizer.pt\n`;
const STOPPED_TEXT = '\n\n========================================\nJob stopped\n========================================\n';

class Run {
  readonly reader = new LogReader();
  state: RunState = reduceRun(initialRunState(), [{ at: 0, event: { type: 'configLoaded', config } }]);
  log(at: number, text: string): this {
    this.state = reduceRun(this.state, this.reader.push(text, at));
    return this;
  }
  ev(at: number, ...events: RunEvent[]): this {
    this.state = reduceRun(this.state, events.map((event) => ({ at, event })));
    return this;
  }
  /** Training steps `from`..`to`, one every `msPerStep`, step n at `t0 + (n - from) * msPerStep`; tqdm's clock is `elapsedOf(n)`. */
  train(from: number, to: number, t0: number, msPerStep = 1000, elapsedOf: (n: number) => number = (n) => (n * msPerStep) / 1000): this {
    for (let n = from; n <= to; n++) this.log(t0 + (n - from) * msPerStep, barText(n, elapsedOf(n)));
    return this;
  }
}

const DB = { path: '/runs/job/.lora-top/control.db', jobId: 'job-1' };
const channel = (over: Partial<Extract<ControlEvent, { type: 'controlChannel' }>> = {}): ControlEvent => ({
  type: 'controlChannel',
  pid: 4242,
  source: 'launch',
  db: DB,
  noChannel: '',
  readonly: false,
  ...over,
});
const processState_ = (alive: boolean, stopped: boolean): ControlEvent => ({ type: 'trainerProcessState', alive, stopped });
const request = (kind: 'save' | 'sample' | 'stop' | 'freeze', stopAfterSave?: boolean): ControlEvent => ({ type: 'controlRequest', kind, ...(stopAfterSave !== undefined ? { stopAfterSave } : {}) });

/** A run trained to step `steps` at 1 s a step (step n at n s), with a lora-top run control channel. */
function trainedRun(steps = 50, over: Partial<Extract<ControlEvent, { type: 'controlChannel' }>> = {}): Run {
  return new Run().ev(0, channel(over)).train(1, steps, 1000);
}

const text = (runs: ViewLine | readonly { text: string }[] | null): string => (runs ?? []).map((r) => r.text).join('');

// ---------------------------------------------------------------------------------------------

describe('control state: freeze and thaw', () => {
  it('a freeze stops the elapsed time and the ETA; the thaw leaves the frozen time out of both', () => {
    const run = trainedRun(50);
    expect(run.state.lastTrainingAt).toBe(50_000);
    run.ev(50_500, processState_(true, true));
    expect(run.state.control.frozenSince).toBe(50_500);
    expect(liveness(run.state, 60_000).frozen).toBe(true);

    const elapsedAtFreeze = sessionElapsed(run.state, 50_500)!;
    expect(elapsedAtFreeze).toBeCloseTo(50.5, 6);
    // Frozen: neither the elapsed time nor the time left moves.
    expect(sessionElapsed(run.state, 79_000)).toBeCloseTo(elapsedAtFreeze, 6);
    const etaAtFreeze = estimateFinish(run.state, 50_500, 3000).etaSeconds!;
    expect(etaAtFreeze).toBeGreaterThan(900);
    expect(estimateFinish(run.state, 79_000, 3000).etaSeconds).toBeCloseTo(etaAtFreeze, 6);

    // Thawed after 30 s: the step under way did not take 30 s longer.
    run.ev(80_500, processState_(true, false));
    expect(run.state.control.frozenSince).toBeNull();
    expect(run.state.control.frozenMs).toBe(30_000);
    expect(run.state.lastTrainingAt).toBe(80_000);
    expect(sessionElapsed(run.state, 80_500)).toBeCloseTo(elapsedAtFreeze, 6);
    expect(estimateFinish(run.state, 80_500, 3000).etaSeconds).toBeCloseTo(etaAtFreeze, 6);

    // tqdm's clock ran on through the freeze; lora-top's elapsed and speed leave it out.
    run.train(51, 60, 81_000, 1000, (n) => n + 30);
    expect(run.state.sessionElapsedS).toBe(60);
    expect(run.state.speed.secondsPerStep).toBeCloseTo(1, 1);
    expect(sessionElapsed(run.state, 90_000)).toBeCloseTo(60, 6);
  });

  it('frozen time adds up over several freezes, and a trainer that dies frozen is thawed', () => {
    const run = trainedRun(10);
    run.ev(10_100, processState_(true, true)).ev(20_100, processState_(true, false));
    run.ev(20_200, processState_(true, true));
    // The same state again does not restart the freeze.
    run.ev(25_000, processState_(true, true));
    expect(run.state.control.frozenSince).toBe(20_200);
    run.ev(25_200, processState_(true, false));
    expect(run.state.control.frozenMs).toBe(15_000);
    run.ev(30_000, processState_(true, true)).ev(32_000, processState_(false, false));
    expect(run.state.control.frozenSince).toBeNull();
    expect(run.state.control.frozenMs).toBe(17_000);
    expect(run.state.control.alive).toBe(false);
  });

  it('does not change the state it is given', () => {
    const run = trainedRun(5);
    const before = run.state;
    const snapshot = JSON.stringify(before);
    reduceRun(before, [
      { at: 6000, event: processState_(true, true) },
      { at: 7000, event: request('save', true) },
      { at: 8000, event: { type: 'controlFailed', kind: 'save', reason: 'locked' } },
    ]);
    expect(JSON.stringify(before)).toBe(snapshot);
  });
});

describe('control state: requests', () => {
  it('save now: sent → working while the trainer saves → done when the new checkpoint appears', () => {
    const run = trainedRun(100).log(100_100, savedText(100)).train(101, 120, 101_000);
    expect(run.state.lastCheckpoint?.step).toBe(100);

    run.ev(120_500, request('save'));
    const sent = openRequest(run.state.control, 'save')!;
    expect(sent).toMatchObject({ phase: 'sent', step: 120, baseline: { checkpoint: 'output/job/job_000000100.safetensors', saveStep: 100 } });
    expect(text(controlBanner(run.state, 121_000))).toBe('save requested at step 120  (the trainer acts at its next step)');

    run.log(121_000, barText(121, 121)).log(121_100, '\nSaving at step 121\n');
    expect(run.state.status).toBe('saving');
    expect(openRequest(run.state.control, 'save')?.phase).toBe('working');
    expect(text(controlBanner(run.state, 121_200))).toBe('saving…');

    run.log(121_300, 'Saved checkpoint to output/job/job_000000121.safetensors\nSaved optimizer to output/job/optimizer.pt\n');
    const done = run.state.control.requests.find((r) => r.kind === 'save')!;
    expect(done).toMatchObject({ phase: 'done', detail: '121', doneAt: 121_300 });
    expect(openRequest(run.state.control, 'save')).toBeNull();
    expect(text(controlBanner(run.state, 122_000))).toBe('saved: checkpoint at step 121 ✓');
    // The news stays a while, then goes.
    run.train(122, 140, 122_000);
    expect(controlBanner(run.state, 140_000)).toBeNull();
  });

  it('a save already under way when asked answers the request with its checkpoint', () => {
    // The scheduled save at 200 began before the request; the checkpoint it writes is newer than
    // anything there was when asked, so it is the answer.
    const run = trainedRun(200).log(200_100, '\nSaving at step 200\n');
    run.ev(200_200, request('save'));
    expect(openRequest(run.state.control, 'save')?.baseline).toEqual({ checkpoint: null, saveStep: 200, sampleStep: null });
    run.log(200_300, 'Saved checkpoint to output/job/job_000000200.safetensors\n');
    expect(run.state.control.requests[0]).toMatchObject({ phase: 'done', detail: '200' });
  });

  it('sample now: working while sampling, done when training goes on', () => {
    const run = trainedRun(60);
    run.ev(60_500, request('sample'));
    expect(openRequest(run.state.control, 'sample')?.phase).toBe('sent');
    run.log(61_000, barText(61, 61)).log(61_100, '\nSampling at step 61\n');
    expect(run.state.status).toBe('sampling');
    expect(openRequest(run.state.control, 'sample')?.phase).toBe('working');
    expect(text(controlBanner(run.state, 61_200))).toBe('sampling…');
    run.train(62, 63, 65_000);
    expect(run.state.control.requests[0]).toMatchObject({ phase: 'done', detail: '61' });
    expect(text(controlBanner(run.state, 66_000))).toBe('sampled at step 61 ✓');
  });

  it('a request the run ends before is failed, and says so', () => {
    const run = trainedRun(50);
    run.ev(50_500, request('save')).ev(50_600, request('sample'));
    run.log(51_000, STOPPED_TEXT);
    expect(run.state.status).toBe('stopped');
    for (const r of run.state.control.requests) expect(r).toMatchObject({ phase: 'failed', detail: 'the run stopped first' });
    expect(text(controlBanner(run.state, 52_000))).toBe('sample failed: the run stopped first');
  });

  it('a stop request is done when the log says the run stopped', () => {
    const run = trainedRun(50).ev(50_500, request('stop'));
    expect(text(controlBanner(run.state, 50_600))).toBe('stop requested at step 50  (stopping…)');
    run.log(51_000, STOPPED_TEXT);
    expect(run.state.control.requests[0]).toMatchObject({ kind: 'stop', phase: 'done', detail: 'stopped' });
    expect(text(controlBanner(run.state, 52_000))).toBe('run stopped');
  });

  it('save, then stop: the banner says the stop follows the save; the keeper’s stop opens a stop request', () => {
    const run = trainedRun(120).ev(120_500, request('save', true));
    expect(run.state.control.stopAfterSave).toBe(true);
    expect(text(controlBanner(run.state, 120_600))).toBe('save requested at step 120  then stop');
    run.log(121_000, barText(121, 121)).log(121_100, '\nSaving at step 121\n');
    expect(text(controlBanner(run.state, 121_200))).toBe('saving…  then stop');
    run.log(121_300, 'Saved checkpoint to output/job/job_000000121.safetensors\n');
    expect(run.state.control.requests[0]).toMatchObject({ kind: 'save', phase: 'done', detail: '121' });
    // The keeper sent the stop.
    run.ev(122_000, request('stop'));
    expect(run.state.control.stopAfterSave).toBe(false);
    expect(openRequest(run.state.control, 'stop')?.phase).toBe('sent');
  });

  it('a failed save cancels the stop that waited for it; a failure with nothing open is still said', () => {
    const run = trainedRun(30).ev(30_500, request('save', true));
    run.ev(30_600, { type: 'controlFailed', kind: 'save', reason: '/x/control.db stays locked' });
    expect(run.state.control.requests[0]).toMatchObject({ phase: 'failed', detail: '/x/control.db stays locked', doneAt: 30_600 });
    expect(run.state.control.stopAfterSave).toBe(false);
    expect(text(controlBanner(run.state, 31_000))).toBe('save failed: /x/control.db stays locked');

    const frozen = trainedRun(30).ev(30_500, { type: 'controlFailed', kind: 'freeze', reason: 'pid 4242 is now another process' });
    expect(frozen.state.control.requests).toHaveLength(1);
    expect(text(controlBanner(frozen.state, 31_000))).toBe('freeze failed: pid 4242 is now another process');
    expect(controlBanner(frozen.state, 50_000)).toBeNull();
  });

  it('a new request of a kind replaces the open one; the list stays short', () => {
    const run = trainedRun(10).ev(10_100, request('save')).ev(10_200, request('save'));
    expect(run.state.control.requests.filter((r) => r.kind === 'save')).toHaveLength(1);
    for (let i = 0; i < 20; i++) run.ev(11_000 + i, { type: 'controlFailed', kind: 'sample', reason: `r${i}` });
    expect(run.state.control.requests.length).toBeLessThanOrEqual(8);
    expect(run.state.control.requests[run.state.control.requests.length - 1]!.detail).toBe('r19');
  });
});

describe('liveness', () => {
  it('exited: the process is gone and the log never said the run ended', () => {
    const run = trainedRun(40);
    run.log(40_500, '\nsome last words\n');
    run.ev(41_000, processState_(false, false));
    expect(run.state.control.exitedAt).toBe(41_000);
    // A moment's grace for the trainer's last lines to arrive, then it is said.
    expect(liveness(run.state, 42_000).exited).toBe(false);
    expect(liveness(run.state, 44_000).exited).toBe(true);
    expect(text(controlBanner(run.state, 44_000))).toBe('trainer exited unexpectedly (killed? out of memory?)  last log line: some last words');
    // The trainer is found again (a new launch): not exited any more.
    run.ev(50_000, channel({ pid: 5000 }));
    expect(run.state.control.exitedAt).toBeNull();
    expect(run.state.control.alive).toBe(true);
    expect(liveness(run.state, 50_000).exited).toBe(false);
  });

  it('not exited when the log ended the run first', () => {
    const run = trainedRun(40).log(40_500, STOPPED_TEXT).ev(41_000, processState_(false, false));
    expect(run.state.control.exitedAt).toBeNull();
    expect(liveness(run.state, 42_000).exited).toBe(false);
    expect(controlBanner(run.state, 42_000)).toBeNull();
  });

  it('the stall limit is five steps, two minutes at least', () => {
    expect(stallLimitSeconds(null)).toBe(120);
    expect(stallLimitSeconds(10)).toBe(120);
    expect(stallLimitSeconds(24)).toBe(120);
    expect(stallLimitSeconds(30)).toBe(150);
  });

  it('stalled after two minutes of silence at 1 s a step, and the banner says how long', () => {
    const run = trainedRun(60);
    expect(run.state.speed.secondsPerStep).toBeCloseTo(1, 2);
    expect(run.state.lastEventAt).toBe(60_000);
    expect(liveness(run.state, 60_000 + 119_000).stalledS).toBeNull();
    expect(liveness(run.state, 60_000 + 121_000).stalledS).toBeCloseTo(121, 6);
    expect(text(controlBanner(run.state, 60_000 + 121_000))).toBe('stalled? the log has been silent for 2m01s  (limit 2m00s: five steps, two minutes at least)');
    // A log read once, to its end, is not stalled: nothing more is coming.
    const ended = trainedRun(60).ev(60_100, { type: 'inputEnded' });
    expect(liveness(ended.state, 60_000 + 500_000).stalledS).toBeNull();
  });

  it("another host's run whose link is down: unreachable since when and why, not stalled nor exited; back up, exits and stalls count again", () => {
    const since = new Date(2026, 11, 3, 14, 2).getTime();
    const link = (state: 'up' | 'down', at: number) => ({ type: 'hostLink' as const, host: { label: 'root@gpu1', link: state, since: at, why: state === 'down' ? 'connection refused' : null } });
    const run = trainedRun(60).ev(60_000, link('up', 0));
    expect(run.state.host).toMatchObject({ label: 'root@gpu1', link: 'up' });
    run.ev(60_100, link('down', since)).ev(60_200, processState_(false, false));
    const life = liveness(run.state, 60_000 + 600_000);
    expect(life).toMatchObject({ unreachable: { label: 'root@gpu1', since, why: 'connection refused' }, stalledS: null, gpuIdleS: null, exited: false });
    expect(text(controlBanner(run.state, since + 60_000))).toBe('root@gpu1 unreachable since 14:02  connection refused · reconnecting; the log is read on from where it stopped');
    expect(view(run.state, since + 60_000).header[0]).toMatch(/^job +TRAINING +on root@gpu1$/);
    run.ev(60_300, link('up', 60_300));
    expect(liveness(run.state, 60_000 + 600_000).unreachable).toBeNull();
    // What the host said meanwhile counts again: its trainer is gone.
    expect(liveness(run.state, 60_000 + 600_000).exited).toBe(true);
    const silent = trainedRun(60).ev(60_000, link('down', since)).ev(60_100, link('up', 60_100));
    expect(liveness(silent.state, 60_000 + 600_000).stalledS).not.toBeNull();
  });

  it('a slow run is stalled only after five of its steps', () => {
    const run = new Run().ev(0, channel()).train(1, 12, 40_000, 40_000);
    expect(run.state.speed.secondsPerStep).toBeCloseTo(40, 0);
    const last = run.state.lastEventAt!;
    expect(liveness(run.state, last + 150_000).stalledS).toBeNull();
    expect(liveness(run.state, last + 201_000).stalledS).toBeCloseTo(201, 6);
  });

  it('neither stalled nor GPU-idle while frozen, nor stalled during a long save', () => {
    const run = trainedRun(60).ev(60_500, processState_(true, true));
    const life = liveness(run.state, 60_000 + 600_000);
    expect(life).toMatchObject({ frozen: true, stalledS: null, gpuIdleS: null, exited: false });
    expect(text(controlBanner(run.state, 60_000 + 600_000))).toBe('FROZEN — GPU memory still held  p resumes');

    const saving = trainedRun(60).log(60_100, '\nSaving at step 60\n');
    expect(saving.state.status).toBe('saving');
    expect(liveness(saving.state, 60_000 + 600_000).stalledS).toBeNull();
  });

  it('GPU idle after a minute at 0 % utilisation while training', () => {
    const reading = (util: number): GpuReading => ({ ...STAND_IN_RTX_4090, uuid: 'GPU-aaaa', utilizationPercent: util });
    const run = new Run().ev(0, channel());
    // 1 s a step for 200 s (the log never goes quiet); the GPU goes idle after step 100.
    for (let n = 1; n <= 200; n++) {
      run.log(n * 1000, barText(n, n));
      run.ev(n * 1000 + 1, { type: 'gpuReadings', gpus: [reading(n <= 100 ? 97 : 0)] });
    }
    // The first reading at 0 % came at 101 001.
    expect(liveness(run.state, 101_001 + 59_000).gpuIdleS).toBeNull();
    expect(liveness(run.state, 101_001 + 60_000).gpuIdleS).toBeCloseTo(60, 6);
    expect(liveness(run.state, 101_001 + 60_000).stalledS).toBeNull();
    expect(text(controlBanner(run.state, 101_001 + 60_000))).toBe('GPU idle for 1m00s while training');
    // One busy reading and it is not idle.
    run.ev(200_500, { type: 'gpuReadings', gpus: [reading(40)] });
    expect(liveness(run.state, 200_600).gpuIdleS).toBeNull();
  });

  it('the frozen banner says how much GPU memory the frozen trainer holds', () => {
    const run = trainedRun(10).ev(10_001, { type: 'gpuReadings', gpus: [{ ...STAND_IN_RTX_4090, uuid: 'GPU-aaaa' }] }).ev(10_500, processState_(true, true));
    expect(text(controlBanner(run.state, 11_000))).toBe('FROZEN — GPU memory still held: 18.0 GiB  p resumes');
  });
});

// ---------------------------------------------------------------------------------------------

function press(state: RunState, key: KeyPress, ui: UiState = initialUi()) {
  const uiActions: UiAction[] = [];
  const control: ControlAction[] = [];
  let quits = 0;
  const matched = dispatchKey(key, { run: state, ui }, { ui: (a) => uiActions.push(a), control: (a) => control.push(a), quit: () => quits++ }, 1_000_000);
  const flash = uiActions.find((a): a is Extract<UiAction, { type: 'flash' }> => a.type === 'flash')?.text ?? null;
  return { matched, uiActions, control, quits, flash };
}

/** The stop question, asked with `x` on this run. */
function askStop(state: RunState): UiState {
  const asked = press(state, { input: 'x' });
  expect(asked.control).toEqual([]);
  expect(asked.uiActions).toHaveLength(1);
  return reduceUi(initialUi(), asked.uiActions[0]!);
}

describe('keys p, s, S, x', () => {
  it('with a control channel each key acts on the trainer', () => {
    const state = trainedRun(50).state;
    expect(press(state, { input: 'p' }).control).toEqual([{ type: 'freeze' }]);
    expect(press(state, { input: 's' }).control).toEqual([{ type: 'save' }]);
    expect(press(state, { input: 'S' }).control).toEqual([{ type: 'sample' }]);
    expect(press(state, { input: 'x' }).uiActions).toEqual([{ type: 'askStop', choices: ['saveThenStop', 'stopNow', 'cancel'] }]);
    const footer = footerItems({ run: state, ui: initialUi() }).map((i) => `${i.label} ${i.name}`);
    expect(footer).toContain('p freeze');
    expect(footer).toContain('s save now');
  });

  it('frozen: p resumes, and save/sample say that p resumes first', () => {
    const state = trainedRun(50).ev(50_500, processState_(true, true)).state;
    expect(press(state, { input: 'p' }).control).toEqual([{ type: 'resume' }]);
    for (const key of ['s', 'S']) {
      const r = press(state, { input: key });
      expect(r.control).toEqual([]);
      expect(r.flash).toBe(`${key}: the run is frozen: p resumes it first`);
    }
    expect(footerItems({ run: state, ui: initialUi() }).map((i) => `${i.label} ${i.name}`)).toContain('p resume');
  });

  it('--readonly: nothing acts, and each key says why', () => {
    const state = trainedRun(50, { readonly: true }).state;
    for (const key of ['p', 's', 'S', 'x']) {
      const r = press(state, { input: key });
      expect(r.control).toEqual([]);
      expect(r.uiActions).toEqual([{ type: 'flash', text: `${key}: lora-top was started with --readonly`, now: 1_000_000 }]);
    }
  });

  it('no trainer found: the keys say so (and what the control source said about it)', () => {
    // Before the control source has looked.
    const early = new Run().train(1, 5, 1000).state;
    expect(early.control.pid).toBeNull();
    for (const key of ['p', 's', 'S', 'x']) {
      const r = press(early, { input: key });
      expect(r.control).toEqual([]);
      expect(r.uiActions).toEqual([{ type: 'flash', text: `${key}: no trainer process found for this run`, now: 1_000_000 }]);
    }
    // After: what RunControl announces when it finds none.
    const state = trainedRun(50, { pid: null, source: null, db: null, noChannel: 'no trainer process found for this run (--pid N names it)' }).state;
    for (const key of ['p', 's', 'x']) {
      const r = press(state, { input: key });
      expect(r.control).toEqual([]);
      expect(r.flash).toBe(`${key}: no trainer process found for this run (--pid N names it)`);
    }
  });

  it('a plain python run.py (no control database): p works, s and S say to start it with lora-top run', () => {
    const state = trainedRun(50, { source: 'scan', db: null, noChannel: NO_CHANNEL }).state;
    expect(NO_CHANNEL).toContain('lora-top run -- python run.py');
    expect(press(state, { input: 'p' }).control).toEqual([{ type: 'freeze' }]);
    for (const key of ['s', 'S']) {
      const r = press(state, { input: key });
      expect(r.control).toEqual([]);
      expect(r.flash).toBe(`${key}: ${NO_CHANNEL}`);
    }
    // The stop question offers no save first.
    expect(press(state, { input: 'x' }).uiActions).toEqual([{ type: 'askStop', choices: ['stopNow', 'cancel'] }]);
  });

  it('a finished run, an exited trainer, no prompts, a request under way', () => {
    const stopped = trainedRun(50).log(50_500, STOPPED_TEXT).state;
    for (const key of ['p', 's', 'S', 'x']) expect(press(stopped, { input: key }).flash).toBe(`${key}: the run has ended`);

    const exited = trainedRun(50).ev(50_500, processState_(false, false)).state;
    for (const key of ['p', 's', 'x']) expect(press(exited, { input: key }).flash).toBe(`${key}: the trainer process has exited`);

    const trained = trainedRun(50).state;
    const noPrompts = { ...trained, config: { ...trained.config!, prompts: [] } };
    expect(press(noPrompts, { input: 'S' }).flash).toBe('S: the config has no sample prompts');
    expect(press(noPrompts, { input: 's' }).control).toEqual([{ type: 'save' }]);

    const saving = trainedRun(50).ev(50_500, request('save')).state;
    expect(press(saving, { input: 's' }).flash).toBe('s: a save was asked for and is under way');
    // A sample can still be asked for while a save is pending.
    expect(press(saving, { input: 'S' }).control).toEqual([{ type: 'sample' }]);
  });
});

describe('the stop question', () => {
  const state = trainedRun(50).state;

  it('Enter takes the chosen answer: save, then stop by default', () => {
    const ui = askStop(state);
    expect(ui.confirmStop).toEqual({ choice: 'saveThenStop', choices: ['saveThenStop', 'stopNow', 'cancel'] });
    const r = press(state, { input: '', return: true }, ui);
    expect(r.uiActions).toEqual([{ type: 'closeStop' }]);
    expect(r.control).toEqual([{ type: 'stop', saveFirst: true }]);
  });

  it('the arrows move the choice; Enter then stops at once', () => {
    let ui = askStop(state);
    const moved = press(state, { input: '', rightArrow: true }, ui);
    expect(moved.control).toEqual([]);
    ui = moved.uiActions.reduce(reduceUi, ui);
    expect(ui.confirmStop?.choice).toBe('stopNow');
    expect(press(state, { input: '', return: true }, ui).control).toEqual([{ type: 'stop', saveFirst: false }]);
    // To cancel, then past the end it stays there.
    ui = reduceUi(reduceUi(ui, { type: 'moveStopChoice', direction: 1 }), { type: 'moveStopChoice', direction: 1 });
    expect(ui.confirmStop?.choice).toBe('cancel');
    const cancelled = press(state, { input: '', return: true }, ui);
    expect(cancelled.control).toEqual([]);
    expect(cancelled.uiActions).toEqual([{ type: 'closeStop' }]);
  });

  it('1, 2 and 3 answer directly; Esc and n cancel; other keys do nothing while it is asked', () => {
    const ui = askStop(state);
    expect(press(state, { input: '1' }, ui).control).toEqual([{ type: 'stop', saveFirst: true }]);
    expect(press(state, { input: '2' }, ui).control).toEqual([{ type: 'stop', saveFirst: false }]);
    const three = press(state, { input: '3' }, ui);
    expect(three.control).toEqual([]);
    expect(three.uiActions).toEqual([{ type: 'closeStop' }]);
    for (const key of [{ input: '', escape: true }, { input: 'n' }]) {
      const r = press(state, key, ui);
      expect(r.control).toEqual([]);
      expect(r.uiActions).toEqual([{ type: 'closeStop' }]);
    }
    // `s` and `p` do not slip through to the trainer while the question is open.
    for (const key of ['s', 'p', 'x', '4']) {
      const r = press(state, { input: key }, ui);
      expect(r.matched).toBe(true);
      expect(r.control).toEqual([]);
      expect(r.uiActions).toEqual([]);
    }
  });

  it('without a control database the choices are stop now and cancel only', () => {
    const plain = trainedRun(50, { source: 'scan', db: null, noChannel: NO_CHANNEL }).state;
    const ui = askStop(plain);
    expect(ui.confirmStop).toEqual({ choice: 'stopNow', choices: ['stopNow', 'cancel'] });
    expect(press(plain, { input: '', return: true }, ui).control).toEqual([{ type: 'stop', saveFirst: false }]);
    expect(press(plain, { input: '1' }, ui).control).toEqual([{ type: 'stop', saveFirst: false }]);
    expect(press(plain, { input: '2' }, ui).control).toEqual([]);
    expect(press(plain, { input: '3' }, ui)).toMatchObject({ control: [], uiActions: [] });
  });
});

// ---------------------------------------------------------------------------------------------

/** The header, the stop question and the footer as the dashboard builds them, 160 columns wide. */
function view(state: RunState, now: number, ui: UiState = initialUi()) {
  const input = panelInput(state, ui, now, { target: 3000, glyphs: 'unicode', imageMode: 'truecolor' });
  const box = (rows: number) => ({ cols: 160, rows, stacked: true });
  return {
    header: headerPanel.build(input, box(2), {}).map(text),
    confirm: ui.confirmStop ? confirmPanel.build(input, box(30), {}).map(text) : [],
    footer: text(footerPanel.build(input, box(1), {})[0] ?? []),
  };
}

describe('dashboard: banners and the stop question', () => {
  it('the header says FROZEN, the trainer exited, stalled, saved', () => {
    const run = trainedRun(100).log(100_100, savedText(100)).train(101, 120, 101_000);
    expect(view(run.state, 120_400).header[0]).toMatch(/^job +TRAINING /);
    expect(view(run.state, 120_400).header[1]).toMatch(/^elapsed 2m00s/);

    const frozen = new Run();
    frozen.state = reduceRun(run.state, [{ at: 120_500, event: processState_(true, true) }]);
    const f = view(frozen.state, 130_000);
    expect(f.header[0]).toMatch(/^job +FROZEN /);
    expect(f.header[0]).not.toContain('TRAINING');
    expect(f.header[1]).toBe('FROZEN — GPU memory still held  p resumes');

    const gone = reduceRun(run.state, [{ at: 120_500, event: processState_(false, false) }]);
    expect(view(gone, 124_000).header[1]).toMatch(/^trainer exited unexpectedly \(killed\? out of memory\?\)/);

    expect(view(run.state, 120_000 + 130_000).header[1]).toMatch(/^stalled\? the log has been silent for 2m10s/);

    run.ev(120_500, request('save')).log(121_000, barText(121, 121)).log(121_100, savedText(121));
    expect(view(run.state, 121_500).header[1]).toBe('saved: checkpoint at step 121 ✓');
  });

  it('the stop question says how many steps stopping now loses since the last save', () => {
    const run = trainedRun(100).log(100_100, savedText(100)).train(101, 137, 101_000);
    const ui = reduceUi(initialUi(), { type: 'askStop', choices: ['saveThenStop', 'stopNow', 'cancel'] });
    const lines = view(run.state, 138_000, ui).confirm;
    expect(lines[0]).toMatch(/^── Stop the run\? /);
    expect(lines).toContain(' Stopping now loses the work since the last save at step 100 — 37 steps; the run can resume from step 100.');
    expect(lines.some((l) => l.startsWith(' Save, then stop: the trainer saves a checkpoint first'))).toBe(true);
    expect(lines).toContain(' ▸ 1  save, then stop');
    expect(lines).toContain('   2  stop now');
    expect(lines).toContain('   3  cancel');
    // Nothing asked: nothing drawn.
    expect(view(run.state, 138_000).confirm).toEqual([]);
  });

  it('the stop question before any save, and without a control database', () => {
    const run = trainedRun(1, { source: 'scan', db: null, noChannel: NO_CHANNEL });
    const ui = reduceUi(initialUi(), { type: 'askStop', choices: ['stopNow', 'cancel'] });
    const lines = view(run.state, 2_000, ui).confirm;
    expect(lines).toContain(' Nothing has been saved yet: stopping now loses all 1 steps; the run would start over.');
    expect(lines.some((l) => l.includes('cannot be told to save first (no control channel)'))).toBe(true);
    expect(lines).toContain(' ▸ 1  stop now');
    expect(lines).toContain('   2  cancel');
    expect(lines.join('\n')).not.toContain('save, then stop');
  });

  it('a key that cannot act says why in the footer', () => {
    const state = trainedRun(50, { source: 'scan', db: null, noChannel: NO_CHANNEL }).state;
    const flash = press(state, { input: 's' }).uiActions[0]!;
    const ui = reduceUi(initialUi(), flash);
    expect(view(state, 1_000_500, ui).footer).toContain('s: this run has no control channel');
  });
});

// ---------------------------------------------------------------------------------------------

describe('notifications', () => {
  it('each notice once, and none for a run never seen active', () => {
    const run = trainedRun(40).ev(41_000, processState_(false, false));
    expect(dueNotices(run.state, 44_000, false, new Set())).toEqual([]);
    expect(dueNotices(run.state, 42_000, true, new Set())).toEqual([]);
    const first = dueNotices(run.state, 44_000, true, new Set());
    expect(first).toEqual([{ key: 'exited', text: 'job: the trainer exited unexpectedly at step 40' }]);
    expect(dueNotices(run.state, 45_000, true, new Set(first.map((n) => n.key)))).toEqual([]);
  });

  it('completed, failed, stalled', () => {
    const done = trainedRun(5).ev(6000, { type: 'checkpointSaved', path: 'output/job/job.safetensors', step: null }).ev(6001, { type: 'inputEnded' });
    expect(done.state.status).toBe('completed');
    expect(dueNotices(done.state, 7000, true, new Set())).toEqual([{ key: 'completed', text: 'job completed at step 1000' }]);

    const failed = trainedRun(5).log(6000, '\nError running job: CUDA error: out of memory\n');
    expect(failed.state.status).toBe('failed');
    const notices = dueNotices(failed.state, 7000, true, new Set());
    expect(notices.map((n) => n.key)).toEqual(['failed']);
    expect(notices[0]!.text).toMatch(/^job failed: .*out of memory/);

    const stalled = trainedRun(60);
    expect(dueNotices(stalled.state, 60_000 + 100_000, true, new Set())).toEqual([]);
    expect(dueNotices(stalled.state, 60_000 + 300_000, true, new Set())).toEqual([{ key: 'stalled', text: 'job looks stalled: no output for 5 min' }]);
  });

  it('noticeBytes: BEL and/or OSC 9 and OSC 777 per --notify, with nothing from the text that escapes them', () => {
    const evil = 'run\x07 done\x1b]0;owned\x07;\x1b[31mred\n\x9b2Jx\x7f';
    expect(noticeBytes(evil, 'off')).toBe('');
    expect(noticeBytes(evil, 'bell')).toBe('\x07');
    const desktop = noticeBytes(evil, 'desktop');
    const all = noticeBytes(evil, 'all');
    expect(all).toBe(`\x07${desktop}`);
    const osc = /^\x1b\]9;lora-top: ([^\x07\x1b]*)\x07\x1b\]777;notify;lora-top;([^\x07\x1b]*)\x07$/.exec(desktop);
    expect(osc).not.toBeNull();
    for (const payload of [osc![1]!, osc![2]!]) {
      expect(payload).toMatch(/^run/);
      expect(payload).toContain('red');
      // eslint-disable-next-line no-control-regex
      expect(payload).not.toMatch(/[\x00-\x1f\x7f-\x9f;]/);
      expect(payload).not.toContain('owned\x07');
    }
    // Exactly the framing's escapes and bells, and nothing else of the kind.
    expect(desktop.split('\x1b').length - 1).toBe(2);
    expect(desktop.split('\x07').length - 1).toBe(2);
    expect(noticeBytes('job completed at step 1000', 'desktop')).toBe('\x1b]9;lora-top: job completed at step 1000\x07\x1b]777;notify;lora-top;job completed at step 1000\x07');
  });
});

// ---------------------------------------------------------------------------------------------

describe('lora-top run: the command line', () => {
  it('options before --, the trainer command after, untouched', () => {
    const options = parseCli(['run', '--readonly', '--', 'python', 'run.py', 'x.yaml', '--foo']);
    expect(options.runCommand).toEqual(['python', 'run.py', 'x.yaml', '--foo']);
    expect(options.readonly).toBe(true);
    expect(options.path).toBeUndefined();
    expect(options.noControl).toBe(false);
  });

  it('without --, the command begins at the first word that is not an option; values are taken', () => {
    const options = parseCli(['run', '--notify', 'bell', '--pid', '12', '--no-control', '--db', '/ui/aitk_db.db', 'python', 'run.py', 'x.yaml', '--readonly']);
    expect(options.runCommand).toEqual(['python', 'run.py', 'x.yaml', '--readonly']);
    expect(options).toMatchObject({ notify: 'bell', pid: 12, noControl: true, db: '/ui/aitk_db.db', readonly: false });
    expect(parseCli(['x/output/run']).runCommand).toBeNull();
  });

  it('bad values are usage errors', () => {
    const usage = (argv: string[], message: RegExp) => {
      let caught: unknown = null;
      try {
        parseCli(argv);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(UserError);
      expect((caught as UserError).exitCode).toBe(EXIT.usage);
      expect((caught as UserError).message).toMatch(message);
    };
    usage(['--pid', 'abc'], /^--pid needs a whole number above 0, got "abc"$/);
    usage(['--pid', '0'], /--pid needs a whole number above 0/);
    usage(['run', '--pid', 'abc', '--', 'python', 'run.py', 'x.yaml'], /--pid needs a whole number above 0, got "abc"/);
    usage(['--notify', 'loud'], /--notify is all, bell, desktop or off/);
    usage(['run', '--demo', '--', 'python', 'run.py', 'x.yaml'], /lora-top run takes the trainer command/);
    usage(['run', '--bogus', '--', 'python', 'run.py', 'x.yaml'], /bogus/);
  });
});

// ---------------------------------------------------------------------------------------------
// Real processes and files.

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-control-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the Job row: control database', () => {
  const job = { id: 'job-1', name: 'my_lora', jobConfig: '{"job":"extension"}', totalSteps: 3000, gpuIds: '0' };

  it('created, read back, flags set and read back', async () => {
    const db = path.join(tmp, 'flags', '.lora-top', 'control.db');
    await createControlDb(db, job);
    const row = await readJob(db, { id: 'job-1' });
    expect(row).toEqual({ ok: true, value: { id: 'job-1', name: 'my_lora', status: 'running', info: 'Starting', step: 0, pid: null, saveNow: false, sampleNow: false, stop: false } });
    await setJobPid(db, 'job-1', 4242);
    for (const flag of ['save_now', 'sample_now', 'stop'] as const) expect(await setJobFlag(db, 'job-1', flag)).toEqual({ ok: true, value: true });
    const after = await readJob(db, { name: 'my_lora' });
    expect(after.ok && after.value).toMatchObject({ pid: 4242, saveNow: true, sampleNow: true, stop: true });
    // An id that is not there falls back to the name; neither there: null.
    expect((await readJob(db, { id: 'other', name: 'my_lora' })).ok).toBe(true);
    expect(await readJob(db, { id: 'other', name: 'nope' })).toEqual({ ok: true, value: null });
    // A new launch of the same job replaces its row, flags down.
    await createControlDb(db, { ...job, id: 'job-2' });
    const fresh = await readJob(db, { name: 'my_lora' });
    expect(fresh.ok && fresh.value).toMatchObject({ id: 'job-2', saveNow: false, sampleNow: false, stop: false, pid: null });
    expect(await readJob(db, { id: 'job-1' })).toEqual({ ok: true, value: null });
  });

  it('a missing database or job: a reason, nothing thrown', async () => {
    const missing = path.join(tmp, 'nowhere.db');
    expect(await setJobFlag(missing, 'job-1', 'stop')).toEqual({ ok: false, reason: `${missing} does not exist` });
    const db = path.join(tmp, 'nojob', 'control.db');
    await createControlDb(db, job);
    const result = await setJobFlag(db, 'job-9', 'save_now');
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.reason).toContain('no job job-9 in the database');
  });

  it('a database that stays locked: retried, then "stays locked", nothing written', async () => {
    const db = path.join(tmp, 'locked', 'control.db');
    await createControlDb(db, job);
    const holder = new Database(db, { timeout: 0 });
    try {
      holder.exec('BEGIN EXCLUSIVE');
      const started = Date.now();
      const result = await setJobFlag(db, 'job-1', 'save_now');
      expect(result).toEqual({ ok: false, reason: `${db} stays locked` });
      // It did retry, with waits between (about two seconds in all), not give up at once.
      expect(Date.now() - started).toBeGreaterThan(1000);
      expect((await readJob(db, { id: 'job-1' })).ok).toBe(false);
    } finally {
      holder.close();
    }
    const row = await readJob(db, { id: 'job-1' });
    expect(row.ok && row.value?.saveNow).toBe(false);
  });

  it('a lock released during the retries: the flag is set', async () => {
    const db = path.join(tmp, 'released', 'control.db');
    await createControlDb(db, job);
    const holder = new Database(db, { timeout: 0 });
    holder.exec('BEGIN EXCLUSIVE');
    const started = Date.now();
    const release = setTimeout(() => holder.close(), 300);
    try {
      const result = await setJobFlag(db, 'job-1', 'sample_now');
      expect(result).toEqual({ ok: true, value: true });
      // It waited for the lock to go.
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    } finally {
      clearTimeout(release);
      if (holder.open) holder.close();
    }
    const row = await readJob(db, { id: 'job-1' });
    expect(row.ok && row.value?.sampleNow).toBe(true);
  });
});

describe('lora-top run: the launch', () => {
  it('rotateLog moves log.txt to the first free logs/<N>_log.txt', () => {
    const folder = path.join(tmp, 'rotate');
    fs.mkdirSync(path.join(folder, 'logs'), { recursive: true });
    expect(rotateLog(folder)).toBeNull();
    fs.writeFileSync(path.join(folder, 'logs', '0_log.txt'), 'zero');
    fs.writeFileSync(path.join(folder, 'logs', '2_log.txt'), 'two');
    fs.writeFileSync(path.join(folder, 'log.txt'), 'one');
    expect(rotateLog(folder)).toBe(path.join(folder, 'logs', '1_log.txt'));
    expect(fs.readFileSync(path.join(folder, 'logs', '1_log.txt'), 'utf8')).toBe('one');
    expect(fs.existsSync(path.join(folder, 'log.txt'))).toBe(false);
    fs.writeFileSync(path.join(folder, 'log.txt'), 'three');
    expect(rotateLog(folder)).toBe(path.join(folder, 'logs', '3_log.txt'));
    expect(fs.readFileSync(path.join(folder, 'logs', '0_log.txt'), 'utf8')).toBe('zero');
    expect(fs.readFileSync(path.join(folder, 'logs', '2_log.txt'), 'utf8')).toBe('two');
  });

  it('findConfigArg: the first YAML or JSON after run.py', () => {
    expect(findConfigArg(['python', 'run.py', 'config/x.yaml'])).toBe(2);
    expect(findConfigArg(['python', '-u', 'run.py', '--log', 'x.log', 'job.JSON', 'other.yaml'])).toBe(5);
    expect(findConfigArg(['python', 'extra.yaml', '/tk/run.py', 'job.yml'])).toBe(3);
    expect(findConfigArg(['./train.sh', 'job.yaml'])).toBe(1);
    expect(findConfigArg(['python', 'run.py', '--config=x.yaml', 'notes.txt', 'x.yaml.bak'])).toBe(-1);
    expect(findConfigArg(['python', 'run.py'])).toBe(-1);
  });

  /** A stand-in trainer: says what it was run with (config argument, job id, buffering) into its log. */
  const SAY = 'echo "config=$1 job=${AITK_JOB_ID:-none} unbuffered=${PYTHONUNBUFFERED:-no}"';

  function writeConfig(dir: string, type: string, ext: 'yaml' | 'json' = 'yaml'): string {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `job.${ext}`);
    const data = { job: 'extension', config: { name: 'launched', process: [{ type, training_folder: 'out', train: { steps: 500 }, logging: { log_every: 10 } }] } };
    fs.writeFileSync(file, ext === 'json' ? JSON.stringify(data) : `job: extension\nconfig:\n  name: launched\n  process:\n    - type: ${type}\n      training_folder: out\n      train:\n        steps: 500\n      logging:\n        log_every: 10\n`);
    return file;
  }

  const logOf = (folder: string) => until(() => {
    const log = path.join(folder, 'log.txt');
    const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    return text.includes('config=') && text;
  }, 'the stand-in trainer to write its log');

  it('a controllable config: a derived config, a control database with the job and its pid, AITK_JOB_ID; the old log rotated', async () => {
    const cwd = path.join(tmp, 'launch-control');
    writeConfig(cwd, 'sd_trainer');
    const folder = path.join(cwd, 'out', 'launched');
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'log.txt'), 'the previous session\n');

    const launched = await launchTrainer(['sh', '-c', SAY, 'sh', 'job.yaml'], { cwd, control: true });
    expect(launched).toMatchObject({ folder, logPath: path.join(folder, 'log.txt'), control: true, note: null, configPath: path.join(folder, 'lora-top.yaml') });
    expect(fs.readFileSync(path.join(folder, 'logs', '0_log.txt'), 'utf8')).toBe('the previous session\n');

    const record = readRunRecord(folder)!;
    expect(record).toMatchObject({ pid: launched.pid, controlDb: path.join(folder, '.lora-top', 'control.db'), config: launched.configPath });
    expect(record.command).toEqual(['sh', '-c', SAY, 'sh', launched.configPath]);
    expect(record.jobId).toMatch(/^[0-9a-f-]{36}$/);

    const log = await logOf(folder);
    expect(log).toContain(`config=${launched.configPath} job=${record.jobId} unbuffered=1`);

    const { parse } = await import('yaml');
    const derived = parse(fs.readFileSync(launched.configPath, 'utf8')) as { config: { name: string; process: Array<Record<string, unknown>> } };
    expect(derived.config.name).toBe('launched');
    expect(derived.config.process[0]).toMatchObject({ type: 'diffusion_trainer', sqlite_db_path: record.controlDb, logging: { log_every: 10, use_ui_logger: true }, train: { steps: 500 } });
    // The user's own config is untouched.
    expect(fs.readFileSync(path.join(cwd, 'job.yaml'), 'utf8')).toContain('type: sd_trainer');

    const row = await readJob(record.controlDb!, { id: record.jobId });
    expect(row.ok && row.value).toMatchObject({ id: record.jobId, name: 'launched', pid: launched.pid, status: 'running', saveNow: false, stop: false });
  });

  it('a config whose type cannot be controlled runs untouched, with a note', async () => {
    const cwd = path.join(tmp, 'launch-plain');
    const config = writeConfig(cwd, 'extract_lora', 'json');
    const launched = await launchTrainer(['sh', '-c', SAY, 'sh', 'job.json'], { cwd, control: true });
    expect(launched.control).toBe(false);
    expect(launched.configPath).toBe(config);
    expect(launched.note).toBe('the config\'s process type is "extract_lora": it runs as it is, without save now, sample now or a flagged stop');
    const folder = path.join(cwd, 'out', 'launched');
    expect(await logOf(folder)).toContain('config=job.json job=none unbuffered=1');
    expect(fs.existsSync(path.join(folder, 'lora-top.json'))).toBe(false);
    expect(fs.existsSync(path.join(folder, '.lora-top', 'control.db'))).toBe(false);
    expect(readRunRecord(folder)).toMatchObject({ pid: launched.pid, jobId: null, controlDb: null });
  });

  it('--no-control runs even a controllable config untouched, without a note', async () => {
    const cwd = path.join(tmp, 'launch-nocontrol');
    writeConfig(cwd, 'sd_trainer');
    const launched = await launchTrainer(['sh', '-c', SAY, 'sh', 'job.yaml'], { cwd, control: false });
    expect(launched).toMatchObject({ control: false, note: null, configPath: path.join(cwd, 'job.yaml') });
    expect(await logOf(launched.folder)).toContain('config=job.yaml job=none');
  });

  it('a missing program, a missing config, no config, no name: a UserError each', async () => {
    const cwd = path.join(tmp, 'launch-errors');
    writeConfig(cwd, 'sd_trainer');
    const fails = async (command: string[], message: RegExp) => {
      const error = await launchTrainer(command, { cwd, control: true }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).message).toMatch(message);
      expect((error as UserError).exitCode).toBe(EXIT.usage);
    };
    await fails([path.join(cwd, 'no-such-python'), 'run.py', 'job.yaml'], /^cannot start .*no-such-python: no such program$/);
    await fails(['python', 'run.py', 'missing.yaml'], /^cannot read the config .*missing\.yaml: ENOENT$/);
    await fails(['python', 'run.py'], /needs a config/);
    await fails([], /needs the trainer command/);
    fs.writeFileSync(path.join(cwd, 'noname.yaml'), 'job: extension\nconfig:\n  process:\n    - type: sd_trainer\n');
    await fails(['python', 'run.py', 'noname.yaml'], /has no config\.name/);
  });
});
