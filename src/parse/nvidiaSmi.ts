/**
 * nvidia-smi's selective-query interface, as text (pure, no I/O): the argument lists lora-top runs it
 * with, parsers for its `--format=csv,noheader,nounits` output, the grouping of a `-lms` stream into
 * samples, and what its failures mean.
 */
import { COMPUTE_APP_FIELDS, GPU_QUERY_FIELDS, type ComputeApp, type GpuProblemKind, type GpuReading } from './gpuTypes.js';
import { stripControlSequences } from './sanitize.js';

/** The exact text nvidia-smi prints (and exits 9) when the kernel driver is not loaded or not answering. */
export const NVIDIA_SMI_DRIVER_FAILURE =
  "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.";

/** Longest message classifyNvidiaSmiFailure returns for an unrecognised failure. */
export const FAILURE_MESSAGE_MAX = 160;

/** Arguments for the resident child: every GPU, GPU_QUERY_FIELDS, one sample every `intervalMs`. */
export function gpuQueryArgs(intervalMs: number): string[] {
  const interval = Number.isFinite(intervalMs) ? Math.max(1, Math.round(intervalMs)) : 1000;
  return [`--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits', '-lms', String(interval)];
}

/** Arguments for one look at the processes holding GPU memory (COMPUTE_APP_FIELDS order). */
export function computeAppsArgs(): string[] {
  return [`--query-compute-apps=${COMPUTE_APP_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
}

// `[N/A]`, `[Not Supported]`, `[Unknown Error]`, `[Insufficient Permissions]`, `[GPU is lost]`, … and
// the bare `N/A` some fields (temperature.memory) print.
const NOT_A_VALUE = /^(?:\[[^\]]*\]|N\/A|n\/a|Not Supported|Unknown Error)$/;
// A number, optionally followed by the unit `--format=csv` (without nounits) appends.
const NUMBER = /^([-+]?(?:\d+(?:\.\d*)?|\.\d+))(?:\s*(?:MiB|%|W|MHz))?$/;

/** A field's text as a number; null for `[N/A]`-style placeholders, empty or non-numeric text. */
function numberOf(text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = text.trim();
  if (value === '' || NOT_A_VALUE.test(value)) return null;
  const match = NUMBER.exec(value);
  if (!match?.[1]) return null;
  const n = Number(match[1]);
  return Number.isFinite(n) ? n : null;
}

/** A field's text as a string; null for placeholders and empty text. Control characters removed. */
function textOf(text: string | undefined): string | null {
  if (text === undefined) return null;
  const value = stripControlSequences(text).trim();
  return value === '' || NOT_A_VALUE.test(value) ? null : value;
}

/**
 * One line of `--query-gpu=<GPU_QUERY_FIELDS> --format=csv,noheader,nounits` (values with units are
 * accepted too). Null for anything else: a header, a blank or garbage line, too few fields, an index
 * that is not a whole number. With more fields than expected the surplus is taken to be commas in the
 * name (the second field), which is rebuilt from the raw text between the first field and the rest.
 */
export function parseGpuLine(line: string): GpuReading | null {
  const parts = line.replace(/\r?\n$/, '').split(',');
  const expected = GPU_QUERY_FIELDS.length;
  if (parts.length < expected) return null;
  const extra = parts.length - expected;
  const indexText = (parts[0] ?? '').trim();
  if (!/^\d+$/.test(indexText)) return null;
  const index = Number(indexText);
  if (!Number.isSafeInteger(index)) return null;
  const name = stripControlSequences(parts.slice(1, 2 + extra).join(',')).trim();
  const rest = parts.slice(2 + extra); // uuid, memory.used, memory.total, utilization.gpu, …
  return {
    index,
    name: name === '' || NOT_A_VALUE.test(name) ? `GPU ${index}` : name,
    uuid: textOf(rest[0]),
    memoryUsedMiB: numberOf(rest[1]),
    memoryTotalMiB: numberOf(rest[2]),
    utilizationPercent: numberOf(rest[3]),
    temperatureC: numberOf(rest[4]),
    powerW: numberOf(rest[5]),
    powerLimitW: numberOf(rest[6]),
    clockMHz: numberOf(rest[7]),
  };
}

/**
 * The output of `--query-compute-apps=pid,used_memory,gpu_uuid` (csv, with or without header and
 * units). Header, blank and garbage lines are skipped; `[N/A]` memory (Windows WDDM, some
 * containers) is null.
 */
export function parseComputeApps(text: string): ComputeApp[] {
  const apps: ComputeApp[] = [];
  for (const line of text.split(/\r?\n/)) {
    const parts = line.split(',');
    if (parts.length !== COMPUTE_APP_FIELDS.length) continue;
    const pidText = (parts[0] ?? '').trim();
    if (!/^\d+$/.test(pidText)) continue;
    const pid = Number(pidText);
    if (!Number.isSafeInteger(pid) || pid <= 0) continue;
    apps.push({ pid, usedMemoryMiB: numberOf(parts[1]), gpuUuid: textOf(parts[2]) });
  }
  return apps;
}

/**
 * What a failed nvidia-smi means: not installed (`ENOENT`), driver not answering (its message, or
 * exit 9), did not answer in time (`ETIMEDOUT`: stalled), or anything else, with a short clean message.
 */
export function classifyNvidiaSmiFailure(
  output: string,
  exitCode: number | null,
  spawnErrorCode?: string,
): { kind: GpuProblemKind; message: string } {
  if (spawnErrorCode === 'ENOENT') return { kind: 'missing', message: 'nvidia-smi not found on PATH: no GPU figures' };
  // 127: the shell that ran it (another host's, over SSH) found no such command.
  if (exitCode === 127 && /not found|no such file/i.test(output)) return { kind: 'missing', message: 'nvidia-smi not found on the host: no GPU figures' };
  const driverText = /couldn't communicate with the NVIDIA driver|could not communicate with the NVIDIA driver/i.test(output);
  if (exitCode === 9 || driverText) {
    const how = exitCode === null ? 'nvidia-smi failed' : `nvidia-smi exited ${exitCode}`;
    return { kind: 'driver', message: `the NVIDIA driver is not responding (${how})` };
  }
  const said = cleanMessage(output);
  if (spawnErrorCode === 'ETIMEDOUT') return { kind: 'stalled', message: said || 'nvidia-smi did not answer in time' };
  const how =
    spawnErrorCode !== undefined
      ? `nvidia-smi could not be run (${cleanMessage(spawnErrorCode)})`
      : exitCode === null
        ? 'nvidia-smi was stopped by a signal'
        : `nvidia-smi exited ${exitCode}`;
  return { kind: 'error', message: capLength(said ? `${how}: ${said}` : how) };
}

/** Output on one line: control sequences out, whitespace runs collapsed, capped at FAILURE_MESSAGE_MAX. */
function cleanMessage(text: string): string {
  const oneLine = stripControlSequences(text.replace(/\r?\n|\r/g, ' ')).replace(/\s+/g, ' ').trim();
  return capLength(oneLine);
}

function capLength(text: string): string {
  return text.length <= FAILURE_MESSAGE_MAX ? text : `${text.slice(0, FAILURE_MESSAGE_MAX - 1).trimEnd()}…`;
}

/**
 * Turns the stream of readings from `nvidia-smi --query-gpu … -lms N` (one line per GPU, all GPUs
 * every N ms, nothing marking where a sample ends) into samples: a sample ends when a GPU index
 * repeats. `push` returns the finished sample when its reading starts the next one, so the newest
 * sample is held back until the next begins; call `flush` when the stream ends, or when it has been
 * quiet for a moment (nvidia-smi writes a sample all at once), to take it without waiting.
 */
export class GpuSampleGrouper {
  private batch: GpuReading[] = [];
  private readonly seen = new Set<number>();

  /** Adds a reading; returns the previous sample if this reading began a new one, else null. */
  push(reading: GpuReading): GpuReading[] | null {
    let finished: GpuReading[] | null = null;
    if (this.seen.has(reading.index)) finished = this.flush();
    this.batch.push(reading);
    this.seen.add(reading.index);
    return finished;
  }

  /** The sample gathered so far (null if none), and a fresh start. */
  flush(): GpuReading[] | null {
    if (this.batch.length === 0) return null;
    const finished = this.batch;
    this.batch = [];
    this.seen.clear();
    return finished;
  }

  /** How many readings the unfinished sample holds. */
  get pending(): number {
    return this.batch.length;
  }
}

/** All complete samples in a block of `-lms` output (the trailing one included): a convenience for tests and `--once`. */
export function groupSamples(lines: Iterable<string>): GpuReading[][] {
  const grouper = new GpuSampleGrouper();
  const samples: GpuReading[][] = [];
  for (const line of lines) {
    const reading = parseGpuLine(line);
    if (!reading) continue;
    const done = grouper.push(reading);
    if (done) samples.push(done);
  }
  const last = grouper.flush();
  if (last) samples.push(last);
  return samples;
}
