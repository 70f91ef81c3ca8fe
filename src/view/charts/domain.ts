/**
 * Chart maths that keep a chart steady from frame to frame: round value ranges that are kept while
 * the data fits them, and bucket means aligned so that a new value changes only the last bucket.
 * Pure.
 */

/**
 * At most `width` means of consecutive values, in buckets of a power-of-two size aligned to each
 * value's absolute position, so a new value changes only the last bucket (the sparkline does not
 * shift, and redraw, on every step).
 */
export function bucketMeans(values: readonly number[], dropped: number, width: number): number[] {
  if (width <= 0 || values.length === 0) return [];
  let size = 1;
  while (Math.floor((dropped + values.length - 1) / size) - Math.floor(dropped / size) + 1 > width) size *= 2;
  const means: number[] = [];
  let bucket = Math.floor(dropped / size);
  let sum = 0;
  let count = 0;
  values.forEach((value, i) => {
    const b = Math.floor((dropped + i) / size);
    if (b !== bucket && count > 0) {
      means.push(sum / count);
      sum = 0;
      count = 0;
    }
    bucket = b;
    sum += value;
    count++;
  });
  if (count > 0) means.push(sum / count);
  return means;
}

/** The previous range while the new one fits inside it and fills at least half of it; else the new one. */
export function keepDomain(previous: [number, number] | null, next: [number, number]): [number, number] {
  if (!previous) return next;
  const fits = next[0] >= previous[0] && next[1] <= previous[1];
  const fills = next[1] - next[0] >= 0.5 * (previous[1] - previous[0]);
  return fits && fills ? previous : next;
}

/** A value range widened to round numbers (a fifth of a power of ten), so small drifts keep it. */
export function niceDomain([lo, hi]: [number, number]): [number, number] {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return [lo, hi];
  const step = 10 ** Math.floor(Math.log10(span)) / 5;
  return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
}

/** The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k) at or above `value`. */
export function roundUp(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * magnitude >= value) return m * magnitude;
  return 10 * magnitude;
}
