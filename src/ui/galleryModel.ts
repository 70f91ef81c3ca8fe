import type { RunState } from '../state/runState.js';
import { resolvePick, type ResolvedSample } from '../state/sampleIndex.js';
import type { Glyphs } from '../view/charts/index.js';
import type { HalfBlockMode } from '../view/halfBlock.js';
import type { UiState } from './uiState.js';
import { fitLine, viewLineWidth, type ViewLine, type ViewRun } from './viewLine.js';
import { imageCells, missingImageNote, pickedImage, pixelsFor, promptCaption, shownSample, stepCaption } from './sampleView.js';

/**
 * The two screens that show samples large: one sample on the whole screen (`v`), and the same
 * prompt at two steps side by side (`c`). Pure: lines for Ink, and where a graphics-protocol image
 * goes when the terminal can draw one.
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
  return input.ui.screen === 'compare' ? compareModel(input) : viewModel(input);
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
