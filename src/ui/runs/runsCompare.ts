import type { RunsEntry } from '../../state/runsList.js';
import { renderOverlayChart, seriesGlyph, type Glyphs, type OverlayLine } from '../../view/charts/index.js';
import { formatNumber } from '../../view/format.js';
import { fitSize, pixelRowsPerCell, renderHalfBlocks, resizeNearest, type HalfBlockMode, type RawImage } from '../../view/halfBlock.js';
import { clean, fitItems, fitLine, fitLines, run, title, type ViewLine, type ViewRun } from '../viewLine.js';

/**
 * The comparison of marked runs: their smoothed loss on one chart (x: step; a colour and a glyph a
 * run, so NO_COLOR still tells them apart), a legend, and under it each run's newest sample of one
 * prompt side by side. Pure; the pictures come decoded, and the ones it would draw are asked for.
 */

export interface CompareInput {
  runs: readonly RunsEntry[];
  cols: number;
  /** Rows for the comparison (the footer is not among them). */
  rows: number;
  glyphs: Glyphs;
  imageMode: HalfBlockMode;
  prompt: number;
  /** Decoded samples by path. */
  images: ReadonlyMap<string, RawImage>;
  /** Samples that could not be decoded (a half-written or broken file). */
  unreadable?: ReadonlySet<string>;
}

export interface SampleWish {
  path: string;
  /** Longest side wanted, in pixels. */
  maxPx: number;
}

export interface CompareView {
  lines: ViewLine[];
  wishes: SampleWish[];
  /** Prompts the runs have samples of (for ↑/↓). */
  promptCount: number;
}

const Y_LABEL = 8;

/** Each run's newest sample of the prompt, if it has one. */
export function newestSampleOf(entry: RunsEntry, prompt: number): { step: number; path: string } | null {
  let best: { step: number; path: string } | null = null;
  for (const s of entry.summary?.snapshot.samples ?? []) {
    if (s.index !== prompt || !/\.(jpe?g|png|webp)$/i.test(s.path)) continue;
    if (!best || s.step >= best.step) best = { step: s.step, path: s.path };
  }
  return best;
}

export function promptCountOf(runs: readonly RunsEntry[]): number {
  let count = 0;
  for (const entry of runs) for (const s of entry.summary?.snapshot.samples ?? []) count = Math.max(count, s.index + 1);
  return count;
}

export function buildCompare(input: CompareInput): CompareView {
  const { cols, glyphs } = input;
  const lines: ViewLine[] = [title(`Compare · ${input.runs.length} run${input.runs.length === 1 ? '' : 's'} · smoothed loss by step`, cols, glyphs)];
  const legend: ViewRun[][] = input.runs.map((entry, i) => {
    const loss = entry.summary?.snapshot.lossSmoothed ?? null;
    const step = entry.summary?.snapshot.step ?? null;
    return [run(`${seriesGlyph(i, glyphs)} `, `series:${i}`), run(clean(entry.name), `series:${i}`), run(` ${formatNumber(loss)}${step !== null ? ` @${step}` : ''}`, 'dim')];
  });
  // The legend: as many runs a line as fit, on three lines at most.
  let line: ViewRun[][] = [];
  let used = 0;
  for (const item of legend) {
    const width = item.reduce((n, r) => n + [...r.text].length, 0) + (line.length ? 3 : 0);
    if (line.length > 0 && used + width > cols) {
      lines.push(fitItems(line, cols, '   '));
      line = [];
      used = 0;
    }
    line.push(item);
    used += item.reduce((n, r) => n + [...r.text].length, 0) + (line.length > 1 ? 3 : 0);
  }
  if (line.length) lines.push(fitItems(line, cols, '   '));
  lines.splice(4);

  const promptCount = promptCountOf(input.runs);
  const prompt = Math.min(input.prompt, Math.max(0, promptCount - 1));
  const samples = input.runs.map((entry) => newestSampleOf(entry, prompt));
  const withSamples = samples.some((s) => s !== null);
  const free = Math.max(0, input.rows - lines.length);
  const chartRows = withSamples ? Math.max(4, Math.floor(free * 0.5)) - 1 : free - 1;
  const curves = input.runs.map((entry) => entry.summary?.lossSeries ?? []);
  const chartWidth = Math.max(1, cols - Y_LABEL);
  if (chartRows >= 2 && curves.some((c) => c.length > 0)) {
    const chart = renderOverlayChart(curves, chartWidth, chartRows, glyphs);
    const [y0, y1] = chart.yDomain;
    chart.lines.forEach((cells: OverlayLine, row: number) => {
      const label = row === 0 ? formatNumber(y1, 3) : row === chartRows - 1 ? formatNumber(y0, 3) : row === Math.floor((chartRows - 1) / 2) ? formatNumber((y0 + y1) / 2, 3) : '';
      const line: ViewLine = [run(`${label.slice(0, Y_LABEL - 2).padStart(Y_LABEL - 2)} ${glyphs === 'unicode' ? '┤' : '|'}`, 'axis')];
      for (const cell of cells) {
        const style = cell.series === null ? null : (`series:${cell.series}` as const);
        const last = line[line.length - 1]!;
        if (last.style === style) last.text += cell.text;
        else line.push(run(cell.text, style));
      }
      lines.push(line);
    });
    const [x0, x1] = chart.xDomain;
    const left = `step ${Math.round(x0)}`;
    const right = `${Math.round(x1)}`;
    lines.push([run(' '.repeat(Y_LABEL) + left + ' '.repeat(Math.max(1, chartWidth - left.length - right.length)) + right, 'axis')]);
  } else if (chartRows >= 1) {
    lines.push([run('  no loss recorded yet for the marked runs', 'dim')]);
  }

  const wishes: SampleWish[] = [];
  const pictureRows = input.rows - lines.length - 2;
  if (withSamples && pictureRows >= 2) {
    const n = input.runs.length;
    const gap = 2;
    const width = Math.max(1, Math.floor((cols - gap * (n - 1)) / n));
    const perCell = pixelRowsPerCell(input.imageMode);
    const blocks: string[][] = samples.map((sample) => {
      if (!sample) return [];
      const image = input.images.get(sample.path);
      wishes.push({ path: sample.path, maxPx: Math.max(width, pictureRows * perCell) });
      if (!image) return [];
      const size = fitSize(image.width, image.height, width, perCell === 2 ? pictureRows : pictureRows / 2);
      return renderHalfBlocks(resizeNearest(image, size.width, size.height), input.imageMode);
    });
    lines.push(fitLine([run(`newest sample of prompt ${prompt + 1}${promptCount > 1 ? ` of ${promptCount}  (↑/↓ another prompt)` : ''}`, 'dim')], cols, glyphs));
    for (let row = 0; row < pictureRows; row++) {
      const line: ViewLine = [];
      blocks.forEach((block, i) => {
        if (i > 0) line.push(run(' '.repeat(gap)));
        const cells = block[row];
        if (cells !== undefined) {
          const cellsWide = block.length > 0 ? imageWidth(input, samples[i]!, width, pictureRows) : 0;
          line.push({ text: cells, style: null, cells: cellsWide });
          if (cellsWide < width) line.push(run(' '.repeat(width - cellsWide)));
        } else if (row === 0 && samples[i] === null) {
          line.push(run(`no sample of prompt ${prompt + 1}`.slice(0, width).padEnd(width), 'dim'));
        } else if (row === 0 && block.length === 0) {
          const note = input.unreadable?.has(samples[i]!.path) ? 'cannot read this sample' : 'loading…';
          line.push(run(note.slice(0, width).padEnd(width), 'dim'));
        } else line.push(run(' '.repeat(width)));
      });
      lines.push(line);
    }
    const captions: ViewRun[] = [];
    samples.forEach((sample, i) => {
      if (i > 0) captions.push(run(' '.repeat(gap)));
      const textCaption = sample ? `${seriesGlyph(i, glyphs)} step ${sample.step}` : '';
      captions.push(run(textCaption.slice(0, width).padEnd(width), `series:${i}`));
    });
    lines.push(captions);
  }
  return { lines: fitLines(lines.slice(0, input.rows), cols, glyphs), wishes, promptCount };
}

function imageWidth(input: CompareInput, sample: { path: string }, width: number, rows: number): number {
  const image = input.images.get(sample.path)!;
  const perCell = pixelRowsPerCell(input.imageMode);
  return fitSize(image.width, image.height, width, perCell === 2 ? rows : rows / 2).width;
}
