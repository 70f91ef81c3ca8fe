import type { GpuReading } from '../../src/parse/gpuTypes.js';

/**
 * The GPU test/bin/nvidia-smi reports when not told otherwise (an RTX 4090 training), as
 * parseGpuLine reads it, less its uuid (which each test pins or matches as it needs).
 */
export const STAND_IN_RTX_4090: Omit<GpuReading, 'uuid'> = {
  index: 0,
  name: 'NVIDIA GeForce RTX 4090',
  memoryUsedMiB: 18432,
  memoryTotalMiB: 24564,
  utilizationPercent: 97,
  temperatureC: 71,
  powerW: 412.35,
  powerLimitW: 450,
  clockMHz: 2520,
};
