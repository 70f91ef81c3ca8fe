import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  formatInterval,
  formatMeter,
  pyFormatExp,
  pyFormatFixed,
  pyPowInt,
  TqdmRegistry,
  TqdmWriter,
  type FormatMeterOptions,
  type TqdmWriterOptions,
} from '../../src/demo/tqdmFormat.js';
import { mulberry32 } from '../../src/demo/demoConfig.js';

// ---------------------------------------------------------------------------
// The oracle: Debian's real tqdm under /usr/bin/python3
// ---------------------------------------------------------------------------

const PYTHON = '/usr/bin/python3';
const ORACLE = fileURLToPath(new URL('../helpers/tqdm_oracle.py', import.meta.url));

const probe = spawnSync(PYTHON, ['-c', 'import tqdm; print(tqdm.__version__)'], { encoding: 'utf8' });
const TQDM_VERSION = probe.status === 0 ? probe.stdout.trim() : null;
const SKIP_NOTE = `python3-tqdm is not importable from ${PYTHON} (${(probe.error?.message ?? probe.stderr ?? '').trim() || 'unknown error'}); install Debian's python3-tqdm to compare against the real tqdm`;

interface OracleAnswer<T> {
  version: string;
  results: T[];
}

function askOracle<T>(request: unknown): OracleAnswer<T> {
  const res = spawnSync(PYTHON, [ORACLE], { input: JSON.stringify(request), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (res.status !== 0) throw new Error(`tqdm oracle failed (${res.status}): ${res.stderr}`);
  return JSON.parse(res.stdout) as OracleAnswer<T>;
}

const rng = mulberry32;

// ---------------------------------------------------------------------------
// Pure helpers, without the oracle
// ---------------------------------------------------------------------------

describe('Python number formatting', () => {
  it('rounds half to even on the exact binary value, like Python', () => {
    expect(pyFormatFixed(12.5, 0, 3)).toBe(' 12');
    expect(pyFormatFixed(13.5, 0, 3)).toBe(' 14');
    expect(pyFormatFixed(2.125, 2, 5)).toBe(' 2.12');
    expect(pyFormatFixed(0.125, 2)).toBe('0.12');
    expect(pyFormatFixed(1.005, 2)).toBe('1.00'); // 1.005 is really 1.00499999...
    expect(pyFormatFixed(99.995, 2)).toBe('100.00'); // 99.995 is really 99.99500000000000454...
    expect(pyFormatFixed(0.375, 2)).toBe('0.38'); // exact tie, 7 is odd: up
    expect(pyFormatFixed(2566.52, 2, 5)).toBe('2566.52');
    expect(pyFormatFixed(-0, 2, 5)).toBe('-0.00');
    expect(pyFormatFixed(Infinity, 2, 5)).toBe('  inf');
    expect(pyFormatFixed(1e22, 1)).toBe('10000000000000000000000.0');
  });
  it('formats %e like Python', () => {
    expect(pyFormatExp(1e-4, 1)).toBe('1.0e-04');
    expect(pyFormatExp(9.2e-5, 1)).toBe('9.2e-05');
    expect(pyFormatExp(0.41234, 3)).toBe('4.123e-01');
    expect(pyFormatExp(1.0375, 3)).toBe('1.038e+00'); // 1.0375 is exact: tie to even
    expect(pyFormatExp(1.0385, 3)).toBe('1.038e+00'); // 1.0385 is really 1.03849999...
    expect(pyFormatExp(9.9996, 3)).toBe('1.000e+01');
    expect(pyFormatExp(0, 3)).toBe('0.000e+00');
    expect(pyFormatExp(NaN, 3)).toBe('nan');
    expect(pyFormatExp(1e100, 2)).toBe('1.00e+100');
  });
  it('formats intervals with unbounded hours', () => {
    expect(formatInterval(0)).toBe('00:00');
    expect(formatInterval(59.999)).toBe('00:59');
    expect(formatInterval(3599)).toBe('59:59');
    expect(formatInterval(3600)).toBe('1:00:00');
    expect(formatInterval(637457)).toBe('177:04:17');
  });
  it('draws the examples from the reference', () => {
    expect(formatMeter({ n: 360, total: 3000, elapsed: 323.4, rate: 1.11, prefix: 'my_first_lora_v1', postfix: 'lr: 1.0e-04 loss: 4.123e-01' }))
      .toBe('my_first_lora_v1:  12%|█▏        | 360/3000 [05:23<39:38,  1.11it/s, lr: 1.0e-04 loss: 4.123e-01]');
    expect(formatMeter({ n: 0, total: 2, elapsed: 0 })).toBe('  0%|          | 0/2 [00:00<?, ?it/s]');
    expect(formatMeter({ n: 299, total: 3000, elapsed: 644, rate: 1 / 2.16, prefix: 'lokr-test-2', ascii: true, postfix: 'lr: 2.0e-04 loss: 5.226e-01' }))
      .toBe('lokr-test-2:  10%|9         | 299/3000 [10:44<1:37:14,  2.16s/it, lr: 2.0e-04 loss: 5.226e-01]');
  });
});

// ---------------------------------------------------------------------------
// (a) format_meter vs the real tqdm.format_meter
// ---------------------------------------------------------------------------

type MeterCase = FormatMeterOptions;

function meterCases(): MeterCase[] {
  const cases: MeterCase[] = [];
  const descs = ['', 'my_first_lora_v1', 'my job: v2.1', 'name with spaces', 'ends with colon: ', 'a:b:c', 'Generating Images',
    'Caching latents to disk', 'lokr-test-2', '学习 lora', 'x'];
  const postfixes = [null, '', 'lr: 1.0e-04 loss: 4.123e-01', 'lr: 9.2e-05 loss: nan', 'lr: 2.0e-04 loss: 1.038e+00 extra: 3.000e-02'];
  // hand-picked edges
  const edge: MeterCase[] = [
    { n: 1, total: 8, elapsed: 1 }, // 12.5 % (tie)
    { n: 5, total: 8, elapsed: 1 }, // 62.5 %
    { n: 1, total: 200, elapsed: 3 }, // 0.5 %
    { n: 1, total: 40, elapsed: 3 }, // 2.5 %
    { n: 199, total: 200, elapsed: 3 }, // 99.5 %
    { n: 10, total: 60, elapsed: 4, rate: 2.125 }, // rate tie
    { n: 10, total: 60, elapsed: 4, rate: 0.999 },
    { n: 10, total: 60, elapsed: 4, rate: 1 },
    { n: 10, total: 60, elapsed: 4, rate: 1.0001 },
    { n: 10, total: 60, elapsed: 4, rate: 0.99999 },
    { n: 10, total: 60, elapsed: 4, rate: 0.1 },
    { n: 10, total: 60, elapsed: 4, rate: 9.996 },
    { n: 10, total: 60, elapsed: 4, rate: 1 / 9.996 },
    { n: 10, total: 60, elapsed: 4, rate: 1 / 303.7 },
    { n: 10, total: 60, elapsed: 4, rate: 12157.4 },
    { n: 10, total: 60, elapsed: 4, rate: 0 },
    { n: 0, total: 60, elapsed: 0 },
    { n: 0, total: 60, elapsed: 0, rate: null, prefix: 'train' },
    { n: 250, total: 3000, elapsed: 0, initial: 250, prefix: 'resumed' },
    { n: 260, total: 3000, elapsed: 21, initial: 250, prefix: 'resumed' },
    { n: 501, total: 2600, elapsed: 21, initial: 0, rate: 1 / 21.27, prefix: 'HR_Krea2', postfix: 'lr: 9.2e-05 loss: 6.988e-02' },
    { n: 2, total: 2, elapsed: 5792.7, rate: 1 / 2894.55, prefix: 'Caching latents to disk' },
    { n: 2, total: 2, elapsed: 5792.7, prefix: 'Caching latents to disk' },
    { n: 61, total: 60, elapsed: 10 }, // n >= total + 0.5: no total
    { n: 60, total: 60, elapsed: 10 },
    { n: 5, total: 0, elapsed: 10 },
    { n: 5, total: null, elapsed: 10, prefix: 'Downloading' },
    { n: 5, total: null, elapsed: 0, prefix: 'ends with colon: ' },
    { n: 3, total: 10, elapsed: 637457.3, prefix: 'long' },
    { n: 3, total: 3000, elapsed: 360000, rate: 1 / 7000 },
    { n: 1500, total: 3000, elapsed: 10615, rate: 1 / 1.36, prefix: 'lokr-test-2', ascii: true },
    { n: 3, total: 6, elapsed: 0.45, rate: 6.64, prefix: 'my_job', ncols: 70, postfix: 'lr: 1.0e-04 loss: 4.123e-01' },
    { n: 3, total: 6, elapsed: 0.45, rate: 6.64, prefix: 'my_job', ncols: 0, postfix: 'lr: 1.0e-04 loss: 4.123e-01' },
    { n: 3, total: 6, elapsed: 0.45, rate: 6.64, prefix: '学习 lora', ncols: 40 },
    { n: 3, total: 6, elapsed: 0.45, rate: 6.64, prefix: 'x', ncols: 120, ascii: true },
    { n: 7, total: 9, elapsed: 2, ascii: ' .oO0' },
    { n: 2, total: 10, elapsed: 3, initial: 5 }, // n < initial: negative rate
    { n: 4, total: 10, elapsed: 3, unit: 'img' },
  ];
  cases.push(...edge);
  const r = rng(20260821);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const totals = [null, 1, 2, 3, 7, 12, 60, 100, 250, 2000, 2600, 3000, 10000];
  for (let i = 0; i < 400; i++) {
    const total = pick(totals);
    const t = total ?? 500;
    const n = r() < 0.1 ? t : r() < 0.1 ? 0 : Math.floor(r() * (t + 1));
    const initial = r() < 0.2 ? Math.floor(r() * (n + 1)) : 0;
    const elapsedScale = pick([0.01, 1, 60, 3600, 86400, 400000]);
    const elapsed = r() < 0.05 ? 0 : r() < 0.3 ? Math.floor(r() * elapsedScale) : r() * elapsedScale;
    const rateKind = r();
    const rate = rateKind < 0.35 ? null : rateKind < 0.5 ? 1 / (r() * 40) : rateKind < 0.6 ? 0.95 + r() * 0.1 : r() * 50;
    const c: MeterCase = { n, total, elapsed, rate, prefix: pick(descs), postfix: pick(postfixes), initial };
    if (r() < 0.3) c.ascii = true;
    if (r() < 0.08) c.ncols = pick([0, 1, 20, 45, 80, 200]);
    cases.push(c);
  }
  return cases;
}

/** Python kwargs: drop undefined, keep null as None. */
function toKwargs(c: MeterCase): Record<string, unknown> {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
}

describe('formatMeter vs the real tqdm.format_meter', () => {
  it('matches byte for byte on a few hundred cases', (ctx) => {
    ctx.skip(TQDM_VERSION === null, SKIP_NOTE);
    const cases = meterCases();
    const answer = askOracle<string | { error: string }>({ mode: 'format_meter', cases: cases.map(toKwargs) });
    expect(answer.version).toBe(TQDM_VERSION);
    expect(answer.results).toHaveLength(cases.length);
    let compared = 0;
    cases.forEach((c, i) => {
      const expected = answer.results[i];
      if (typeof expected !== 'string') throw new Error(`tqdm raised on case ${JSON.stringify(c)}: ${expected?.error}`);
      expect({ case: c, line: formatMeter(c) }).toEqual({ case: c, line: expected });
      compared++;
    });
    expect(compared).toBeGreaterThan(400);
  });
});

describe('EMA bias correction', () => {
  it('computes beta ** calls exactly like CPython (V8 Math.pow is an ulp off for 0.7 ** 6)', (ctx) => {
    ctx.skip(TQDM_VERSION === null, SKIP_NOTE);
    const pairs: [number, number][] = [];
    for (const smoothing of [0.7, 0.3, 0.1, 0.5, 0.9, 0.05]) for (let k = 0; k <= 400; k++) pairs.push([1 - smoothing, k]);
    const answer = askOracle<number>({ mode: 'pow', pairs });
    const mismatches = pairs.filter(([b, k], i) => pyPowInt(b, k) !== answer.results[i] && 1 - pyPowInt(b, k) !== 1 - answer.results[i]!);
    expect(mismatches).toEqual([]);
    expect(Math.pow(0.7, 6)).not.toBe(answer.results[pairs.findIndex(([b, k]) => b === 1 - 0.3 && k === 6)]);
  });
});

// ---------------------------------------------------------------------------
// (b) a whole bar life vs a real tqdm driven by the same fake clock
// ---------------------------------------------------------------------------

type BarKwargs = Pick<TqdmWriterOptions, 'total' | 'desc' | 'leave' | 'initial' | 'smoothing' | 'ascii' | 'mininterval' | 'maxinterval' | 'miniters' | 'ncols' | 'postfix'>;

type Op =
  | { op: 'time'; t: number }
  | { op: 'new'; id: string; pausable: boolean; kwargs: BarKwargs }
  | { op: 'postfix'; id: string; s: string }
  | { op: 'update'; id: string; n: number }
  | { op: 'pause' | 'unpause' | 'close' | 'refresh'; id: string }
  | { op: 'iter'; kwargs: BarKwargs; count: number; dt: number };

function runTs(ops: Op[]): string[] {
  let clock = 0;
  const writes: string[] = [];
  const registry = new TqdmRegistry();
  const bars = new Map<string, TqdmWriter>();
  const common = { time: () => clock, write: (s: string) => { if (s) writes.push(s); }, registry };
  const bar = (id: string): TqdmWriter => {
    const b = bars.get(id);
    if (!b) throw new Error(`no bar ${id}`);
    return b;
  };
  for (const op of ops) {
    switch (op.op) {
      case 'time': clock = op.t; break;
      case 'new': bars.set(op.id, new TqdmWriter({ ...op.kwargs, ...common, smoothing: op.kwargs.smoothing ?? (op.pausable ? 0.7 : 0.3) })); break;
      case 'postfix': bar(op.id).setPostfixStr(op.s); break;
      case 'update': bar(op.id).update(op.n); break;
      case 'pause': bar(op.id).pause(); break;
      case 'unpause': bar(op.id).unpause(); break;
      case 'refresh': bar(op.id).refresh(); break;
      case 'close': bar(op.id).close(); break;
      case 'iter': {
        const b = new TqdmWriter({ total: op.count, ...op.kwargs, ...common });
        for (let i = 0; i < op.count; i++) {
          clock += op.dt;
          b.update(1);
        }
        b.close();
        break;
      }
    }
  }
  for (const b of bars.values()) b.close();
  return writes;
}

const lossPostfix = (r: () => number): string =>
  `lr: ${pyFormatExp(1e-4, 1)} loss: ${pyFormatExp(0.05 + r() * (r() < 0.05 ? 2 : 0.9), 3)}`;

/** ai-toolkit's HEAD training loop shape, with saves and nested sample bars. */
function trainingScenario(opts: {
  total: number; initial?: number; desc: string; stepTime: (step: number) => number; saveEvery: number; sampleEvery: number;
  ascii?: boolean; seed: number; t0?: number;
}): Op[] {
  const r = rng(opts.seed);
  const ops: Op[] = [];
  let t = opts.t0 ?? 1_755_000_000.25;
  const at = (dt: number): void => { t += dt; ops.push({ op: 'time', t }); };
  const start = opts.initial ?? 0;
  at(0);
  ops.push({ op: 'new', id: 'train', pausable: true, kwargs: { total: opts.total, desc: opts.desc, leave: true, initial: start, ascii: opts.ascii ?? false } });
  ops.push({ op: 'pause', id: 'train' });
  at(2.5);
  let n = start;
  for (let step = start; step < opts.total; step++) {
    ops.push({ op: 'unpause', id: 'train' });
    at(opts.stepTime(step));
    ops.push({ op: 'postfix', id: 'train', s: lossPostfix(r) });
    if (step !== start && step % opts.saveEvery === 0) {
      ops.push({ op: 'pause', id: 'train' });
      at(3 * opts.stepTime(step));
      ops.push({ op: 'unpause', id: 'train' });
    }
    if (step !== start && step % opts.sampleEvery === 0) {
      ops.push({ op: 'pause', id: 'train' });
      ops.push({ op: 'iter', kwargs: { desc: 'Generating Images', leave: false, ascii: opts.ascii ?? false }, count: 3, dt: 8 * opts.stepTime(step) });
      ops.push({ op: 'unpause', id: 'train' });
    }
    ops.push({ op: 'update', id: 'train', n: step + 1 - n });
    n = step + 1;
  }
  at(0.01);
  ops.push({ op: 'close', id: 'train' });
  // the final sample, alone on screen
  ops.push({ op: 'iter', kwargs: { desc: 'Generating Images', leave: false, ascii: opts.ascii ?? false }, count: 3, dt: 2.4 });
  return ops;
}

function scenarios(): { name: string; ops: Op[] }[] {
  const out: { name: string; ops: Op[] }[] = [];
  const jitter = rng(7);
  out.push({
    name: 'fast training, unicode, saves + nested samples',
    ops: trainingScenario({ total: 90, desc: 'my_first_lora_v1', stepTime: (s) => (s === 0 ? 0.35 : 0.04 * (0.9 + 0.2 * jitter())), saveEvery: 25, sampleEvery: 25, seed: 1 }),
  });
  out.push({
    name: 'slow training (s/it), ascii, desc with spaces and colon',
    ops: trainingScenario({ total: 40, desc: 'my job: v2.1', stepTime: (s) => 1.3 + (s % 7) * 0.21, saveEvery: 10, sampleEvery: 20, ascii: true, seed: 2 }),
  });
  out.push({
    name: 'resume with initial=250',
    ops: trainingScenario({ total: 300, initial: 250, desc: 'resumed_lora', stepTime: (s) => (s % 5 === 0 ? 2.7 : 0.6), saveEvery: 25, sampleEvery: 50, seed: 3 }),
  });
  out.push({
    name: 'hours beyond 99',
    ops: trainingScenario({ total: 70, initial: 9, desc: 'HR_Krea2', stepTime: () => 7000.5, saveEvery: 30, sampleEvery: 1000, ascii: true, seed: 4 }),
  });
  out.push({
    name: 'mixed speeds, wide-char desc (padding by display width)',
    ops: trainingScenario({ total: 120, desc: '学习 lora', stepTime: (s) => (s < 40 ? 0.013 : s < 80 ? 0.9 : 0.07), saveEvery: 40, sampleEvery: 60, seed: 5 }),
  });
  // start-up bars: no-desc file scan, latent caching, checkpoint shards, baseline sample
  {
    const ops: Op[] = [];
    let t = 100.0;
    const at = (dt: number): void => { t += dt; ops.push({ op: 'time', t }); };
    at(0);
    ops.push({ op: 'iter', kwargs: { desc: 'Loading checkpoint shards' }, count: 3, dt: 0.41 });
    ops.push({ op: 'iter', kwargs: {}, count: 12, dt: 0.003 });
    ops.push({ op: 'iter', kwargs: { ascii: true }, count: 526, dt: 0.0329 });
    at(0.5);
    ops.push({ op: 'new', id: 'cache', pausable: false, kwargs: { total: 2, desc: 'Caching latents to disk' } });
    at(2906.56);
    ops.push({ op: 'update', id: 'cache', n: 1 });
    at(2882.5);
    ops.push({ op: 'update', id: 'cache', n: 1 });
    at(3.6);
    ops.push({ op: 'close', id: 'cache' });
    ops.push({ op: 'iter', kwargs: { desc: 'Generating Images', leave: false }, count: 2, dt: 3.25 });
    out.push({ name: 'start-up and phase bars', ops });
  }
  // miniters dynamics: many quick updates, a stall longer than maxinterval, update(0), postfix shrinking
  {
    const ops: Op[] = [];
    let t = 5.0;
    const at = (dt: number): void => { t += dt; ops.push({ op: 'time', t }); };
    at(0);
    ops.push({ op: 'new', id: 'b', pausable: true, kwargs: { total: 2000, desc: 'fast', leave: true, postfix: 'lr: 1.0e-04 loss: 1.038e+00 extra: 1.000e+00' } });
    for (let i = 0; i < 600; i++) {
      at(0.004 + (i % 13) * 0.001);
      if (i % 50 === 0) ops.push({ op: 'postfix', id: 'b', s: i % 100 === 0 ? 'loss: nan' : 'lr: 1.0e-04 loss: 4.123e-01' });
      ops.push({ op: 'update', id: 'b', n: 1 });
    }
    at(15.2);
    ops.push({ op: 'update', id: 'b', n: 1 });
    ops.push({ op: 'update', id: 'b', n: 0 });
    for (let i = 0; i < 200; i++) {
      at(0.03);
      ops.push({ op: 'update', id: 'b', n: 2 });
    }
    ops.push({ op: 'refresh', id: 'b' });
    out.push({ name: 'dynamic miniters and maxinterval', ops });
  }
  return out;
}

describe('TqdmWriter vs a real tqdm over a whole bar life', () => {
  it('writes exactly the same strings', (ctx) => {
    ctx.skip(TQDM_VERSION === null, SKIP_NOTE);
    const all = scenarios();
    const answer = askOracle<string[]>({ mode: 'bar_life', scenarios: all.map((s) => s.ops) });
    expect(answer.version).toBe(TQDM_VERSION);
    all.forEach((s, i) => {
      const expected = answer.results[i]!;
      const actual = runTs(s.ops);
      expect(expected.length, s.name).toBeGreaterThan(5);
      // compare the file content first (clearer diff), then the write boundaries
      expect(actual.join(''), s.name).toBe(expected.join(''));
      expect(actual, s.name).toEqual(expected);
    });
  });

  it('draws a nested bar one line down while the training bar is open', () => {
    let clock = 0;
    const writes: string[] = [];
    const registry = new TqdmRegistry();
    const common = { time: () => clock, write: (s: string) => writes.push(s), registry };
    const train = new TqdmWriter({ ...common, total: 10, desc: 'train', smoothing: 0.7 });
    train.pause();
    const sample = new TqdmWriter({ ...common, total: 1, desc: 'Generating Images', leave: false });
    clock = 3;
    sample.update(1);
    sample.close();
    train.close();
    expect(writes.join('')).toBe(
      '\rtrain:   0%|          | 0/10 [00:00<?, ?it/s]' +
      '\n\rGenerating Images:   0%|          | 0/1 [00:00<?, ?it/s]\x1b[A' +
      '\n\rGenerating Images: 100%|██████████| 1/1 [00:03<00:00,  3.00s/it]\x1b[A' +
      '\n\r' + ' '.repeat(64) + '\x1b[A' +
      '\rtrain:   0%|          | 0/10 [00:03<?, ?it/s]\n',
    );
  });
});
