import { clamp, mergeCells, toDimension, type CellStyle, type Glyphs, type StyledLine } from './cells.js';

/** The 8 levels, lowest first. */
export const SPARK_LEVELS: Readonly<Record<Glyphs, readonly string[]>> = {
  unicode: ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'],
  ascii: [' ', '_', '.', '-', '=', '+', '*', '#'],
};

/** Level used when every visible value is the same (or min === max): '▄' / '-'. */
export const SPARK_MIDDLE_LEVEL = 3;

export interface SparklineOptions {
  glyphs: Glyphs;
  /** Value drawn as the lowest level (default: min of the visible finite values). */
  min?: number;
  /** Value drawn as the highest level (default: max of the visible finite values). */
  max?: number;
  /** Style of the drawn cells (default null = the component's default colour). */
  style?: CellStyle;
  /** Cells whose value is strictly greater than this get style 'warn'. */
  highlightAbove?: number;
}

/**
 * A one-row sparkline.
 *
 * Rules:
 * - Only the newest `width` values are shown, right-aligned; when there are
 *   fewer, the line is padded on the left with spaces (style null).
 * - level = round((v − min) / (max − min) × 7), clamped to 0..7, where min/max
 *   default to the extremes of the *visible* finite values. So [1,2,3,4] at
 *   width 4 → levels 0,2,5,7 → '▁▃▆█'.
 * - If max ≤ min (constant series) every finite value draws at level 3 ('▄' / '-').
 * - Non-finite values (NaN, ±Infinity) draw as a space with style null.
 * - Non-finite `min`/`max` options are ignored; if min > max they are swapped.
 */
export function sparkline(values: readonly number[], width: number, options: SparklineOptions): StyledLine {
  const w = toDimension(width);
  if (w === 0) return [];
  const levels = SPARK_LEVELS[options.glyphs === 'ascii' ? 'ascii' : 'unicode'];
  const style = options.style ?? null;
  const start = Math.max(0, values.length - w);
  const shown = values.length - start;
  const pad = w - shown;

  let lo = Infinity;
  let hi = -Infinity;
  for (let i = start; i < values.length; i++) {
    const v = values[i];
    if (v === undefined || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (options.min !== undefined && Number.isFinite(options.min)) lo = options.min;
  if (options.max !== undefined && Number.isFinite(options.max)) hi = options.max;
  if (lo > hi && Number.isFinite(lo) && Number.isFinite(hi)) [lo, hi] = [hi, lo];
  const span = hi - lo;
  const flat = !(span > 0) || !Number.isFinite(span);
  const warnAbove = options.highlightAbove;
  const highlight = warnAbove !== undefined && !Number.isNaN(warnAbove);

  const chars = new Array<string>(w).fill(' ');
  const styles = new Array<CellStyle>(w).fill(null);
  for (let k = 0; k < shown; k++) {
    const v = values[start + k];
    if (v === undefined || !Number.isFinite(v)) continue;
    const level = flat ? SPARK_MIDDLE_LEVEL : clamp(Math.round(((v - lo) / span) * 7), 0, 7);
    chars[pad + k] = levels[level] ?? ' ';
    styles[pad + k] = highlight && v > (warnAbove as number) ? 'warn' : style;
  }
  return mergeCells(chars, styles);
}
