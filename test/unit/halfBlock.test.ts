import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  fitSize,
  nearest256,
  renderHalfBlocks,
  xterm256Rgb,
  type RawImage,
} from '../../src/view/halfBlock.js';

const SGR = /\x1b\[[0-9;]*m/g;
const strip = (s: string): string => s.replace(SGR, '');
const fgT = (r: number, g: number, b: number) => `\x1b[38;2;${r};${g};${b}m`;
const bgT = (r: number, g: number, b: number) => `\x1b[48;2;${r};${g};${b}m`;
const R = '\x1b[0m';

/** Replays a row's SGR codes: the fg/bg (as "R;G;B") in force at each `▄`. */
const decodeRow = (row: string): Array<{ fg: string | null; bg: string | null }> => {
  const out: Array<{ fg: string | null; bg: string | null }> = [];
  let fg: string | null = null;
  let bg: string | null = null;
  for (const tok of row.match(/\x1b\[[0-9;]*m|[^\x1b]/g) ?? []) {
    if (tok === '▄') out.push({ fg, bg });
    else if (tok.startsWith('\x1b[38;2;')) fg = tok.slice(7, -1);
    else if (tok.startsWith('\x1b[48;2;')) bg = tok.slice(7, -1);
    else if (tok === R) fg = bg = null;
  }
  return out;
};

const rgb = (width: number, height: number, px: number[][]): RawImage => ({
  width,
  height,
  channels: 3,
  data: Uint8Array.from(px.flat()),
});

const d2 = (r: number, g: number, b: number, i: number): number => {
  const [cr, cg, cb] = xterm256Rgb(i);
  return (r - cr) ** 2 + (g - cg) ** 2 + (b - cb) ** 2;
};

describe('renderHalfBlocks truecolor', () => {
  it('2×2 image → one row of two cells, fg = lower, bg = upper', () => {
    const img = rgb(2, 2, [
      [255, 0, 0], [0, 255, 0],
      [0, 0, 255], [10, 20, 30],
    ]);
    expect(renderHalfBlocks(img, 'truecolor')).toEqual([
      fgT(0, 0, 255) + bgT(255, 0, 0) + '▄' + fgT(10, 20, 30) + bgT(0, 255, 0) + '▄' + R,
    ]);
  });

  it('1×3 image → two rows, missing lower pixel is black', () => {
    const img = rgb(1, 3, [[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    expect(renderHalfBlocks(img, 'truecolor')).toEqual([
      fgT(4, 5, 6) + bgT(1, 2, 3) + '▄' + R,
      fgT(0, 0, 0) + bgT(7, 8, 9) + '▄' + R,
    ]);
  });

  it('composites RGBA over black', () => {
    const img: RawImage = {
      width: 1,
      height: 2,
      channels: 4,
      data: Uint8Array.from([200, 100, 50, 255, 200, 100, 50, 128]),
    };
    expect(renderHalfBlocks(img, 'truecolor')).toEqual([
      fgT(100, 50, 25) + bgT(200, 100, 50) + '▄' + R,
    ]);
    const clear: RawImage = { width: 1, height: 2, channels: 4, data: Uint8Array.from([9, 9, 9, 0, 9, 9, 9, 0]) };
    expect(renderHalfBlocks(clear, 'truecolor')).toEqual([fgT(0, 0, 0) + bgT(0, 0, 0) + '▄' + R]);
  });

  it('does not repeat SGR codes for equal neighbours, only the changed one', () => {
    const img = rgb(4, 2, [
      [9, 9, 9], [9, 9, 9], [9, 9, 9], [1, 1, 1],
      [5, 5, 5], [5, 5, 5], [6, 6, 6], [6, 6, 6],
    ]);
    expect(renderHalfBlocks(img, 'truecolor')).toEqual([
      fgT(5, 5, 5) + bgT(9, 9, 9) + '▄▄' + fgT(6, 6, 6) + '▄' + bgT(1, 1, 1) + '▄' + R,
    ]);
  });

  it('every row has visible width = image width and ends with a reset', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom<3 | 4>(3, 4),
        fc.constantFrom('truecolor' as const, '256' as const, 'grey' as const),
        fc.integer(),
        (w, h, ch, mode, seed) => {
          const data = new Uint8Array(w * h * ch);
          let s = seed | 0;
          for (let i = 0; i < data.length; i++) {
            s = (Math.imul(s, 1103515245) + 12345) | 0;
            data[i] = (s >>> 16) & 255;
          }
          const rows = renderHalfBlocks({ width: w, height: h, channels: ch, data }, mode);
          expect(rows).toHaveLength(Math.ceil(h / 2));
          for (const row of rows) {
            expect([...strip(row)]).toHaveLength(w);
            if (mode !== 'grey') expect(row.endsWith(R)).toBe(true);
          }
        },
      ),
    );
  });

  it('checks cell by cell against pixel colours (decoding SGR state)', () => {
    const w = 3;
    const h = 5;
    const px = Array.from({ length: w * h }, (_, i) => [i * 17, 255 - i * 13, (i * 29) % 256]);
    const rows = renderHalfBlocks(rgb(w, h, px), 'truecolor');
    expect(rows).toHaveLength(3);
    rows.forEach((row, ty) => {
      const cells = decodeRow(row);
      expect(cells).toHaveLength(w);
      cells.forEach((cell, x) => {
        const up = px[2 * ty * w + x] ?? [0, 0, 0];
        const lo = 2 * ty + 1 < h ? (px[(2 * ty + 1) * w + x] ?? [0, 0, 0]) : [0, 0, 0];
        expect(cell).toEqual({ fg: lo.join(';'), bg: up.join(';') });
      });
    });
  });

  it('rejects short data', () => {
    expect(() => renderHalfBlocks({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) }, 'truecolor')).toThrow(
      RangeError,
    );
  });
});

describe('256 mode', () => {
  it('maps known colours', () => {
    expect(nearest256(255, 0, 0)).toBe(196);
    expect(nearest256(0, 0, 0)).toBe(16);
    expect(nearest256(255, 255, 255)).toBe(231);
    const g = nearest256(128, 128, 128);
    expect(g).toBeGreaterThanOrEqual(232);
    expect(g).toBeLessThanOrEqual(255);
  });

  it('is never farther than any cube or ramp candidate', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (r, g, b) => {
        const n = nearest256(r, g, b);
        expect(n).toBeGreaterThanOrEqual(16);
        expect(n).toBeLessThanOrEqual(255);
        const best = d2(r, g, b, n);
        for (let i = 16; i <= 255; i++) expect(best).toBeLessThanOrEqual(d2(r, g, b, i));
      }),
    );
  });

  it('renders 256 codes with the same repeat rule', () => {
    const img = rgb(2, 2, [
      [255, 0, 0], [250, 0, 0],
      [0, 0, 0], [0, 0, 0],
    ]);
    expect(renderHalfBlocks(img, '256')).toEqual(['\x1b[38;5;16m\x1b[48;5;196m▄▄' + R]);
  });
});

describe('grey mode', () => {
  it('contains no ESC and maps average luminance to the ramp', () => {
    const img = rgb(3, 2, [
      [0, 0, 0], [255, 255, 255], [255, 255, 255],
      [0, 0, 0], [255, 255, 255], [0, 0, 0],
    ]);
    const rows = renderHalfBlocks(img, 'grey');
    expect(rows).toEqual([' @=']);
    expect(rows.join('')).not.toContain('\x1b');
  });

  it('uses black for the missing lower pixel', () => {
    expect(renderHalfBlocks(rgb(1, 1, [[255, 255, 255]]), 'grey')).toEqual(['=']);
  });
});

describe('fitSize', () => {
  it('fits within maxCols × 2·maxRows keeping aspect', () => {
    expect(fitSize(800, 600, 40, 15)).toEqual({ width: 40, height: 30 });
    expect(fitSize(600, 800, 80, 10)).toEqual({ width: 15, height: 20 });
  });

  it('never upscales, keeps at least 1×1, makes height even when possible', () => {
    expect(fitSize(10, 10, 80, 24)).toEqual({ width: 10, height: 10 });
    expect(fitSize(5, 7, 80, 24)).toEqual({ width: 5, height: 6 });
    expect(fitSize(1000, 1, 10, 10)).toEqual({ width: 10, height: 1 });
    expect(fitSize(0, 0, 10, 10)).toEqual({ width: 1, height: 1 });
  });

  it('always fits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 100 }),
        (w, h, c, r) => {
          const s = fitSize(w, h, c, r);
          expect(s.width).toBeGreaterThanOrEqual(1);
          expect(s.height).toBeGreaterThanOrEqual(1);
          expect(s.width).toBeLessThanOrEqual(Math.min(c, w));
          expect(s.height).toBeLessThanOrEqual(Math.min(2 * r, h));
          if (s.height > 1) expect(s.height % 2).toBe(0);
        },
      ),
    );
  });
});
