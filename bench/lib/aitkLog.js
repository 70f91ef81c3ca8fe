// A long ai-toolkit training log, written the way ai-toolkit (HEAD, sd_trainer, FLUX LoRA) and
// tqdm write it when stdout and stderr go to one file (`python run.py cfg >> run.log 2>&1`):
// stdout messages and tqdm's `\r` redraws interleaved, byte for byte, through the project's tqdm
// port (dist/demo/tqdmFormat.js) driven by a fake clock. The structure follows src/demo/demoRun.ts
// and test/sim/trainer.py: start-up block, model load, network, datasets, the training bar with a
// postfix every step, saves and samples every 250 steps (the sample bar sits at tqdm position 1
// under the paused training bar).
//
// The run is trained in sessions of `sessionSteps` steps. Every session but the last is killed
// (nothing more is written; the next session's output follows the unterminated bar line) a few
// steps after its last save; the next one starts again with `Running 1 job`, resumes from that save
// (`#### IMPORTANT RESUMING FROM … ####`, `Found step N in metadata…`, bar `initial=N`). The last
// session trains to `train.steps`, closes the bar, saves the final `<name>.safetensors`, samples.
//
// Pure apart from the import: returns the text and what a correct reading ends with.

import { pyFormatExp, TqdmRegistry, TqdmWriter } from '../../dist/demo/tqdmFormat.js';
import { buildDemoConfig, DEMO_PROMPTS as PROMPTS, DEMO_RESOLUTIONS, DEMO_TRIGGER, gaussian, mulberry32 } from '../../dist/demo/demoConfig.js';

/** Bump when the output changes: cached logs made by another version are made again. */
export const GENERATOR_VERSION = 2;

const NAME = 'flux_lora_p3r5on_v2';
const TRIGGER = DEMO_TRIGGER;
const ROOT = '/workspace/ai-toolkit';
const FOLDER = `${ROOT}/output/${NAME}`;
const DATASET = `${ROOT}/datasets/${TRIGGER}`;
const RESOLUTIONS = DEMO_RESOLUTIONS;
const IMAGES = 24;
const RULE = '#############################################';
const SAVE_EVERY = 250;
const SAMPLE_EVERY = 250;
const KEEP = 4;
const LR = 1e-4;
/** Seconds per training step (FLUX.1-dev LoRA at 1024 on a 24 GB card), jittered ±8 %. */
const STEP_SECONDS = 1.35;
const START_EPOCH_S = 1_754_000_000;

const pad9 = (n) => String(n).padStart(9, '0');

function processConfig(totalSteps) {
  return buildDemoConfig({
    name: NAME,
    trainingFolder: `${ROOT}/output`,
    datasetPath: DATASET,
    steps: totalSteps,
    saveEvery: SAVE_EVERY,
    keep: KEEP,
    sampleEvery: SAMPLE_EVERY,
  }).processConfig;
}

/**
 * Builds the log. `totalSteps` is train.steps; sessions of `sessionSteps` steps run until it is
 * reached or `maxSessions` sessions were written (then the last one is killed too: used to probe
 * the size of a session). Returns { text, sessions, expect }.
 */
export function buildAitkLog({ totalSteps, sessionSteps = 3000, maxSessions = Infinity, seed = 42 }) {
  const parts = [];
  const rand = mulberry32(seed);
  let t = START_EPOCH_S;
  const clock = () => t;
  const after = (seconds) => {
    t += seconds;
  };
  const emit = (s) => parts.push(s);
  const say = (line) => emit(`${line}\n`);
  const config = processConfig(totalSteps);
  const stepSaves = [];
  let lastLoss = null;
  let lastResume = null;
  let sessions = 0;
  let completed = false;

  for (let start = 0; start < totalSteps && sessions < maxSessions; start += sessionSteps) {
    sessions += 1;
    const registry = new TqdmRegistry(); // a new process: no bars alive
    const bar = (o) => new TqdmWriter({ ascii: false, ...o, time: clock, write: emit, registry });
    /** `for x in tqdm(range(count), ...)` where each item takes `each` seconds. */
    const iterate = (count, each, o, body) => {
      const b = bar({ total: count, ...o });
      for (let i = 0; i < count; i++) {
        after(each * (0.95 + 0.1 * rand()));
        body?.(i);
        b.update(1);
      }
      b.close();
    };
    const sample = () => {
      iterate(PROMPTS.length, 22, { desc: 'Generating Images', leave: false });
      say('');
    };
    const save = (step) => {
      after(2.4);
      const file = step === null ? `${FOLDER}/${NAME}.safetensors` : `${FOLDER}/${NAME}_${pad9(step)}.safetensors`;
      say(`Saved checkpoint to ${file}`);
      after(0.6);
      say(`Saved optimizer to ${FOLDER}/optimizer.pt`);
      if (step !== null) stepSaves.push(file);
      while (stepSaves.length > KEEP) say(`Removing old save: ${stepSaves.shift()}`);
      return file;
    };

    const last = start + sessionSteps >= totalSteps;
    const killed = !last || sessions === maxSessions;
    const end = last ? totalSteps : start + sessionSteps + 1 + Math.floor(rand() * (SAVE_EVERY - 10));

    // ---- run.py / job start
    say('Running 1 job');
    say(JSON.stringify(config, null, 4));
    say('');
    say(RULE);
    say(`# Running job: ${NAME}`);
    say(RULE);
    say('');
    say('');
    say('Running  1 process');

    // ---- model load
    after(2);
    say('Loading Flux model');
    say('Loading transformer');
    after(3);
    iterate(3, 12, { desc: 'Loading checkpoint shards' });
    say('Quantizing transformer');
    after(60);
    say('Loading VAE');
    after(4);
    say('Loading T5');
    after(3);
    iterate(2, 10, { desc: 'Loading checkpoint shards' });
    say('Quantizing T5');
    after(25);
    say('Loading CLIP');
    after(4);
    say('Making pipe');
    after(2);
    say('Preparing Model');
    after(10);

    // ---- network
    say('create LoRA network. base dim (rank): 16, alpha: 16');
    say('neuron dropout: p=None, rank dropout: p=None, module dropout: p=None');
    after(1);
    say('create LoRA for Text Encoder: 0 modules.');
    say('create LoRA for U-Net: 494 modules.');
    after(1);
    say('enable LoRA for U-Net');
    after(2);

    // ---- resume_if_possible, load_optimizer
    if (start > 0) {
      const from = `${FOLDER}/${NAME}_${pad9(start)}.safetensors`;
      say(`#### IMPORTANT RESUMING FROM ${from} ####`);
      say(`Loading from ${from}`);
      after(1);
      say(`Found step ${start} in metadata, starting from there`);
      say(`Loading optimizer state from ${FOLDER}/optimizer.pt`);
      after(2);
      say('Updating optimizer LR from params');
      lastResume = { path: from, step: start };
    }

    // ---- datasets: one per resolution (latents already on disk after the first session)
    for (const [i, res] of RESOLUTIONS.entries()) {
      say(`Dataset: ${DATASET}`);
      say('  -  Preprocessing image dimensions');
      iterate(IMAGES, i === 0 ? 0.25 : 0.01, {});
      say(`  -  Found ${IMAGES} images`);
      say(`Bucket sizes for ${DATASET}:`);
      say(`${res}x${res}: ${IMAGES / 2} files`);
      say(`${Math.round(res * 0.875)}x${Math.round(res * 1.125)}: ${IMAGES / 4} files`);
      say(`${Math.round(res * 1.125)}x${Math.round(res * 0.875)}: ${IMAGES / 4} files`);
      say('3 buckets made');
      after(1);
      say(`Caching latents for ${DATASET}`);
      say(' - Saving latents to disk');
      iterate(IMAGES, start === 0 ? (res / 1024) ** 2 * 1.6 : 0.02, { desc: 'Caching latents to disk' });
      after(0.5);
    }

    // ---- before the loop
    after(5);
    if (start <= 1) {
      say('Generating baseline samples before training');
      sample();
    }
    const train = bar({ total: totalSteps, desc: NAME, leave: true, initial: start, smoothing: 0.7 });
    train.pause();
    after(2);

    // ---- the loop (HEAD: postfix, save, then sample, then update(step + 1 - n))
    for (let step = start; step < end; step++) {
      train.unpause();
      after(STEP_SECONDS * (step === start ? 3 : 0.92 + 0.16 * rand()));
      const progress = step / totalSteps;
      const base = 0.16 + 0.24 * Math.exp(-4 * progress);
      const spike = rand() < 0.02 ? 2.5 : 1;
      const loss = pyFormatExp(base * Math.exp(0.35 * gaussian(rand)) * spike, 3);
      train.setPostfixStr(`lr: ${pyFormatExp(LR, 1)} loss: ${loss}`);
      lastLoss = loss;
      if (step !== start && step % SAVE_EVERY === 0) {
        train.pause();
        say(`\nSaving at step ${step}`);
        save(step);
        train.unpause();
      }
      if (step !== start && step % SAMPLE_EVERY === 0) {
        train.pause();
        sample();
        train.unpause();
      }
      train.update(step + 1 - train.n);
    }

    if (killed) {
      // SIGKILL: the bar line stays unterminated; a restart a few minutes later appends to it
      after(300);
      continue;
    }
    // ---- end of training
    after(0.2);
    train.close();
    save(null);
    sample();
    say('');
    completed = true;
  }

  const done = completed;
  return {
    text: parts.join(''),
    sessions,
    expect: {
      name: NAME,
      status: done ? 'completed' : 'training',
      step: done ? totalSteps : null,
      totalSteps,
      loss: lastLoss === null ? null : Number(lastLoss),
      lr: LR,
      resume: lastResume,
      lastCheckpoint: done ? { step: null, path: `${FOLDER}/${NAME}.safetensors` } : null,
      error: null,
    },
  };
}
