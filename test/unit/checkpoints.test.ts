import { describe, expect, it } from 'vitest';
import { parseRunConfigText, type RunConfig } from '../../src/parse/runConfig.js';
import { checkpointSaves, diskOutlook, savesDeletedNext, smoothedLossAt } from '../../src/state/checkpoints.js';
import { estimateFinish } from '../../src/state/eta.js';
import { emptyLossHistory, type LossHistory, type LossPoint } from '../../src/state/lossHistory.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState, type CheckpointFile, type RunState } from '../../src/state/runState.js';
import { jsonSnapshot } from '../../src/view/snapshot.js';

// Checkpoints as saves (a Wan 2.2 high/low-noise pair is one), which ai-toolkit deletes next,
// whether the saves ahead fit on the disk, and the smoothed loss at a save's step.

const GB = 1024 ** 3;
const pad9 = (n: number) => String(n).padStart(9, '0');

interface FileOpts {
  name?: string;
  bytes?: number | null;
  /** Creation time; one second per step by default. */
  ctimeMs?: number | null;
  mtimeMs?: number | null;
  noise?: 'high' | 'low';
}

/** A step save `<name>_<step:09d>[_high_noise|_low_noise].safetensors`, or the final `<name>.safetensors` for step null. */
function ckpt(step: number | null, opts: FileOpts = {}): CheckpointFile {
  const name = opts.name ?? 'job';
  const noise = opts.noise ? `_${opts.noise}_noise` : '';
  const file = step === null ? `${name}${noise}.safetensors` : `${name}_${pad9(step)}${noise}.safetensors`;
  const time = 1_700_000_000_000 + (step ?? 1_000_000) * 1000 + (opts.noise === 'low' ? 1 : 0);
  return {
    step,
    path: `/out/${name}/${file}`,
    bytes: opts.bytes === undefined ? GB : opts.bytes,
    mtimeMs: opts.mtimeMs === undefined ? time : opts.mtimeMs,
    ctimeMs: opts.ctimeMs === undefined ? time : opts.ctimeMs,
  };
}

/** Both halves of a Wan 2.2 save. */
function pair(step: number | null, opts: FileOpts = {}): CheckpointFile[] {
  return [ckpt(step, { ...opts, noise: 'high' }), ckpt(step, { ...opts, noise: 'low' })];
}

function configYaml(save: string): RunConfig {
  return parseRunConfigText(`
job: extension
config:
  name: job
  process:
    - type: sd_trainer
      training_folder: /out
      train:
        steps: 1000
      ${save}
      sample:
        sample_every: 100
        prompts: [a, b]
`)!;
}

const keepConfig = (keep: number) => configYaml(`save: {save_every: 250, max_step_saves_to_keep: ${keep}}`);

/** A run named `job` with its config loaded and the checkpoints listed. */
function runWith(config: RunConfig, checkpoints: CheckpointFile[]): RunState {
  return reduceRun(initialRunState(), [
    { at: 1, event: { type: 'configLoaded', config } },
    { at: 2, event: { type: 'checkpointList', checkpoints } },
  ]);
}

const steps = (saves: Array<{ step: number | null }>) => saves.map((s) => s.step);

describe('checkpointSaves', () => {
  it('makes each step file a save, oldest step first, the final last', () => {
    const files = [ckpt(null, { bytes: 5 }), ckpt(500, { bytes: 3 }), ckpt(250, { bytes: 2 })];
    const saves = checkpointSaves(files);
    expect(steps(saves)).toEqual([250, 500, null]);
    expect(saves.map((s) => s.bytes)).toEqual([2, 3, 5]);
    expect(saves.every((s) => !s.pair && s.files.length === 1)).toBe(true);
    expect(saves[2]!.files[0]).toBe(files[0]);
    expect(checkpointSaves([])).toEqual([]);
  });

  it('groups the high- and low-noise files of one Wan 2.2 step into one save with their bytes summed', () => {
    const files = [
      ckpt(250, { noise: 'high', bytes: 100, mtimeMs: 10 }),
      ckpt(250, { noise: 'low', bytes: 120, mtimeMs: 30 }),
      ckpt(500, { noise: 'high', bytes: 100, mtimeMs: 50 }),
      ckpt(500, { noise: 'low', bytes: 110, mtimeMs: 40 }),
      ckpt(null, { noise: 'high', bytes: 7 }),
      ckpt(null, { noise: 'low', bytes: 8 }),
    ];
    const saves = checkpointSaves(files);
    expect(steps(saves)).toEqual([250, 500, null]);
    expect(saves.map((s) => s.bytes)).toEqual([220, 210, 15]);
    expect(saves.map((s) => s.pair)).toEqual([true, true, true]);
    expect(saves.map((s) => s.files.length)).toEqual([2, 2, 2]);
    expect(saves.map((s) => s.mtimeMs).slice(0, 2)).toEqual([30, 50]);
  });

  it('keeps a lone half of a pair as a pair save', () => {
    const saves = checkpointSaves([ckpt(250, { noise: 'high', bytes: 100 })]);
    expect(saves).toHaveLength(1);
    expect(saves[0]).toMatchObject({ step: 250, bytes: 100, pair: true });
  });

  it('has no size when any of its files has none', () => {
    const saves = checkpointSaves([ckpt(250, { noise: 'high', bytes: 100 }), ckpt(250, { noise: 'low', bytes: null, mtimeMs: null })]);
    expect(saves[0]!.bytes).toBeNull();
    expect(saves[0]!.mtimeMs).toBeNull();
  });
});

describe('savesDeletedNext', () => {
  const saves = (...stepsList: number[]) => stepsList.map((step) => ckpt(step));

  it('with as many saves as kept, the oldest goes at the next save (ai-toolkit trims after writing)', () => {
    const run = runWith(keepConfig(4), saves(250, 500, 750, 1000));
    expect(steps(savesDeletedNext(run))).toEqual([250]);
  });

  it('with fewer saves than kept, nothing goes', () => {
    expect(savesDeletedNext(runWith(keepConfig(4), saves(250, 500, 750)))).toEqual([]);
    expect(savesDeletedNext(runWith(keepConfig(4), []))).toEqual([]);
  });

  it('after the limit was lowered, every save beyond it goes at once', () => {
    const run = runWith(keepConfig(4), saves(250, 500, 750, 1000, 1250, 1500));
    expect(steps(savesDeletedNext(run))).toEqual([250, 500, 750]);
  });

  it('goes by creation time, not by step', () => {
    // A resume from step 500 rewrote 750 after 1000 was made.
    const files = [ckpt(250), ckpt(500), ckpt(750, { ctimeMs: 9e15 }), ckpt(1000)];
    expect(steps(savesDeletedNext(runWith(keepConfig(3), files)))).toEqual([250, 500]);
    const older = [ckpt(250, { ctimeMs: 9e15 }), ckpt(500), ckpt(750)];
    expect(steps(savesDeletedNext(runWith(keepConfig(3), older)))).toEqual([500]);
  });

  it('falls back to the modification time when there is no creation time', () => {
    const files = [ckpt(250, { ctimeMs: null, mtimeMs: 50 }), ckpt(500, { ctimeMs: null, mtimeMs: 10 })];
    expect(steps(savesDeletedNext(runWith(keepConfig(2), files)))).toEqual([500]);
  });

  it('never counts the final save', () => {
    const run = runWith(keepConfig(4), [...saves(250, 500, 750), ckpt(null)]);
    expect(savesDeletedNext(run)).toEqual([]);
    const full = runWith(keepConfig(4), [ckpt(null, { ctimeMs: 0 }), ...saves(250, 500, 750, 1000)]);
    expect(steps(savesDeletedNext(full))).toEqual([250]);
  });

  it("does not count another job's files in the folder", () => {
    const others = [ckpt(100, { name: 'other' }), ckpt(200, { name: 'other' }), ckpt(300, { name: 'job_v2' })];
    expect(savesDeletedNext(runWith(keepConfig(4), [...others, ...saves(250, 500, 750)]))).toEqual([]);
    expect(steps(savesDeletedNext(runWith(keepConfig(4), [...others, ...saves(250, 500, 750, 1000)])))).toEqual([250]);
  });

  it('counts a high/low-noise pair as one save, and deletes both its files', () => {
    const files = [...pair(250), ...pair(500), ...pair(750)];
    expect(savesDeletedNext(runWith(keepConfig(4), files))).toEqual([]);
    const more = [...files, ...pair(1000)];
    const deleted = savesDeletedNext(runWith(keepConfig(4), more));
    expect(steps(deleted)).toEqual([250]);
    expect(deleted[0]!.files.map((f) => f.path)).toEqual([more[0]!.path, more[1]!.path]);
  });

  it('deletes nothing without a limit', () => {
    const many = saves(100, 200, 300, 400, 500, 600, 700);
    expect(savesDeletedNext(runWith(configYaml('train_extra: {}'), many))).toEqual([]);
    expect(savesDeletedNext({ ...runWith(keepConfig(4), many), config: { ...keepConfig(4), maxStepSavesToKeep: 0 } })).toEqual([]);
    expect(savesDeletedNext({ checkpoints: many, config: null, name: 'job' })).toEqual([]);
  });

  it("takes the job name from the config when the log has not named the run", () => {
    const files = [...saves(250, 500, 750, 1000), ckpt(100, { name: 'other' })];
    expect(steps(savesDeletedNext({ checkpoints: files, config: keepConfig(4), name: null }))).toEqual([250]);
    // With no name at all, every step save counts.
    expect(steps(savesDeletedNext({ checkpoints: files, config: { ...keepConfig(4), name: null }, name: null }))).toEqual([100, 250]);
  });

  it("uses the run's name over the config's", () => {
    const files = [...saves(250, 500, 750, 1000)];
    expect(savesDeletedNext({ checkpoints: files, config: keepConfig(4), name: 'renamed' })).toEqual([]);
  });
});

describe('diskOutlook', () => {
  /** A run of `job` at `step` of 1000, saving every 250, with these checkpoints and this much free. */
  function outlookRun(over: Partial<RunState> & { keep?: number | null; free?: number }): RunState {
    const { keep = null, free = 100 * GB, ...rest } = over;
    const config = { ...keepConfig(4), maxStepSavesToKeep: keep };
    return {
      ...runWith(config, rest.checkpoints ?? [ckpt(250)]),
      status: 'training',
      step: 300,
      totalSteps: 1000,
      lastSaveStep: 250,
      disk: { freeBytes: free, totalBytes: 1000 * GB },
      optimizerBytes: null,
      ...rest,
    };
  }

  it('is null without disk figures, a step, a total or any checkpoint of known size', () => {
    expect(diskOutlook(outlookRun({}))).not.toBeNull();
    expect(diskOutlook(outlookRun({ disk: null }))).toBeNull();
    expect(diskOutlook(outlookRun({ step: null }))).toBeNull();
    expect(diskOutlook(outlookRun({ totalSteps: null }))).toBeNull();
    expect(diskOutlook(outlookRun({ checkpoints: [] }))).toBeNull();
    expect(diskOutlook(outlookRun({ checkpoints: [ckpt(250, { bytes: null })] }))).toBeNull();
  });

  it('is null once the run is over', () => {
    for (const status of ['completed', 'stopped', 'failed'] as const) expect(diskOutlook(outlookRun({ status })), status).toBeNull();
    for (const status of ['training', 'saving', 'sampling'] as const) expect(diskOutlook(outlookRun({ status })), status).not.toBeNull();
  });

  it('counts the grid saves still ahead and the final one', () => {
    // At 300 of 1000 with the save at 250 behind: 500, 750 and the final.
    const outlook = diskOutlook(outlookRun({}))!;
    expect(outlook.savesAhead).toBe(3);
    expect(outlook.needBytes).toBe(3 * GB);
    expect(outlook.freeBytes).toBe(100 * GB);
    expect(outlook.fits).toBe(true);
  });

  it('counts the save at the current step until it has begun', () => {
    const checkpoints = [ckpt(250)];
    // At step 500, its save not begun: 500, 750 and the final.
    expect(diskOutlook(outlookRun({ checkpoints, step: 500, lastSaveStep: 250 }))!.savesAhead).toBe(3);
    // Its save begun: 750 and the final.
    expect(diskOutlook(outlookRun({ checkpoints, step: 500, lastSaveStep: 500 }))!.savesAhead).toBe(2);
    // The total step is the final save's, not a grid save.
    expect(diskOutlook(outlookRun({ checkpoints, step: 999, lastSaveStep: 750 }))!.savesAhead).toBe(1);
    // No save yet in this session, at step 0: 250, 500, 750 and the final.
    expect(diskOutlook(outlookRun({ checkpoints, step: 0, lastSaveStep: null }))!.savesAhead).toBe(4);
  });

  it('leaves out the final save once it is written', () => {
    const outlook = diskOutlook(outlookRun({ step: 1000, lastSaveStep: 1000, finalSaved: true, status: 'sampling' }))!;
    expect(outlook.savesAhead).toBe(0);
    expect(outlook.needBytes).toBe(0);
    expect(outlook.fits).toBe(true);
  });

  it('takes each save to be as large as the newest, a pair counting both files', () => {
    const checkpoints = [ckpt(250, { bytes: 1 * GB }), ckpt(500, { bytes: 2 * GB })];
    expect(diskOutlook(outlookRun({ checkpoints, step: 600, lastSaveStep: 500 }))!.needBytes).toBe(2 * 2 * GB);
    const pairs = [...pair(250, { bytes: 3 * GB })];
    expect(diskOutlook(outlookRun({ checkpoints: pairs }))!.needBytes).toBe(3 * 6 * GB);
  });

  it('adds optimizer.pt as a margin', () => {
    expect(diskOutlook(outlookRun({ optimizerBytes: 5 * GB }))!.needBytes).toBe(3 * GB + 5 * GB);
  });

  it('bounds the new files by the keep limit: one more than the limit while a save is written', () => {
    // keep 2, one save on disk, 500, 750 and the final ahead: 500 → 2 saves; 750 written → 3, then 2;
    // the final → 2 step saves + the final. Peak 3 = two more than now.
    const two = diskOutlook(outlookRun({ keep: 2 }))!;
    expect(two.savesAhead).toBe(3);
    expect(two.needBytes).toBe(2 * GB);
    // keep 4 with 4 on disk: every save ahead is written beside 4, then one goes. One more at most.
    const full = diskOutlook(outlookRun({ keep: 4, checkpoints: [ckpt(250), ckpt(500), ckpt(750), ckpt(1000, { name: 'old' }), ckpt(100)], step: 300, lastSaveStep: 250 }))!;
    expect(full.needBytes).toBe(1 * GB);
    // A large limit does not bind.
    expect(diskOutlook(outlookRun({ keep: 10 }))!.needBytes).toBe(3 * GB);
  });

  it('in a short run at the limit, the final save still needs its room', () => {
    // keep 2, two saves, nothing on the grid ahead: only the final, written beside them.
    const outlook = diskOutlook(outlookRun({ keep: 2, checkpoints: [ckpt(500), ckpt(750)], step: 900, lastSaveStep: 750 }))!;
    expect(outlook.savesAhead).toBe(1);
    expect(outlook.needBytes).toBe(1 * GB);
  });

  it('after the limit was lowered, the next save is still written before the extra ones go', () => {
    // keep 4 with 6 saves on disk (the limit lowered on a resume): 500 is written beside the 6, then
    // three go. A disk with less than one save free cannot take it.
    const six = [ckpt(100), ckpt(150), ckpt(200), ckpt(250), ckpt(260), ckpt(270)];
    const outlook = diskOutlook(outlookRun({ keep: 4, checkpoints: six, step: 300, lastSaveStep: 270, free: GB / 2 }))!;
    expect(outlook.savesAhead).toBe(3);
    expect(outlook.needBytes).toBe(1 * GB);
    expect(outlook.fits).toBe(false);
  });

  it('after the limit was lowered, the final save alone still needs its room', () => {
    const six = [ckpt(100), ckpt(150), ckpt(200), ckpt(250), ckpt(260), ckpt(270)];
    const outlook = diskOutlook(outlookRun({ keep: 4, checkpoints: six, step: 900, lastSaveStep: 750, free: GB / 2 }))!;
    expect(outlook.savesAhead).toBe(1);
    expect(outlook.needBytes).toBe(1 * GB);
    expect(outlook.fits).toBe(false);
  });

  it('fits while what is needed is no more than what is free', () => {
    expect(diskOutlook(outlookRun({ free: 3 * GB }))!.fits).toBe(true);
    expect(diskOutlook(outlookRun({ free: 3 * GB - 1 }))!.fits).toBe(false);
    expect(diskOutlook(outlookRun({ free: 4 * GB, optimizerBytes: GB + 1 }))!.fits).toBe(false);
  });

  it('the disk event from the folder watcher feeds it', () => {
    const base = outlookRun({ disk: null });
    expect(diskOutlook(base)).toBeNull();
    const state = reduceRun(base, [{ at: 9, event: { type: 'diskSpace', disk: { freeBytes: 2 * GB, totalBytes: 10 * GB }, optimizerBytes: GB } }]);
    expect(diskOutlook(state)).toEqual({ freeBytes: 2 * GB, savesAhead: 3, needBytes: 4 * GB, fits: false });
  });
});

describe('smoothedLossAt', () => {
  const history = (points: LossPoint[]): LossHistory => ({ ...emptyLossHistory(), points, lastStep: points[points.length - 1]?.step ?? null });
  const points: LossPoint[] = [
    { step: 10, loss: 1, smoothed: 0.9 },
    { step: 20, loss: 1, smoothed: 0.8 },
    { step: 40, loss: 1, smoothed: 0.7 },
  ];

  it('gives the smoothed loss of the nearest point at or before the step', () => {
    const h = history(points);
    expect(smoothedLossAt(h, 10)).toBe(0.9);
    expect(smoothedLossAt(h, 19)).toBe(0.9);
    expect(smoothedLossAt(h, 20)).toBe(0.8);
    expect(smoothedLossAt(h, 39)).toBe(0.8);
    expect(smoothedLossAt(h, 40)).toBe(0.7);
    expect(smoothedLossAt(h, 10_000)).toBe(0.7);
  });

  it('is null before the first point, without points, or for a value that is not finite', () => {
    expect(smoothedLossAt(history(points), 9)).toBeNull();
    expect(smoothedLossAt(history([]), 100)).toBeNull();
    expect(smoothedLossAt(history([{ step: 5, loss: NaN, smoothed: NaN }]), 5)).toBeNull();
  });

  it('agrees with a plain scan on a long history', () => {
    const long: LossPoint[] = [];
    for (let i = 0; i < 1000; i++) long.push({ step: 3 * i + 1, loss: 1, smoothed: i / 1000 });
    const h = history(long);
    for (let step = 0; step < 3010; step += 7) {
      const scan = [...long].reverse().find((p) => p.step <= step);
      expect(smoothedLossAt(h, step), `step ${step}`).toBe(scan ? scan.smoothed : null);
    }
  });
});

describe('--json snapshot checkpoints', () => {
  it('lists each file with its step (null for the final), path and size', () => {
    const files = [ckpt(250, { bytes: 10 }), ckpt(500, { bytes: 20 }), ckpt(null, { bytes: 30 })];
    const state = runWith(keepConfig(4), files);
    const json = jsonSnapshot(state, estimateFinish(state, 3));
    expect(json.checkpoints).toEqual([
      { step: 250, path: '/out/job/job_000000250.safetensors', bytes: 10 },
      { step: 500, path: '/out/job/job_000000500.safetensors', bytes: 20 },
      { step: null, path: '/out/job/job.safetensors', bytes: 30 },
    ]);
  });
});

describe('a checkpoint named by the log and found on disk', () => {
  it('is one checkpoint, though the log names it relative to the trainer and the listing by its full path', () => {
    const listed: CheckpointFile = { step: 250, path: '/home/u/ai-toolkit/output/my_lora/my_lora_000000250.safetensors', bytes: 1000, mtimeMs: 1 };
    let state = reduceRun(initialRunState(), [{ at: 1, event: { type: 'checkpointList', checkpoints: [listed] } }]);
    state = reduceRun(state, [{ at: 2, event: { type: 'checkpointSaved', path: 'output/my_lora/my_lora_000000250.safetensors', step: 250 } }]);
    expect(state.checkpoints).toEqual([listed]);
    // A new one from the log shows at once, before the folder is listed again; its removal takes it away.
    state = reduceRun(state, [{ at: 3, event: { type: 'checkpointSaved', path: 'output/my_lora/my_lora_000000500.safetensors', step: 500 } }]);
    expect(state.checkpoints.map((c) => c.step)).toEqual([250, 500]);
    state = reduceRun(state, [{ at: 4, event: { type: 'saveRemoved', path: 'output/my_lora/my_lora_000000250.safetensors' } }]);
    expect(state.checkpoints.map((c) => c.step)).toEqual([500]);
  });
});
