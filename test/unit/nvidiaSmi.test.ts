import { describe, expect, it } from 'vitest';
import { COMPUTE_APP_FIELDS, GPU_QUERY_FIELDS, type GpuReading } from '../../src/parse/gpuTypes.js';
import { STAND_IN_RTX_4090 } from '../helpers/gpu.js';
import {
  FAILURE_MESSAGE_MAX,
  GpuSampleGrouper,
  NVIDIA_SMI_DRIVER_FAILURE,
  classifyNvidiaSmiFailure,
  computeAppsArgs,
  groupSamples,
  gpuQueryArgs,
  parseComputeApps,
  parseGpuLine,
} from '../../src/parse/nvidiaSmi.js';

const UUID = 'GPU-4f1c9a2e-7b3d-4c8e-9a51-1d2e3f000000';

function reading(index: number, overrides: Partial<GpuReading> = {}): GpuReading {
  return {
    index,
    name: 'NVIDIA GeForce RTX 4090',
    uuid: `GPU-${index}`,
    memoryUsedMiB: 1000,
    memoryTotalMiB: 24564,
    utilizationPercent: 50,
    temperatureC: 60,
    powerW: 300,
    powerLimitW: 450,
    clockMHz: 2500,
    ...overrides,
  };
}

describe('argument lists', () => {
  it('asks for GPU_QUERY_FIELDS in order, csv without header or units, every interval ms', () => {
    expect(gpuQueryArgs(1000)).toEqual([
      '--query-gpu=index,name,uuid,memory.used,memory.total,utilization.gpu,temperature.gpu,power.draw,power.limit,clocks.sm',
      '--format=csv,noheader,nounits',
      '-lms',
      '1000',
    ]);
    expect(gpuQueryArgs(250)[0]).toBe(`--query-gpu=${GPU_QUERY_FIELDS.join(',')}`);
    expect(gpuQueryArgs(250)[3]).toBe('250');
  });

  it('never hands nvidia-smi an interval it would reject', () => {
    expect(gpuQueryArgs(333.7)[3]).toBe('334');
    expect(gpuQueryArgs(0)[3]).toBe('1');
    expect(gpuQueryArgs(-5)[3]).toBe('1');
    expect(gpuQueryArgs(Number.NaN)[3]).toBe('1000');
  });

  it('asks for the compute apps in COMPUTE_APP_FIELDS order', () => {
    expect(computeAppsArgs()).toEqual(['--query-compute-apps=pid,used_memory,gpu_uuid', '--format=csv,noheader,nounits']);
    expect(computeAppsArgs()[0]).toBe(`--query-compute-apps=${COMPUTE_APP_FIELDS.join(',')}`);
  });
});

describe('parseGpuLine', () => {
  it('reads a csv,noheader,nounits line', () => {
    expect(parseGpuLine(`0, NVIDIA GeForce RTX 4090, ${UUID}, 18432, 24564, 97, 71, 412.35, 450.00, 2520`)).toEqual({
      ...STAND_IN_RTX_4090,
      uuid: UUID,
    });
  });

  it('tolerates missing spaces, extra spaces, CR and a trailing newline', () => {
    const r = parseGpuLine('3,NVIDIA H100 80GB HBM3 ,GPU-x,  59,81559,0,42,71.15,700.00,345\r\n');
    expect(r).toMatchObject({ index: 3, name: 'NVIDIA H100 80GB HBM3', uuid: 'GPU-x', memoryUsedMiB: 59, clockMHz: 345 });
  });

  it('turns every kind of placeholder into null, never 0', () => {
    const r = parseGpuLine('1, NVIDIA H100 80GB HBM3 MIG 1g.10gb, [N/A], [N/A], [Not Supported], [Unknown Error], N/A, , [Insufficient Permissions], [GPU is lost]');
    expect(r).toEqual({
      index: 1,
      name: 'NVIDIA H100 80GB HBM3 MIG 1g.10gb',
      uuid: null,
      memoryUsedMiB: null,
      memoryTotalMiB: null,
      utilizationPercent: null,
      temperatureC: null,
      powerW: null,
      powerLimitW: null,
      clockMHz: null,
    });
  });

  it('keeps a real 0 as 0', () => {
    expect(parseGpuLine('0, GPU, GPU-0, 0, 8192, 0, 30, 0.00, 250.00, 0')).toMatchObject({
      memoryUsedMiB: 0,
      utilizationPercent: 0,
      powerW: 0,
      clockMHz: 0,
    });
  });

  it('turns non-numeric values into null', () => {
    const r = parseGpuLine('0, GPU, GPU-0, lots, 0x10, 9 7, NaN, Infinity, 1e3, --');
    expect(r).toMatchObject({ memoryUsedMiB: null, memoryTotalMiB: null, utilizationPercent: null, temperatureC: null, powerW: null, powerLimitW: null, clockMHz: null });
  });

  it('accepts values printed with units (--format=csv without nounits)', () => {
    const r = parseGpuLine(`0, NVIDIA GeForce RTX 4090, ${UUID}, 18432 MiB, 24564 MiB, 97 %, 71, 412.35 W, 450.00 W, 2520 MHz`);
    expect(r).toMatchObject({ memoryUsedMiB: 18432, memoryTotalMiB: 24564, utilizationPercent: 97, temperatureC: 71, powerW: 412.35, powerLimitW: 450, clockMHz: 2520 });
  });

  it('rebuilds a name that contains commas from the surplus fields', () => {
    const r = parseGpuLine(`2, Weird, GPU, Inc. Model X, ${UUID}, 100, 200, 3, 40, 50.5, 60.00, 700`);
    expect(r).toMatchObject({ index: 2, name: 'Weird, GPU, Inc. Model X', uuid: UUID, memoryUsedMiB: 100, memoryTotalMiB: 200, clockMHz: 700 });
  });

  it('rejects a line with too few fields', () => {
    expect(parseGpuLine('0, NVIDIA GeForce RTX 4090, GPU-x, 18432, 24564, 97, 71, 412.35, 450.00')).toBeNull();
    expect(parseGpuLine('0')).toBeNull();
    expect(parseGpuLine('')).toBeNull();
  });

  it('rejects an index that is not a whole number', () => {
    for (const index of ['-1', '1.5', 'x', '', '[N/A]', '0x1', ' 1 2']) {
      expect(parseGpuLine(`${index}, GPU, GPU-0, 1, 2, 3, 4, 5, 6, 7`)).toBeNull();
    }
  });

  it('rejects header lines and garbage', () => {
    expect(
      parseGpuLine('index, name, uuid, memory.used [MiB], memory.total [MiB], utilization.gpu [%], temperature.gpu, power.draw [W], power.limit [W], clocks.current.sm [MHz]'),
    ).toBeNull();
    expect(parseGpuLine("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")).toBeNull();
    expect(parseGpuLine('Unable to determine the device handle for GPU 0000:01:00.0: Unknown Error')).toBeNull();
    expect(parseGpuLine('lorem, ipsum, dolor sit amet')).toBeNull();
    expect(parseGpuLine(',,,,,,,,,')).toBeNull();
  });

  it('strips terminal control sequences from the name and uuid', () => {
    const r = parseGpuLine('0, \u001b[31mEvil\u001b[0m GPU\u0007, GPU-\u001b]0;title\u0007x, 1, 2, 3, 4, 5, 6, 7');
    expect(r?.name).toBe('Evil GPU');
    expect(r?.uuid).toBe('GPU-x');
  });

  it('gives a placeholder name a readable one', () => {
    expect(parseGpuLine('4, [N/A], GPU-4, 1, 2, 3, 4, 5, 6, 7')?.name).toBe('GPU 4');
  });
});

describe('parseComputeApps', () => {
  it('reads csv,noheader,nounits lines', () => {
    expect(parseComputeApps(`12345, 18000, ${UUID}\n777, 512, GPU-other\n`)).toEqual([
      { pid: 12345, usedMemoryMiB: 18000, gpuUuid: UUID },
      { pid: 777, usedMemoryMiB: 512, gpuUuid: 'GPU-other' },
    ]);
  });

  it('is empty for empty output (no processes)', () => {
    expect(parseComputeApps('')).toEqual([]);
    expect(parseComputeApps('\n')).toEqual([]);
  });

  it('skips the header and accepts units', () => {
    const text = `pid, used_gpu_memory [MiB], gpu_uuid\r\n12345, 18000 MiB, ${UUID}\r\n`;
    expect(parseComputeApps(text)).toEqual([{ pid: 12345, usedMemoryMiB: 18000, gpuUuid: UUID }]);
  });

  it('makes [N/A] memory and uuid null', () => {
    expect(parseComputeApps('12444, [N/A], [N/A]\n15076, [Not Supported], GPU-1')).toEqual([
      { pid: 12444, usedMemoryMiB: null, gpuUuid: null },
      { pid: 15076, usedMemoryMiB: null, gpuUuid: 'GPU-1' },
    ]);
  });

  it('skips blank and garbage lines', () => {
    const text = ['', 'No running processes found', 'Segmentation fault (core dumped)', 'abc, 1, GPU-1', '0, 1, GPU-0', '12, 34', '1, 2, 3, 4', '42, 100, GPU-9'].join('\n');
    expect(parseComputeApps(text)).toEqual([{ pid: 42, usedMemoryMiB: 100, gpuUuid: 'GPU-9' }]);
  });
});

describe('classifyNvidiaSmiFailure', () => {
  it('says nvidia-smi is missing when it could not be found', () => {
    expect(classifyNvidiaSmiFailure('', null, 'ENOENT')).toEqual({ kind: 'missing', message: 'nvidia-smi not found on PATH: no GPU figures' });
  });

  it('recognises the driver failure by exit code 9 or by its message', () => {
    const expected = { kind: 'driver', message: 'the NVIDIA driver is not responding (nvidia-smi exited 9)' };
    expect(classifyNvidiaSmiFailure(`${NVIDIA_SMI_DRIVER_FAILURE}\n`, 9)).toEqual(expected);
    expect(classifyNvidiaSmiFailure('', 9)).toEqual(expected);
    expect(classifyNvidiaSmiFailure(NVIDIA_SMI_DRIVER_FAILURE, 255).kind).toBe('driver');
    expect(classifyNvidiaSmiFailure(NVIDIA_SMI_DRIVER_FAILURE, 255).message).toBe('the NVIDIA driver is not responding (nvidia-smi exited 255)');
  });

  it('calls a time-out stalled', () => {
    expect(classifyNvidiaSmiFailure('nvidia-smi did not answer within 5 s', null, 'ETIMEDOUT')).toEqual({ kind: 'stalled', message: 'nvidia-smi did not answer within 5 s' });
  });

  it('gives anything else as an error with a short, clean message', () => {
    expect(classifyNvidiaSmiFailure('Field "foo" is not a valid field to query.\n\n', 2)).toEqual({
      kind: 'error',
      message: 'nvidia-smi exited 2: Field "foo" is not a valid field to query.',
    });
    expect(classifyNvidiaSmiFailure('No devices were found\n', 6)).toEqual({ kind: 'error', message: 'nvidia-smi exited 6: No devices were found' });
    expect(classifyNvidiaSmiFailure('', null)).toEqual({ kind: 'error', message: 'nvidia-smi was stopped by a signal' });
    expect(classifyNvidiaSmiFailure('', null, 'EACCES')).toEqual({ kind: 'error', message: 'nvidia-smi could not be run (EACCES)' });
  });

  it('strips control characters and caps the length', () => {
    const { message } = classifyNvidiaSmiFailure(`\u001b[31mboom\u001b[0m\u0007\r\n${'x'.repeat(1000)}`, 1);
    expect(message.startsWith('nvidia-smi exited 1: boom x')).toBe(true);
    expect(message.length).toBeLessThanOrEqual(FAILURE_MESSAGE_MAX);
    expect(message.endsWith('…')).toBe(true);
    // eslint-disable-next-line no-control-regex
    expect(message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });
});

describe('GpuSampleGrouper', () => {
  it('finishes a sample when a GPU index repeats', () => {
    const g = new GpuSampleGrouper();
    expect(g.push(reading(0))).toBeNull();
    expect(g.push(reading(1))).toBeNull();
    expect(g.pending).toBe(2);
    const first = g.push(reading(0, { memoryUsedMiB: 2000 }));
    expect(first?.map((r) => r.index)).toEqual([0, 1]);
    expect(first?.[0]?.memoryUsedMiB).toBe(1000);
    expect(g.push(reading(1))).toBeNull();
    const last = g.flush();
    expect(last?.map((r) => r.memoryUsedMiB)).toEqual([2000, 1000]);
    expect(g.flush()).toBeNull();
    expect(g.pending).toBe(0);
  });

  it('makes one sample per reading when there is one GPU', () => {
    const g = new GpuSampleGrouper();
    expect(g.push(reading(0))).toBeNull();
    expect(g.push(reading(0))).toHaveLength(1);
    expect(g.push(reading(0))).toHaveLength(1);
    expect(g.flush()).toHaveLength(1);
  });

  it('copes with a GPU dropping out of a sample and coming back', () => {
    const g = new GpuSampleGrouper();
    const out: number[][] = [];
    for (const i of [0, 1, 0, 0, 1]) {
      const done = g.push(reading(i));
      if (done) out.push(done.map((r) => r.index));
    }
    const last = g.flush();
    if (last) out.push(last.map((r) => r.index));
    expect(out).toEqual([[0, 1], [0], [0, 1]]);
  });

  it('groupSamples groups a block of -lms output, skipping garbage', () => {
    const lines = [
      '0, A, GPU-0, 1, 10, 90, 60, 100.00, 450.00, 2520',
      '1, B, GPU-1, 2, 10, 91, 61, 101.00, 450.00, 2520',
      'garbage',
      '0, A, GPU-0, 3, 10, 92, 62, 102.00, 450.00, 2520',
      '1, B, GPU-1, 4, 10, 93, 63, 103.00, 450.00, 2520',
      '',
    ];
    const samples = groupSamples(lines);
    expect(samples.map((s) => s.map((r) => r.memoryUsedMiB))).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(groupSamples([])).toEqual([]);
  });
});
