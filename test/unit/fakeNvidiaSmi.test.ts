/**
 * The nvidia-smi stand-in (test/bin/nvidia-smi), run the way lora-top runs the real one: found on
 * PATH, spawned with child_process, its output read back with src/parse/nvidiaSmi.ts.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GPU_QUERY_FIELDS } from '../../src/parse/gpuTypes.js';
import { STAND_IN_RTX_4090 } from '../helpers/gpu.js';
import {
  GpuSampleGrouper,
  NVIDIA_SMI_DRIVER_FAILURE,
  classifyNvidiaSmiFailure,
  computeAppsArgs,
  gpuQueryArgs,
  parseComputeApps,
  parseGpuLine,
} from '../../src/parse/nvidiaSmi.js';

const BIN = fileURLToPath(new URL('../bin', import.meta.url));
const FAKE = path.join(BIN, 'nvidia-smi');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-nvidia-smi-'));

const TWO_GPUS = [
  { name: 'NVIDIA A100-SXM4-80GB', uuid: 'GPU-aaaaaaaa-0000-0000-0000-000000000000', memoryTotalMiB: 81920, memoryUsedMiB: 40000, utilization: 98, temperature: 60, powerW: 350.5, powerLimitW: 400, clockMHz: 1410 },
  { name: 'NVIDIA A100-SXM4-80GB', uuid: 'GPU-bbbbbbbb-0000-0000-0000-000000000000', memoryTotalMiB: 81920, memoryUsedMiB: 1024, utilization: 5, temperature: 35, powerW: 60, powerLimitW: 400, clockMHz: 210 },
];

type Env = Record<string, string>;

/** A running stand-in: its stdout as lines, its exit as a promise, waits that end on events. */
class Smi {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters = new Set<() => void>();
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(args: string[], env: Env = {}) {
    // Found through PATH, as lora-top finds the real one.
    this.child = spawn('nvidia-smi', args, { env: { ...process.env, PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ''}`, ...env } });
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (text: string) => {
      this.stdout += text;
      this.notify();
    });
    this.child.stderr.on('data', (text: string) => {
      this.stderr += text;
    });
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
        this.notify();
      });
    });
    running.add(this);
    void this.exited.then(() => running.delete(this));
  }

  /** Complete lines so far. */
  get lines(): string[] {
    const parts = this.stdout.split('\n');
    parts.pop();
    return parts;
  }

  /** Resolves when `condition` holds (checked on every output and at exit); rejects after `ms`. */
  until(condition: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (condition()) {
          finish();
          resolve();
        } else if (this.exitInfo) {
          finish();
          reject(new Error(`nvidia-smi exited (${JSON.stringify(this.exitInfo)}) before ${what}; stdout: ${JSON.stringify(this.stdout)}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no ${what} within ${ms} ms; stdout: ${JSON.stringify(this.stdout)}`));
      }, ms);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** True if nothing new is printed for `ms` (it must still be running at the end). */
  async staysQuiet(ms: number): Promise<boolean> {
    const before = this.stdout.length;
    try {
      await this.until(() => this.stdout.length !== before, ms, 'output');
      return false;
    } catch {
      return this.stdout.length === before && this.exitInfo === null;
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exitInfo) this.child.kill(signal);
    return this.exited;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

const running = new Set<Smi>();

/** Runs to completion (with a deadline), like execFile. */
async function runOnce(args: string[], env: Env = {}, ms = 5000): Promise<{ stdout: string; stderr: string; code: number | null; signal: NodeJS.Signals | null }> {
  const smi = new Smi(args, env);
  const timer = setTimeout(() => smi.child.kill('SIGKILL'), ms);
  const { code, signal } = await smi.exited;
  clearTimeout(timer);
  return { stdout: smi.stdout, stderr: smi.stderr, code, signal };
}

function logLines(file: string): { pid: number; argv: string[] }[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { pid: number; argv: string[] });
}

afterEach(async () => {
  await Promise.all([...running].map((smi) => smi.stop('SIGKILL')));
});

afterAll(() => {
  fs.rmSync(TMP, { recursive: true, force: true });
});

describe('the stand-in itself', () => {
  it('is an executable node script', () => {
    const stat = fs.statSync(FAKE);
    expect(stat.mode & 0o111).not.toBe(0);
    expect(fs.readFileSync(FAKE, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});

describe('--query-gpu', () => {
  it('answers exactly the fields asked, in the order asked, csv,noheader,nounits', async () => {
    const r = await runOnce(['--query-gpu=power.draw,index,memory.total,name', '--format=csv,noheader,nounits']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('412.35, 0, 24564, NVIDIA GeForce RTX 4090\n');
  });

  it('answers the fields lora-top asks for in a line parseGpuLine reads', async () => {
    const r = await runOnce([`--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^0, NVIDIA GeForce RTX 4090, GPU-[0-9a-f-]+, 18432, 24564, 97, 71, 412\.35, 450\.00, 2520\n$/);
    expect(parseGpuLine(r.stdout)).toMatchObject(STAND_IN_RTX_4090);
  });

  it('prints a header with units, and units in the values, with --format=csv', async () => {
    const fields =
      'index,name,uuid,driver_version,memory.used,memory.total,memory.free,utilization.gpu,utilization.memory,temperature.gpu,power.draw,power.limit,clocks.sm,clocks.current.graphics,clocks.current.memory,fan.speed,pci.bus_id';
    const r = await runOnce([`--query-gpu=${fields}`, '--format=csv']);
    expect(r.code).toBe(0);
    const [header, row, ...rest] = r.stdout.split('\n');
    expect(rest).toEqual(['']);
    expect(header).toBe(
      'index, name, uuid, driver_version, memory.used [MiB], memory.total [MiB], memory.free [MiB], utilization.gpu [%], utilization.memory [%], temperature.gpu, power.draw [W], power.limit [W], clocks.current.sm [MHz], clocks.current.graphics [MHz], clocks.current.memory [MHz], fan.speed [%], pci.bus_id',
    );
    const values = row?.split(', ') ?? [];
    expect(values).toHaveLength(17);
    expect(values[0]).toBe('0');
    expect(values[2]).toMatch(/^GPU-/);
    expect(values.slice(4, 9)).toEqual(['18432 MiB', '24564 MiB', '6132 MiB', '97 %', values[8]]);
    expect(values[8]).toMatch(/^\d+ %$/);
    expect(values[9]).toBe('71');
    expect(values.slice(10, 13)).toEqual(['412.35 W', '450.00 W', '2520 MHz']);
    expect(values[13]).toBe('2520 MHz');
    expect(values[14]).toMatch(/^\d+ MHz$/);
    expect(values[15]).toMatch(/^\d+ %$/);
    expect(values[16]).toBe('00000000:01:00.0');
  });

  it('prints the header without units for csv,nounits, and no header for csv,noheader', async () => {
    const a = await runOnce(['--query-gpu=index,memory.used', '--format=csv,nounits']);
    expect(a.stdout).toBe('index, memory.used [MiB]\n0, 18432\n');
    const b = await runOnce(['--query-gpu=index,memory.used', '--format=csv,noheader']);
    expect(b.stdout).toBe('0, 18432 MiB\n');
  });

  it('takes the GPUs from FAKE_NVIDIA_SMI_GPUS, one line each, and prints placeholders as given', async () => {
    const gpus = [TWO_GPUS[0], { name: 'NVIDIA H100 80GB HBM3 MIG 1g.10gb', powerW: '[N/A]', utilization: '[Not Supported]', memoryUsedMiB: '[N/A]', clockMHz: 1980 }];
    const r = await runOnce([`--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, '--format=csv'], { FAKE_NVIDIA_SMI_GPUS: JSON.stringify(gpus) });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^1, NVIDIA H100 80GB HBM3 MIG 1g\.10gb, GPU-[0-9a-f-]+, \[N\/A\], 24564 MiB, \[Not Supported\], 71, \[N\/A\], 450\.00 W, 1980 MHz$/);
    const parsed = lines.map(parseGpuLine);
    expect(parsed[0]).toBeNull(); // the header
    expect(parsed[1]).toMatchObject({ index: 0, uuid: TWO_GPUS[0]?.uuid, memoryUsedMiB: 40000, memoryTotalMiB: 81920, powerW: 350.5, clockMHz: 1410 });
    expect(parsed[2]).toMatchObject({ index: 1, memoryUsedMiB: null, utilizationPercent: null, powerW: null, powerLimitW: 450, clockMHz: 1980 });
  });

  it('restricts to one GPU with -i N or --id=N', async () => {
    const env = { FAKE_NVIDIA_SMI_GPUS: JSON.stringify(TWO_GPUS) };
    const a = await runOnce(['-i', '1', '--query-gpu=index,uuid', '--format=csv,noheader'], env);
    expect(a.stdout).toBe(`1, ${TWO_GPUS[1]?.uuid}\n`);
    const b = await runOnce(['--id=0', '--query-gpu=index', '--format=csv,noheader'], env);
    expect(b.stdout).toBe('0\n');
    const c = await runOnce(['-i', '7', '--query-gpu=index', '--format=csv,noheader'], env);
    expect(c.code).toBe(6);
    expect(c.stdout).toBe('No devices were found\n');
  });

  it('refuses an unknown field the way nvidia-smi does', async () => {
    const r = await runOnce(['--query-gpu=index,foo,name', '--format=csv,noheader,nounits']);
    expect(r.code).toBe(2);
    expect(r.stdout.trim()).toBe('Field "foo" is not a valid field to query.');
    expect(classifyNvidiaSmiFailure(r.stdout + r.stderr, r.code)).toEqual({ kind: 'error', message: 'nvidia-smi exited 2: Field "foo" is not a valid field to query.' });
  });
});

describe('looping (-lms, -l)', () => {
  it('prints every GPU every N ms until killed, each sample parseable and plausible', async () => {
    const smi = new Smi(gpuQueryArgs(50), { FAKE_NVIDIA_SMI_GPUS: JSON.stringify(TWO_GPUS) });
    const grouper = new GpuSampleGrouper();
    const samples: ReturnType<GpuSampleGrouper['flush']>[] = [];
    let consumed = 0;
    await smi.until(
      () => {
        const lines = smi.lines;
        for (; consumed < lines.length; consumed++) {
          const reading = parseGpuLine(lines[consumed] ?? '');
          expect(reading).not.toBeNull();
          const done = reading && grouper.push(reading);
          if (done) samples.push(done);
        }
        return samples.length >= 5;
      },
      10_000,
      'five samples',
    );
    const { signal } = await smi.stop('SIGTERM');
    expect(signal).toBe('SIGTERM');
    expect(smi.stderr).toBe('');

    for (const sample of samples) expect(sample?.map((r) => r.index)).toEqual([0, 1]);
    // The first sample is the configuration as given; later ones wander plausibly.
    expect(samples[0]?.[0]).toMatchObject({ memoryUsedMiB: 40000, utilizationPercent: 98, temperatureC: 60, powerW: 350.5, clockMHz: 1410 });
    const busy = samples.map((s) => s?.[0]);
    for (const r of busy) {
      expect(r?.utilizationPercent).toBeGreaterThanOrEqual(90);
      expect(r?.utilizationPercent).toBeLessThanOrEqual(100);
      expect(r?.memoryUsedMiB).toBeGreaterThan(40000 - 2048);
      expect(r?.memoryUsedMiB).toBeLessThanOrEqual(81920);
      expect(r?.temperatureC).toBeGreaterThanOrEqual(50);
      expect(r?.temperatureC).toBeLessThanOrEqual(70);
      expect(r?.powerW).toBeGreaterThan(0);
      expect(r?.powerW).toBeLessThanOrEqual(400);
      expect(r?.uuid).toBe(TWO_GPUS[0]?.uuid);
    }
    expect(new Set(busy.map((r) => `${r?.memoryUsedMiB}/${r?.powerW}`)).size).toBeGreaterThan(1);
  });

  it('prints the csv header once, at the top', async () => {
    const smi = new Smi(['--query-gpu=index,utilization.gpu', '--format=csv', '--loop-ms=30']);
    await smi.until(() => smi.lines.length >= 4, 10_000, 'four lines');
    await smi.stop();
    expect(smi.lines[0]).toBe('index, utilization.gpu [%]');
    expect(smi.lines.slice(1).every((l) => /^0, \d+ %$/.test(l))).toBe(true);
  });

  it('takes -l in seconds, printing the first sample at once', async () => {
    const started = Date.now();
    const smi = new Smi(['--query-gpu=index', '--format=csv,noheader', '-l', '2']);
    await smi.until(() => smi.lines.length >= 1, 5000, 'the first sample');
    const first = Date.now() - started;
    expect(await smi.staysQuiet(300)).toBe(true); // the next one is two seconds away
    const { signal } = await smi.stop('SIGINT');
    expect(signal).toBe('SIGINT');
    expect(first).toBeLessThan(5000);
  });

  it('exits quietly when the reader closes the pipe (EPIPE)', async () => {
    const smi = new Smi(['--query-gpu=index', '--format=csv,noheader', '-lms', '20']);
    await smi.until(() => smi.lines.length >= 1, 5000, 'the first sample');
    smi.child.stdout.destroy();
    const { code, signal } = await smi.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(smi.stderr).toBe('');
  });
});

describe('--query-compute-apps', () => {
  const apps = [
    { pid: 12345, usedMemoryMiB: 18000, gpuUuid: TWO_GPUS[1]?.uuid },
    { pid: 999, usedMemoryMiB: '[N/A]', gpuUuid: TWO_GPUS[0]?.uuid },
  ];
  const env = { FAKE_NVIDIA_SMI_GPUS: JSON.stringify(TWO_GPUS), FAKE_NVIDIA_SMI_APPS: JSON.stringify(apps) };

  it('lists one line per process, by GPU, and parses back', async () => {
    const r = await runOnce(computeAppsArgs(), env);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`999, [N/A], ${TWO_GPUS[0]?.uuid}\n12345, 18000, ${TWO_GPUS[1]?.uuid}\n`);
    expect(parseComputeApps(r.stdout)).toEqual([
      { pid: 999, usedMemoryMiB: null, gpuUuid: TWO_GPUS[0]?.uuid },
      { pid: 12345, usedMemoryMiB: 18000, gpuUuid: TWO_GPUS[1]?.uuid },
    ]);
  });

  it('names used_memory used_gpu_memory in the header and adds units', async () => {
    const r = await runOnce(['--query-compute-apps=pid,used_memory,gpu_uuid', '--format=csv', '-i', '1'], env);
    expect(r.stdout).toBe(`pid, used_gpu_memory [MiB], gpu_uuid\n12345, 18000 MiB, ${TWO_GPUS[1]?.uuid}\n`);
    expect(parseComputeApps(r.stdout)).toEqual([{ pid: 12345, usedMemoryMiB: 18000, gpuUuid: TWO_GPUS[1]?.uuid }]);
  });

  it('prints nothing with noheader, and only the header without, when there are no processes', async () => {
    const a = await runOnce(computeAppsArgs());
    expect({ code: a.code, stdout: a.stdout }).toEqual({ code: 0, stdout: '' });
    expect(parseComputeApps(a.stdout)).toEqual([]);
    const b = await runOnce(['--query-compute-apps=pid,used_memory,gpu_uuid', '--format=csv']);
    expect({ code: b.code, stdout: b.stdout }).toEqual({ code: 0, stdout: 'pid, used_gpu_memory [MiB], gpu_uuid\n' });
  });
});

describe('FAKE_NVIDIA_SMI_MODE', () => {
  it('driver-failure: the driver message and exit 9, for queries and loops alike', async () => {
    for (const args of [gpuQueryArgs(50), computeAppsArgs()]) {
      const r = await runOnce(args, { FAKE_NVIDIA_SMI_MODE: 'driver-failure' });
      expect(r.code).toBe(9);
      expect(r.stdout).toBe(`${NVIDIA_SMI_DRIVER_FAILURE}\n`);
      expect(classifyNvidiaSmiFailure(r.stdout + r.stderr, r.code)).toEqual({ kind: 'driver', message: 'the NVIDIA driver is not responding (nvidia-smi exited 9)' });
    }
  });

  it('hang: prints nothing and does not exit, until killed', async () => {
    const log = path.join(TMP, 'hang.log');
    const smi = new Smi(gpuQueryArgs(20), { FAKE_NVIDIA_SMI_MODE: 'hang', FAKE_NVIDIA_SMI_LOG: log });
    await waitFor(() => logLines(log).some((l) => l.pid === smi.child.pid), 5000, 'the hung stand-in to start');
    expect(await smi.staysQuiet(300)).toBe(true);
    const { signal } = await smi.stop('SIGTERM');
    expect(signal).toBe('SIGTERM');
    expect(smi.stdout).toBe('');
  });

  it('hang-after=K: K samples, then silence while still running', async () => {
    const smi = new Smi(gpuQueryArgs(20), { FAKE_NVIDIA_SMI_MODE: 'hang-after=2', FAKE_NVIDIA_SMI_GPUS: JSON.stringify(TWO_GPUS) });
    await smi.until(() => smi.lines.length >= 4, 5000, 'two samples');
    expect(await smi.staysQuiet(300)).toBe(true); // fifteen intervals
    expect(smi.lines).toHaveLength(4);
    expect(smi.lines.map(parseGpuLine).map((r) => r?.index)).toEqual([0, 1, 0, 1]);
    const { signal } = await smi.stop('SIGKILL');
    expect(signal).toBe('SIGKILL');
  });

  it('exit-after=K: K samples, then exit 0', async () => {
    const smi = new Smi(gpuQueryArgs(20), { FAKE_NVIDIA_SMI_MODE: 'exit-after=3' });
    const { code, signal } = await smi.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(smi.lines).toHaveLength(3);
    expect(smi.lines.every((l) => parseGpuLine(l)?.index === 0)).toBe(true);
  });

  it('garbage: junk lines no parser takes, exit 0 once, forever in a loop', async () => {
    const once = await runOnce(['--query-gpu=index', '--format=csv,noheader'], { FAKE_NVIDIA_SMI_MODE: 'garbage' });
    expect(once.code).toBe(0);
    expect(once.stdout.length).toBeGreaterThan(0);

    const smi = new Smi(gpuQueryArgs(20), { FAKE_NVIDIA_SMI_MODE: 'garbage' });
    await smi.until(() => smi.lines.length >= 8, 5000, 'eight lines of junk');
    await smi.stop();
    for (const line of [...once.stdout.split('\n'), ...smi.lines]) {
      expect(parseGpuLine(line)).toBeNull();
      expect(parseComputeApps(line)).toEqual([]);
    }
  });

  it('slow-start=MS: nothing until MS have passed', async () => {
    const started = Date.now();
    const r = await runOnce(['--query-gpu=index', '--format=csv,noheader'], { FAKE_NVIDIA_SMI_MODE: 'slow-start=300' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(r).toMatchObject({ code: 0, stdout: '0\n' });
  });

  it('words combine: slow-start then exit-after', async () => {
    const smi = new Smi(gpuQueryArgs(10), { FAKE_NVIDIA_SMI_MODE: 'slow-start=100,exit-after=2' });
    expect((await smi.exited).code).toBe(0);
    expect(smi.lines).toHaveLength(2);
  });
});

describe('FAKE_NVIDIA_SMI_LOG', () => {
  it('records one line per invocation, with pid and arguments', async () => {
    const log = path.join(TMP, 'calls.log');
    const runs = [gpuQueryArgs(50), computeAppsArgs(), ['-L']];
    const pids: (number | undefined)[] = [];
    for (const args of runs) {
      const smi = new Smi(args, { FAKE_NVIDIA_SMI_LOG: log, FAKE_NVIDIA_SMI_MODE: 'exit-after=1' });
      pids.push(smi.child.pid);
      await smi.exited;
    }
    const lines = logLines(log);
    expect(lines.map((l) => l.argv)).toEqual(runs);
    expect(lines.map((l) => l.pid)).toEqual(pids);
  });
});

describe('not on PATH', () => {
  it('is reported as missing', async () => {
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
      const child = spawn('nvidia-smi', computeAppsArgs(), { env: { ...process.env, PATH: TMP } });
      child.on('error', resolve);
    });
    expect(classifyNvidiaSmiFailure('', null, error.code)).toEqual({ kind: 'missing', message: 'nvidia-smi not found on PATH: no GPU figures' });
  });
});

/** Polls a condition that no event announces (a file written by another process). */
async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
