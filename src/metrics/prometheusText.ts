/**
 * The runs' and hosts' figures in the Prometheus text exposition format 0.0.4, for `--metrics`. Pure.
 *
 * Every family is a gauge with its `# HELP` and `# TYPE` lines once, then its samples; a family with no
 * samples is left out. A value that is not known (null) leaves its sample out, never a NaN. Families come
 * in a fixed order and samples sorted by their labels, so the same input always gives the same text.
 */
import type { GpuJson, JsonSnapshot } from '../view/snapshot.js';
import type { RunStatus } from '../state/runState.js';

export interface MetricsRun {
  /** 'local' for this machine, else the ssh host label. */
  host: string;
  /** The run folder (or log file, or '-' for standard input). */
  path: string;
  snapshot: JsonSnapshot;
}

export interface MetricsHost {
  host: string;
  up: boolean;
  gpus: GpuJson[];
}

export interface MetricsInput {
  runs: MetricsRun[];
  hosts: MetricsHost[];
}

/** Every value of a run's status, for the labelled `lora_top_run_status` gauge. */
export const RUN_STATUSES = ['starting', 'preparing', 'sampling', 'training', 'saving', 'stopped', 'failed', 'completed'] as const satisfies readonly RunStatus[];

// A compile error here means RunStatus gained a value that RUN_STATUSES lacks.
const everyStatusListed: [Exclude<RunStatus, (typeof RUN_STATUSES)[number]>] extends [never] ? true : never = true;
void everyStatusListed;

const MIB = 1048576;

type Labels = Array<[name: string, value: string]>;

interface Family<T> {
  name: string;
  help: string;
  value(item: T): number | null;
}

const RUN_FAMILIES: Array<Family<JsonSnapshot>> = [
  { name: 'lora_top_run_step', help: 'Training steps completed.', value: (s) => s.step },
  { name: 'lora_top_run_total_steps', help: 'Training steps the run is set to take.', value: (s) => s.totalSteps },
  { name: 'lora_top_run_loss', help: 'Newest training loss.', value: (s) => s.loss },
  { name: 'lora_top_run_loss_smoothed', help: 'Smoothed training loss.', value: (s) => s.lossSmoothed },
  { name: 'lora_top_run_seconds_per_step', help: 'Recent seconds per training step.', value: (s) => s.secondsPerStep },
  { name: 'lora_top_run_eta_seconds', help: 'Estimated seconds until the last step.', value: (s) => s.etaSeconds },
  { name: 'lora_top_run_last_checkpoint_step', help: 'Step of the newest saved checkpoint.', value: (s) => s.lastCheckpoint?.step ?? null },
  { name: 'lora_top_run_learning_rate', help: 'Current learning rate.', value: (s) => s.lr },
];

const GPU_FAMILIES: Array<Family<GpuJson>> = [
  { name: 'lora_top_gpu_memory_used_bytes', help: 'GPU memory in use, bytes.', value: (g) => mibToBytes(g.memoryUsedMiB) },
  { name: 'lora_top_gpu_memory_total_bytes', help: 'GPU memory in all, bytes.', value: (g) => mibToBytes(g.memoryTotalMiB) },
  { name: 'lora_top_gpu_utilization_ratio', help: 'GPU busy fraction, 0 to 1.', value: (g) => percentToRatio(g.utilizationPercent) },
  { name: 'lora_top_gpu_temperature_celsius', help: 'GPU temperature, degrees Celsius.', value: (g) => g.temperatureC },
  { name: 'lora_top_gpu_power_watts', help: 'GPU power draw, watts.', value: (g) => g.powerW },
  { name: 'lora_top_gpu_power_limit_watts', help: 'GPU power limit, watts.', value: (g) => g.powerLimitW },
];

/** The exposition text of the runs and hosts; '' when there is nothing to report. */
export function metricsText(input: MetricsInput): string {
  const runs = unique(
    input.runs.map((run) => ({ labels: runLabels(run), snapshot: run.snapshot })),
    (run) => run.labels,
  ).sort((a, b) => compareKeys(a.labels.map(([, v]) => v), b.labels.map(([, v]) => v)));
  const hosts = unique(input.hosts, (host) => [['host', host.host]]).sort((a, b) => compareKeys([a.host], [b.host]));
  const gpus = unique(
    input.hosts.flatMap((host) => host.gpus.map((gpu) => ({ labels: gpuLabels(host.host, gpu), gpu, host: host.host }))),
    (entry) => entry.labels,
  ).sort((a, b) => compareKeys([a.host, a.gpu.index, a.gpu.name], [b.host, b.gpu.index, b.gpu.name]));

  const out: string[] = [];
  for (const family of RUN_FAMILIES) {
    writeFamily(out, family.name, family.help, runs.map((run) => [run.labels, family.value(run.snapshot)]));
  }
  const statuses = [...RUN_STATUSES].sort();
  writeFamily(out, 'lora_top_run_status', 'Run status: 1 for the current one, 0 for the others.',
    runs.flatMap((run) => statuses.map((status): [Labels, number] => [[...run.labels, ['status', status]], run.snapshot.status === status ? 1 : 0])));
  writeFamily(out, 'lora_top_host_up', 'Whether the host answers: 1 or 0.', hosts.map((host) => [[['host', host.host]], host.up ? 1 : 0]));
  for (const family of GPU_FAMILIES) {
    writeFamily(out, family.name, family.help, gpus.map((entry) => [entry.labels, family.value(entry.gpu)]));
  }
  return out.join('');
}

function runLabels(run: MetricsRun): Labels {
  return [['host', run.host], ['run', run.snapshot.name ?? basename(run.path)], ['path', run.path]];
}

function gpuLabels(host: string, gpu: GpuJson): Labels {
  return [['host', host], ['gpu', String(gpu.index)], ['name', gpu.name]];
}

/** HELP and TYPE once, then a line per sample that has a value; nothing when none has. */
function writeFamily(out: string[], name: string, help: string, samples: Array<[Labels, number | null]>): void {
  const known = samples.filter((sample): sample is [Labels, number] => sample[1] !== null);
  if (known.length === 0) return;
  out.push(`# HELP ${name} ${escapeHelp(help)}\n`, `# TYPE ${name} gauge\n`);
  for (const [labels, value] of known) {
    const labelText = labels.map(([label, text]) => `${label}="${escapeLabelValue(text)}"`).join(',');
    out.push(`${name}{${labelText}} ${formatValue(value)}\n`);
  }
}

/** The first of each set of labels: two series with the same name and labels would make the text invalid. */
function unique<T>(items: T[], labelsOf: (item: T) => Labels): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = JSON.stringify(labelsOf(item).map(([, v]) => escapeLabelValue(v)));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Element by element: numbers by value, strings by UTF-16 code unit (locale-free, so deterministic). */
function compareKeys(a: Array<string | number>, b: Array<string | number>): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return a.length - b.length;
}

/** The last part of a path, '/' or '\' separated, ignoring trailing separators. */
function basename(path: string): string {
  const trimmed = path.replace(/[/\\]+$/, '');
  const cut = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return trimmed.slice(cut + 1) || path;
}

function mibToBytes(mib: number | null): number | null {
  return mib === null ? null : mib * MIB;
}

/** Divided, not multiplied by 0.01: 57 → 0.57, not 0.5700000000000001. */
function percentToRatio(percent: number | null): number | null {
  return percent === null ? null : percent / 100;
}

/**
 * Characters the format lets through in a label value but that would break a line for other readers:
 * C0 controls but line feed (escaped instead), DEL, C1 controls, U+2028/U+2029, and lone surrogates
 * (not UTF-8). Each becomes U+FFFD.
 */
const UNSAFE_CHARACTERS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A label value as the format requires: `\` → `\\`, `"` → `\"`, line feed → `\n`; other controls replaced. */
export function escapeLabelValue(value: string): string {
  return value.replace(UNSAFE_CHARACTERS, '\ufffd').replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** A HELP docstring as the format requires: `\` → `\\`, line feed → `\n`; other controls replaced. */
function escapeHelp(text: string): string {
  return text.replace(UNSAFE_CHARACTERS, '\ufffd').replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/**
 * A sample value as Go's ParseFloat reads it: integers as integers, others as JavaScript's shortest
 * round-trip form ("0.0001", "1e-7", "1e+21" are all valid), and the specials as the format spells them.
 */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
