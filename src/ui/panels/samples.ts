import { upcoming } from '../../state/derive.js';
import { sampledSteps, type ResolvedSample } from '../../state/sampleIndex.js';
import type { RunState } from '../../state/runState.js';
import { formatDuration, wrapText } from '../../view/format.js';
import { pixelRowsPerCell } from '../../view/halfBlock.js';
import { kittyPlaceholderRow } from '../../view/kittyPlaceholder.js';
import { imageCells, missingImageNote, pickedImage, promptCaption, shownSample, stepCaption, type ImageCells } from '../sampleView.js';
import { fitLine, fitLines, run, title, type ViewLine, type ViewRun, type ViewStyle } from '../viewLine.js';
import type { Box, Panel, PanelInput, Width } from './panel.js';

/**
 * The sample on screen (the newest, or the one ←/→/↑/↓ picked) as a picture with its step, how
 * many steps ago that was, and its prompt. In a column of its own the picture takes the column's
 * width and the words go under it; stacked on a narrow screen it sits beside them. With no samples
 * yet it is one line with the next sample's countdown.
 */

/** Rows under the picture for the step, the prompt and a note, in a column of its own. */
const CAPTION_ROWS = 3;
/** The least a picture is drawn at: smaller says nothing. */
const MIN_PICTURE_COLS = 8;

/** Whether the picture goes beside the words (a wide, short box) rather than over them. */
function beside(box: Width): boolean {
  return box.stacked;
}

/** Height over width of the picture on screen (from the decoded image; square until it is decoded). */
function aspect(state: RunState, resolved: ResolvedSample | null): number {
  const image = resolved ? pickedImage(state, resolved.sample, 1) : null;
  return image && image.width > 0 ? image.height / image.width : 1;
}

/** Where the picture goes in a box: its area in cells (the picture fits inside, keeping its shape). */
export function pictureArea(box: Box): { cols: number; rows: number } | null {
  if (box.rows < 3 || box.cols < 20) return null;
  if (beside(box)) return { cols: Math.max(MIN_PICTURE_COLS, Math.floor(box.cols * 0.45)), rows: box.rows - 1 };
  return { cols: box.cols, rows: Math.max(1, box.rows - 1 - CAPTION_ROWS) };
}

/** Columns from the box's left edge to the picture: centred in a column of its own, at the edge beside words. */
function pictureOffset(box: Box, cols: number): number {
  return beside(box) ? 0 : Math.max(0, Math.floor((box.cols - cols) / 2));
}

/**
 * Where the terminal's own picture sits on the screen (0-based), for a box at `origin`: under the
 * panel's title, where the rows built above put it.
 */
export function picturePosition(box: Box & { x: number; y: number }, placed: { cols: number }): { row: number; col: number } {
  return { row: box.y + 1, col: box.x + pictureOffset(box, placed.cols) };
}

function noSamplesLine({ run: state, eta, glyphs }: PanelInput): ViewLine {
  const head = run(glyphs === 'unicode' ? '── Samples ' : '-- Samples ', 'title');
  if (state.config?.disableSampling) return [head, run('sampling is off in this run’s config', 'dim')];
  const next = upcoming(state, eta).sample;
  if (!next) return [head, run('none yet', 'dim')];
  return [head, run('none yet · first at step ', 'dim'), run(String(next.step), 'value'), run(next.inSeconds !== null ? ` in ${formatDuration(next.inSeconds)}` : '', 'dim')];
}

function captionLines(state: RunState, resolved: ResolvedSample, width: number, promptRows: number, decoded: boolean): ViewLine[] {
  const text: ViewLine[] = [];
  // "step 1200 · 300 steps ago" on one line where it fits, else on two.
  const caption = stepCaption(state, resolved);
  const style: ViewStyle = resolved.newest ? 'value' : 'warn';
  if ([...caption].length <= width) text.push([run(caption, style)]);
  else text.push(...caption.split(' · ').map((part, i) => [run(part, i === 0 ? style : 'dim')]));
  const note = missingImageNote(resolved, decoded);
  for (const line of wrapText(promptCaption(state, resolved.index), width, Math.max(1, promptRows - (note ? 1 : 0)))) text.push([run(line, 'dim')]);
  if (note) text.push([run(note, 'dim')]);
  return text;
}

function samplesLines(input: PanelInput, box: Box): ViewLine[] {
  const { run: state, ui, glyphs, imageMode } = input;
  if (box.rows <= 0) return [];
  const resolved = shownSample(state, ui);
  if (!resolved || state.samples.length === 0) return [noSamplesLine(input)];
  const steps = sampledSteps(state.samples).length;
  const head: ViewRun[] = [run(`${state.samples.length} sample${state.samples.length === 1 ? '' : 's'} · ${steps} step${steps === 1 ? '' : 's'}`, 'dim')];
  const lines: ViewLine[] = [title('Samples', box.cols, glyphs, head)];
  const area = pictureArea(box);
  const image = area ? pickedImage(state, resolved.sample, Math.max(area.cols, area.rows * pixelRowsPerCell(imageMode))) : null;
  const placed = area && resolved.sample?.kind === 'image' ? (input.pictures?.placed({ path: resolved.sample.path, cols: area.cols, rows: area.rows }) ?? null) : null;
  // The terminal's own picture where it has one (placeholder cells, or a hole it is drawn into), else half blocks.
  const picture: ImageCells | null = placed
    ? { cols: placed.cols, rows: Array.from({ length: placed.rows }, (_, row) => (placed.hole ? `\x1b[${placed.cols}C` : kittyPlaceholderRow(placed.id, row, placed.cols))) }
    : image && area
      ? imageCells(image, area.cols, area.rows, imageMode)
      : null;
  const rows = box.rows - 1;
  if (area && beside(box)) {
    const pictureCols = picture?.cols ?? area.cols;
    const textWidth = box.cols - pictureCols - 1;
    const text = captionLines(state, resolved, textWidth, Math.max(1, rows - 1), image !== null || placed !== null);
    for (let i = 0; i < rows; i++) {
      const cells: ViewLine = picture && picture.rows[i] !== undefined ? [{ text: picture.rows[i]!, style: null, cells: picture.cols }, run(' ')] : [run(' '.repeat(pictureCols + 1))];
      const words = text[i] ?? [];
      if ((!picture || picture.rows[i] === undefined) && words.length === 0) break;
      lines.push([...cells, ...fitLine(words, textWidth, glyphs)]);
    }
    return lines;
  }
  if (picture) {
    // Centred in the column.
    const pad = pictureOffset(box, picture.cols);
    for (const row of picture.rows) lines.push([run(' '.repeat(pad)), { text: row, style: null, cells: picture.cols }]);
  }
  const left = box.rows - lines.length;
  lines.push(...captionLines(state, resolved, box.cols, Math.max(1, left - 1), image !== null || placed !== null).slice(0, Math.max(0, left)));
  return lines.slice(0, box.rows);
}

export const samplesPanel: Panel = {
  id: 'samples',
  place: 'side',
  // Stacked on a narrow screen, the picture comes before the loss chart's comfort.
  priority: 0.5,
  wants({ run: state, ui }, width) {
    const resolved = shownSample(state, ui);
    if (!resolved || state.samples.length === 0) return { min: 1, ideal: 1, max: 1 };
    if (beside(width)) return { min: 4, ideal: 8, max: 12 };
    // The column's width, at the picture's shape, in rows of two pixels, and the words under it.
    const pictureRows = Math.ceil((width.cols * aspect(state, resolved)) / 2);
    const ideal = 1 + pictureRows + CAPTION_ROWS;
    return { min: Math.min(ideal, 1 + 8 + CAPTION_ROWS), ideal, max: ideal };
  },
  build: (input, box) => fitLines(samplesLines(input, box), box.cols, input.glyphs),
  key({ run: state, ui, glyphs, imageMode, eta, pictures }, box) {
    const resolved = shownSample(state, ui);
    const image = resolved ? pickedImage(state, resolved.sample, 1) : null;
    const area = pictureArea(box);
    const placed = area && resolved?.sample ? pictures?.placed({ path: resolved.sample.path, cols: area.cols, rows: area.rows }) : null;
    const next = resolved ? null : upcoming(state, eta).sample;
    return `${box.cols}x${box.rows}${box.stacked ? 's' : ''}|${state.samples.length}|${resolved?.step}|${resolved?.index}|${resolved?.sample?.path}|${resolved?.newest}|${state.step}|${state.images.bytes}|${image?.width}|${state.config?.prompts.length}|${next?.step}|${next?.inSeconds === null || next === null ? '' : Math.round(next.inSeconds)}|${glyphs}|${imageMode}|${placed ? `${placed.id}:${placed.cols}x${placed.rows}` : ''}`;
  },
};
