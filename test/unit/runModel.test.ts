import { describe, expect, it } from 'vitest';
import type { LogEvent, TqdmBar } from '../../src/parse/events.js';
import { readRunConfig } from '../../src/parse/runConfig.js';
import { estimateFinish } from '../../src/state/eta.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState, type RunEvent, type RunState, type StampedRunEvent } from '../../src/state/runState.js';
import { MAX_LOSS_POINTS } from '../../src/state/lossHistory.js';

// The run model and ETA on event sequences (typed events, not progress strings: those are
// tested against the real tqdm elsewhere).

function bar(n: number, elapsedS: number, extra: Partial<TqdmBar> = {}): LogEvent {
  return {
    type: 'bar',
    bar: { desc: 'job', n, total: 600, percent: Math.round((n / 600) * 100), elapsedS, remainingS: null, rate: 2, unit: 'it/s', postfix: { lr: '1.0e-04', loss: (1 / (1 + n / 100)).toExponential(3) }, trailing: '', ...extra },
  };
}

function apply(state: RunState, events: Array<[number, RunEvent]>): RunState {
  return reduceRun(state, events.map(([at, event]): StampedRunEvent => ({ at, event })));
}

const config = readRunConfig({
  job: 'extension',
  config: { name: 'job', process: [{ type: 'sd_trainer', train: { steps: 600 }, save: { save_every: 200 }, sample: { sample_every: 100, prompts: ['a', 'b'] } }] },
})!;

describe('run state', () => {
  it('does not change the state it is given', () => {
    // The speed marks' columns are shared with the states that follow (a state's marks are the
    // first markCount of them, written once): what the state holds is compared, not the columns.
    const held = (state: RunState) =>
      JSON.stringify(state, (key, value) => (key === 'marks' ? undefined : value)) +
      JSON.stringify(['n', 'elapsedS', 'at', 'flags'].map((column) => [...state.speed.marks[column as 'n'].subarray(0, state.speed.markCount)]));
    let before = apply(initialRunState(), [[0, bar(1, 0)]]);
    // Past two trims (each when 1025 marks are held: at steps 1025 and 1538), then a resume (the
    // step goes back: a new session).
    const LAST = 1601;
    const steps = [...Array.from({ length: LAST - 1 }, (_, i) => i + 2), 500, 501, 502];
    const near = (n: number, at: number) => n >= at - 3 && n <= at + 3;
    steps.forEach((n, i) => {
      const t = 1000 * (i + 2);
      const resumed = i >= LAST - 1;
      const elapsed = resumed ? n - 500 : n - 1;
      // Checked now and then, and around the trims and the resume (the state's JSON is large).
      if (i % 100 !== 0 && !near(n, 1025) && !near(n, 1538) && !resumed && i < LAST - 2) {
        before = apply(before, [[t, bar(n, elapsed)]]);
        return;
      }
      const frozen = held(before);
      const first = apply(before, [[t, bar(n, elapsed)], [t + 1, { type: 'saveStart', step: n }]]);
      const firstHeld = held(first);
      // Twice from the same state: the second must not write over what the first added.
      const next = apply(before, [[t + 500, bar(n, elapsed + 1)]]);
      expect(held(before), `step ${n}`).toBe(frozen);
      expect(held(first), `step ${n}`).toBe(firstHeld);
      before = next;
    });
    // The resume started the marks again.
    expect(before.speed.markCount).toBe(3);
    expect(before.speed.marks.n[0]).toBe(500);
  });

  it('measures seconds per step from the wall clock while live, leaving out pauses', () => {
    let state = apply(initialRunState(), [[0, { type: 'configLoaded', config }]]);
    // 0.5 s a step, live; a 30 s sample between steps 100 and 101.
    let t = 0;
    for (let n = 1; n <= 100; n++) state = apply(state, [[(t += 500), bar(n, Math.floor(t / 1000))]]);
    state = apply(state, [[t + 10, bar(0, 0, { desc: 'Generating Images', total: 2, postfix: {} })]]);
    state = apply(state, [[t + 29_000, bar(2, 28, { desc: 'Generating Images', total: 2, postfix: {} })]]);
    t += 30_000;
    state = apply(state, [[t, bar(101, Math.floor((t - 30_000) / 1000) + 1)]]);
    for (let n = 102; n <= 150; n++) state = apply(state, [[(t += 500), bar(n, Math.floor((t - 30_000) / 1000))]]);
    expect(state.speed.basis).toBe('wall');
    expect(state.speed.secondsPerStep).toBeCloseTo(0.5, 3);
    expect(state.pauses.sampleSeconds).toHaveLength(1);
    expect(state.pauses.sampleSeconds[0]).toBeCloseTo(30, 0);
    expect(state.status).toBe('training');
  });

  it('uses tqdm elapsed when a finished log is read in one go', () => {
    const events: Array<[number, RunEvent]> = [];
    for (let n = 1; n <= 300; n++) events.push([5, bar(n, Math.floor(n * 2.5))]);
    const state = apply(initialRunState(), events);
    expect(state.speed.basis).toBe('elapsed');
    expect(state.speed.secondsPerStep).toBeCloseTo(2.5, 1);
  });

  it('ignores the absurd rate tqdm prints right after a long pause', () => {
    let state = initialRunState();
    for (let n = 1; n <= 60; n++) state = apply(state, [[n * 2000, bar(n, n * 2, { rate: 0.5 })]]);
    state = apply(state, [[121_000, { type: 'saveStart', step: 60 }]]);
    state = apply(state, [[400_000, bar(61, 122, { rate: 2566.52, remainingS: 1 })]]);
    expect(state.speed.secondsPerStep).toBeCloseTo(2, 1);
  });

  it('counts the sampling and saving still ahead in the ETA', () => {
    let state = apply(initialRunState(), [[0, { type: 'configLoaded', config }]]);
    let t = 0;
    for (let n = 1; n <= 150; n++) state = apply(state, [[(t += 1000), bar(n, n)]]);
    const plain = estimateFinish(state, t, 3000);
    expect(plain.secondsPerStep).toBeCloseTo(1, 3);
    // 450 steps left; samples at 200,300,400,500 and the final; saves at 200,400 and the final.
    expect(plain.samplesAhead).toBe(5);
    expect(plain.savesAhead).toBe(3);
    expect(plain.pausesEstimated).toBe(true);
    expect(plain.etaSeconds).toBeCloseTo(450 + 5 * (4 * 2 * 1) + 3 * 2, 0);
    expect(plain.etaTargetSeconds).toBeNull(); // the run ends before step 3000
    const toStep300 = estimateFinish(state, t, 300);
    expect(toStep300.etaTargetSeconds).toBeCloseTo(150 + 2 * 8 + 1 * 2, 0);
    expect(plain.finishAtMs).toBeCloseTo(t + plain.etaSeconds! * 1000, -1);
  });

  it('counts the sample that follows the save under way, and not the final sample twice', () => {
    let state = apply(initialRunState(), [[0, { type: 'configLoaded', config }]]);
    let t = 0;
    for (let n = 1; n <= 200; n++) state = apply(state, [[(t += 1000), bar(n, n)]]);
    // Saving at 200: the sample at 200 is still ahead, and so are 300, 400, 500 and the final one.
    state = apply(state, [[t, { type: 'saveStart', step: 200 }]]);
    const saving = estimateFinish(state, t, 3000);
    expect(saving.samplesAhead).toBe(5);
    expect(saving.savesAhead).toBe(2);
    // The sample at 200 has begun: it is the pause under way, no longer ahead.
    state = apply(state, [[t + 2000, bar(0, 0, { desc: 'Generating Images', total: 2, postfix: {} })]]);
    expect(estimateFinish(state, t + 2000, 3000).samplesAhead).toBe(4);
    // The end: the final checkpoint is saved and the final sample runs; nothing is left but its rest.
    state = apply(state, [
      [t + 5000, bar(600, 500)],
      [t + 5001, { type: 'checkpointSaved', path: '/o/job/job.safetensors', step: null }],
      [t + 5002, bar(0, 0, { desc: 'Generating Images', total: 2, postfix: {} })],
    ]);
    const last = estimateFinish(state, t + 5002, 3000);
    expect(last.samplesAhead).toBe(0);
    expect(last.savesAhead).toBe(0);
  });

  it('uses measured pause lengths once it has them', () => {
    let state = apply(initialRunState(), [[0, { type: 'configLoaded', config }]]);
    let t = 0;
    for (let n = 1; n <= 100; n++) state = apply(state, [[(t += 1000), bar(n, n)]]);
    state = apply(state, [[t, { type: 'saveStart', step: 100 }]]);
    state = apply(state, [[(t += 7000), bar(0, 0, { desc: 'Generating Images', total: 2, postfix: {} })]]);
    state = apply(state, [[(t += 20_000), bar(101, 101)]]);
    expect(state.pauses.saveSeconds).toEqual([7]);
    expect(state.pauses.sampleSeconds).toEqual([20]);
    const eta = estimateFinish(state, t, 3000);
    expect(eta.sampleSeconds).toBe(20);
    expect(eta.saveSeconds).toBe(7);
  });

  it('goes from saving to training and marks the checkpoint', () => {
    let state = apply(initialRunState(), [[0, bar(199, 199)], [1, { type: 'saveStart', step: 200 }]]);
    expect(state.status).toBe('saving');
    expect(state.step).toBe(200);
    state = apply(state, [[2, { type: 'checkpointSaved', path: '/o/job/job_000000200.safetensors', step: 200 }], [3, bar(200, 200)]]);
    expect(state.status).toBe('training');
    expect(state.step).toBe(200);
    expect(state.lastCheckpoint).toEqual({ step: 200, path: '/o/job/job_000000200.safetensors' });
  });

  it('a resume that rewinds steps keeps the loss history consistent', () => {
    let state = initialRunState();
    for (let n = 1; n <= 300; n++) state = apply(state, [[n, bar(n, n)]]);
    state = apply(state, [[400, { type: 'resume', path: '/o/job/job_000000200.safetensors', step: 200 }]]);
    expect(state.status).toBe('starting');
    for (let n = 200; n <= 210; n++) state = apply(state, [[500 + n, bar(n, n - 200)]]);
    expect(state.step).toBe(210);
    const steps = state.lossHistory.points.map((p) => p.step);
    expect(steps[steps.length - 1]).toBe(210);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    expect(new Set(steps).size).toBe(steps.length);
  });

  it('keeps the loss history bounded on a long run', () => {
    const events: Array<[number, RunEvent]> = [];
    for (let n = 1; n <= 20_000; n++) events.push([1, bar(n, n, { total: 20_000 })]);
    const state = apply(initialRunState(), events);
    expect(state.lossHistory.points.length).toBeLessThanOrEqual(MAX_LOSS_POINTS);
    expect(state.lossHistory.points[state.lossHistory.points.length - 1]!.step).toBeGreaterThan(19_990);
  });

  it('knows stopped from failed from completed', () => {
    expect(apply(initialRunState(), [[0, bar(5, 5)], [1, { type: 'jobStopped' }]]).status).toBe('stopped');
    expect(apply(initialRunState(), [[0, bar(5, 5)], [1, { type: 'exception', name: 'KeyboardInterrupt', message: '', uncaught: false }]]).status).toBe('stopped');
    expect(apply(initialRunState(), [[0, bar(5, 5)], [1, { type: 'error', kind: 'error', message: 'Job stopped' }]]).status).toBe('stopped');
    const oom = apply(initialRunState(), [[0, bar(5, 5)], [1, { type: 'uncaughtTraceback' }], [2, { type: 'exception', name: 'torch.OutOfMemoryError', message: 'CUDA out of memory. Tried to allocate 2.00 GiB', uncaught: true }]]);
    expect(oom.status).toBe('failed');
    expect(oom.error?.kind).toBe('oom');
    const done = apply(initialRunState(), [
      [0, bar(600, 600)],
      [1, { type: 'checkpointSaved', path: '/o/job/job.safetensors', step: null }],
      [2, bar(2, 10, { desc: 'Generating Images', n: 2, total: 2, postfix: {} })],
    ]);
    expect(done.status).toBe('completed');
    expect(done.finalSaved).toBe(true);
    expect(estimateFinish(done, 3, 3000).etaSeconds).toBeNull();
  });

  it('a printed exception that training outlives is not a failure', () => {
    const state = apply(initialRunState(), [[0, bar(5, 5)], [1, { type: 'traceback' }], [2, { type: 'exception', name: 'UserWarning', message: 'x', uncaught: false }], [3, bar(6, 6)]]);
    expect(state.status).toBe('training');
    expect(state.error).toBeNull();
  });

  it('phase bars never touch step, total or speed', () => {
    let state = apply(initialRunState(), [[0, bar(100, 100)]]);
    const before = { step: state.step, total: state.totalSteps, speed: state.speed.secondsPerStep };
    state = apply(state, [[1, bar(3, 10, { desc: 'Caching latents to disk', total: 26, postfix: {} })], [2, bar(7, 30, { desc: null, total: 30, postfix: {} })]]);
    expect({ step: state.step, total: state.totalSteps, speed: state.speed.secondsPerStep }).toEqual(before);
  });
});
