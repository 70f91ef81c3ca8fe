/**
 * Pure encoders for terminal graphics protocols: kitty, iTerm2 (OSC 1337) and
 * DEC sixel. Each returns the escape sequence as a string; nothing here writes
 * to the terminal, decodes images or positions the cursor (the caller moves the
 * cursor to the image's top-left cell first).
 *
 * kitty and iTerm2 take an already-encoded file (PNG) and let the terminal
 * scale it into a cell box; sixel has no such thing, so it takes decoded pixels
 * (sharp's `raw()` output) already resized to the wanted pixel size.
 */

import type { RawImage } from './halfBlock.js';

export type GraphicsProtocol = 'kitty' | 'iterm2' | 'sixel';

/** Cell box an image is scaled into by terminals that scale (kitty, iTerm2). */
export interface CellPlacement {
  cols: number;
  rows: number;
}

const ESC = '\x1b';
/** String terminator (ST) closing APC and DCS sequences. */
const ST = `${ESC}\\`;
/** kitty's limit on the base64 payload of one escape sequence. */
const KITTY_CHUNK = 4096;

/** Rejects box sizes a terminal would misread (0, negative, fractional, NaN) before they reach it. */
function checkPlacement(fn: string, place: CellPlacement): void {
  for (const [key, v] of [
    ['cols', place.cols],
    ['rows', place.rows],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${fn}: ${key} must be a positive integer, got ${v}`);
  }
}

/** Base64 via Node's Buffer: a view, not a copy, of the caller's bytes. */
function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * kitty graphics protocol: transmit PNG data and display it at the cursor,
 * scaled into `cols`×`rows` cells. `q=2` because a reply would arrive on stdin
 * as stray input. The payload is split into chunks of at most 4096 base64
 * bytes; the control keys go on the first chunk only and every chunk but the
 * last says `m=1` ("more follows"), as the spec requires.
 */
export function kittyImage(png: Uint8Array, place: CellPlacement, id?: number): string {
  checkPlacement('kittyImage', place);
  const payload = base64(png);
  const keys = `a=T,f=100,q=2,${id !== undefined ? `i=${id},` : ''}c=${place.cols},r=${place.rows}`;
  const parts: string[] = [];
  // At least one chunk, even for an empty payload, so the sequence is well-formed.
  const count = Math.max(1, Math.ceil(payload.length / KITTY_CHUNK));
  for (let i = 0; i < count; i++) {
    const chunk = payload.slice(i * KITTY_CHUNK, (i + 1) * KITTY_CHUNK);
    const more = i < count - 1 ? 'm=1' : 'm=0';
    const control = i === 0 ? `${keys},${more}` : more;
    parts.push(`${ESC}_G${control};${chunk}${ST}`);
  }
  return parts.join('');
}

/**
 * iTerm2 inline image (OSC 1337 File=), also understood by WezTerm. The
 * terminal decodes the file itself (PNG, JPEG, GIF…) and fits it into the cell
 * box keeping its aspect ratio. BEL-terminated because that is what iTerm2
 * documents and every OSC 1337 implementation accepts.
 */
export function iterm2Image(file: Uint8Array, place: CellPlacement): string {
  checkPlacement('iterm2Image', place);
  const args = `inline=1;size=${file.byteLength};width=${place.cols};height=${place.rows};preserveAspectRatio=1`;
  return `${ESC}]1337;File=${args}:${base64(file)}\x07`;
}

// ---------------------------------------------------------------------------
// Sixel

export interface SixelOptions {
  /** Most colour registers to use, 8–256 (default 256; the VT340 had 16, modern terminals have ≥256). */
  colors?: number;
}

/** A fixed RGB cube: per-channel level counts and the lookup tables that quantise into it. */
interface CubePalette {
  size: number;
  /** Per 0–255 channel value: that channel's contribution to the palette index. */
  lutR: Uint16Array;
  lutG: Uint16Array;
  lutB: Uint16Array;
  /** Per palette index: its RGB. */
  rgb: Uint8Array;
}

/**
 * Level counts per channel whose product fits in `colors`. Grown round-robin
 * green first (the eye is most sensitive to green), so 256 gives 6×7×6 = 252.
 */
function cubeShape(colors: number): [number, number, number] {
  const shape: [number, number, number] = [2, 2, 2];
  const order = [1, 0, 2] as const;
  let grew = true;
  while (grew) {
    grew = false;
    for (const c of order) {
      const next: [number, number, number] = [...shape];
      next[c] += 1;
      if (next[0] * next[1] * next[2] <= colors) {
        shape[c] += 1;
        grew = true;
      }
    }
  }
  return shape;
}

/** Level i of n spread evenly over 0–255. */
function levelValue(i: number, n: number): number {
  return Math.round((i * 255) / (n - 1));
}

/** Index of the nearest of n evenly spread levels to v, scaled by `stride` so the three channels add into one index. */
function channelLut(n: number, stride: number): Uint16Array {
  const lut = new Uint16Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.round((v * (n - 1)) / 255) * stride;
  return lut;
}

/**
 * A fixed cube rather than an adaptive palette: quantising is then three table
 * look-ups per pixel, which keeps a 1024² frame well under the dashboard's
 * redraw budget, and dashboard images (sample previews) do not need better.
 */
function cubePalette(colors: number): CubePalette {
  const [nr, ng, nb] = cubeShape(colors);
  const size = nr * ng * nb;
  const rgb = new Uint8Array(size * 3);
  for (let r = 0; r < nr; r++) {
    for (let g = 0; g < ng; g++) {
      for (let b = 0; b < nb; b++) {
        const i = (r * ng + g) * nb + b;
        rgb[i * 3] = levelValue(r, nr);
        rgb[i * 3 + 1] = levelValue(g, ng);
        rgb[i * 3 + 2] = levelValue(b, nb);
      }
    }
  }
  return { size, lutR: channelLut(nr, ng * nb), lutG: channelLut(ng, nb), lutB: channelLut(nb, 1), rgb };
}

/** Clamps the `colors` option: fewer than 8 cannot form a cube, more than 256 many terminals cannot hold. */
function paletteColors(options: SixelOptions | undefined): number {
  const c = options?.colors ?? 256;
  if (!Number.isFinite(c)) return 256;
  return Math.min(256, Math.max(8, Math.floor(c)));
}

const CH_BANG = 0x21; // '!' repeat introducer
const CH_HASH = 0x23; // '#' colour introducer
const CH_DOLLAR = 0x24; // '$' graphics carriage return
const CH_MINUS = 0x2d; // '-' graphics new line
const SIXEL_BASE = 63; // '?' = no pixels set

/**
 * Growable ASCII byte buffer. Sixel output for a busy 1024² image runs to
 * megabytes of tiny pieces; writing bytes and decoding once is much faster
 * than concatenating millions of short strings.
 */
class AsciiWriter {
  private buf: Uint8Array;
  len = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(256, capacity));
  }

  /** Makes room for n more bytes. The check is kept tiny so it inlines; growing is the rare path. */
  reserve(n: number): void {
    if (this.len + n > this.buf.length) this.grow(n);
  }

  /** Doubles the buffer (until n more bytes fit) so appends stay amortised O(1). */
  private grow(n: number): void {
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  text(s: string): void {
    this.reserve(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i);
  }

  /** A non-negative integer in decimal, without going through a string. */
  int(n: number): void {
    this.reserve(16);
    this.digits(n);
  }

  /**
   * `n` copies of one byte: `!<n><byte>` once that is shorter (n ≥ 4), the
   * sixel repeat introducer. One reserve per run: this is the hot path.
   */
  run(byte: number, n: number): void {
    this.reserve(18); // "!" + up to 16 digits + the byte, or up to 3 bytes
    const buf = this.buf;
    if (n >= 4) {
      buf[this.len++] = CH_BANG;
      this.digits(n);
      buf[this.len++] = byte;
      return;
    }
    for (let i = 0; i < n; i++) buf[this.len++] = byte;
  }

  /** Decimal digits of n; the caller has reserved room. */
  private digits(n: number): void {
    const buf = this.buf;
    if (n < 10) {
      buf[this.len++] = 48 + n;
      return;
    }
    const count = n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : String(n).length;
    let v = n;
    for (let i = this.len + count - 1; i >= this.len; i--) {
      buf[i] = 48 + (v % 10);
      v = Math.floor(v / 10);
    }
    this.len += count;
  }

  /** latin1 maps each byte to one char with no validation: the fastest decode for pure ASCII. */
  toString(): string {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.len).toString('latin1');
  }
}

/**
 * Palette index per pixel, -1 where alpha < 128 (left unpainted so the
 * terminal's own background shows), and which palette entries are used at all
 * so only those get colour registers.
 */
function quantise(image: RawImage, pal: CubePalette): { index: Int16Array; used: Uint8Array } {
  const { width, height, channels, data } = image;
  const n = width * height;
  const index = new Int16Array(n);
  const used = new Uint8Array(pal.size);
  const { lutR, lutG, lutB } = pal;
  for (let i = 0, o = 0; i < n; i++, o += channels) {
    if (channels === 4 && (data[o + 3] ?? 0) < 128) {
      index[i] = -1;
      continue;
    }
    const p = (lutR[data[o] ?? 0] ?? 0) + (lutG[data[o + 1] ?? 0] ?? 0) + (lutB[data[o + 2] ?? 0] ?? 0);
    index[i] = p;
    used[p] = 1;
  }
  return { index, used };
}

/** Percent (0–100) of a 0–255 channel value: sixel colour registers are specified in percent. */
function percent(v: number): number {
  return Math.round((v * 100) / 255);
}

/** Throws on images whose buffer cannot hold the pixels it claims, instead of painting garbage. */
function checkImage(image: RawImage): void {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new RangeError(`sixelImage: bad size ${width}×${height}`);
  }
  if (channels !== 3 && channels !== 4) throw new RangeError(`sixelImage: channels must be 3 or 4, got ${channels}`);
  if (data.length < width * height * channels) {
    throw new RangeError(`sixelImage: ${data.length} bytes cannot hold ${width}×${height}×${channels}`);
  }
}

/**
 * Encodes decoded pixels as a DEC sixel image, drawn at the cursor at 1:1
 * pixel size. `P2=1` in the DCS header keeps unpainted pixels (transparent or
 * in the last, partial band) as whatever the terminal already shows, instead of
 * filling them with colour register 0.
 *
 * Layout: header, raster attributes `"1;1;w;h`, the used colour registers,
 * then one six-pixel-tall band per `-`; in each band every colour present gets
 * one pass (`#reg` + sixel characters, run-length coded), passes separated by
 * `$` which returns to the band's left edge.
 */
export function sixelImage(image: RawImage, options?: SixelOptions): string {
  checkImage(image);
  const { width, height } = image;
  const pal = cubePalette(paletteColors(options));
  const { index, used } = quantise(image, pal);

  const w = new AsciiWriter(width * height);
  w.text(`${ESC}P0;1;0q"1;1;${width};${height}`);

  // Registers numbered 0…k-1 in palette order: compact, so terminals with fewer
  // registers than 256 still hold every colour of an image that uses few.
  const register = new Int16Array(pal.size).fill(-1);
  let registers = 0;
  for (let p = 0; p < pal.size; p++) {
    if (!used[p]) continue;
    register[p] = registers;
    w.byte(CH_HASH);
    w.int(registers++);
    w.text(`;2;${percent(pal.rgb[p * 3] ?? 0)};${percent(pal.rgb[p * 3 + 1] ?? 0)};${percent(pal.rgb[p * 3 + 2] ?? 0)}`);
  }

  writeBands(w, index, width, height, pal.size, register);
  w.text(ST);
  return w.toString();
}

/**
 * The pixel data, band by band. Each band is scanned column by column, so
 * every palette entry collects a linked list of the columns it appears in, in
 * order, with its six sixel bits per column in `bits`. Writing then walks only
 * those lists: the work is proportional to the pixels plus the output, not to
 * palette size × width (which for a noisy 1024-wide image is ~60× more).
 */
function writeBands(
  w: AsciiWriter,
  index: Int16Array,
  width: number,
  height: number,
  paletteSize: number,
  register: Int16Array,
): void {
  const bits = new Uint8Array(paletteSize * width);
  const head = new Int32Array(paletteSize).fill(-1);
  const tail = new Int32Array(paletteSize);
  // At most one entry per pixel of a band.
  const entryX = new Int32Array(6 * width);
  const entryNext = new Int32Array(6 * width);

  for (let y0 = 0; y0 < height; y0 += 6) {
    if (y0 > 0) w.byte(CH_MINUS);
    const rows = Math.min(6, height - y0);
    let entries = 0;
    for (let x = 0; x < width; x++) {
      for (let r = 0; r < rows; r++) {
        const p = index[(y0 + r) * width + x] ?? -1;
        if (p < 0) continue;
        const o = p * width + x;
        const b = bits[o] ?? 0;
        if (b === 0) {
          // First pixel of this colour in this column: append the column to its list.
          entryX[entries] = x;
          entryNext[entries] = -1;
          if ((head[p] ?? -1) < 0) head[p] = entries;
          else entryNext[tail[p] ?? 0] = entries;
          tail[p] = entries++;
        }
        bits[o] = b | (1 << r);
      }
    }

    let first = true;
    for (let p = 0; p < paletteSize; p++) {
      const e = head[p] ?? -1;
      if (e < 0) continue;
      head[p] = -1;
      if (!first) w.byte(CH_DOLLAR);
      first = false;
      w.byte(CH_HASH);
      w.int(register[p] ?? 0);
      writeColourRow(w, bits, p * width, e, entryX, entryNext);
    }
  }
}

/**
 * One colour's pass over a band from its column list: gaps become runs of `?`
 * (no pixels), neighbouring columns with the same bits merge into one run, and
 * nothing is written after the last column. Clears its bits for the next band.
 */
function writeColourRow(
  w: AsciiWriter,
  bits: Uint8Array,
  base: number,
  firstEntry: number,
  entryX: Int32Array,
  entryNext: Int32Array,
): void {
  let cursor = 0;
  let e = firstEntry;
  while (e >= 0) {
    const x = entryX[e] ?? 0;
    const v = bits[base + x] ?? 0;
    bits[base + x] = 0;
    if (x > cursor) w.run(SIXEL_BASE, x - cursor);
    let run = 1;
    let n = entryNext[e] ?? -1;
    while (n >= 0 && entryX[n] === x + run && bits[base + x + run] === v) {
      bits[base + x + run] = 0;
      run++;
      n = entryNext[n] ?? -1;
    }
    w.run(SIXEL_BASE + v, run);
    cursor = x + run;
    e = n;
  }
}
