import { describe, expect, it } from 'vitest';
import { blankLine, concatLines, lineText, lineWidth, mergeCells, type StyledLine } from '../../src/view/charts/cells.js';
import { sparkline } from '../../src/view/charts/sparkline.js';
import { progressBar } from '../../src/view/charts/progressBar.js';
import { chartXDomain, chartYDomain, quickselect, renderLineChart, type ChartSeries } from '../../src/view/charts/lineChart.js';
import { formatAxisValue, formatStep, niceTicks, renderXAxis, renderYAxis } from '../../src/view/charts/axis.js';
import { renderLossChart } from '../../src/view/charts/lossChart.js';

const texts = (lines: StyledLine[]): string[] => lines.map(lineText);
const pts = (...xy: Array<[number, number]>) => xy.map(([x, y]) => ({ x, y }));
const braille = (mask: number) => String.fromCharCode(0x2800 + mask);

describe('cells', () => {
  it('merges adjacent cells of the same style', () => {
    expect(mergeCells(['a', 'b', 'c', 'd'], ['raw', 'raw', null, 'raw'])).toEqual([
      { text: 'ab', style: 'raw' },
      { text: 'c', style: null },
      { text: 'd', style: 'raw' },
    ]);
  });
  it('blank lines and concatenation', () => {
    expect(blankLine(0)).toEqual([]);
    expect(blankLine(-3)).toEqual([]);
    expect(blankLine(NaN)).toEqual([]);
    expect(blankLine(3)).toEqual([{ text: '   ', style: null }]);
    expect(concatLines([{ text: 'a', style: 'raw' }], [], [{ text: 'b', style: 'raw' }, { text: 'c', style: null }])).toEqual([
      { text: 'ab', style: 'raw' },
      { text: 'c', style: null },
    ]);
    expect(lineWidth([{ text: '⣿█', style: null }])).toBe(2);
  });
});

describe('sparkline', () => {
  // Rule: level = round((v - min) / (max - min) * 7), min/max of the visible finite values.
  it('[1,2,3,4] at width 4 → levels 0,2,5,7', () => {
    expect(sparkline([1, 2, 3, 4], 4, { glyphs: 'unicode' })).toEqual([{ text: '▁▃▆█', style: null }]);
    expect(lineText(sparkline([1, 2, 3, 4], 4, { glyphs: 'ascii' }))).toBe(' .+#');
  });
  it('pads on the left when short, keeps the newest values when long', () => {
    expect(lineText(sparkline([1, 2, 3, 4], 6, { glyphs: 'unicode' }))).toBe('  ▁▃▆█');
    // only [3,4,5] are visible: levels 0, round(3.5)=4, 7
    expect(lineText(sparkline([0, 1, 2, 3, 4, 5], 3, { glyphs: 'unicode' }))).toBe('▁▅█');
  });
  it('constant series draws at the middle level; non-finite values are blanks', () => {
    expect(lineText(sparkline([5, 5, 5], 3, { glyphs: 'unicode' }))).toBe('▄▄▄');
    expect(lineText(sparkline([5, 5, 5], 3, { glyphs: 'ascii' }))).toBe('---');
    expect(lineText(sparkline([1, NaN, 3, Infinity], 4, { glyphs: 'unicode' }))).toBe('▁ █ ');
    expect(lineText(sparkline([NaN], 2, { glyphs: 'unicode' }))).toBe('  ');
    expect(lineText(sparkline([], 3, { glyphs: 'unicode' }))).toBe('   ');
    expect(sparkline([1, 2], 0, { glyphs: 'unicode' })).toEqual([]);
  });
  it('honours explicit min/max (clamping values outside)', () => {
    expect(lineText(sparkline([5], 1, { glyphs: 'unicode', min: 0, max: 10 }))).toBe('▅');
    expect(lineText(sparkline([-5, 50], 2, { glyphs: 'unicode', min: 0, max: 10 }))).toBe('▁█');
    expect(lineText(sparkline([5], 1, { glyphs: 'unicode', min: 10, max: 0 }))).toBe('▅');
  });
  it('highlights values above the threshold with style warn', () => {
    expect(sparkline([1, 10, 2], 4, { glyphs: 'unicode', style: 'raw', highlightAbove: 5 })).toEqual([
      { text: ' ', style: null },
      { text: '▁', style: 'raw' },
      { text: '█', style: 'warn' },
      { text: '▂', style: 'raw' },
    ]);
  });
});

describe('progressBar', () => {
  it('a 4-wide bar at 50 %', () => {
    expect(progressBar({ value: 50, total: 100, width: 4, glyphs: 'unicode' }).bar).toEqual([
      { text: '██', style: 'fill' },
      { text: '░░', style: 'empty' },
    ]);
    expect(lineText(progressBar({ value: 50, total: 100, width: 4, glyphs: 'ascii' }).bar)).toBe('##--');
    expect(lineText(progressBar({ value: 50, total: 100, width: 4, glyphs: 'ascii' }).labels)).toBe('    ');
  });
  it('partial eighths, flooring, clamping', () => {
    // 1/3 of 4 cells = 10.67 eighths → 10 = one full cell + 2/8
    expect(lineText(progressBar({ value: 1, total: 3, width: 4, glyphs: 'unicode' }).bar)).toBe('█▎░░');
    expect(lineText(progressBar({ value: 999, total: 1000, width: 4, glyphs: 'unicode' }).bar)).toBe('███▉');
    expect(lineText(progressBar({ value: 999, total: 1000, width: 4, glyphs: 'ascii' }).bar)).toBe('###-');
    expect(lineText(progressBar({ value: 5000, total: 1000, width: 4, glyphs: 'unicode' }).bar)).toBe('████');
    expect(lineText(progressBar({ value: -5, total: 1000, width: 4, glyphs: 'unicode' }).bar)).toBe('░░░░');
    expect(lineText(progressBar({ value: NaN, total: 1000, width: 4, glyphs: 'unicode' }).bar)).toBe('░░░░');
    expect(lineText(progressBar({ value: 5, total: 0, width: 4, glyphs: 'unicode' }).bar)).toBe('░░░░');
    expect(progressBar({ value: 5, total: 10, width: 0, glyphs: 'unicode' })).toEqual({ bar: [], labels: [] });
  });
  it('draws marker ticks and labels; no tick at the very end; drops markers beyond total', () => {
    const { bar, labels } = progressBar({
      value: 25,
      total: 100,
      width: 20,
      glyphs: 'unicode',
      markers: [
        { at: 50, label: '50' },
        { at: 100, label: '100' },
        { at: 150, label: '150' },
        { at: -1, label: 'neg' },
      ],
    });
    expect(bar).toEqual([
      { text: '█████', style: 'fill' },
      { text: '░░░░░', style: 'empty' },
      { text: '│', style: 'target' },
      { text: '░░░░░░░░░', style: 'empty' },
    ]);
    expect(lineText(labels)).toBe('          50     100');
    expect(labels.filter((r) => r.style === 'label').map((r) => r.text)).toEqual(['50', '100']);
  });
  it('ascii ticks and custom tick style', () => {
    const { bar } = progressBar({ value: 100, total: 100, width: 4, glyphs: 'ascii', markers: [{ at: 50, label: 'x', style: 'marker' }] });
    expect(bar).toEqual([
      { text: '##', style: 'fill' },
      { text: '|', style: 'marker' },
      { text: '#', style: 'fill' },
    ]);
  });
  it('drops colliding labels, keeping the later/bigger markers', () => {
    const { labels, bar } = progressBar({
      value: 0,
      total: 3000,
      width: 40,
      glyphs: 'ascii',
      markers: [
        { at: 2500, label: '2500' }, // col 33: collides with 2600
        { at: 2600, label: '2600' }, // col 34: collides with 3000 (right-aligned at 36..39)
        { at: 3000, label: '3000' },
        { at: 500, label: '500' },
        { at: 1000, label: '1000' },
      ],
    });
    expect(lineText(labels)).toBe('      500    1000                   3000');
    expect(lineText(bar)).toBe('------|------|-------------------||-----');
  });
  it('labels touching each other are separated or dropped; long labels are cut', () => {
    // 50 → col 5 ("50" at 5..6), 100 → right edge 7..9: touching → 50 dropped
    expect(lineText(progressBar({ value: 0, total: 100, width: 10, glyphs: 'ascii', markers: [{ at: 50, label: '50' }, { at: 100, label: '100' }] }).labels)).toBe(
      '       100',
    );
    expect(lineText(progressBar({ value: 0, total: 100, width: 3, glyphs: 'ascii', markers: [{ at: 100, label: 'abcdef' }] }).labels)).toBe('abc');
  });
});

describe('renderLineChart', () => {
  it('braille dot mapping: a diagonal across a 2×1 chart', () => {
    // 4×4 dots. (0,0) → dot col 0 row 0 (bottom); (3,3) → col 3 row 3 (top).
    // Segment: col k gets row k. Cell 0: (0, bottom) = 0x40, (1, 3rd row from top) = 0x20 → ⡠
    // Cell 1: (0, 2nd row) = 0x02, (1, top) = 0x08 → ⠊
    const lines = renderLineChart({ width: 2, height: 1, glyphs: 'unicode', series: [{ points: pts([0, 0], [3, 3]), style: 'raw' }] });
    expect(lines).toEqual([[{ text: braille(0x60) + braille(0x0a), style: 'raw' }]]);
    expect(texts(lines)).toEqual(['⡠⠊']);
  });
  it('ascii mapping of the same diagonal (1×3 dots per cell)', () => {
    // 2×3 dots: col 0 rows 0..1 (steep step drawn in the left column) → middle+bottom → '|'; col 1 row 2 → top → "'"
    const lines = renderLineChart({ width: 2, height: 1, glyphs: 'ascii', series: [{ points: pts([0, 0], [3, 3]), style: 'raw' }] });
    expect(texts(lines)).toEqual(["|'"]);
    const flat = renderLineChart({ width: 3, height: 1, glyphs: 'ascii', yDomain: [0, 2], series: [{ points: pts([0, 0], [1, 1], [2, 2]), style: 'raw' }] });
    expect(texts(flat)).toEqual([".-'"]);
  });
  it('steep drop is continuous vertically', () => {
    // 4×8 dots, (0,1) → col 0 row 7; (1,0) → col 3 row 0. Interpolated rows 7,5,2,0:
    // col0 rows 6..7, col1 3..5, col2 1..2, col3 0.
    const lines = renderLineChart({ width: 2, height: 2, glyphs: 'unicode', series: [{ points: pts([0, 1], [1, 0]), style: 'raw' }] });
    // top cell row (dot rows 7..4 from bottom = subY 0..3): col0 subY0,1; col1 subY 2,3 → 0x01|0x02|0x20|0x80
    // bottom cell row (rows 3..0): col1 (subX1) row3 → subY0 = 0x08; col2 rows 2,1 → subY 1,2 = 0x02|0x04; col3 row0 → subY3 subX1 = 0x80
    expect(texts(lines)).toEqual([braille(0x01 | 0x02 | 0x20 | 0x80) + ' ', braille(0x08) + braille(0x02 | 0x04 | 0x80)]);
  });
  it('raw shows the min..max band of a dot column; smooth shows the mean', () => {
    const points = pts([0, 0], [0.1, 1], [0.2, 0.5], [2, 0.5]);
    // xDomain [0,2] over 2 dot columns: col 0 gets y 0,1,0.5; col 1 gets 0.5 (row round(1.5) = 2)
    const raw = renderLineChart({ width: 1, height: 1, glyphs: 'unicode', xDomain: [0, 2], series: [{ points, style: 'raw' }] });
    expect(raw).toEqual([[{ text: braille(0x01 | 0x02 | 0x04 | 0x40 | 0x10), style: 'raw' }]]);
    const smooth = renderLineChart({ width: 1, height: 1, glyphs: 'unicode', xDomain: [0, 2], series: [{ points, style: 'smooth' }] });
    // col 0 mean 0.5 → row 2 (2nd from top) = 0x02; col 1 row 2 = 0x10
    expect(smooth).toEqual([[{ text: braille(0x02 | 0x10), style: 'smooth' }]]);
  });
  it('smooth wins over raw in a shared cell and shows only its own dots', () => {
    const lines = renderLineChart({
      width: 2,
      height: 1,
      glyphs: 'unicode',
      xDomain: [0, 3],
      yDomain: [0, 3],
      series: [
        { points: pts([0, 0], [1, 0], [2, 0], [3, 0]), style: 'raw' },
        { points: pts([0, 3], [1, 3]), style: 'smooth' },
      ],
    });
    expect(lines).toEqual([
      [
        { text: braille(0x01 | 0x08), style: 'smooth' },
        { text: braille(0x40 | 0x80), style: 'raw' },
      ],
    ]);
    const ascii = renderLineChart({
      width: 2,
      height: 1,
      glyphs: 'ascii',
      xDomain: [0, 1],
      series: [
        { points: pts([0, 0], [1, 0]), style: 'raw' },
        { points: pts([0, 0]), style: 'smooth' },
      ],
    });
    expect(ascii).toEqual([
      [
        { text: '*', style: 'smooth' },
        { text: '-', style: 'raw' },
      ],
    ]);
  });
  it('markers fill the free cells of their column; target beats marker', () => {
    const lines = renderLineChart({
      width: 5,
      height: 2,
      glyphs: 'unicode',
      xDomain: [0, 4],
      yDomain: [0, 1],
      series: [{ points: pts([2, 0]), style: 'raw' }],
      markers: [{ x: 2 }, { x: 4 }, { x: 4, style: 'target' }, { x: 9 }, { x: NaN }],
    });
    // x=2 → dot col floor(0.5*10)=5 → cell 2 (subX 1); y=0 → bottom row, subY 3 → 0x80
    expect(lines).toEqual([
      [
        { text: '  ', style: null },
        { text: '┊', style: 'marker' },
        { text: ' ', style: null },
        { text: '│', style: 'target' },
      ],
      [
        { text: '  ', style: null },
        { text: braille(0x80), style: 'raw' },
        { text: ' ', style: null },
        { text: '│', style: 'target' },
      ],
    ]);
    const ascii = renderLineChart({ width: 3, height: 1, glyphs: 'ascii', xDomain: [0, 2], series: [], markers: [{ x: 0 }, { x: 2, style: 'target' }] });
    expect(texts(ascii)).toEqual([': |']);
  });
  it('clipped points draw at the edge', () => {
    const points = Array.from({ length: 100 }, (_, i) => ({ x: i, y: 1 }));
    points[50] = { x: 50, y: 1000 };
    points[51] = { x: 51, y: 1.5 };
    const lines = renderLineChart({ width: 50, height: 3, glyphs: 'ascii', yDomain: [0, 2], xDomain: [0, 100], series: [{ points, style: 'raw' }] });
    expect(texts(lines)[0]![25]).toBe('|'); // the spike column reaches the top row
  });
  it('empty output for zero sizes, blank chart for no data', () => {
    expect(renderLineChart({ width: 0, height: 3, glyphs: 'unicode', series: [] })).toEqual([[], [], []]);
    expect(renderLineChart({ width: 5, height: 0, glyphs: 'unicode', series: [] })).toEqual([]);
    expect(texts(renderLineChart({ width: 3, height: 2, glyphs: 'unicode', series: [{ points: [], style: 'raw' }] }))).toEqual(['   ', '   ']);
  });
  it('a single point and identical values draw in the middle', () => {
    const one = renderLineChart({ width: 1, height: 1, glyphs: 'ascii', series: [{ points: pts([7, 3]), style: 'raw' }] });
    expect(texts(one)).toEqual(['-']);
    const flat = renderLineChart({ width: 3, height: 1, glyphs: 'ascii', series: [{ points: pts([0, 2], [1, 2], [2, 2]), style: 'smooth' }] });
    expect(texts(flat)).toEqual(['***']);
  });
});

describe('domains', () => {
  const s = (ys: number[]): ChartSeries[] => [{ points: ys.map((y, x) => ({ x, y })), style: 'raw' }];
  it('clips to the 2nd..98th percentile (nearest rank)', () => {
    const ys = Array.from({ length: 101 }, (_, i) => i + 1); // 1..101
    ys[100] = 1e6;
    // n = 101: lower index floor(0.02*100) = 2 → 3; upper ceil(0.98*100) = 98 → 99
    expect(chartYDomain(s(ys))).toEqual([3, 99]);
    expect(chartYDomain(s(ys), { clipOutliers: false })).toEqual([1, 1e6]);
  });
  it('does not clip small series (≤ 50 points)', () => {
    expect(chartYDomain(s([5, 1, 100, 3]))).toEqual([1, 100]);
  });
  it('degenerate and invalid inputs', () => {
    expect(chartYDomain(s([]))).toEqual([0, 1]);
    expect(chartYDomain(s([NaN, Infinity, -Infinity]))).toEqual([0, 1]);
    expect(chartYDomain(s([2, 2, 2]))).toEqual([1.8, 2.2]);
    expect(chartYDomain(s([0]))).toEqual([-1, 1]);
    expect(chartYDomain(s([1]), { yDomain: [5, 3] })).toEqual([3, 5]);
    expect(chartYDomain(s([1, 2]), { yDomain: [NaN, 3] })).toEqual([1, 2]);
    expect(chartXDomain(s([1, 2, 3]))).toEqual([0, 2]);
    expect(chartXDomain(s([1, 2, 3]), [0, 3000])).toEqual([0, 3000]);
    expect(chartXDomain([])).toEqual([0, 1]);
  });
  it('only points inside the x domain count for y', () => {
    expect(chartYDomain(s([1, 2, 100]), { xDomain: [0, 1] })).toEqual([1, 2]);
  });
  it('quickselect', () => {
    const a = Float64Array.from([5, 3, 9, 1, 1, 7, 3]);
    const sorted = [...a].sort((x, y) => x - y);
    for (let k = 0; k < a.length; k++) expect(quickselect(a.slice(), k)).toBe(sorted[k]);
  });
});

describe('axes', () => {
  it('formats y values short', () => {
    expect(formatAxisValue(0.41234, 0.4)).toBe('0.412');
    expect(formatAxisValue(0.0012)).toBe('1.2e-3');
    expect(formatAxisValue(1234567)).toBe('1.2e6');
    expect(formatAxisValue(0)).toBe('0');
    expect(formatAxisValue(1.2345, 3)).toBe('1.23');
    expect(formatAxisValue(123.4, 500)).toBe('123');
    expect(formatAxisValue(-0.0001, 1)).toBe('-1.0e-4');
    expect(formatAxisValue(NaN)).toBe('NaN');
  });
  it('formats steps', () => {
    expect(formatStep(0)).toBe('0');
    expect(formatStep(1000)).toBe('1000');
    expect(formatStep(2000, true)).toBe('2k');
    expect(formatStep(2500, true)).toBe('2.5k');
    expect(formatStep(1_500_000, true)).toBe('1.5M');
    expect(formatStep(999, true)).toBe('999');
  });
  it('nice ticks', () => {
    expect(niceTicks(0, 3000, 5)).toEqual([0, 1000, 2000, 3000]);
    expect(niceTicks(0, 3000, 10)).toEqual([0, 500, 1000, 1500, 2000, 2500, 3000]);
    expect(niceTicks(0, 3, 10)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(0, 0.3, 3)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(NaN, 1, 3)).toEqual([]);
    // Multiples past 2^53, where counting by one stands still: the ends, not an endless loop (the
    // property test below found it, now and then, as a worker killed for an array too large).
    expect(niceTicks(1e20, 1e20 + 32768, 5)).toEqual([1e20, 1e20 + 32768]);
  });
  it('x axis row', () => {
    // ticks 0,1000,2000,3000 at cols 0, 13, 26, 39; labels centred then kept inside the row
    expect(lineText(renderXAxis({ width: 40, xDomain: [0, 3000], glyphs: 'unicode' }))).toBe('0           1000         2000       3000');
    // width 16 → ~2 labels → step 2000: ticks 0, 2000 (col 10), 3000 (end). "2000" would touch "3000",
    // so the short forms (which place all three) win.
    expect(lineText(renderXAxis({ width: 16, xDomain: [0, 3000], glyphs: 'ascii' }))).toBe('0         2k  3k');
    expect(lineText(renderXAxis({ width: 12, xDomain: [0, 1234], glyphs: 'ascii' }))).toBe('0       1234');
    expect(renderXAxis({ width: 0, xDomain: [0, 1], glyphs: 'ascii' })).toEqual([]);
  });
  it('y axis column', () => {
    const axis = renderYAxis({ height: 5, yDomain: [0.1, 0.5], glyphs: 'unicode' });
    expect(axis.width).toBe(6);
    expect(texts(axis.lines)).toEqual(['0.500┤', '     │', '     │', '     │', '0.100┤']);
    expect(axis.lines[0]).toEqual([
      { text: '0.500', style: 'label' },
      { text: '┤', style: 'axis' },
    ]);
    const ascii = renderYAxis({ height: 9, yDomain: [0, 8], glyphs: 'ascii' });
    // rows 0, 4, 8; row 4's centre dot is 26 - (4*3 + 1) = 13 of 26 → 8 * 13/26 = 4
    expect(texts(ascii.lines)).toEqual(['8.00+', '    |', '    |', '    |', '4.00+', '    |', '    |', '    |', '0.00+']);
    const odd = renderYAxis({ height: 7, yDomain: [0, 1], glyphs: 'unicode' });
    // n = round(6/4) = 2 → rows 0, 3, 6; row 3 centre dot = 27 - (12 + 1.5) = 13.5 of 27 → 0.5
    expect(texts(odd.lines)).toEqual(['1.00┤', '    │', '    │', '0.50┤', '    │', '    │', '0.00┤']);
    expect(renderYAxis({ height: 1, yDomain: [0, 1], glyphs: 'ascii' }).lines.map(lineText)).toEqual(['1.00+']);
    expect(renderYAxis({ height: 0, yDomain: [0, 1], glyphs: 'ascii' })).toEqual({ lines: [], width: 0 });
  });
});

describe('renderLossChart', () => {
  const raw = Array.from({ length: 3000 }, (_, i) => ({ x: i, y: 0.1 + 0.3 * Math.exp(-i / 500) + 0.02 * Math.sin(i * 7.3) }));
  it('composes y labels, plot and x labels into exactly width×height', () => {
    const lines = renderLossChart({ width: 60, height: 12, raw, smooth: raw, glyphs: 'unicode', xDomain: [0, 3000], markers: [{ x: 3000, style: 'target' }] });
    expect(lines).toHaveLength(12);
    for (const l of lines) expect(lineWidth(l)).toBe(60);
    const t = texts(lines);
    expect(t[0]).toMatch(/^0\.\d{3}┤/);
    expect(t[10]).toMatch(/^0\.\d{3}┤/);
    expect(t[11]).toMatch(/^ {6}0 .* 3000$/);
    expect(lines[0]![0]).toEqual({ text: t[0]!.slice(0, 5), style: 'label' });
  });
  it('drops the axes when there is no room', () => {
    const tiny = renderLossChart({ width: 6, height: 2, raw, glyphs: 'ascii' });
    expect(tiny).toHaveLength(2);
    for (const l of tiny) {
      expect(lineWidth(l)).toBe(6);
      expect(l.every((r) => r.style === 'raw' || r.style === 'smooth' || r.style === null)).toBe(true);
    }
    expect(renderLossChart({ width: 0, height: 2, raw, glyphs: 'ascii' })).toEqual([[], []]);
    expect(renderLossChart({ width: 10, height: 0, raw, glyphs: 'ascii' })).toEqual([]);
  });
});
