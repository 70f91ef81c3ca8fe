// A simulated ai-toolkit LoRA run (FLUX.1-dev, sd_trainer, HEAD semantics) for
// `lora-top --demo` and for tests. It writes, over compressed time, what a real
// run writes into `<training_folder>/<name>/`: config.yaml, one log.txt holding
// stdout messages and tqdm's stderr redraws on one fd (as the UI launches jobs),
// step checkpoints with keep-count removal, optimizer.pt, and sample JPEGs.
//
// Timing: everything is scheduled on a virtual timeline measured in step-times
// (1 / stepsPerSecond). One timer at a time wakes up at most every `tickMs`,
// runs every event that is due (bars see the event's scheduled time, not the
// tick's), and writes the batch to log.txt in one write.

import { mkdir, open, readdir, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { stringify as yamlStringify } from 'yaml';
import { pyFormatExp, TqdmRegistry, TqdmWriter, type TqdmWriterOptions } from './tqdmFormat.js';
import { buildDemoConfig as buildConfig, DEMO_PROMPTS as PROMPTS, DEMO_RESOLUTIONS as RESOLUTIONS, DEMO_TRIGGER as TRIGGER, gaussian, mulberry32 } from './demoConfig.js';

export interface DemoRunOptions {
  /** Working directory: the run goes to `<dir>/output/<name>/`. */
  dir: string;
  /** train.steps (default 3000). */
  totalSteps?: number;
  /** Training speed (default 25: 3000 steps in about two minutes). Everything else scales with it. */
  stepsPerSecond?: number;
  /** Seeds the loss curve and step-time jitter (default 42). */
  seed?: number;
  /** ASCII bars (`#` and digits), as in `run.py --log` logs; default unicode blocks. */
  ascii?: boolean;
  /** Wall clock in ms (default Date.now); paces the run and stamps sample names. */
  now?: () => number;
  /** config.name (default `demo_flux_lora`). */
  name?: string;
  /** save.save_every (default 250). */
  saveEvery?: number;
  /** sample.sample_every (default 250). */
  sampleEvery?: number;
  /** save.max_step_saves_to_keep (default 4). */
  maxStepSavesToKeep?: number;
  /** Longest gap between batched log writes, in ms (default 50). */
  tickMs?: number;
}

export interface DemoRun {
  /** `<dir>/output/<name>` */
  folder: string;
  /** `<folder>/log.txt` */
  logPath: string;
  /** Resolves when the run has finished (or was stopped); rejects on an I/O error. */
  done: Promise<void>;
  /** Ends the run early, like a killed process: the log simply stops. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_NAME = 'demo_flux_lora';
const IMAGES_PER_DATASET = 12;
const SAMPLE_SIZE = 256;
const RULE = '#############################################';

// ---------------------------------------------------------------------------
// small deterministic helpers
// ---------------------------------------------------------------------------

const pad9 = (n: number): string => String(n).padStart(9, '0');

/** Python's `json.dumps(value)` layout (", " and ": " separators) for plain JSON values. */
function pyJsonDumps(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pyJsonDumps(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

class Stopped extends Error {
  constructor() {
    super('demo run stopped');
  }
}

// ---------------------------------------------------------------------------
// config
// ---------------------------------------------------------------------------


// ---------------------------------------------------------------------------
// files a run leaves behind
// ---------------------------------------------------------------------------

/** float -> IEEE half bits (round to nearest, enough for small weights). */
function toHalf(x: number): number {
  const sign = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a < 6.1e-5) return sign; // flush tiny values to zero
  let e = Math.floor(Math.log2(a));
  let m = Math.round((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e += 1;
  }
  return sign | (Math.min(e + 15, 30) << 10) | m;
}

/** A small but valid .safetensors file: 8-byte header length, JSON header, F16 data. */
function safetensorsBytes(metadata: Record<string, string>, rand: () => number): Buffer {
  const modules = ['transformer.single_transformer_blocks.0.attn.to_k', 'transformer.transformer_blocks.0.attn.to_q'];
  const tensors: { name: string; shape: [number, number]; data: Buffer }[] = [];
  for (const mod of modules) {
    for (const [part, shape] of [['lora_A', [16, 64]], ['lora_B', [64, 16]]] as const) {
      const count = shape[0] * shape[1];
      const data = Buffer.alloc(count * 2);
      const scale = part === 'lora_A' ? 0.02 : 0.002;
      for (let i = 0; i < count; i++) data.writeUInt16LE(toHalf(gaussian(rand) * scale), i * 2);
      tensors.push({ name: `${mod}.${part}.weight`, shape: [shape[0], shape[1]], data });
    }
  }
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F16', shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, 'utf8'), ...tensors.map((t) => t.data)]);
}

/** A tiny torch.save-style zip (stored entries) standing in for optimizer.pt. */
function optimizerBytes(): Buffer {
  const entries: [string, Buffer][] = [
    ['optimizer/data.pkl', Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e])], // pickle of {}
    ['optimizer/byteorder', Buffer.from('little')],
    ['optimizer/version', Buffer.from('3\n')],
  ];
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBuf = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, data);
    centrals.push(central, nameBuf);
    offset += 30 + nameBuf.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

function hsl(h: number, s: number, l: number): [number, number, number] {
  const f = (n: number): number => {
    const k = (n + h * 12) % 12;
    const a = s * Math.min(l, 1 - l);
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** Raw RGB for a sample: a gradient and a shape per prompt that sharpen and drift as training goes on. */
function renderSample(prompt: number, step: number, total: number): Buffer {
  const W = SAMPLE_SIZE;
  const H = SAMPLE_SIZE;
  const p = total > 0 ? Math.min(1, step / total) : 1;
  const buf = Buffer.alloc(W * H * 3);
  const hue = (prompt * 0.31 + p * 0.35) % 1;
  const top = hsl(hue, 0.55, 0.2 + 0.15 * p);
  const bottom = hsl((hue + 0.45) % 1, 0.6, 0.55);
  const fg = hsl((hue + 0.15) % 1, 0.85, 0.6);
  const cx = W * (0.3 + 0.4 * p);
  const cy = H * (0.55 - 0.15 * Math.sin(p * Math.PI * 2 + prompt));
  const radius = 30 + 60 * p;
  const noise = 110 * (1 - p) ** 2 + 6;
  const rand = mulberry32(step * 7919 + prompt * 104729 + 1);
  for (let y = 0; y < H; y++) {
    const v = y / (H - 1);
    for (let x = 0; x < W; x++) {
      const dx = x - cx;
      const dy = y - cy;
      let inside: boolean;
      if (prompt % 3 === 0) inside = dx * dx + dy * dy < radius * radius;
      else if (prompt % 3 === 1) inside = Math.abs(dx) < radius * 0.8 && Math.abs(dy) < radius * 0.8;
      else {
        const d = Math.sqrt(dx * dx + dy * dy);
        inside = d < radius && d > radius * 0.6;
      }
      const o = (y * W + x) * 3;
      for (let c = 0; c < 3; c++) {
        const base = inside ? fg[c]! : top[c]! * (1 - v) + bottom[c]! * v;
        buf[o + c] = Math.max(0, Math.min(255, Math.round(base + (rand() - 0.5) * noise)));
      }
    }
  }
  return buf;
}

type SharpModule = typeof import('sharp');
let sharpModule: Promise<SharpModule> | undefined;
function loadSharp(): Promise<SharpModule> {
  sharpModule ??= import('sharp').then((m) => ((m as unknown as { default?: SharpModule }).default ?? m) as SharpModule);
  return sharpModule;
}

// ---------------------------------------------------------------------------
// the timeline runner
// ---------------------------------------------------------------------------

class Timeline {
  /** Virtual seconds since the start. */
  v = 0;
  stopped = false;
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly t0: number;

  constructor(
    private readonly now: () => number,
    private readonly tickMs: number,
    private readonly log: FileHandle,
  ) {
    this.t0 = now();
  }

  /** Epoch seconds at the current virtual time (what tqdm's `time()` returns). */
  clock = (): number => this.t0 / 1000 + this.v;

  /** Epoch ms at the current virtual time (sample file names). */
  epochMs(): number {
    return Math.floor(this.t0 + this.v * 1000);
  }

  emit(s: string): void {
    this.pending.push(s);
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    await this.log.write(text);
  }

  /** Advance the virtual clock to t seconds, waiting for the wall clock to get there. */
  async at(t: number): Promise<void> {
    if (this.stopped) throw new Stopped();
    for (;;) {
      const lag = t - (this.now() - this.t0) / 1000;
      if (lag <= 0) break;
      await this.flush();
      if (this.stopped) throw new Stopped();
      await new Promise<void>((resolveWait) => {
        this.wake = resolveWait;
        this.timer = setTimeout(resolveWait, Math.max(this.tickMs, Math.ceil(lag * 1000)));
      });
      this.timer = undefined;
      this.wake = undefined;
      if (this.stopped) throw new Stopped();
    }
    if (t > this.v) this.v = t;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.wake?.();
  }
}

// ---------------------------------------------------------------------------
// the run
// ---------------------------------------------------------------------------

interface RunPlan {
  name: string;
  folder: string;
  steps: number;
  saveEvery: number;
  sampleEvery: number;
  keep: number;
  ascii: boolean;
  seed: number;
  datasetPath: string;
  processConfig: unknown;
}

async function simulate(tl: Timeline, plan: RunPlan, T: number): Promise<void> {
  const registry = new TqdmRegistry();
  const rand = mulberry32(plan.seed);
  let t = 0;
  const after = (stepTimes: number): Promise<void> => tl.at((t += stepTimes * T));
  const say = (line: string): void => tl.emit(`${line}\n`);
  const bar = (o: Partial<TqdmWriterOptions>): TqdmWriter =>
    new TqdmWriter({ ascii: plan.ascii, ...o, time: tl.clock, write: (s) => tl.emit(s), registry });
  /** `for x in tqdm(items, ...)` where each item takes `each` step-times. */
  const iterate = async (count: number, each: number, o: Partial<TqdmWriterOptions>, body?: (i: number) => Promise<void>) => {
    const b = bar({ total: count, ...o });
    for (let i = 0; i < count; i++) {
      await after(each);
      if (body) await body(i);
      b.update(1);
    }
    b.close();
  };

  const samplesDir = join(plan.folder, 'samples');
  const stepSaves: string[] = [];
  const datasetSize = RESOLUTIONS.length * IMAGES_PER_DATASET;

  const writeSample = async (step: number, index: number): Promise<void> => {
    const sharp = await loadSharp();
    const file = `${tl.epochMs()}__${pad9(step)}_${index}.jpg`;
    const tmpDir = join(samplesDir, '.tmp');
    const thumbsDir = join(samplesDir, '.thumbs');
    await mkdir(tmpDir, { recursive: true });
    await mkdir(thumbsDir, { recursive: true });
    const raw = renderSample(index, step, plan.steps);
    const jpeg = await sharp(raw, { raw: { width: SAMPLE_SIZE, height: SAMPLE_SIZE, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
    await writeFile(join(tmpDir, file), jpeg);
    const thumb = await sharp(jpeg).resize(300, 300).jpeg({ quality: 90 }).toBuffer();
    await writeFile(join(tmpDir, `${file}.thumb`), thumb);
    await rename(join(tmpDir, `${file}.thumb`), join(thumbsDir, `${file}.jpg`));
    await rename(join(tmpDir, file), join(samplesDir, file));
  };

  /** BaseSDTrainProcess.sample -> generate_images: a leave=False bar, one tick per prompt, then an empty line. */
  const sample = async (step: number): Promise<void> => {
    await iterate(PROMPTS.length, 8, { desc: 'Generating Images', leave: false }, (i) => writeSample(step, i));
    say('');
  };

  /** BaseSDTrainProcess.save: checkpoint, optimizer, then removal of old step saves. */
  const save = async (step: number | null): Promise<void> => {
    const file = join(plan.folder, step === null ? `${plan.name}.safetensors` : `${plan.name}_${pad9(step)}.safetensors`);
    await after(2.4);
    const stepNum = step ?? plan.steps;
    const metadata: Record<string, string> = {
      name: plan.name,
      version: '1.0',
      training_info: pyJsonDumps({ step: stepNum, epoch: Math.floor(stepNum / datasetSize) }),
      ss_base_model_version: 'flux.1',
      ss_output_name: plan.name,
      ss_tag_frequency: pyJsonDumps({ [`1_${TRIGGER}`]: { [TRIGGER]: 1 } }),
      software: pyJsonDumps({ name: 'ai-toolkit', repo: 'https://github.com/ostris/ai-toolkit', version: '0.7.0' }),
      format: 'pt',
    };
    await writeFile(file, safetensorsBytes(metadata, rand));
    say(`Saved checkpoint to ${file}`);
    await after(0.6);
    const optimizerPath = join(plan.folder, 'optimizer.pt');
    await writeFile(optimizerPath, optimizerBytes());
    say(`Saved optimizer to ${optimizerPath}`);
    if (step !== null) stepSaves.push(file);
    while (stepSaves.length > plan.keep) {
      const old = stepSaves.shift()!;
      say(`Removing old save: ${old}`);
      await unlink(old).catch(() => undefined);
    }
  };

  // ---- run.py / job start
  say('Running 1 job');
  say(JSON.stringify(plan.processConfig, null, 4));
  say('');
  say(RULE);
  say(`# Running job: ${plan.name}`);
  say(RULE);
  say('');
  say('');
  say('Running  1 process');

  // ---- model load (stable_diffusion_model.py, flux branch)
  await after(2);
  say('Loading Flux model');
  say('Loading transformer');
  await after(3);
  await iterate(3, 12, { desc: 'Loading checkpoint shards' });
  say('Quantizing transformer');
  await after(60);
  say('Loading VAE');
  await after(4);
  say('Loading T5');
  await after(3);
  await iterate(2, 10, { desc: 'Loading checkpoint shards' });
  say('Quantizing T5');
  await after(25);
  say('Loading CLIP');
  await after(4);
  say('Making pipe');
  await after(2);
  say('Preparing Model');
  await after(10);

  // ---- network
  say('create LoRA network. base dim (rank): 16, alpha: 16');
  say('neuron dropout: p=None, rank dropout: p=None, module dropout: p=None');
  await after(1);
  say('create LoRA for Text Encoder: 0 modules.');
  say('create LoRA for U-Net: 494 modules.');
  await after(1);
  say('enable LoRA for U-Net');
  await after(2);

  // ---- datasets: one per resolution
  const buckets: Record<number, [string, number][]> = {
    512: [['512x512', 5], ['448x576', 4], ['576x448', 3]],
    768: [['768x768', 5], ['640x896', 4], ['896x640', 3]],
    1024: [['1024x1024', 5], ['832x1216', 4], ['1216x832', 3]],
  };
  for (const [i, res] of RESOLUTIONS.entries()) {
    say(`Dataset: ${plan.datasetPath}`);
    say('  -  Preprocessing image dimensions');
    await iterate(IMAGES_PER_DATASET, i === 0 ? 0.25 : 0.01, {});
    say(`  -  Found ${IMAGES_PER_DATASET} images`);
    say(`Bucket sizes for ${plan.datasetPath}:`);
    for (const [size, count] of buckets[res]!) say(`${size}: ${count} files`);
    say(`${buckets[res]!.length} buckets made`);
    await after(1);
    say(`Caching latents for ${plan.datasetPath}`);
    say(' - Saving latents to disk');
    await iterate(IMAGES_PER_DATASET, (res / 1024) ** 2 * 1.6, { desc: 'Caching latents to disk' });
    await after(0.5);
  }

  // ---- before the loop
  await after(5);
  say('Generating baseline samples before training');
  await sample(0);

  const train = bar({ total: plan.steps, desc: plan.name, leave: true, initial: 0, smoothing: 0.7 });
  train.pause();
  await after(2);

  // ---- the training loop (HEAD: save, then sample, then update(step + 1 - n))
  for (let step = 0; step < plan.steps; step++) {
    await tl.at(t);
    train.unpause();
    const jitter = 0.92 + 0.16 * rand();
    await after(step === 0 ? 3 : jitter);
    const progress = step / plan.steps;
    const base = 0.16 + 0.24 * Math.exp(-4 * progress);
    const spike = rand() < 0.02 ? 2.5 : 1;
    const loss = base * Math.exp(0.35 * gaussian(rand)) * spike;
    train.setPostfixStr(`lr: ${pyFormatExp(1e-4, 1)} loss: ${pyFormatExp(loss, 3)}`);
    if (step !== 0 && step % plan.saveEvery === 0) {
      train.pause();
      say(`\nSaving at step ${step}`);
      await save(step);
      train.unpause();
    }
    if (step !== 0 && step % plan.sampleEvery === 0) {
      train.pause();
      await sample(step);
      train.unpause();
    }
    train.update(step + 1 - train.n);
  }

  // ---- end of training
  await after(0.2);
  train.close();
  await save(null);
  await sample(plan.steps);
  say('');
}

async function freeLogName(logsDir: string): Promise<string> {
  for (let n = 0; ; n++) {
    const candidate = join(logsDir, `${n}_log.txt`);
    try {
      await stat(candidate);
    } catch {
      return candidate;
    }
  }
}

/**
 * Start a simulated run in `<dir>/output/<name>/`. A previous log.txt there is
 * moved to `logs/<N>_log.txt` (as the UI does), and a previous demo's
 * checkpoints and samples are removed so the run starts fresh.
 */
export async function startDemoRun(options: DemoRunOptions): Promise<DemoRun> {
  const name = options.name ?? DEFAULT_NAME;
  const steps = Math.max(1, Math.floor(options.totalSteps ?? 3000));
  const sps = options.stepsPerSecond ?? 25;
  if (!(sps > 0)) throw new RangeError(`stepsPerSecond must be > 0 (got ${sps})`);
  const now = options.now ?? Date.now;
  const trainingFolder = resolve(options.dir, 'output');
  const folder = join(trainingFolder, name);
  const logPath = join(folder, 'log.txt');
  const datasetPath = join(resolve(options.dir), 'datasets', TRIGGER);

  await mkdir(folder, { recursive: true });
  // a fresh start: rotate an old log like the UI, drop an earlier demo's outputs
  try {
    await stat(logPath);
    const logsDir = join(folder, 'logs');
    await mkdir(logsDir, { recursive: true });
    await rename(logPath, await freeLogName(logsDir));
  } catch {
    // no previous log
  }
  for (const entry of await readdir(folder)) {
    if ((entry.startsWith(name) && entry.endsWith('.safetensors')) || entry === 'optimizer.pt') await unlink(join(folder, entry));
  }
  await rm(join(folder, 'samples'), { recursive: true, force: true });

  const saveEvery = Math.max(1, Math.floor(options.saveEvery ?? 250));
  const sampleEvery = Math.max(1, Math.floor(options.sampleEvery ?? 250));
  const keep = Math.max(1, Math.floor(options.maxStepSavesToKeep ?? 4));
  const { raw, processConfig } = buildConfig({ name, trainingFolder, datasetPath, steps, saveEvery, keep, sampleEvery });
  // BaseTrainProcess.save_training_config: yaml.dump of the raw job config (PyYAML block style)
  await writeFile(join(folder, 'config.yaml'), yamlStringify(raw, { indentSeq: false, singleQuote: true }));

  const log = await open(logPath, 'a');
  const tl = new Timeline(now, Math.max(1, options.tickMs ?? 50), log);
  const plan: RunPlan = {
    name,
    folder,
    steps,
    saveEvery,
    sampleEvery,
    keep,
    ascii: options.ascii ?? false,
    seed: options.seed ?? 42,
    datasetPath,
    processConfig,
  };

  const done = (async () => {
    try {
      await simulate(tl, plan, 1 / sps);
    } catch (e) {
      if (!(e instanceof Stopped)) throw e;
    } finally {
      tl.stop();
      try {
        await tl.flush();
      } finally {
        await log.close();
      }
    }
  })();
  done.catch(() => undefined); // callers see the rejection through `done`; never an unhandled one here

  return {
    folder,
    logPath,
    done,
    stop: async () => {
      tl.stop();
      await done.catch(() => undefined);
    },
  };
}
