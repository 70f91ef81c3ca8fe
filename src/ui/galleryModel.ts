import type { RunState } from '../state/runState.js';
import { resolvePick, type ResolvedSample } from '../state/sampleIndex.js';
import type { Glyphs } from '../view/charts/index.js';
import type { HalfBlockMode } from '../view/halfBlock.js';
import type { UiState } from './uiState.js';
import { fitLine, viewLineWidth, type ViewLine, type ViewRun } from './viewLine.js';
import { imageCells, missingImageNote, pickedImage, pixelsFor, promptCaption, shownSample, stepCaption } from './sampleView.js';
import { sampleAt } from '../state/sampleIndex.js';
import { pixelRowsPerCell } from '../view/halfBlock.js';
import { gridGeometry } from './sampleGrid.js';

/**
 * The screens that show samples large: one sample on the whole screen (`v`), the same prompt at two
 * steps side by side (`c`), and every sample as a grid of thumbnails (`g`). Pure: lines for Ink, and
 * where a graphics-protocol image goes when the terminal can draw one.
 */

export interface CellArea {
  /** 0-based row and column of the top-left cell. */
  row: number;
  col: number;
  cols: number;
  rows: number;
}

export interface GalleryModel {
  lines: ViewLine[];
  /** The full-screen view's picture area when a graphics protocol draws it (the lines leave it blank). */
  imageArea: CellArea | null;
  /** The file that goes there. */
  imagePath: string | null;
}

export interface GalleryInput {
  run: RunState;
  ui: UiState;
  cols: number;
  /** Rows the frame may use (the terminal's rows − 1). */
  height: number;
  glyphs: Glyphs;
  imageMode: HalfBlockMode;
  /** The terminal draws images itself (kitty, iTerm2, sixel): leave the picture area blank. */
  graphics: boolean;
}

const run = (text: string, style: ViewRun['style'] = null): ViewRun => ({ text, style });

export function buildGalleryModel(input: GalleryInput): GalleryModel {
  if (input.ui.screen === 'grid') return gridModel(input);
  return input.ui.screen === 'compare' ? compareModel(input) : viewModel(input);
}

/** Steps across, prompts down, a thumbnail each; the selected one marked, its caption under the grid. */
function gridModel({ run: state, ui, cols, height, glyphs, imageMode }: GalleryInput): GalleryModel {
  const gutter = 2;
  const g = gridGeometry(state, ui, cols - gutter, height);
  const lines: ViewLine[] = [];
  const steps = new Set(state.samples.map((s) => s.step)).size;
  lines.push(fitLine([run('Samples ', 'title'), run(`${steps} sampled step${steps === 1 ? '' : 's'} · ${g.prompts.length ? `prompts ${g.prompts[0]! + 1}–${g.prompts[g.prompts.length - 1]! + 1}` : 'no prompts'}`, 'dim')], cols, glyphs));
  const pointer = glyphs === 'unicode' ? '▸' : '>';
  const cellText = (text: string, style: ViewRun['style']) => run(text.length > g.thumbCols ? text.slice(0, g.thumbCols) : text.padEnd(g.thumbCols), style);
  const header: ViewLine = [run(' '.repeat(gutter))];
  g.steps.forEach((step, i) => header.push(...(i > 0 ? [run(' ')] : []), cellText(`step ${step}`, step === g.selected?.step ? 'key' : 'dim')));
  lines.push(fitLine(header, cols, glyphs));
  const px = Math.max(g.thumbCols, g.thumbRows * pixelRowsPerCell(imageMode));
  for (const index of g.prompts) {
    const cells = g.steps.map((step) => {
      const sample = sampleAt(state.samples, step, index);
      const image = sample ? pickedImage(state, sample, px) : null;
      if (image) return imageCells(image, g.thumbCols, g.thumbRows, imageMode);
      return { rows: [sample ? (sample.kind === 'image' ? 'decoding…' : sample.kind) : '·'], cols: 0 };
    });
    for (let r = 0; r < g.thumbRows; r++) {
      const chosen = index === g.selected?.index && r === 0;
      const line: ViewLine = [run(chosen ? `${pointer} ` : ' '.repeat(gutter), 'key')];
      cells.forEach((cell, i) => {
        if (i > 0) line.push(run(' '));
        const row = cell.rows[r];
        if (cell.cols > 0 && row !== undefined) {
          const pad = Math.floor((g.thumbCols - cell.cols) / 2);
          line.push(run(' '.repeat(pad)), { text: row, style: null, cells: cell.cols }, run(' '.repeat(g.thumbCols - cell.cols - pad)));
        } else line.push(cellText(cell.cols === 0 && r === 0 && row !== undefined ? row : '', 'dim'));
      });
      lines.push(fitLine(line, cols, glyphs));
    }
  }
  const resolved = shownSample(state, ui);
  lines.push(fitLine(resolved ? [run(stepCaption(state, resolved), 'value'), run(' · ', 'dim'), run(promptCaption(state, resolved.index), 'dim')] : [], cols, glyphs));
  const keys: Array<[string, string]> = [['←/→', 'step'], ['↑/↓', 'prompt'], ['Enter', 'view'], ['g/Esc', 'back'], ['q', 'quit']];
  lines.push(fitLine(keys.flatMap(([key, name], i) => [run(`${i > 0 ? '  ' : ''}${key}`, 'key'), run(` ${name}`, 'dim')]), cols, glyphs));
  return { lines: lines.slice(0, height), imageArea: null, imagePath: null };
}

function viewModel({ run: state, ui, cols, height, glyphs, imageMode, graphics }: GalleryInput): GalleryModel {
  const resolved = shownSample(state, ui);
  const lines: ViewLine[] = [];
  const pictureRows = Math.max(1, height - 2);
  let imageArea: CellArea | null = null;
  let imagePath: string | null = null;
  lines.push(fitLine(resolved ? [run(stepCaption(state, resolved), 'title'), run(' · ', 'dim'), run(promptCaption(state, resolved.index), 'dim')] : [run('no samples', 'dim')], cols, glyphs));
  if (resolved?.sample && resolved.sample.kind === 'image' && graphics) {
    imageArea = { row: 1, col: 0, cols, rows: pictureRows };
    imagePath = resolved.sample.path;
    for (let i = 0; i < pictureRows; i++) lines.push([]);
  } else {
    lines.push(...pictureLines(state, resolved, cols, pictureRows, imageMode, glyphs));
  }
  lines.push(fitLine([run('any key', 'key'), run(' returns to the dashboard', 'dim')], cols, glyphs));
  return { lines: lines.slice(0, height), imageArea, imagePath };
}

function compareModel({ run: state, ui, cols, height, glyphs, imageMode }: GalleryInput): GalleryModel {
  const right = shownSample(state, ui);
  const left = right && ui.compareLeft !== null ? resolvePick(state.samples, { step: ui.compareLeft, index: right.index }) : null;
  const half = Math.max(1, Math.floor((cols - 1) / 2));
  const pictureRows = Math.max(1, height - 4);
  const lines: ViewLine[] = [];
  lines.push(fitLine([run('Compare ', 'title'), run(right ? promptCaption(state, right.index) : 'no samples', 'dim')], cols, glyphs));
  const caption = (resolved: ResolvedSample | null, keys: string): ViewLine =>
    fitLine(resolved ? [run(stepCaption(state, resolved), 'value'), run(`  ${keys}`, 'dim')] : [run('—', 'dim')], half, glyphs);
  lines.push(joinColumns(caption(left, '[/] move'), caption(right, '←/→ move'), half));
  const leftLines = pictureLines(state, left, half, pictureRows, imageMode, glyphs);
  const rightLines = pictureLines(state, right, half, pictureRows, imageMode, glyphs);
  for (let i = 0; i < pictureRows; i++) lines.push(joinColumns(leftLines[i] ?? [], rightLines[i] ?? [], half));
  const keys: Array<[string, string]> = [['←/→', 'right'], ['[/]', 'left'], ['↑/↓', 'prompt'], ['c/Esc', 'back'], ['q', 'quit']];
  lines.push(fitLine(keys.flatMap(([key, name], i) => [run(`${i > 0 ? '  ' : ''}${key}`, 'key'), run(` ${name}`, 'dim')]), cols, glyphs));
  return { lines: lines.slice(0, height), imageArea: null, imagePath: null };
}

/** A picture as half-block rows, centred in `cols`; or the note that stands in for it. */
function pictureLines(state: RunState, resolved: ResolvedSample | null, cols: number, rows: number, imageMode: HalfBlockMode, glyphs: Glyphs): ViewLine[] {
  if (!resolved) return [];
  const image = pickedImage(state, resolved.sample, pixelsFor(cols, rows));
  if (!image) return [fitLine([run(missingImageNote(resolved, false), 'dim')], cols, glyphs)];
  const cells = imageCells(image, cols, rows, imageMode);
  const pad = Math.max(0, Math.floor((cols - cells.cols) / 2));
  return cells.rows.map((row) => [run(' '.repeat(pad)), { text: row, style: null, cells: cells.cols }]);
}

/** Two columns side by side: the left padded to `width`, a space, the right. */
function joinColumns(left: ViewLine, right: ViewLine, width: number): ViewLine {
  const used = viewLineWidth(left);
  return [...left, run(' '.repeat(Math.max(0, width - used) + 1)), ...right];
}
