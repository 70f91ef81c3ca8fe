// Measurement: eta. How close lora-top's ETA comes to the real finish of a run with sampling and
// saving pauses, beside the ETA tqdm prints in that run's own log:
//
//   etaErrorPercent      mean absolute % error of lora-top's ETA (estimateFinish on the live run
//                        state) against the time the run really finished (its final checkpoint and
//                        sample are in the log), sampled every 250 ms from 10 % of the steps on.
//   tqdmEtaErrorPercent  the same for tqdm's printed remaining time, read from the newest training
//                        bar state at the same moments (minus the time since that state was written).
//
// The run: test/sim/trainer.py (the real tqdm), 600 steps at 0.05 s a step, a sample of 3 images
// every 100 steps taking 15 step-times, a save every 100 steps. Goal: lora-top's error at most a
// fifth of tqdm's. One run, not a median (the figures average 100+ samples each).

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const name = 'eta';
export const description = "lora-top's ETA error on a run with sampling and saving pauses, beside tqdm's own ETA";

const STEPS = 600;
const STEP_S = 0.05;

export async function run(ctx) {
  const { watchRun } = await import(join(ctx.root, 'dist/run/watchRun.js'));
  const { estimateFinish } = await import(join(ctx.root, 'dist/state/eta.js'));
  const { followFile } = await import(join(ctx.root, 'dist/sources/fileFollower.js'));
  const { LogReader } = await import(join(ctx.root, 'dist/parse/logReader.js'));

  const dir = mkdtempSync(join(ctx.benchDir, 'tmp', 'eta-'));
  try {
    const folder = join(dir, 'output', 'eta_lora');
    mkdirSync(folder, { recursive: true });
    const config = {
      job: 'extension',
      config: {
        name: 'eta_lora',
        process: [
          {
            type: 'sd_trainer',
            training_folder: join(dir, 'output'),
            network: { type: 'lora', linear: 8, linear_alpha: 8 },
            save: { save_every: 100, max_step_saves_to_keep: 4 },
            train: { steps: STEPS, lr: 1e-4 },
            sample: { sample_every: 100, prompts: ['a', 'b', 'c'], width: 64, height: 64 },
            logging: { log_every: 1, use_ui_logger: false },
          },
        ],
      },
    };
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify(config));
    const logPath = join(folder, 'log.txt');
    const watch = watchRun({ kind: 'folder', folder, logPath }, { notifyMs: 50 });

    // tqdm's own ETA: the newest training bar state and when it arrived.
    const reader = new LogReader();
    let tqdmBar = null;
    const follower = followFile(logPath, {
      onText(text, at) {
        for (const { event } of reader.push(text, at)) {
          if (event.type === 'bar' && 'lr' in event.bar.postfix && event.bar.remainingS !== null) tqdmBar = { remainingS: event.bar.remainingS, at };
        }
      },
    });

    const fd = openSync(logPath, 'a');
    const args = [join(ctx.root, 'test/sim/trainer.py'), 'cfg.json', '--step-time', String(STEP_S), '--sample-time', String((15 * STEP_S) / 3), '--save-time', String(2 * STEP_S), '--load-time', '0.2'];
    const child = spawn('/usr/bin/python3', args, { cwd: dir, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const samples = [];
    // The run's real finish: when its end (final checkpoint and sample) shows in the log, not when
    // the Python process is done tearing down.
    let finishedAt = null;
    const unsubscribe = watch.subscribe((state) => {
      if (finishedAt === null && state.status === 'completed') finishedAt = Date.now();
    });
    const timer = setInterval(() => {
      const state = watch.getState();
      const now = Date.now();
      if (state.step === null || state.step < STEPS / 10 || state.status === 'completed') return;
      const eta = estimateFinish(state, now, 3000).etaSeconds;
      const tqdm = tqdmBar ? Math.max(0, tqdmBar.remainingS - (now - tqdmBar.at) / 1000) : null;
      samples.push({ now, eta, tqdm });
    }, 250);
    const code = await new Promise((resolve) => child.on('exit', resolve));
    clearInterval(timer);
    unsubscribe();
    const end = finishedAt ?? Date.now();
    await follower.close();
    await watch.close();
    if (code !== 0) throw new Error(`the simulated trainer exited ${code}`);

    const error = (pick) => {
      const rows = samples.filter((s) => pick(s) !== null && end - s.now > 0);
      const sum = rows.reduce((acc, s) => acc + Math.abs(pick(s) - (end - s.now) / 1000) / ((end - s.now) / 1000), 0);
      return rows.length ? (100 * sum) / rows.length : null;
    };
    const etaErrorPercent = error((s) => s.eta);
    const tqdmEtaErrorPercent = error((s) => s.tqdm);
    const rows = [
      {
        figure: 'etaErrorPercent (mean |error| vs real end)',
        value: etaErrorPercent,
        unit: '%',
        goal: { op: '<=', target: tqdmEtaErrorPercent === null ? Infinity : Math.round(tqdmEtaErrorPercent / 5 * 10) / 10 },
        baseline: { label: "tqdm's printed ETA", value: tqdmEtaErrorPercent, unit: '%' },
      },
    ];
    const round = (x) => (x === null ? null : Math.round(x * 10) / 10);
    return {
      rows,
      results: { etaErrorPercent: round(etaErrorPercent), tqdmEtaErrorPercent: round(tqdmEtaErrorPercent), etaSamples: samples.length },
      notes: [
        `eta: one simulated run (${STEPS} steps at ${STEP_S} s, 3 sample images every 100 steps = 15 step-times, a save every 100), ${samples.length} samples every 250 ms from step ${STEPS / 10} on; goal: at most a fifth of tqdm's error.`,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
