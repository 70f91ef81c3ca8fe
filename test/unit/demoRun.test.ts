import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startDemoRun, type DemoRun } from '../../src/demo/demoRun.js';
import { pyFormatFixed } from '../../src/demo/tqdmFormat.js';

// the bar regex from docs/reference (ai-toolkit.md, section 2)
const BAR_RE =
  /^(?:(?<desc>.*?): )?\s*(?<pct>\d{1,3})%\|(?<bar>[^|]*)\|\s*(?<n>\d+)\/(?<total>\d+)\s*\[(?<el>[\d:]+)<(?<eta>[\d:]+|\?),\s*(?<rate>[\d.]+|\?)(?<unit>it\/s|s\/it)(?:,\s*(?<post>[^\]]*))?\]?/;

const NAME = 'demo_flux_lora';
const STEPS = 60;

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('startDemoRun: a short run to the end', () => {
  let dir: string;
  let run: DemoRun;
  let log: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lora-top-demo-test-'));
    run = await startDemoRun({
      dir,
      totalSteps: STEPS,
      stepsPerSecond: 2000,
      saveEvery: 10,
      sampleEvery: 20,
      maxStepSavesToKeep: 2,
      seed: 7,
      tickMs: 20,
    });
    await run.done;
    log = await readFile(run.logPath, 'utf8');
  }, 60_000);

  afterAll(async () => {
    await run?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lays the run out like ai-toolkit', () => {
    expect(run.folder).toBe(join(dir, 'output', NAME));
    expect(run.logPath).toBe(join(run.folder, 'log.txt'));
  });

  it('writes a config.yaml that parses', async () => {
    const cfg = parseYaml(await readFile(join(run.folder, 'config.yaml'), 'utf8'));
    expect(cfg.job).toBe('extension');
    expect(cfg.config.name).toBe(NAME);
    const p = cfg.config.process[0];
    expect(p.type).toBe('sd_trainer');
    expect(p.training_folder).toBe(join(dir, 'output'));
    expect(p.network).toMatchObject({ type: 'lora', linear: 16, linear_alpha: 16 });
    expect(p.save).toMatchObject({ save_every: 10, max_step_saves_to_keep: 2 });
    expect(p.train).toMatchObject({ steps: STEPS, lr: 1e-4, batch_size: 1, optimizer: 'adamw8bit' });
    expect(p.sample.sample_every).toBe(20);
    expect(p.sample.prompts.length).toBeGreaterThanOrEqual(2);
    expect(p.model.name_or_path).toBe('black-forest-labs/FLUX.1-dev');
    expect(typeof p.trigger_word).toBe('string');
  });

  it('logs the expected messages in order', () => {
    const folder = run.folder;
    const expected = [
      'Running 1 job\n{\n    "type": "sd_trainer",',
      `# Running job: ${NAME}\n`,
      'Running  1 process\n',
      'Loading Flux model\n',
      'Loading transformer\n',
      'Loading checkpoint shards: 100%',
      'Quantizing transformer\n',
      'Preparing Model\n',
      'create LoRA network. base dim (rank): 16, alpha: 16\n',
      'create LoRA for U-Net: 494 modules.\n',
      'Dataset: ',
      '  -  Found 12 images\n',
      'Caching latents for ',
      'Caching latents to disk: 100%',
      'Generating baseline samples before training\n',
      '\rGenerating Images:   0%|',
      `\r${NAME}:   0%|          | 0/${STEPS} [00:00<?, ?it/s]`,
      '\nSaving at step 10\n',
      `Saved checkpoint to ${join(folder, `${NAME}_000000010.safetensors`)}\n`,
      `Saved optimizer to ${join(folder, 'optimizer.pt')}\n`,
      '\nSaving at step 20\n',
      '\nSaving at step 30\n',
      `Removing old save: ${join(folder, `${NAME}_000000010.safetensors`)}\n`,
      '\nSaving at step 50\n',
      `Removing old save: ${join(folder, `${NAME}_000000030.safetensors`)}\n`,
      `| ${STEPS}/${STEPS} [`,
      `Saved checkpoint to ${join(folder, `${NAME}.safetensors`)}\n`,
    ];
    let from = 0;
    for (const text of expected) {
      const at = log.indexOf(text, from);
      expect(at, `"${JSON.stringify(text)}" after offset ${from}`).toBeGreaterThanOrEqual(0);
      from = at + text.length;
    }
    // the final sample is wiped (leave=False), then two empty lines end the run
    expect(log).toMatch(/\r {20,}\r\n\n$/);
    // JSON config dump is valid JSON
    const json = log.slice(log.indexOf('{'), log.indexOf('\n}\n') + 2);
    expect(JSON.parse(json).train.steps).toBe(STEPS);
  });

  it('draws training-bar states the reference regex parses, with HEAD semantics', () => {
    const segments = log.split(/[\r\n]/);
    const states = segments.map((s) => BAR_RE.exec(s)?.groups).filter((g) => g !== undefined && g.desc === NAME);
    expect(states.length).toBeGreaterThan(STEPS);
    let last = -1;
    for (const g of states) {
      const n = Number(g!.n);
      expect(n).toBeGreaterThanOrEqual(last);
      last = n;
      expect(Number(g!.total)).toBe(STEPS);
      expect(g!.pct).toBe(pyFormatFixed((n / STEPS) * 100, 0));
      expect(g!.bar).toHaveLength(10);
      if (n > 0) expect(g!.post).toMatch(/^lr: 1\.0e-04 loss: \d\.\d{3}e[-+]\d{2}$/);
    }
    expect(Number(states.at(-1)!.n)).toBe(STEPS);
    expect(states.at(-1)!.pct).toBe('100');
    // HEAD: the state drawn right before "Saving at step N" shows n = N
    for (const step of [10, 20, 30, 40, 50]) {
      const idx = log.indexOf(`\nSaving at step ${step}\n`);
      const before = log.slice(0, idx).split(/[\r\n]/).at(-1)!;
      expect(BAR_RE.exec(before)?.groups?.n, `bar before save ${step}`).toBe(String(step));
    }
    // samples during training are drawn one line down (the training bar is still open)
    expect(log).toContain('\n\rGenerating Images:   0%|          | 0/3 [00:00<?, ?it/s]\x1b[A');
  });

  it('keeps max_step_saves_to_keep step checkpoints, valid safetensors with training_info', async () => {
    const files = (await readdir(run.folder)).filter((f) => f.endsWith('.safetensors')).sort();
    expect(files).toEqual([`${NAME}.safetensors`, `${NAME}_000000040.safetensors`, `${NAME}_000000050.safetensors`]);
    for (const [file, step] of [[`${NAME}_000000050.safetensors`, 50], [`${NAME}.safetensors`, STEPS]] as const) {
      const bytes = await readFile(join(run.folder, file));
      const len = Number(bytes.readBigUInt64LE(0));
      const header = JSON.parse(bytes.subarray(8, 8 + len).toString('utf8'));
      expect(JSON.parse(header.__metadata__.training_info).step).toBe(step);
      const ends = Object.entries(header).filter(([k]) => k !== '__metadata__').map(([, v]) => (v as { data_offsets: number[] }).data_offsets[1]!);
      expect(bytes.length).toBe(8 + len + Math.max(...ends));
    }
    expect((await stat(join(run.folder, 'optimizer.pt'))).size).toBeGreaterThan(0);
  });

  it('writes real JPEG samples (baseline, every sample_every, final) with thumbnails', async () => {
    const samples = join(run.folder, 'samples');
    const jpgs = (await readdir(samples)).filter((f) => f.endsWith('.jpg')).sort();
    expect(jpgs).toHaveLength(4 * 3);
    for (const f of jpgs) expect(f).toMatch(/^\d{13}__\d{9}_[0-2]\.jpg$/);
    expect(new Set(jpgs.map((f) => f.slice(15, 24)))).toEqual(new Set(['000000000', '000000020', '000000040', '000000060']));
    for (const f of jpgs) {
      const head = (await readFile(join(samples, f))).subarray(0, 3);
      expect([...head]).toEqual([0xff, 0xd8, 0xff]);
      expect((await stat(join(samples, '.thumbs', `${f}.jpg`))).size).toBeGreaterThan(0);
    }
    // images change with the step
    const a = await readFile(join(samples, jpgs.find((f) => f.includes('__000000000_0'))!));
    const b = await readFile(join(samples, jpgs.find((f) => f.includes('__000000060_0'))!));
    expect(a.equals(b)).toBe(false);
  });
});

describe('startDemoRun: stop()', () => {
  it('ends the run early, the log stops growing, and no timer is left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lora-top-demo-stop-'));
    try {
      const before = timers();
      const run = await startDemoRun({ dir, stepsPerSecond: 500 });
      await new Promise((r) => setTimeout(r, 400));
      await run.stop();
      await run.done; // resolves after a stop
      expect(timers()).toBeLessThanOrEqual(before);
      const size = (await stat(run.logPath)).size;
      expect(size).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 200));
      expect((await stat(run.logPath)).size).toBe(size);
      const log = await readFile(run.logPath, 'utf8');
      expect(log.startsWith('Running 1 job\n')).toBe(true);
      expect(log).not.toContain(`Saved checkpoint to ${join(run.folder, 'demo_flux_lora.safetensors')}`);
      await run.stop(); // idempotent
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lets a process exit by itself after stop() (nothing keeps the event loop alive)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lora-top-demo-exit-'));
    try {
      const { build } = await import('esbuild');
      const entry = fileURLToPath(new URL('../../src/demo/demoRun.ts', import.meta.url));
      const outfile = join(dir, 'stop-demo.mjs');
      await build({
        stdin: {
          contents: [
            `import { startDemoRun } from ${JSON.stringify(entry)};`,
            `const run = await startDemoRun({ dir: ${JSON.stringify(dir)} });`,
            'await new Promise((r) => setTimeout(r, 300));',
            'await run.stop();',
            "console.log('stopped');",
          ].join('\n'),
          resolveDir: dir,
          loader: 'ts',
        },
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile,
        external: ['sharp'],
        // the bundled `yaml` is CommonJS and requires node built-ins
        banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
        logLevel: 'silent',
      });
      const res = spawnSync(process.execPath, [outfile], { encoding: 'utf8', timeout: 15_000 });
      expect(res.error, 'the process did not exit on its own').toBeUndefined();
      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
      expect(res.stdout).toBe('stopped\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('starts fresh in a folder used before: old log rotated to logs/0_log.txt', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lora-top-demo-again-'));
    try {
      const first = await startDemoRun({ dir, stepsPerSecond: 2000, totalSteps: 5 });
      await first.done;
      const second = await startDemoRun({ dir, stepsPerSecond: 2000, totalSteps: 5 });
      await second.stop();
      expect((await readFile(join(second.folder, 'logs', '0_log.txt'), 'utf8')).length).toBeGreaterThan(100);
      expect((await readdir(second.folder)).filter((f) => f.endsWith('.safetensors'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
