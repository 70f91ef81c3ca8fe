/**
 * Pure half-block image renderer: decoded pixels → terminal rows.
 *
 * Each cell is the lower-half block `▄`; its foreground is the LOWER pixel and
 * its background the UPPER pixel, so one terminal row shows two pixel rows.
 * No I/O and no image decoding here: feed it sharp's `raw()` output (or any
 * row-major RGB/RGBA buffer).
 */

export interface RawImage {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array;
}

/**
 * `'grey'` is for NO_COLOR: no escape codes, a luminance character ramp instead. `'spaces-*'` are
 * for terminals without Unicode blocks (`--ascii`, a `linux` console): one pixel a cell, drawn as a
 * space on a background colour.
 */
export type HalfBlockMode = 'truecolor' | '256' | 'grey' | 'spaces-truecolor' | 'spaces-256';

/** Pixel rows one terminal row shows in a mode: two with half blocks, one with coloured spaces. */
export function pixelRowsPerCell(mode: HalfBlockMode): 1 | 2 {
  return mode === 'spaces-truecolor' || mode === 'spaces-256' ? 1 : 2;
}

const HALF_BLOCK = '▄';
const RESET = '\x1b[0m';
const GREY_RAMP = ' .:-=+*#%@';
const CUBE_LEVELS = [0, 95, 135, 175, 215, 255] as const;

type Rgb = readonly [number, number, number];
const BLACK: Rgb = [0, 0, 0];

function cubeLevel(i: number): number {
  return CUBE_LEVELS[i] ?? 0;
}

function nearestCubeIndex(v: number): number {
  let best = 0;
  let bestD = Infinity;
  for (let i = 0; i < CUBE_LEVELS.length; i++) {
    const d = Math.abs(v - cubeLevel(i));
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/** RGB value of an xterm-256 palette index in the cube (16–231) or grey ramp (232–255). */
export function xterm256Rgb(index: number): Rgb {
  if (index >= 232 && index <= 255) {
    const v = 8 + 10 * (index - 232);
    return [v, v, v];
  }
  if (index >= 16 && index <= 231) {
    const n = index - 16;
    return [cubeLevel(Math.floor(n / 36)), cubeLevel(Math.floor(n / 6) % 6), cubeLevel(n % 6)];
  }
  throw new RangeError(`xterm256Rgb: index ${index} is outside 16–255`);
}

function dist2(r: number, g: number, b: number, c: Rgb): number {
  const dr = r - c[0];
  const dg = g - c[1];
  const db = b - c[2];
  return dr * dr + dg * dg + db * db;
}

/**
 * Nearest xterm-256 colour (cube 16–231 or grey ramp 232–255) by squared RGB
 * distance. The 16 system colours are never used (their RGB varies by
 * terminal). On a tie the cube wins.
 */
export function nearest256(r: number, g: number, b: number): number {
  // Squared distance is separable and the cube is a product grid, so the
  // per-channel nearest level gives the nearest cube colour.
  const ri = nearestCubeIndex(r);
  const gi = nearestCubeIndex(g);
  const bi = nearestCubeIndex(b);
  const cube = 16 + 36 * ri + 6 * gi + bi;
  const cubeD = dist2(r, g, b, [cubeLevel(ri), cubeLevel(gi), cubeLevel(bi)]);

  let grey = 232;
  let greyD = Infinity;
  for (let k = 0; k < 24; k++) {
    const v = 8 + 10 * k;
    const d = dist2(r, g, b, [v, v, v]);
    if (d < greyD) {
      greyD = d;
      grey = 232 + k;
    }
  }
  return greyD < cubeD ? grey : cube;
}

/** Rec. 709 luminance, 0–255. */
function luminance(c: Rgb): number {
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

function greyChar(lum: number): string {
  const i = Math.min(GREY_RAMP.length - 1, Math.max(0, Math.floor((lum * GREY_RAMP.length) / 256)));
  return GREY_RAMP[i] ?? ' ';
}

/** Pixel (x, y) with alpha composited over black; black outside the image. */
function pixelAt(img: RawImage, x: number, y: number): Rgb {
  if (y >= img.height) return BLACK;
  const o = (y * img.width + x) * img.channels;
  const r = img.data[o] ?? 0;
  const g = img.data[o + 1] ?? 0;
  const b = img.data[o + 2] ?? 0;
  if (img.channels === 3) return [r, g, b];
  const a = img.data[o + 3] ?? 0;
  return [Math.round((r * a) / 255), Math.round((g * a) / 255), Math.round((b * a) / 255)];
}

function validate(img: RawImage): void {
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new RangeError(`renderHalfBlocks: bad size ${width}×${height}`);
  }
  if (channels !== 3 && channels !== 4) {
    throw new RangeError(`renderHalfBlocks: channels must be 3 or 4, got ${String(channels)}`);
  }
  if (data.length < width * height * channels) {
    throw new RangeError(
      `renderHalfBlocks: data has ${data.length} bytes, need ${width * height * channels}`,
    );
  }
}

/**
 * Render an image as ceil(height/2) terminal rows of exactly `width` cells.
 * Colour modes end every row with `\x1b[0m` and only emit an fg/bg code when
 * that colour changes from the previous cell in the row. An odd last pixel
 * row gets black as its missing lower pixel. `'grey'` emits no escapes.
 */
export function renderHalfBlocks(image: RawImage, mode: HalfBlockMode): string[] {
  validate(image);
  if (mode === 'spaces-truecolor' || mode === 'spaces-256') return renderSpaces(image, mode);
  const { width, height } = image;
  const rows: string[] = [];
  for (let y = 0; y < height; y += 2) {
    let line = '';
    let prevFg: string | null = null;
    let prevBg: string | null = null;
    for (let x = 0; x < width; x++) {
      const upper = pixelAt(image, x, y);
      const lower = pixelAt(image, x, y + 1);
      if (mode === 'grey') {
        line += greyChar((luminance(upper) + luminance(lower)) / 2);
        continue;
      }
      let fg: string;
      let bg: string;
      if (mode === 'truecolor') {
        fg = `\x1b[38;2;${lower[0]};${lower[1]};${lower[2]}m`;
        bg = `\x1b[48;2;${upper[0]};${upper[1]};${upper[2]}m`;
      } else {
        fg = `\x1b[38;5;${nearest256(lower[0], lower[1], lower[2])}m`;
        bg = `\x1b[48;5;${nearest256(upper[0], upper[1], upper[2])}m`;
      }
      if (fg !== prevFg) line += fg;
      if (bg !== prevBg) line += bg;
      prevFg = fg;
      prevBg = bg;
      line += HALF_BLOCK;
    }
    rows.push(mode === 'grey' ? line : line + RESET);
  }
  return rows;
}

/** One pixel a cell: a space on the pixel's colour (ASCII-only terminals still draw backgrounds). */
function renderSpaces(image: RawImage, mode: 'spaces-truecolor' | 'spaces-256'): string[] {
  const rows: string[] = [];
  for (let y = 0; y < image.height; y++) {
    let line = '';
    let prev: string | null = null;
    for (let x = 0; x < image.width; x++) {
      const [r, g, b] = pixelAt(image, x, y);
      const bg = mode === 'spaces-truecolor' ? `\x1b[48;2;${r};${g};${b}m` : `\x1b[48;5;${nearest256(r, g, b)}m`;
      if (bg !== prev) line += bg;
      prev = bg;
      line += ' ';
    }
    rows.push(line + RESET);
  }
  return rows;
}

/**
 * Pixel size to resize a srcW×srcH image to so it fits in maxCols × maxRows
 * cells (maxCols × 2·maxRows pixels), keeping the aspect ratio. Never
 * upscales; at least 1×1; height is made even when that is possible (>1).
 */
export function fitSize(
  srcW: number,
  srcH: number,
  maxCols: number,
  maxRows: number,
): { width: number; height: number } {
  const cols = Math.max(1, Math.floor(maxCols));
  const pxRows = Math.max(1, Math.floor(maxRows) * 2);
  if (!(srcW > 0) || !(srcH > 0)) return { width: 1, height: 1 };
  const scale = Math.min(1, cols / srcW, pxRows / srcH);
  const width = Math.min(cols, Math.max(1, Math.round(srcW * scale)));
  let height = Math.min(pxRows, Math.max(1, Math.round(srcH * scale)));
  if (height > 1 && height % 2 === 1) height -= 1;
  return { width, height };
}

/** A nearest-neighbour resize (the preview raster is small already; this only fits it to the panel). */
export function resizeNearest(image: RawImage, width: number, height: number): RawImage {
  const w = Math.max(1, Math.floor(width));
  const h = Math.max(1, Math.floor(height));
  const c = image.channels;
  const out = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(image.height - 1, Math.floor(((y + 0.5) * image.height) / h));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(image.width - 1, Math.floor(((x + 0.5) * image.width) / w));
      const from = (sy * image.width + sx) * c;
      out.set(image.data.subarray(from, from + c), (y * w + x) * c);
    }
  }
  return { width: w, height: h, channels: c, data: out };
}
