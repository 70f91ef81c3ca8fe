import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GpuReading } from '../../src/parse/gpuTypes.js';
import { startGpuMonitor, type GpuEvent, type GpuMonitor, type GpuMonitorOptions } from '../../src/sources/gpuMonitor.js';
import { STAND_IN_RTX_4090 } from '../helpers/gpu.js';

// The GPU monitor against test/bin/nvidia-smi, the stand-in: a real child process, real pipes,
// real signals. Events are awaited; fixed waits only where a test shows that something does NOT happen.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FAKE = path.join(ROOT, 'test', 'bin', 'nvidia-smi');

const GPU1_UUID = 'GPU-a100a100-0000-4000-8000-000000000001';
const TWO_GPUS = [
  {},
  { name: 'NVIDIA A100-SXM4-80GB', uuid: GPU1_UUID, memoryTotalMiB: 81920, memoryUsedMiB: 60000, powerW: '[N/A]' },
];
const APPS = [{ pid: 4242, usedMemoryMiB: 59000, gpuUuid: GPU1_UUID }];

let tmp: string;
let counter = 0;
const open: GpuMonitor[] = [];

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lora-top-gpu-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

interface Invocation {
  pid: number;
  argv: string[];
}

interface Harness {
  monitor: GpuMonitor;
  events: GpuEvent[];
  log: string;
  /** The first event from index `from` on that satisfies `pred`, waiting for it if need be. */
  next<T extends GpuEvent['type']>(type: T, from?: number, pred?: (e: Extract<GpuEvent, { type: T }>) => boolean, timeoutMs?: number): Promise<Extract<GpuEvent, { type: T }> & { i: number }>;
  invocations(): Invocation[];
}

function start(
  fake: { mode?: string; gpus?: unknown; apps?: unknown; env?: NodeJS.ProcessEnv } = {},
  options: Partial<GpuMonitorOptions> = {},
): Harness {
  const events: GpuEvent[] = [];
  const log = path.join(tmp, `log-${++counter}.jsonl`);
  const waiters = new Set<() => void>();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FAKE_NVIDIA_SMI_MODE: fake.mode ?? 'normal',
    FAKE_NVIDIA_SMI_GPUS: JSON.stringify(fake.gpus ?? TWO_GPUS),
    FAKE_NVIDIA_SMI_APPS: JSON.stringify(fake.apps ?? APPS),
    FAKE_NVIDIA_SMI_DRIFT: '0',
    FAKE_NVIDIA_SMI_LOG: log,
    ...fake.env,
  };
  const monitor = startGpuMonitor({
    nvidiaSmi: FAKE,
    intervalMs: 100,
    appsEveryMs: 60_000,
    hostEveryMs: 60_000,
    env,
    ...options,
    onEvent(event) {
      events.push(event);
      for (const w of [...waiters]) w();
    },
  });
  open.push(monitor);
  const next: Harness['next'] = (type, from = 0, pred = () => true, timeoutMs = 15_000) =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (let i = from; i < events.length; i++) {
          const e = events[i]!;
          if (e.type === type && pred(e as never)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(Object.assign(e as never, { i }));
            return true;
          }
        }
        return false;
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${type} event within ${timeoutMs} ms; got ${JSON.stringify(events.map((e) => e.type))}`));
      }, timeoutMs);
      if (!check()) waiters.add(check);
    });
  const invocations = (): Invocation[] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Invocation)
      : [];
  return { monitor, events, log, next, invocations };
}

/** A predicate for `next`: the n-th (1-based) event of its type. */
function nth(h: Harness, n: number): (e: GpuEvent) => boolean {
  return (e) => h.events.filter((x) => x.type === e.type).indexOf(e) === n - 1;
}

const isResident = (inv: Invocation): boolean => inv.argv.some((a) => a.startsWith('--query-gpu='));
const isAppsQuery = (inv: Invocation): boolean => inv.argv.some((a) => a.startsWith('--query-compute-apps='));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    expect((e as NodeJS.ErrnoException).code).toBe('ESRCH');
    return false;
  }
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const GPU0: GpuReading = {
  ...STAND_IN_RTX_4090,
  uuid: expect.stringMatching(/^GPU-/) as unknown as string,
};
const GPU1: GpuReading = {
  ...GPU0,
  index: 1,
  name: 'NVIDIA A100-SXM4-80GB',
  uuid: GPU1_UUID,
  memoryUsedMiB: 60000,
  memoryTotalMiB: 81920,
  powerW: null,
};

describe('gpu monitor', () => {
  it('emits one event per sample, from ONE resident nvidia-smi, plus compute apps and host figures', async () => {
    const h = start({}, { appsEveryMs: 150, hostEveryMs: 100 });
    const sixth = await h.next('gpuReadings', 0, nth(h, 6));
    const samples = h.events.slice(0, sixth.i + 1).filter((e) => e.type === 'gpuReadings');
    for (const s of samples) expect(s.gpus).toEqual([GPU0, GPU1]);
    // samples are spread over time, not stuck together (the quiet-time flush keeps them apart)
    expect(samples[5]!.at - samples[0]!.at).toBeGreaterThanOrEqual(300);

    const apps = await h.next('gpuProcesses');
    expect(apps.apps).toEqual(APPS);
    await h.next('gpuProcesses', apps.i + 1); // and again, on the timer

    const host = await h.next('hostReading', 0, (e) => e.host.cpuPercent !== null);
    expect(host.host.memTotalBytes).toBe(os.totalmem());
    expect(host.host.memUsedBytes).toBeGreaterThan(0);
    expect(host.host.memUsedBytes).toBeLessThanOrEqual(host.host.memTotalBytes);
    expect(host.host.swapUsedBytes).toBeLessThanOrEqual(host.host.swapTotalBytes);
    expect(host.host.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(host.host.cpuPercent).toBeLessThanOrEqual(100);

    const calls = h.invocations();
    const residents = calls.filter(isResident);
    expect(residents).toHaveLength(1);
    expect(residents[0]!.argv).toEqual([
      '--query-gpu=index,name,uuid,memory.used,memory.total,utilization.gpu,temperature.gpu,power.draw,power.limit,clocks.sm',
      '--format=csv,noheader,nounits',
      '-lms',
      '100',
    ]);
    expect(calls.filter(isAppsQuery).length).toBeGreaterThanOrEqual(2);
    expect(calls.filter(isAppsQuery).length + 1).toBe(calls.length);
    expect(h.monitor.pids()).toContain(residents[0]!.pid);
    expect(h.events.some((e) => e.type === 'gpuProblem')).toBe(false);

    await h.monitor.close();
    expect(h.monitor.pids()).toEqual([]);
    for (const inv of calls) expect(alive(inv.pid)).toBe(false);
    const count = h.events.length;
    const spawned = h.invocations().length;
    await sleep(300);
    expect(h.events).toHaveLength(count); // nothing after close()
    expect(h.invocations()).toHaveLength(spawned); // and nothing started
  });

  it('finds nvidia-smi on the PATH of the given environment', async () => {
    const bin = path.dirname(FAKE);
    const h = start({ env: { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` } }, { nvidiaSmi: undefined });
    const first = await h.next('gpuReadings');
    expect(first.gpus).toHaveLength(2);
  });

  it('does not wait a whole appsEveryMs for the first list of GPU processes', async () => {
    const h = start({}, { appsEveryMs: 60_000 });
    const apps = await h.next('gpuProcesses', 0, () => true, 5000);
    expect(apps.apps).toEqual(APPS);
  });

  it('skips the compute-apps query while trainerPid answers null', async () => {
    let trainer: number | null = null;
    const h = start({}, { appsEveryMs: 100, trainerPid: () => trainer });
    await h.next('gpuReadings', 0, nth(h, 5));
    expect(h.invocations().filter(isAppsQuery)).toHaveLength(0);
    trainer = 4242;
    await h.next('gpuProcesses');
    expect(h.invocations().filter(isAppsQuery).length).toBeGreaterThanOrEqual(1);
  });

  it('restarts a stalled nvidia-smi: problem, old child killed by PID, new child, recovered', async () => {
    const h = start({ mode: 'hang-after=2' });
    await h.next('gpuReadings');
    const [first] = h.invocations();
    expect(first).toBeDefined();
    const stalled = await h.next('gpuProblem');
    expect(stalled).toMatchObject({ kind: 'stalled', message: 'nvidia-smi stopped answering; restarting it' });
    const recovered = await h.next('gpuRecovered', stalled.i);
    // the old child is gone, and was gone before the new one started
    expect(alive(first!.pid)).toBe(false);
    const residents = h.invocations().filter(isResident);
    expect(residents.length).toBeGreaterThanOrEqual(2);
    expect(residents[1]!.pid).not.toBe(first!.pid);
    const after = await h.next('gpuReadings', recovered.i);
    expect(after.gpus).toEqual([GPU0, GPU1]);
    // between the stall and the restart there is a backoff (1 s at first)
    const restartedAt = h.events.find((e, i) => i > stalled.i && e.type === 'gpuReadings')!.at;
    expect(restartedAt - stalled.at).toBeGreaterThanOrEqual(900);
    expect(h.monitor.pids().length).toBeLessThanOrEqual(1);
  });

  it('backs off further when the restarted nvidia-smi stalls again soon', async () => {
    const h = start({ mode: 'hang-after=2' });
    const stalled1 = await h.next('gpuProblem');
    const recovered1 = await h.next('gpuRecovered', stalled1.i);
    const stalled2 = await h.next('gpuProblem', recovered1.i);
    const recovered2 = await h.next('gpuRecovered', stalled2.i);
    const gap1 = recovered1.at - stalled1.at; // 1 s backoff + start-up
    const gap2 = recovered2.at - stalled2.at; // 2 s backoff + start-up
    expect(gap1).toBeGreaterThanOrEqual(900);
    expect(gap2).toBeGreaterThanOrEqual(1900);
    expect(gap2 - gap1).toBeGreaterThanOrEqual(700);
    expect(h.invocations().filter(isResident)).toHaveLength(3);
  });

  it('restarts nvidia-smi that never prints (after the first-output grace)', async () => {
    const h = start({ mode: 'hang' }, { startupGraceMs: 300 });
    const stalled = await h.next('gpuProblem');
    expect(stalled.kind).toBe('stalled');
    expect(stalled.at - h.events[0]!.at).toBeGreaterThanOrEqual(0);
    await until(() => h.invocations().filter(isResident).length >= 2, 10_000);
    const [first] = h.invocations();
    expect(alive(first!.pid)).toBe(false);
    expect(h.events.filter((e) => e.type === 'gpuProblem')).toHaveLength(1); // the same problem is not repeated
  });

  it('gives a slow nvidia-smi time to print its first sample', async () => {
    const h = start({ mode: 'slow-start=600' });
    await h.next('gpuReadings');
    expect(h.events.some((e) => e.type === 'gpuProblem')).toBe(false);
    expect(h.invocations().filter(isResident)).toHaveLength(1);
  });

  it('reports nvidia-smi ending by itself, restarts it, and recovers', async () => {
    const h = start({ mode: 'exit-after=3' });
    const problem = await h.next('gpuProblem');
    expect(problem).toMatchObject({ kind: 'error', message: 'nvidia-smi exited 0' });
    await h.next('gpuRecovered', problem.i);
    expect(h.invocations().filter(isResident).length).toBeGreaterThanOrEqual(2);
  });

  it("reports 'missing' once and never tries again", async () => {
    const dir = path.join(tmp, `missing-${++counter}`);
    const where = path.join(dir, 'nvidia-smi');
    const h = start({}, { nvidiaSmi: where });
    const missing = await h.next('gpuProblem');
    expect(missing.kind).toBe('missing');
    expect(h.monitor.pids()).toEqual([]);
    // it appears now: a monitor that retried would find it
    mkdirSync(dir);
    symlinkSync(FAKE, where);
    await sleep(2500); // past the first two backoff steps
    expect(h.invocations()).toEqual([]);
    expect(h.events.filter((e) => e.type !== 'hostReading')).toEqual([missing]);
  });

  it("reports 'missing' for a name not on PATH", async () => {
    const empty = path.join(tmp, `empty-${++counter}`);
    mkdirSync(empty);
    const h = start({ env: { PATH: empty } }, { nvidiaSmi: 'nvidia-smi' });
    expect((await h.next('gpuProblem')).kind).toBe('missing');
  });

  it("reports 'driver' and does not retry soon", async () => {
    const h = start({ mode: 'driver-failure' });
    const problem = await h.next('gpuProblem');
    expect(problem.kind).toBe('driver');
    expect(problem.message).toContain('NVIDIA driver');
    await until(() => h.monitor.pids().length === 0);
    await sleep(1500); // longer than the first backoff step
    expect(h.invocations()).toHaveLength(1);
    expect(h.events.filter((e) => e.type === 'gpuProblem')).toHaveLength(1);
    expect(h.events.some((e) => e.type === 'gpuReadings' || e.type === 'gpuProcesses')).toBe(false);
  });

  it('ignores garbage lines, and restarts nvidia-smi when nothing else comes', async () => {
    const h = start({ mode: 'garbage' });
    const problem = await h.next('gpuProblem');
    expect(problem.kind).toBe('error');
    expect(problem.message).toMatch(/cannot read/);
    expect(h.events.some((e) => e.type === 'gpuReadings')).toBe(false);
    const [first] = h.invocations();
    await until(() => !alive(first!.pid));
    await until(() => h.invocations().filter(isResident).length >= 2);
    expect(h.events.some((e) => e.type === 'gpuReadings')).toBe(false);
    expect(h.invocations().filter(isAppsQuery)).toHaveLength(0); // never healthy: no apps query
  });

  it('close() right after start leaves no child and no child handle behind', async () => {
    const kinds = (): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const k of process.getActiveResourcesInfo()) out[k] = (out[k] ?? 0) + 1;
      return out;
    };
    const before = kinds();
    const h = start({ mode: 'slow-start=5000' }, { hostEveryMs: 50, appsEveryMs: 50 });
    await until(() => h.invocations().length === 1);
    const [child] = h.invocations();
    expect(h.monitor.pids()).toEqual([child!.pid]);
    await h.monitor.close();
    await h.monitor.close(); // idempotent
    expect(alive(child!.pid)).toBe(false);
    expect(h.monitor.pids()).toEqual([]);
    await sleep(50);
    const after = kinds();
    // child handles are gone (timers are checked by the separate-process test below: vitest has its own)
    for (const kind of ['ProcessWrap', 'PipeWrap']) expect(after[kind] ?? 0).toBeLessThanOrEqual(before[kind] ?? 0);
  });

  it('removes its process exit hook on close', async () => {
    const listeners = process.listenerCount('exit');
    const h = start();
    expect(process.listenerCount('exit')).toBe(listeners + 1);
    await h.next('gpuReadings');
    await h.monitor.close();
    expect(process.listenerCount('exit')).toBe(listeners);
  });
});

describe('gpu monitor in an app of its own', () => {
  let script: string;

  beforeAll(() => {
    // Bundle a tiny app around the monitor so it runs as a separate node process.
    const entry = path.join(tmp, 'app-entry.ts');
    writeFileSync(
      entry,
      `import { startGpuMonitor } from ${JSON.stringify(path.join(ROOT, 'src', 'sources', 'gpuMonitor.ts'))};
const how = process.argv[2];
const monitor = startGpuMonitor({
  nvidiaSmi: ${JSON.stringify(FAKE)},
  intervalMs: Number(process.argv[3] ?? 100),
  onEvent(e) {
    if (e.type !== 'gpuReadings') return;
    process.stdout.write(JSON.stringify({ pids: monitor.pids() }) + '\\n');
    if (how === 'exit') process.exit(0);
    if (how === 'close') void monitor.close().then(() => process.stdout.write('closed\\n'));
  },
});
`,
    );
    script = path.join(tmp, 'app.cjs');
    buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', outfile: script, logLevel: 'silent' });
  });

  function runApp(how: 'exit' | 'close', intervalMs: number): Promise<{ pids: number[]; code: number | null; out: string; tookMs: number }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const child = spawn(process.execPath, [script, how, String(intervalMs)], {
        env: { ...process.env, FAKE_NVIDIA_SMI_MODE: 'normal' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`app did not exit by itself; output: ${out}`));
      }, 15_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        const first = out.split('\n')[0] ?? '{}';
        resolve({ pids: (JSON.parse(first) as { pids: number[] }).pids, code, out, tookMs: Date.now() - started });
      });
    });
  }

  it('an app that exits without close() leaves no nvidia-smi behind', async () => {
    // a long interval: the stand-in would only notice it was orphaned at its next sample, 30 s away
    const { pids, code } = await runApp('exit', 30_000);
    expect(code).toBe(0);
    expect(pids).toHaveLength(1);
    await until(() => !alive(pids[0]!), 2000);
  });

  it('after close() the app exits by itself: no timer or handle keeps it alive', async () => {
    const { pids, code, out } = await runApp('close', 100);
    expect(code).toBe(0);
    expect(out).toContain('closed');
    expect(pids.length).toBeGreaterThanOrEqual(1);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });
});
