// Small numeric helpers shared by every measurement.

/** The median of a non-empty list of numbers (mean of the middle two for an even count). */
export function median(values) {
  if (values.length === 0) throw new RangeError('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs `fn` `runs` times (after `warmup` unrecorded runs); returns every elapsed time in ms and the median. */
export async function timeRuns(fn, { runs, warmup = 0 }) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = nowMs();
    await fn(i);
    times.push(nowMs() - t0);
  }
  return { times, median: median(times) };
}

/** Throughput in MB/s (MB = 1e6 bytes). */
export function mbPerSecond(bytes, ms) {
  return bytes / 1e6 / (ms / 1000);
}

/** Rounds to `digits` significant-ish decimals for JSON (keeps small numbers readable). */
export function round(value, digits = 1) {
  if (value === null || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
