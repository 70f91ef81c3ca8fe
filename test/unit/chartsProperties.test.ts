import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineText, lineWidth, type StyledLine } from '../../src/view/charts/cells.js';
import { sparkline } from '../../src/view/charts/sparkline.js';
import { progressBar } from '../../src/view/charts/progressBar.js';
import { renderLineChart, type ChartMarker, type ChartSeries } from '../../src/view/charts/lineChart.js';
import { renderXAxis, renderYAxis } from '../../src/view/charts/axis.js';
import { renderLossChart } from '../../src/view/charts/lossChart.js';

const RUNS = { numRuns: 150 };

/** Any double, biased towards the awkward ones. */
const anyNumber = fc.oneof(
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 1e-300),
  fc.integer({ min: -5000, max: 5000 }),
  fc.double({ min: 0, max: 2, noNaN: true }),
);
const point = fc.record({ x: anyNumber, y: anyNumber });
const points = fc.oneof(fc.constant([]), fc.array(point, { maxLength: 1 }), fc.array(point, { maxLength: 60 }));
const series: fc.Arbitrary<ChartSeries[]> = fc.array(fc.record({ points, style: fc.constantFrom<'raw' | 'smooth'>('raw', 'smooth') }), { maxLength: 3 });
const markers: fc.Arbitrary<ChartMarker[]> = fc.array(
  fc.oneof(fc.record({ x: anyNumber }), fc.record({ x: anyNumber, style: fc.constantFrom<'marker' | 'target'>('marker', 'target') })),
  { maxLength: 4 },
);
const domain = fc.option(fc.tuple(anyNumber, anyNumber), { nil: undefined });
const glyphs = fc.constantFrom<'unicode' | 'ascii'>('unicode', 'ascii');
const width = fc.integer({ min: 1, max: 200 });
const height = fc.integer({ min: 1, max: 40 });

function checkLine(line: StyledLine, w: number, g: 'unicode' | 'ascii'): void {
  // (plain checks first, one expect per problem: per-character expect() calls are slow)
  const width = lineWidth(line);
  if (width !== w) expect(width).toBe(w);
  for (let i = 0; i < line.length; i++) {
    const run = line[i]!;
    if (run.text.length === 0) expect(run.text.length).toBeGreaterThan(0);
    if (i > 0 && run.style === line[i - 1]!.style) expect(run.style).not.toBe(line[i - 1]!.style);
    for (const ch of run.text) {
      const cp = ch.codePointAt(0)!;
      // ascii: printable ASCII only; unicode: printable, no C0/C1 controls
      const ok = g === 'ascii' ? cp >= 0x20 && cp <= 0x7e : cp >= 0x20 && cp !== 0x7f && !(cp >= 0x80 && cp < 0xa0);
      if (!ok) expect.fail(`bad glyph ${JSON.stringify(ch)} in ${g} mode`);
    }
  }
}

function checkLines(lines: StyledLine[], w: number, h: number, g: 'unicode' | 'ascii'): void {
  expect(lines).toHaveLength(h);
  for (const line of lines) checkLine(line, w, g);
}

describe('width/height invariants (property)', () => {
  it('renderLineChart: exactly height lines of exactly width columns; ascii stays ascii', () => {
    fc.assert(
      fc.property(width, height, series, markers, domain, domain, glyphs, fc.option(fc.boolean(), { nil: undefined }), (w, h, s, m, xd, yd, g, clip) => {
        const opts: Parameters<typeof renderLineChart>[0] = { width: w, height: h, series: s, markers: m, glyphs: g };
        if (xd !== undefined) opts.xDomain = xd;
        if (yd !== undefined) opts.yDomain = yd;
        if (clip !== undefined) opts.clipOutliers = clip;
        const lines = renderLineChart(opts);
        checkLines(lines, w, h, g);
        if (g === 'unicode') {
          for (const line of lines) {
            for (const ch of lineText(line)) {
              if (!(ch === ' ' || ch === '┊' || ch === '│' || (ch >= '\u2800' && ch <= '\u28ff'))) expect.fail(`unexpected glyph ${JSON.stringify(ch)}`);
            }
          }
        }
      }),
      RUNS,
    );
  });

  it('renderLossChart: exactly height lines of exactly width columns', () => {
    fc.assert(
      fc.property(width, height, points, fc.option(points, { nil: undefined }), markers, domain, glyphs, (w, h, raw, smooth, m, xd, g) => {
        const opts: Parameters<typeof renderLossChart>[0] = { width: w, height: h, raw, markers: m, glyphs: g };
        if (smooth !== undefined) opts.smooth = smooth;
        if (xd !== undefined) opts.xDomain = xd;
        checkLines(renderLossChart(opts), w, h, g);
      }),
      RUNS,
    );
  });

  it('axes: exact widths', () => {
    fc.assert(
      fc.property(width, height, fc.tuple(anyNumber, anyNumber), glyphs, (w, h, d, g) => {
        checkLine(renderXAxis({ width: w, xDomain: d, glyphs: g }), w, g);
        const y = renderYAxis({ height: h, yDomain: d, glyphs: g });
        checkLines(y.lines, y.width, h, g);
      }),
      RUNS,
    );
  });

  it('sparkline: exactly width columns', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.array(anyNumber, { maxLength: 300 }),
        glyphs,
        fc.option(anyNumber, { nil: undefined }),
        fc.option(anyNumber, { nil: undefined }),
        fc.option(anyNumber, { nil: undefined }),
        (w, values, g, min, max, above) => {
          const opts: Parameters<typeof sparkline>[2] = { glyphs: g, style: 'raw' };
          if (min !== undefined) opts.min = min;
          if (max !== undefined) opts.max = max;
          if (above !== undefined) opts.highlightAbove = above;
          const line = sparkline(values, w, opts);
          checkLine(line, w, g);
          // right-aligned: the last value is in the last column
          const last = values[values.length - 1];
          if (w > 0 && last !== undefined && !Number.isFinite(last)) expect(lineText(line).endsWith(' ')).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('progressBar: exact widths, fill count, label collision rules', () => {
    const label = fc.stringMatching(/^[0-9a-z]{1,6}$/);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        anyNumber,
        fc.oneof(anyNumber, fc.integer({ min: 1, max: 1000 })),
        fc.array(fc.record({ at: fc.oneof(anyNumber, fc.integer({ min: -10, max: 1200 })), label }), { maxLength: 8 }),
        glyphs,
        (w, value, total, ms, g) => {
          const { bar, labels } = progressBar({ value, total, width: w, glyphs: g, markers: ms });
          checkLine(bar, w, g);
          checkLine(labels, w, g);
          const valid = Number.isFinite(total) && total > 0;
          if (g === 'ascii' && ms.length === 0) {
            const frac = !valid ? 0 : Number.isFinite(value) ? Math.min(1, Math.max(0, value / total)) : value === Infinity ? 1 : 0;
            expect([...lineText(bar)].filter((c) => c === '#').length).toBe(Math.floor(frac * w));
          }
          // Every token of the label row is one whole label (or a cut one when longer than the row),
          // i.e. labels never touch or overlap.
          const inRange = valid ? ms.filter((m) => Number.isFinite(m.at) && m.at >= 0 && m.at <= total) : [];
          const tokens = lineText(labels).split(' ').filter((t) => t.length > 0);
          for (const t of tokens) expect(inRange.some((m) => m.label === t || (m.label.length > w && m.label.startsWith(t)))).toBe(true);
          if (!valid) expect(tokens).toEqual([]);
          // The biggest in-range marker always keeps its label.
          if (inRange.length > 0) {
            const maxAt = Math.max(...inRange.map((m) => m.at));
            const winners = inRange.filter((m) => m.at === maxAt).map((m) => m.label.slice(0, w));
            expect(tokens.some((t) => winners.includes(t))).toBe(true);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

/** Decodes a unicode chart back into its dot grid: grid[rowFromTop][dotCol]. */
function decodeBraille(lines: StyledLine[]): boolean[][] {
  const bits = [
    [0x01, 0x08],
    [0x02, 0x10],
    [0x04, 0x20],
    [0x40, 0x80],
  ];
  const grid: boolean[][] = [];
  for (const line of lines) {
    const chars = [...lineText(line)];
    for (let subY = 0; subY < 4; subY++) {
      const row: boolean[] = [];
      for (const ch of chars) {
        const cp = ch.codePointAt(0)!;
        const mask = cp >= 0x2800 && cp <= 0x28ff ? cp - 0x2800 : 0;
        for (let subX = 0; subX < 2; subX++) row.push((mask & bits[subY]![subX]!) !== 0);
      }
      grid.push(row);
    }
  }
  return grid;
}

describe('line continuity (property)', () => {
  it('a single series is drawn without gaps: every dot column between the ends is set and 8-connected', () => {
    const finitePoint = fc.record({ x: fc.integer({ min: 0, max: 1000 }), y: fc.double({ min: -10, max: 10, noNaN: true }) });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(finitePoint, { minLength: 1, maxLength: 200 }),
        fc.constantFrom<'raw' | 'smooth'>('raw', 'smooth'),
        (w, h, pts, style) => {
          const lines = renderLineChart({ width: w, height: h, glyphs: 'unicode', clipOutliers: false, series: [{ points: pts, style }] });
          const grid = decodeBraille(lines);
          const W = w * 2;
          const spans: Array<[number, number] | undefined> = [];
          for (let c = 0; c < W; c++) {
            let lo = -1;
            let hi = -1;
            for (let r = 0; r < grid.length; r++) {
              if (grid[r]![c]) {
                if (lo < 0) lo = r;
                hi = r;
              }
            }
            spans.push(lo < 0 ? undefined : [lo, hi]);
          }
          const used = spans.map((s, c) => (s ? c : -1)).filter((c) => c >= 0);
          expect(used.length).toBeGreaterThan(0);
          for (let c = used[0]!; c < used[used.length - 1]!; c++) {
            const a = spans[c];
            const b = spans[c + 1];
            if (a === undefined || b === undefined) expect.fail(`gap at dot column ${c}`);
            // each column's dots are contiguous
            for (let r = a[0]; r <= a[1]; r++) if (!grid[r]![c]) expect.fail(`hole in dot column ${c}`);
            // neighbouring spans touch (8-connected)
            if (!(b[0] <= a[1] + 1 && b[1] >= a[0] - 1)) expect.fail(`columns ${c} and ${c + 1} do not touch`);
          }
        },
      ),
      RUNS,
    );
  });
});
