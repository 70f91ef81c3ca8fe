/**
 * Styled text runs: the common output format of every chart renderer in this
 * folder. Renderers are pure (no React, no I/O, no ANSI escapes); a component
 * maps each {@link CellStyle} to a colour and prints the run's text.
 *
 * Every glyph any renderer emits is one terminal column wide, so the width of
 * a line is `[...text].length` summed over its runs.
 */

export type CellStyle = 'raw' | 'smooth' | 'marker' | 'axis' | 'label' | 'fill' | 'empty' | 'target' | 'warn' | null;

export interface Run {
  text: string;
  style: CellStyle;
}

/** One terminal row; adjacent cells of the same style are merged into one run. */
export type StyledLine = Run[];

/** 'unicode' may use braille, block elements and box drawing; 'ascii' only printable ASCII (0x20–0x7E). */
export type Glyphs = 'unicode' | 'ascii';

/** Largest width/height any renderer will honour (guards against absurd inputs). */
export const MAX_DIMENSION = 10_000;

/** Turns any number into a usable dimension: non-finite/negative → 0, fractions floored, capped. */
export function toDimension(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return 0;
  return Math.min(MAX_DIMENSION, Math.floor(value));
}

/**
 * A fixed-width row of cells (one single-width character + one style each)
 * that is turned into merged runs by {@link LineBuilder.toLine}.
 */
export class LineBuilder {
  readonly width: number;
  private readonly chars: string[];
  private readonly styles: CellStyle[];

  constructor(width: number, fill = ' ', style: CellStyle = null) {
    this.width = toDimension(width);
    this.chars = new Array<string>(this.width).fill(fill);
    this.styles = new Array<CellStyle>(this.width).fill(style);
  }

  /** Sets one cell; out-of-range columns are ignored. `ch` must be a single-width code point. */
  set(col: number, ch: string, style: CellStyle): void {
    if (!Number.isInteger(col) || col < 0 || col >= this.width) return;
    this.chars[col] = ch;
    this.styles[col] = style;
  }

  /** Writes `text` starting at `col`, clipped to the row. */
  write(col: number, text: string, style: CellStyle): void {
    let c = col;
    for (const ch of text) {
      this.set(c, ch, style);
      c++;
    }
  }

  styleAt(col: number): CellStyle | undefined {
    return this.styles[col];
  }

  toLine(): StyledLine {
    return mergeCells(this.chars, this.styles);
  }
}

/** Merges parallel arrays of single-width characters and styles into runs. */
export function mergeCells(chars: readonly string[], styles: readonly CellStyle[]): StyledLine {
  const line: StyledLine = [];
  let text = '';
  let style: CellStyle = null;
  const n = Math.min(chars.length, styles.length);
  for (let i = 0; i < n; i++) {
    const s = styles[i] ?? null;
    const ch = chars[i] ?? ' ';
    if (i > 0 && s === style) {
      text += ch;
    } else {
      if (text.length > 0) line.push({ text, style });
      text = ch;
      style = s;
    }
  }
  if (text.length > 0) line.push({ text, style });
  return line;
}

/** A row of `width` spaces (style null); `[]` for width 0. */
export function blankLine(width: number): StyledLine {
  const w = toDimension(width);
  return w === 0 ? [] : [{ text: ' '.repeat(w), style: null }];
}

/** The plain text of a line (for tests and for colourless output). */
export function lineText(line: StyledLine): string {
  let out = '';
  for (const run of line) out += run.text;
  return out;
}

/** Width of a line in terminal columns (all glyphs used here are single-width). */
export function lineWidth(line: StyledLine): number {
  let n = 0;
  for (const run of line) n += codePointCount(run.text);
  return n;
}

/** Concatenates lines side by side, merging the runs at the seam when styles match. */
export function concatLines(...parts: StyledLine[]): StyledLine {
  const out: StyledLine = [];
  for (const part of parts) {
    for (const run of part) {
      if (run.text.length === 0) continue;
      const last = out[out.length - 1];
      if (last !== undefined && last.style === run.style) last.text += run.text;
      else out.push({ text: run.text, style: run.style });
    }
  }
  return out;
}

/** Clamps x into [lo, hi]. */
export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Code points in a string, without building an array of them (most text has no surrogate pairs). */
export function codePointCount(text: string): number {
  if (!SURROGATE.test(text)) return text.length;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}
