// Runs test/sim/trainer.py (the simulated ai-toolkit trainer) and checks that
// what it writes looks like a real ai-toolkit run: one log file holding stdout
// and stderr together (as the UI captures it), checkpoints, samples, loss_log.db
// and the UI's Job table.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PYTHON = '/usr/bin/python3';
const TRAINER = fileURLToPath(new URL('../sim/trainer.py', import.meta.url));
const NAME = 'sim_lora';
const RULE = '========================================';

const hasPython =
  fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import tqdm, PIL'], { stdio: 'ignore' }).status === 0;

// A state of the training bar: desc, pct, bar, n/total, [elapsed<eta, rate, postfix]
const BAR_STATE = new RegExp(
  `\\r${NAME}:\\s+(\\d+)%\\|[^|]*\\|\\s*(\\d+)/(\\d+) \\[[\\d:]+<[\\d:?]+,\\s*[\\d.?]+(?:it/s|s/it)(?:, ([^\\]]*))?\\]`,
  'g',
);

interface Run {
  child: ChildProcess;
  logPath: string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

interface JobOptions {
  steps?: number;
  saveEvery?: number;
  keep?: number;
  sampleEvery?: number;
  prompts?: string[];
  type?: string;
  skipFirstSample?: boolean;
}

let root: string;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-sim-'));
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function makeDir(label: string): string {
  return fs.mkdtempSync(path.join(root, `${label}-`));
}

function writeConfig(dir: string, opts: JobOptions = {}): string {
  const config = {
    job: 'extension',
    config: {
      name: NAME,
      process: [
        {
          type: opts.type ?? 'sd_trainer',
          training_folder: path.join(dir, 'output'),
          trigger_word: 'p3rs0n',
          network: { type: 'lora', linear: 16, linear_alpha: 16 },
          save: { save_every: opts.saveEvery ?? 10, max_step_saves_to_keep: opts.keep ?? 4 },
          train: { steps: opts.steps ?? 30, lr: 1e-4, batch_size: 1, skip_first_sample: opts.skipFirstSample ?? false },
          sample: {
            sample_every: opts.sampleEvery ?? 10,
            prompts: opts.prompts ?? ['a photo of p3rs0n', 'p3rs0n on a beach'],
            width: 64,
            height: 64,
          },
          logging: { log_every: 1, use_ui_logger: true },
        },
      ],
    },
    meta: { name: '[name]', version: '1.0' },
  };
  const file = path.join(dir, 'job.json');
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

const FAST = ['--step-time', '0.01', '--sample-time', '0.005', '--save-time', '0', '--load-time', '0.05'];

function startSim(dir: string, args: string[], extraEnv: Record<string, string> = {}): Run {
  const logPath = path.join(dir, 'log.txt');
  // like the UI: one fd, opened in append mode, for both stdout and stderr
  const fd = fs.openSync(logPath, 'a');
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1', ...extraEnv };
  for (const key of ['COLUMNS', 'LINES', 'IS_AI_TOOLKIT_UI']) delete env[key];
  if (!('AITK_JOB_ID' in extraEnv)) delete env.AITK_JOB_ID;
  const child = spawn(PYTHON, [TRAINER, ...args], { cwd: dir, env, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, logPath, done };
}

async function runSim(dir: string, args: string[], extraEnv: Record<string, string> = {}) {
  const run = startSim(dir, args, extraEnv);
  const result = await run.done;
  return { ...result, logPath: run.logPath, log: fs.readFileSync(run.logPath, 'utf8') };
}

/** Polls the log until `pattern` shows up; no fixed sleeps. */
async function waitForLog(logPath: string, pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '';
    const match = text.match(pattern);
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in log:\n${text.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function barStates(log: string) {
  return [...log.matchAll(BAR_STATE)].map((m) => ({
    pct: Number(m[1]),
    n: Number(m[2]),
    total: Number(m[3]),
    postfix: m[4] ?? '',
  }));
}

function safetensorsMetadata(file: string): Record<string, string> {
  const buf = fs.readFileSync(file);
  const headerLength = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  // every tensor's data must fit in the file
  let end = 0;
  for (const [key, value] of Object.entries(header)) {
    if (key === '__metadata__') continue;
    const offsets = (value as { data_offsets: [number, number] }).data_offsets;
    end = Math.max(end, offsets[1]);
  }
  expect(8 + headerLength + end).toBe(buf.length);
  return header.__metadata__ as Record<string, string>;
}

function checkpointStep(file: string): number {
  const info = JSON.parse(safetensorsMetadata(file).training_info ?? '{}') as { step: number };
  return info.step;
}

function indexOrFail(log: string, text: string, from = 0): number {
  const i = log.indexOf(text, from);
  if (i < 0) throw new Error(`missing in log: ${JSON.stringify(text)}`);
  return i;
}

describe.skipIf(!hasPython)('simulated ai-toolkit trainer', () => {
  it('runs a job: bar states, saves, samples, checkpoints, loss_log.db, config.yaml', async () => {
    const dir = makeDir('full');
    const cfg = writeConfig(dir, { steps: 30, saveEvery: 10, keep: 1, sampleEvery: 10 });
    const { code, log } = await runSim(dir, [cfg, ...FAST, '--oom-skip-at', '3']);
    expect(code).toBe(0);
    const out = path.join(dir, 'output', NAME);

    // start-up messages, in order
    let at = 0;
    for (const line of [
      'Running 1 job\n',
      '{\n    "type": "sd_trainer",\n',
      '\n#############################################\n# Running job: sim_lora\n#############################################\n',
      'Running  1 process\n',
      'Loading Flux model\n',
      'Loading transformer\n',
      'Quantizing transformer\n',
      'Loading T5\n',
      'Loading VAE\n',
      'Making pipe\n',
      'Preparing Model\n',
      'Model Loaded\n',
      'create LoRA network. base dim (rank): 16, alpha: 16\n',
      'enable LoRA for U-Net\n',
      'Dataset: datasets/p3rs0n\n',
      '  -  Preprocessing image dimensions\n',
      '  -  Found 10 images\n',
      '512x512: 10 files\n1 buckets made\n',
      ' - Saving latents to disk\n\rCaching latents to disk:',
      'Generating baseline samples before training\n\rGenerating Images:',
      `\r${NAME}:   0%|          | 0/30 [00:00<?, ?it/s]`,
    ]) {
      at = indexOrFail(log, line, at) + line.length;
    }

    // training bar: \r-separated states with the lr/loss postfix, ending at 30/30
    const states = barStates(log);
    expect(states.length).toBeGreaterThan(5);
    expect(states.every((s) => s.total === 30)).toBe(true);
    expect(states.filter((s) => /^lr: 1\.0e-04 loss: \d\.\d{3}e[-+]\d\d$/.test(s.postfix)).length).toBeGreaterThan(5);
    expect(states.at(-1)?.n).toBe(30);
    expect(states.at(-1)?.pct).toBe(100);
    // HEAD semantics: the bar shows the completed count, so 10/30 is drawn before "Saving at step 10"
    const save10 = indexOrFail(log, '\nSaving at step 10\n');
    const before = barStates(log.slice(0, save10));
    expect(before.at(-1)?.n).toBe(10);

    // OOM skip banner
    expect(log).toContain(
      '\n################################################\n# OOM during training step, skipping batch 1/3 #\n################################################\n\n',
    );

    // save messages, in order; keep=1 removes the step-10 checkpoint
    at = save10;
    for (const line of [
      `Saved checkpoint to ${out}/${NAME}_000000010.safetensors\n`,
      `Saved optimizer to ${out}/optimizer.pt\n`,
      '\nSaving at step 20\n',
      `Saved checkpoint to ${out}/${NAME}_000000020.safetensors\n`,
      `Removing old save: ${out}/${NAME}_000000010.safetensors\n`,
      `Saved checkpoint to ${out}/${NAME}.safetensors\n`,
    ]) {
      at = indexOrFail(log, line, at) + line.length;
    }
    expect(log).not.toContain('Result:');
    expect(log).not.toContain('Sampling at step');

    // checkpoints
    expect(fs.existsSync(path.join(out, `${NAME}_000000010.safetensors`))).toBe(false);
    expect(checkpointStep(path.join(out, `${NAME}_000000020.safetensors`))).toBe(20);
    expect(checkpointStep(path.join(out, `${NAME}.safetensors`))).toBe(30);
    expect(fs.existsSync(path.join(out, 'optimizer.pt'))).toBe(true);

    // samples: <unix-ms>__<step:09d>_<i>.jpg, real JPEGs
    const samples = fs.readdirSync(path.join(out, 'samples')).filter((f) => f.endsWith('.jpg')).sort();
    const names = samples.map((f) => f.match(/^(\d{13})__(\d{9})_(\d+)\.jpg$/));
    expect(names.every((m) => m !== null)).toBe(true);
    expect(names.map((m) => `${Number(m![2])}_${m![3]}`).sort()).toEqual(
      ['0_0', '0_1', '10_0', '10_1', '20_0', '20_1', '30_0', '30_1'].sort(),
    );
    for (const f of samples) {
      const head = fs.readFileSync(path.join(out, 'samples', f)).subarray(0, 3);
      expect([...head]).toEqual([0xff, 0xd8, 0xff]);
    }

    // loss_log.db: step = 0-based loop index, step 0 not logged, OOM step has lr 0 and no loss
    const db = new Database(path.join(out, 'loss_log.db'), { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const range = db.prepare('SELECT COUNT(*) AS n, MIN(step) AS lo, MAX(step) AS hi FROM steps').get() as {
        n: number;
        lo: number;
        hi: number;
      };
      expect(range).toEqual({ n: 29, lo: 1, hi: 29 });
      const keys = db.prepare('SELECT key, first_seen_step, last_seen_step FROM metric_keys ORDER BY key').all();
      expect(keys).toEqual([
        { key: 'learning_rate', first_seen_step: 1, last_seen_step: 29 },
        { key: 'loss/loss', first_seen_step: 1, last_seen_step: 29 },
      ]);
      const losses = db
        .prepare("SELECT step, value_real FROM metrics WHERE key = 'loss/loss' ORDER BY step")
        .all() as { step: number; value_real: number }[];
      expect(losses.map((r) => r.step)).not.toContain(3);
      expect(losses).toHaveLength(28);
      expect(losses.every((r) => r.value_real > 0 && r.value_real < 2)).toBe(true);
      const lr3 = db.prepare("SELECT value_real FROM metrics WHERE step = 3 AND key = 'learning_rate'").get() as {
        value_real: number;
      };
      expect(lr3.value_real).toBe(0);
      // the loss goes down: the mean of the last third is below that of the first third
      const mean = (rows: { value_real: number }[]) => rows.reduce((a, r) => a + r.value_real, 0) / rows.length;
      expect(mean(losses.slice(-9))).toBeLessThan(mean(losses.slice(0, 9)));
      // the bar's last postfix loss is the logged loss of step 29
      const last = losses.at(-1)!;
      expect(states.at(-1)?.postfix).toBe(`lr: 1.0e-04 loss: ${last.value_real.toExponential(3).replace(/e([-+])(\d)$/, 'e$10$2')}`);
    } finally {
      db.close();
    }

    // config.yaml: valid YAML holding the raw config
    const yaml = parseYaml(fs.readFileSync(path.join(out, 'config.yaml'), 'utf8')) as {
      job: string;
      config: { name: string; process: { train: { steps: number; lr: number }; sample: { prompts: string[] } }[] };
      meta: { version: string };
    };
    expect(yaml.job).toBe('extension');
    expect(yaml.config.name).toBe(NAME);
    expect(yaml.config.process[0]?.train).toMatchObject({ steps: 30, lr: 1e-4 });
    expect(yaml.config.process[0]?.sample.prompts).toEqual(['a photo of p3rs0n', 'p3rs0n on a beach']);
    expect(yaml.meta.version).toBe('1.0');
  });

  it('stops on SIGINT like HEAD: Job stopped block, exit 0, no checkpoint', async () => {
    const dir = makeDir('sigint');
    const cfg = writeConfig(dir, { steps: 5000, saveEvery: 4000, sampleEvery: 4000, skipFirstSample: true });
    const run = startSim(dir, [cfg, ...FAST]);
    await waitForLog(run.logPath, new RegExp(`\\r${NAME}:[^\\r\\n]*lr: 1\\.0e-04 loss:`));
    run.child.kill('SIGINT');
    const { code, signal } = await run.done;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    const log = fs.readFileSync(run.logPath, 'utf8');
    expect(log).toContain('Skipping first sample due to config setting\n');
    const block = `\n${RULE}\nJob stopped\n${RULE}\n`;
    const end = indexOrFail(log, block) + block.length;
    // the trainer does not close the bar; only tqdm's finalizer may redraw it once at exit
    expect(log.slice(end)).toMatch(new RegExp(`^(\\r${NAME}:[^\\r\\n]*\\n)?$`));
    expect(log).not.toContain('Result:');
    expect(log).not.toContain('Traceback');
    const out = path.join(dir, 'output', NAME);
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.safetensors'))).toEqual([]);
  });

  it('fails on CUDA OOM like run.py: error line, Result block, traceback, exit 1', async () => {
    const dir = makeDir('oom');
    const cfg = writeConfig(dir, { steps: 30, skipFirstSample: true });
    const { code, log } = await runSim(dir, [cfg, ...FAST, '--oom-at', '5']);
    expect(code).toBe(1);
    const err = indexOrFail(log, 'Error running job: CUDA out of memory. Tried to allocate 2.00 GiB');
    // printed while the bar is on screen, so it is glued to a bar state
    expect(log.slice(0, err)).toMatch(new RegExp(`\\r${NAME}:[^\\r\\n]*\\]$`));
    const result = indexOrFail(log, `\n\n${RULE}\nResult:\n - 0 completed jobs\n - 1 failure\n${RULE}\n`, err);
    const tb = indexOrFail(log, 'Traceback (most recent call last):\n', result);
    indexOrFail(log, 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB', tb);
  });

  it('resumes from the latest checkpoint with initial=N and prunes loss_log.db', async () => {
    const dir = makeDir('resume');
    const cfg = writeConfig(dir, { steps: 20, saveEvery: 10, sampleEvery: 10, prompts: ['p3rs0n'] });
    const out = path.join(dir, 'output', NAME);
    const ckpt = path.join(out, `${NAME}_000000010.safetensors`);
    const loggedSteps = () => {
      const db = new Database(path.join(out, 'loss_log.db'), { readonly: true });
      try {
        return (db.prepare('SELECT step FROM steps ORDER BY step').all() as { step: number }[]).map((r) => r.step);
      } finally {
        db.close();
      }
    };

    // session 1: saves at 10, crashes at 19 (slow enough steps that rows past 11 get flushed)
    const first = await runSim(dir, [cfg, ...FAST, '--step-time', '0.04', '--crash-at', '19']);
    expect(first.code).toBe(1);
    expect(first.log).toContain('Error running job: Expected all tensors to be on the same device');
    expect(checkpointStep(ckpt)).toBe(10);
    expect(Math.max(...loggedSteps())).toBeGreaterThan(11);
    fs.renameSync(first.logPath, path.join(dir, 'log_0.txt'));

    // session 2: resumes at 10, logs step 11 (its first commit prunes steps > 11), crashes at 12
    const second = await runSim(dir, [cfg, ...FAST, '--crash-at', '12']);
    expect(second.code).toBe(1);
    expect(Math.max(...loggedSteps())).toBeLessThanOrEqual(11);
    fs.renameSync(second.logPath, path.join(dir, 'log_1.txt'));

    // session 3: resumes at 10 again and finishes
    const third = await runSim(dir, [cfg, ...FAST, '--resume']);
    expect(third.code).toBe(0);
    let at = 0;
    for (const line of [
      `#### IMPORTANT RESUMING FROM ${ckpt} ####\n`,
      `Loading from ${ckpt}\n`,
      'Found step 10 in metadata, starting from there\n',
      `Loading optimizer state from ${out}/optimizer.pt\n`,
      'Dataset: ',
    ]) {
      at = indexOrFail(third.log, line, at) + line.length;
    }
    expect(third.log).not.toContain('Generating baseline samples');
    expect(third.log).not.toContain('Skipping first sample');
    const states = barStates(third.log);
    expect(states[0]).toMatchObject({ n: 10, total: 20, pct: 50, postfix: '' });
    expect(third.log).toMatch(new RegExp(`\\r${NAME}:  50%\\|[^|]*\\| 10/20 \\[00:00<\\?, \\?it/s\\]`));
    expect(states.at(-1)?.n).toBe(20);
    expect(checkpointStep(path.join(out, `${NAME}.safetensors`))).toBe(20);

    // rows 1..10 (what session 1 flushed) plus 11..19 from session 3
    const steps = loggedSteps();
    expect(steps.filter((s) => s > 10)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(steps.filter((s) => s <= 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('acts on the UI Job table: save_now, status/step/pid, stop flag', async () => {
    const dir = makeDir('ui');
    const dbPath = path.join(dir, 'aitk_db.db');
    const jobId = '6f1c2a7e-3b7d-4d0e-9a53-0c6a1f0b9e42';
    const ui = new Database(dbPath);
    try {
      ui.exec(`CREATE TABLE Job (
        id TEXT PRIMARY KEY, name TEXT UNIQUE, gpu_ids TEXT, job_config TEXT,
        status TEXT NOT NULL DEFAULT 'stopped', stop INTEGER NOT NULL DEFAULT 0,
        return_to_queue INTEGER NOT NULL DEFAULT 0, step INTEGER NOT NULL DEFAULT 0, total_steps INTEGER,
        info TEXT NOT NULL DEFAULT '', speed_string TEXT NOT NULL DEFAULT '', pid INTEGER,
        save_now INTEGER NOT NULL DEFAULT 0, sample_now INTEGER NOT NULL DEFAULT 0)`);
      ui.prepare("INSERT INTO Job (id, name, status) VALUES (?, ?, 'queued')").run(jobId, NAME);
      const cfg = writeConfig(dir, {
        type: 'diffusion_trainer',
        steps: 5000,
        saveEvery: 4000,
        sampleEvery: 4000,
        skipFirstSample: true,
      });
      const run = startSim(dir, [cfg, ...FAST, '--db', dbPath], { AITK_JOB_ID: jobId });
      const job = ui.prepare('SELECT status, info, step, pid, save_now, stop FROM Job WHERE id = ?');
      type Row = { status: string; info: string; step: number; pid: number; save_now: number; stop: number };

      await waitForLog(run.logPath, new RegExp(`\\r${NAME}:[^\\r\\n]*lr: 1\\.0e-04 loss:`));
      const log0 = fs.readFileSync(run.logPath, 'utf8');
      expect(log0).toContain(`Using SQLite database at ${dbPath}\nJob ID: "${jobId}"\n`);
      let row = job.get(jobId) as Row;
      expect(row.status).toBe('running');
      expect(row.pid).toBe(run.child.pid);

      ui.prepare('UPDATE Job SET save_now = 1 WHERE id = ?').run(jobId);
      const saved = await waitForLog(run.logPath, /\nSaving at step (\d+)\nSaved checkpoint to (.*)\n/);
      const savedStep = Number(saved[1]);
      expect(saved[2]).toBe(path.join(dir, 'output', NAME, `${NAME}_${String(savedStep).padStart(9, '0')}.safetensors`));
      expect(checkpointStep(saved[2]!)).toBe(savedStep);
      row = await waitFor(() => {
        const r = job.get(jobId) as Row;
        return r.info === 'Training' && r.step > savedStep ? r : undefined;
      }, 'training to go on after save_now');
      expect(row.save_now).toBe(0);

      ui.prepare('UPDATE Job SET stop = 1 WHERE id = ?').run(jobId);
      const { code } = await run.done;
      expect(code).toBe(1);
      const log = fs.readFileSync(run.logPath, 'utf8');
      const err = indexOrFail(log, 'Error running job: Job stopped\n');
      indexOrFail(log, `${RULE}\nResult:\n - 0 completed jobs\n - 1 failure\n${RULE}\n`, err);
      indexOrFail(log, 'Exception: Job stopped\n', err);
      row = job.get(jobId) as Row;
      expect(row).toMatchObject({ status: 'stopped', info: 'Job stopped', step: savedStep });
    } finally {
      ui.close();
    }
  });
});
