/** What lora-top knows about GPUs, as nvidia-smi reports it. Pure data. */

/** The fields of `nvidia-smi --query-gpu`, in the order lora-top asks for them. */
export const GPU_QUERY_FIELDS = [
  'index',
  'name',
  'uuid',
  'memory.used',
  'memory.total',
  'utilization.gpu',
  'temperature.gpu',
  'power.draw',
  'power.limit',
  'clocks.sm',
] as const;

/** One GPU at one moment. Values nvidia-smi reports as `[N/A]`, `[Not Supported]` etc. are null, never 0. */
export interface GpuReading {
  index: number;
  name: string;
  uuid: string | null;
  memoryUsedMiB: number | null;
  memoryTotalMiB: number | null;
  utilizationPercent: number | null;
  temperatureC: number | null;
  powerW: number | null;
  powerLimitW: number | null;
  clockMHz: number | null;
}

/** The fields of `nvidia-smi --query-compute-apps`, in order. */
export const COMPUTE_APP_FIELDS = ['pid', 'used_memory', 'gpu_uuid'] as const;

/** A process holding GPU memory. */
export interface ComputeApp {
  pid: number;
  usedMemoryMiB: number | null;
  gpuUuid: string | null;
}

/** Why there are no GPU figures. */
export type GpuProblemKind = 'missing' | 'driver' | 'stalled' | 'error';

/** Host memory and CPU (systeminformation). */
export interface HostReading {
  memUsedBytes: number;
  memTotalBytes: number;
  swapUsedBytes: number;
  swapTotalBytes: number;
  cpuPercent: number | null;
}
