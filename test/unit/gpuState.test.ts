import { describe, expect, it } from 'vitest';
import type { GpuReading } from '../../src/parse/gpuTypes.js';
import { applyGpuEvent, copyGpu, GPU_HISTORY_MS, initialGpu, selectedReading, type GpuEvent } from '../../src/state/gpuState.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState } from '../../src/state/runState.js';
import { estimateFinish } from '../../src/state/eta.js';
import { jsonSnapshot } from '../../src/view/snapshot.js';
import { renderDashboard } from '../helpers/dashboard.js';
import { STAND_IN_RTX_4090 } from '../helpers/gpu.js';

// The GPU side of the run state, and what the panel and --json make of it.

function gpu(index: number, used: number | null, extra: Partial<GpuReading> = {}): GpuReading {
  return {
    ...STAND_IN_RTX_4090,
    index,
    name: index === 0 ? 'NVIDIA GeForce RTX 4090' : 'NVIDIA A100-SXM4-80GB',
    uuid: `GPU-${index}000`,
    memoryUsedMiB: used,
    memoryTotalMiB: index === 0 ? 24564 : 81920,
    ...extra,
  };
}

function apply(events: Array<[number, GpuEvent]>, requested: number | null = null) {
  const state = copyGpu(initialGpu(requested));
  for (const [at, event] of events) applyGpuEvent(state, event, at);
  return state;
}

describe('gpu state', () => {
  it('follows the trainer’s GPU, by its process first, then CUDA_VISIBLE_DEVICES, then --gpu, then the first', () => {
    const two: GpuEvent = { type: 'gpuReadings', gpus: [gpu(0, 1000), gpu(1, 60000)] };
    expect(apply([[1, two]]).selected).toBe(0);
    expect(apply([[1, two]], 1).selectedBy).toBe('requested');
    expect(apply([[1, two], [2, { type: 'trainerProcess', pid: 42, visibleDevices: '1' }]]).selected).toBe(1);
    const byProcess = apply([
      [1, two],
      [2, { type: 'trainerProcess', pid: 42, visibleDevices: null }],
      [3, { type: 'gpuProcesses', apps: [{ pid: 42, usedMemoryMiB: 59000, gpuUuid: 'GPU-1000' }] }],
    ]);
    expect(byProcess).toMatchObject({ selected: 1, selectedBy: 'trainer', processMatch: 'matched', processMemoryMiB: 59000 });
  });

  it('says when the trainer is not among nvidia-smi’s processes (container PIDs)', () => {
    const state = apply([
      [1, { type: 'gpuReadings', gpus: [gpu(0, 18000)] }],
      [2, { type: 'trainerProcess', pid: 42, visibleDevices: null }],
      [3, { type: 'gpuProcesses', apps: [{ pid: 987654, usedMemoryMiB: 17000, gpuUuid: 'GPU-0000' }] }],
    ]);
    expect(state.processMatch).toBe('notListed');
    expect(state.processMemoryMiB).toBeNull();
  });

  it('keeps ten minutes of history and the peak', () => {
    const events: Array<[number, GpuEvent]> = [];
    for (let s = 0; s <= 900; s++) events.push([s * 1000, { type: 'gpuReadings', gpus: [gpu(0, s === 100 ? 24000 : 18000)] }]);
    const state = apply(events);
    expect(state.history[0]!.at).toBeGreaterThanOrEqual(900_000 - GPU_HISTORY_MS);
    expect(state.history.length).toBeLessThanOrEqual(601);
    expect(state.peakMemoryUsedMiB).toBe(24000);
  });

  it('unknown values stay unknown, and a problem replaces the figures', () => {
    const state = apply([[1, { type: 'gpuReadings', gpus: [gpu(0, 18000, { powerW: null, temperatureC: null })] }]]);
    expect(selectedReading(state)).toMatchObject({ powerW: null, temperatureC: null });
    const missing = apply([[1, { type: 'gpuProblem', kind: 'missing', message: 'nvidia-smi not found on PATH: no GPU figures' }]]);
    expect(missing.gpus).toEqual([]);
    expect(missing.problem?.kind).toBe('missing');
  });
});

describe('gpu in --json and on screen', () => {
  const at = Date.parse('2026-11-28T11:59:00Z');
  const withGpu = reduceRun(initialRunState(), [
    { at, event: { type: 'gpuReadings', gpus: [gpu(0, 23500), gpu(1, 1000)] } },
    { at, event: { type: 'trainerProcess', pid: 42, visibleDevices: null } },
    { at, event: { type: 'gpuProcesses', apps: [{ pid: 42, usedMemoryMiB: 23000, gpuUuid: 'GPU-0000' }] } },
    { at, event: { type: 'hostReading', host: { memUsedBytes: 12 * 1024 ** 3, memTotalBytes: 64 * 1024 ** 3, swapUsedBytes: 0, swapTotalBytes: 8 * 1024 ** 3, cpuPercent: 23 } } },
  ]);

  it('fills gpu and gpus', () => {
    const json = jsonSnapshot(withGpu, estimateFinish(withGpu, at, 3000));
    expect(json.gpu).toEqual({
      index: 0,
      name: 'NVIDIA GeForce RTX 4090',
      memoryUsedMiB: 23500,
      memoryTotalMiB: 24564,
      utilizationPercent: 97,
      temperatureC: 71,
      powerW: 412.35,
      powerLimitW: 450,
      clockMHz: 2520,
      processMemoryMiB: 23000,
    });
    expect(json.gpus.map((g) => g.index)).toEqual([0, 1]);
    const none = jsonSnapshot(initialRunState(), estimateFinish(initialRunState(), at, 3000));
    expect(none.gpu).toBeNull();
    expect(none.gpus).toEqual([]);
  });

  it('shows VRAM headroom (red under 5 %), the trainer’s own VRAM, host RAM and the other GPU', () => {
    const r = renderDashboard(withGpu, 120, 40);
    const plain = r.plain();
    expect(plain).toMatch(/22\.9\/24\.0 GiB · 1\.0 GiB free \(4%\)/);
    expect(plain).toContain('trainer pid 42 22.5 GiB');
    expect(plain).toMatch(/RAM 12\.0\/64\.0 GiB/);
    expect(plain).toMatch(/GPU 1 +1\.0\/80\.0 GiB/);
    // Under 5 % headroom the figure is drawn in the theme's alarm style (red, bold).
    expect(r.lastFrame()).toMatch(/\x1b\[[0-9;]*31[0-9;]*m[^\x1b]*1\.0 GiB free/);
    r.unmount();
  });

  it('puts the GPU’s recent utilisation, power, clock and temperature right under the speed sparkline', () => {
    const events = Array.from({ length: 30 }, (_, i) => ({
      at: at + i * 1000,
      event: { type: 'gpuReadings' as const, gpus: [gpu(0, 18000, { powerW: 300 + i * 5, clockMHz: 2500 - i * 20, temperatureC: 70 + i })] },
    }));
    const state = reduceRun(initialRunState(), events);
    const r = renderDashboard(state, 120, 40);
    const lines = r.plain().split('\n');
    const speed = lines.findIndex((l) => l.startsWith('── Speed'));
    expect(lines[speed + 2]).toMatch(/^util \S+ +power \S+ +clock \S+ +temp \S+/);
    r.unmount();
  });

  it('says once, plainly, that there is no GPU', () => {
    const state = reduceRun(initialRunState(), [{ at, event: { type: 'gpuProblem', kind: 'missing', message: 'nvidia-smi not found on PATH: no GPU figures' } }]);
    const r = renderDashboard(state, 100, 30);
    expect(r.plain()).toContain('nvidia-smi not found on PATH: no GPU figures');
    r.unmount();
  });
});
