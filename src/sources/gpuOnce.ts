import { execFile } from 'node:child_process';
import { computeAppsArgs, classifyNvidiaSmiFailure, parseComputeApps, parseGpuLine } from '../parse/nvidiaSmi.js';
import { GPU_QUERY_FIELDS, type GpuReading } from '../parse/gpuTypes.js';
import type { GpuEvent } from '../state/gpuState.js';

/**
 * One look at the GPUs for `--once` (I/O): a single `nvidia-smi --query-gpu` and one
 * `--query-compute-apps`, each with a time limit. No GPU, no driver or a hung nvidia-smi give a
 * `gpuProblem` event, never an exception.
 */
export async function sampleGpusOnce(options: { nvidiaSmi?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<GpuEvent[]> {
  const command = options.nvidiaSmi ?? 'nvidia-smi';
  const query = [`--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
  const first = await run(command, query, options);
  if (!first.ok) return [{ type: 'gpuProblem', ...classifyNvidiaSmiFailure(first.output, first.code, first.errorCode) }];
  const gpus = first.output
    .split('\n')
    .map(parseGpuLine)
    .filter((g): g is GpuReading => g !== null);
  if (gpus.length === 0) return [{ type: 'gpuProblem', kind: 'error', message: 'nvidia-smi listed no GPU' }];
  const events: GpuEvent[] = [{ type: 'gpuReadings', gpus }];
  const apps = await run(command, computeAppsArgs(), options);
  if (apps.ok) events.push({ type: 'gpuProcesses', apps: parseComputeApps(apps.output) });
  return events;
}

interface Outcome {
  ok: boolean;
  output: string;
  code: number | null;
  errorCode?: string;
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env: options.env ?? process.env, timeout: options.timeoutMs ?? 5000, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const output = `${stdout ?? ''}${stderr ?? ''}`;
        if (!error) return resolve({ ok: true, output: stdout, code: 0 });
        const err = error as NodeJS.ErrnoException & { code?: string | number; killed?: boolean };
        if (err.killed) return resolve({ ok: false, output: 'nvidia-smi did not answer within 5 s', code: null, errorCode: 'ETIMEDOUT' });
        const code = typeof err.code === 'number' ? err.code : null;
        resolve({ ok: false, output, code, ...(typeof err.code === 'string' ? { errorCode: err.code } : {}) });
      },
    );
  });
}
