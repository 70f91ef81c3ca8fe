import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { iterm2Image, kittyImage, sixelImage } from '../../src/view/graphicsProtocol.js';
import { kittyDeleteImage, kittyPlaceholderRow, kittyTransmitForPlaceholders, KITTY_DIACRITICS } from '../../src/view/kittyPlaceholder.js';
import type { RawImage } from '../../src/view/halfBlock.js';

type Rgb = [number, number, number];

/** Deterministic bytes (xorshift32) so failures reproduce. */
const pseudoRandomBytes = (n: number, seed = 0x9e3779b9): Uint8Array => {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
};

// ---------------------------------------------------------------------------
// A minimal sixel decoder, written from the DEC spec independently of the
// encoder: it paints into a canvas the size of the raster attributes and
// throws on anything malformed (undefined register, painting outside the
// raster, unknown bytes).

interface DecodedSixel {
  params: string;
  width: number;
  height: number;
  /** null = never painted. */
  pixels: Array<Rgb | null>;
  /** Register → colour, as defined. */
  registers: Map<number, Rgb>;
  /** Registers that painted at least one pixel. */
  registersUsed: Set<number>;
  bands: number;
}

const decodeSixel = (s: string): DecodedSixel => {
  if (!s.startsWith('\x1bP') || !s.endsWith('\x1b\\')) throw new Error('not a DCS … ST sequence');
  const body = s.slice(2, -2);
  if (/[^\x20-\x7e]/.test(body)) throw new Error('non-printable byte inside the sixel body');
  const q = body.indexOf('q');
  if (q < 0) throw new Error('no q');
  const params = body.slice(0, q);
  let i = q + 1;
  const readInt = (): number => {
    const m = /^\d+/.exec(body.slice(i, i + 12));
    if (!m) throw new Error(`number expected at ${i}`);
    i += m[0].length;
    return Number(m[0]);
  };
  if (body[i] !== '"') throw new Error('raster attributes expected');
  i++;
  const raster: number[] = [readInt()];
  while (body[i] === ';') {
    i++;
    raster.push(readInt());
  }
  const [pan, pad, width = 0, height = 0] = raster;
  if (pan !== 1 || pad !== 1) throw new Error(`aspect ${pan}:${pad}, expected 1:1`);

  const pixels: Array<Rgb | null> = new Array(width * height).fill(null);
  const registers = new Map<number, Rgb>();
  const registersUsed = new Set<number>();
  let current: number | null = null;
  let x = 0;
  let y = 0;
  let bands = 1;
  const paint = (ch: string, count: number): void => {
    const code = ch.charCodeAt(0);
    if (code < 63 || code > 126) throw new Error(`bad sixel char ${JSON.stringify(ch)}`);
    const bits = code - 63;
    for (let k = 0; k < count; k++, x++) {
      if (bits === 0) continue;
      if (current === null) throw new Error('painting with no colour selected');
      const colour = registers.get(current);
      if (!colour) throw new Error(`register ${current} used before definition`);
      for (let b = 0; b < 6; b++) {
        if (!(bits & (1 << b))) continue;
        const px = x;
        const py = y + b;
        if (px >= width || py >= height) throw new Error(`pixel ${px},${py} outside ${width}×${height}`);
        pixels[py * width + px] = colour;
        registersUsed.add(current);
      }
    }
  };
  while (i < body.length) {
    const c = body[i] ?? '';
    if (c === '#') {
      i++;
      const reg = readInt();
      if (body[i] === ';') {
        i++;
        const pu = readInt();
        const v: number[] = [];
        for (let k = 0; k < 3; k++) {
          if (body[i] !== ';') throw new Error('colour component expected');
          i++;
          v.push(readInt());
        }
        if (pu !== 2) throw new Error(`colour space ${pu}, expected RGB (2)`);
        if (v.some((p) => p > 100)) throw new Error('percent above 100');
        if (registers.has(reg)) throw new Error(`register ${reg} defined twice`);
        registers.set(reg, v.map((p) => Math.round((p * 255) / 100)) as Rgb);
      } else {
        current = reg;
      }
    } else if (c === '!') {
      i++;
      const n = readInt();
      paint(body[i] ?? '', n);
      i++;
    } else if (c === '$') {
      x = 0;
      i++;
    } else if (c === '-') {
      x = 0;
      y += 6;
      bands++;
      i++;
    } else {
      paint(c, 1);
      i++;
    }
  }
  return { params, width, height, pixels, registers, registersUsed, bands };
};

/** Largest error a 6×7×6 cube can make (half its coarsest step) plus percent rounding both ways. */
const CUBE_TOLERANCE = 255 / 10 + 2;

const pixelAt = (img: RawImage, x: number, y: number): { rgb: Rgb; alpha: number } => {
  const o = (y * img.width + x) * img.channels;
  const d = img.data;
  return { rgb: [d[o] ?? 0, d[o + 1] ?? 0, d[o + 2] ?? 0], alpha: img.channels === 4 ? (d[o + 3] ?? 0) : 255 };
};

/** Every opaque pixel decodes to its colour within `tolerance`; every alpha < 128 pixel stays unpainted. */
const expectRoundTrip = (img: RawImage, decoded: DecodedSixel, tolerance: number): void => {
  expect(decoded.width).toBe(img.width);
  expect(decoded.height).toBe(img.height);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const { rgb, alpha } = pixelAt(img, x, y);
      const got = decoded.pixels[y * img.width + x];
      if (alpha < 128) {
        expect(got, `pixel ${x},${y} should be unpainted`).toBeNull();
        continue;
      }
      expect(got, `pixel ${x},${y} should be painted`).not.toBeNull();
      for (let c = 0; c < 3; c++) {
        const err = Math.abs((got?.[c] ?? -999) - rgb[c]!);
        if (err > tolerance) throw new Error(`pixel ${x},${y} channel ${c}: ${rgb[c]} decoded as ${got?.[c]}`);
      }
    }
  }
};

/** 7×13 RGBA: four flat blocks, a transparent region (with the alpha 127/128 edge), and a varied strip. */
const testImage = (): RawImage => {
  const w = 7;
  const h = 13;
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let px: [number, number, number, number];
      if (y < 4) px = x < 4 ? [250, 10, 10, 255] : [10, 240, 20, 255];
      else if (y < 9) px = x < 3 ? [0, 0, 255, 255] : [200, 200, 0, x === 3 ? 127 : x === 4 ? 128 : 0];
      else px = [x * 40, (y - 9) * 60, 128, 255];
      data.set(px, (y * w + x) * 4);
    }
  }
  return { width: w, height: h, channels: 4, data };
};

describe('sixelImage', () => {
  it('round-trips a 7×13 image through a sixel decoder, leaving transparent pixels unpainted', () => {
    const img = testImage();
    const out = sixelImage(img);
    const decoded = decodeSixel(out);
    expect(out.startsWith('\x1bP0;1;0q"1;1;7;13')).toBe(true);
    expect(decoded.bands).toBe(3); // 13 rows = two full bands + one partial
    expectRoundTrip(img, decoded, CUBE_TOLERANCE);
    // The alpha threshold is exactly 128.
    expect(decoded.pixels[4 * 7 + 3]).toBeNull();
    expect(decoded.pixels[4 * 7 + 4]).not.toBeNull();
  });

  it('reproduces colours on the cube exactly (up to percent rounding)', () => {
    const img: RawImage = {
      width: 3,
      height: 2,
      channels: 3,
      data: Uint8Array.from([0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 0, 255]),
    };
    expectRoundTrip(img, decodeSixel(sixelImage(img)), 1.3);
  });

  it('defines only the colours it uses, each once, with compact register numbers', () => {
    const img = testImage();
    const decoded = decodeSixel(sixelImage(img));
    expect([...decoded.registers.keys()].sort((a, b) => a - b)).toEqual([...Array(decoded.registers.size).keys()]);
    expect(decoded.registersUsed).toEqual(new Set(decoded.registers.keys()));

    const flat: RawImage = { width: 5, height: 5, channels: 3, data: new Uint8Array(75).fill(128) };
    expect(decodeSixel(sixelImage(flat)).registers.size).toBe(1);
  });

  it('run-length codes flat areas', () => {
    const w = 120;
    const h = 60;
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) data.set([20, 90, 200], i * 3);
    const img: RawImage = { width: w, height: h, channels: 3, data };
    const out = sixelImage(img);
    expect(out).toContain(`!${w}~`);
    expect(out.length).toBeLessThan((w * h) / 20);
    expectRoundTrip(img, decodeSixel(out), CUBE_TOLERANCE);
  });

  it('uses short runs literally and long ones with !n', () => {
    // One row of red: 3 pixels, gap of 4, 4 pixels.
    const row = [1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1];
    const data = new Uint8Array(row.length * 4);
    row.forEach((on, x) => data.set(on ? [255, 0, 0, 255] : [0, 0, 0, 0], x * 4));
    const out = sixelImage({ width: row.length, height: 1, channels: 4, data });
    expect(out).toMatch(/#0@@@!4\?!4@\x1b\\$/);
  });

  it('honours colors: a small palette stays within its register count', () => {
    const w = 32;
    const h = 32;
    const img: RawImage = { width: w, height: h, channels: 3, data: pseudoRandomBytes(w * h * 3, 7) };
    const decoded = decodeSixel(sixelImage(img, { colors: 8 }));
    expect(decoded.registers.size).toBeLessThanOrEqual(8);
    expectRoundTrip(img, decoded, 255 / 2 + 2);
    expect(decodeSixel(sixelImage(img)).registers.size).toBeLessThanOrEqual(256);
  });

  it('round-trips arbitrary small images (property)', () => {
    const imageArb = fc
      .record({ width: fc.integer({ min: 1, max: 17 }), height: fc.integer({ min: 1, max: 19 }), channels: fc.constantFrom(3 as const, 4 as const) })
      .chain(({ width, height, channels }) =>
        fc
          .uint8Array({ minLength: width * height * channels, maxLength: width * height * channels })
          .map((data): RawImage => ({ width, height, channels, data })),
      );
    fc.assert(
      fc.property(imageArb, (img) => {
        const decoded = decodeSixel(sixelImage(img));
        expectRoundTrip(img, decoded, CUBE_TOLERANCE);
        expect(decoded.registersUsed).toEqual(new Set(decoded.registers.keys()));
      }),
      { numRuns: 150 },
    );
  });

  it('handles an empty image and rejects a buffer too short for its size', () => {
    expect(sixelImage({ width: 0, height: 0, channels: 3, data: new Uint8Array(0) })).toBe('\x1bP0;1;0q"1;1;0;0\x1b\\');
    expect(() => sixelImage({ width: 4, height: 4, channels: 4, data: new Uint8Array(63) })).toThrow(RangeError);
  });

  it('encodes a full-size 1024×1024 random image (the worst case for the palette and the runs) whole', () => {
    // Its speed is the benchmark's business, not a test's.
    const img: RawImage = { width: 1024, height: 1024, channels: 3, data: pseudoRandomBytes(1024 * 1024 * 3, 42) };
    const out = sixelImage(img);
    expect(out.startsWith('\x1bP0;1;0q"1;1;1024;1024')).toBe(true);
    expect(out.endsWith('\x1b\\')).toBe(true);
    // 1024 rows are 171 six-pixel bands: 170 "next band" marks.
    expect(out.split('-').length - 1).toBeGreaterThanOrEqual(170);
  });
});

// ---------------------------------------------------------------------------

/** Splits kitty output into its APC sequences, failing if anything else is in between. */
const kittyChunks = (out: string): Array<{ keys: Map<string, string>; raw: string; payload: string }> => {
  const re = /\x1b_G([^;\x1b]*);([A-Za-z0-9+/=]*)\x1b\\/g;
  const chunks = [...out.matchAll(re)].map((m) => ({
    raw: m[1] ?? '',
    keys: new Map((m[1] ?? '').split(',').map((kv) => kv.split('=') as [string, string])),
    payload: m[2] ?? '',
  }));
  expect(chunks.map((c) => `\x1b_G${c.raw};${c.payload}\x1b\\`).join('')).toBe(out);
  return chunks;
};

describe('kittyImage', () => {
  it('splits the base64 payload into ≤4096-byte chunks that reassemble to the PNG bytes', () => {
    const png = pseudoRandomBytes(10_000);
    const chunks = kittyChunks(kittyImage(png, { cols: 30, rows: 12 }));
    expect(chunks.length).toBe(Math.ceil(Math.ceil(10_000 / 3) * 4 / 4096));
    for (const c of chunks) expect(c.payload.length).toBeLessThanOrEqual(4096);
    // Every chunk but the last must be a whole number of base64 quads.
    for (const c of chunks.slice(0, -1)) expect(c.payload.length % 4).toBe(0);
    const decoded = Buffer.from(chunks.map((c) => c.payload).join(''), 'base64');
    expect(new Uint8Array(decoded)).toEqual(png);
  });

  it('puts the control keys on the first chunk only, and m=0 on the last only', () => {
    const chunks = kittyChunks(kittyImage(pseudoRandomBytes(9000), { cols: 30, rows: 12 }));
    expect(Object.fromEntries(chunks[0]!.keys)).toEqual({ a: 'T', f: '100', q: '2', c: '30', r: '12', m: '1' });
    for (const c of chunks.slice(1, -1)) expect(c.raw).toBe('m=1');
    expect(chunks.at(-1)!.raw).toBe('m=0');
  });

  it('sends a small image as one chunk with m=0, and splits exactly at the 4096 boundary', () => {
    const one = kittyChunks(kittyImage(Uint8Array.from([137, 80, 78, 71]), { cols: 1, rows: 1 }));
    expect(one).toHaveLength(1);
    expect(one[0]!.raw).toBe('a=T,f=100,q=2,c=1,r=1,m=0');
    expect(kittyChunks(kittyImage(new Uint8Array(3072), { cols: 2, rows: 2 }))).toHaveLength(1); // 4096 chars
    expect(kittyChunks(kittyImage(new Uint8Array(3073), { cols: 2, rows: 2 }))).toHaveLength(2);
  });

  it('encodes only the bytes of a subarray view', () => {
    const backing = pseudoRandomBytes(100);
    const view = backing.subarray(10, 20);
    const payload = kittyChunks(kittyImage(view, { cols: 1, rows: 1 }))[0]!.payload;
    expect(new Uint8Array(Buffer.from(payload, 'base64'))).toEqual(view);
  });

  it('rejects a degenerate cell box', () => {
    expect(() => kittyImage(new Uint8Array(4), { cols: 0, rows: 3 })).toThrow(RangeError);
    expect(() => kittyImage(new Uint8Array(4), { cols: 2, rows: 1.5 })).toThrow(RangeError);
  });

  it('deletes one image by its id, quietly; the full-screen picture has an id of its own', () => {
    expect(kittyDeleteImage(1000)).toBe('\x1b_Ga=d,d=I,i=1000,q=2\x1b\\');
    expect(kittyImage(new Uint8Array(4), { cols: 2, rows: 1 }, 1000)).toMatch(/^\x1b_Ga=T,f=100,q=2,i=1000,c=2,r=1,m=0;/);
  });
});

describe('iterm2Image', () => {
  it('wraps the file in OSC 1337 with its size and cell box', () => {
    const file = pseudoRandomBytes(5000, 3);
    const out = iterm2Image(file, { cols: 40, rows: 10 });
    const m = /^\x1b\]1337;File=([^:]*):([A-Za-z0-9+/=]*)\x07$/.exec(out);
    expect(m).not.toBeNull();
    const args = Object.fromEntries((m![1] ?? '').split(';').map((kv) => kv.split('=') as [string, string]));
    expect(args).toEqual({ inline: '1', size: '5000', width: '40', height: '10', preserveAspectRatio: '1' });
    expect(new Uint8Array(Buffer.from(m![2] ?? '', 'base64'))).toEqual(file);
  });

  it('rejects a degenerate cell box', () => {
    expect(() => iterm2Image(new Uint8Array(4), { cols: 3, rows: -1 })).toThrow(RangeError);
  });
});

describe('kitty Unicode placeholders', () => {
  it('a row: the image colour, then each cell as U+10EEEE with its row and column diacritics, the colour reset', () => {
    const d = (i: number) => String.fromCodePoint(KITTY_DIACRITICS[i]!);
    expect(kittyPlaceholderRow(7, 0, 3)).toBe(`\x1b[38;5;7m\u{10EEEE}${d(0)}${d(0)}\u{10EEEE}${d(0)}${d(1)}\u{10EEEE}${d(0)}${d(2)}\x1b[39m`);
    expect(kittyPlaceholderRow(255, 2, 1)).toBe(`\x1b[38;5;255m\u{10EEEE}${d(2)}${d(0)}\x1b[39m`);
    expect(KITTY_DIACRITICS).toHaveLength(297);
    expect(new Set(KITTY_DIACRITICS).size).toBe(297);
    expect(() => kittyPlaceholderRow(0, 0, 1)).toThrow(RangeError);
    expect(() => kittyPlaceholderRow(256, 0, 1)).toThrow(RangeError);
    expect(() => kittyPlaceholderRow(1, 297, 1)).toThrow(RangeError);
  });

  it('the transmit: a virtual placement (U=1) of the image id and cell size, chunked, quiet', () => {
    const png = pseudoRandomBytes(9000, 5);
    const out = kittyTransmitForPlaceholders(png, 3, 40, 20);
    const chunks = [...out.matchAll(/\x1b_G([^;]*);([^\x1b]*)\x1b\\/g)];
    expect(chunks[0]![1]).toBe('a=T,U=1,f=100,t=d,i=3,c=40,r=20,q=2,m=1');
    expect(chunks.slice(1, -1).every((c) => c[1] === 'm=1')).toBe(true);
    expect(chunks[chunks.length - 1]![1]).toBe('m=0');
    expect(Buffer.from(chunks.map((c) => c[2]).join(''), 'base64').equals(Buffer.from(png))).toBe(true);
  });
});
