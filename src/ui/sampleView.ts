import { findImage } from '../state/imageCache.js';
import { promptCount, resolvePick, sampleAt, sampledSteps, type ResolvedSample } from '../state/sampleIndex.js';
import type { RunState, SampleFile } from '../state/runState.js';
import { stripControlSequences } from '../parse/sanitize.js';
import { baseName } from '../parse/checkpointName.js';
import { pixelRowsPerCell, renderHalfBlocks, resizeNearest, type HalfBlockMode, type RawImage } from '../view/halfBlock.js';
import type { UiState } from './uiState.js';
import { gridGeometry } from './sampleGrid.js';

/**
 * Samples as the screen shows them: which image goes where, at what size, with what caption, and
 * which images to ask the watcher to decode. Pure (the cell cache is a memo keyed by the image).
 */

/** The least a picture is decoded to (the watcher decodes the newest step at this size at once: see run/sampleImages PANEL_IMAGE_PX). */
export const PANEL_PX = 96;
/** The largest a full-screen or comparison image is decoded to for half blocks. */
const FULL_PX_LIMIT = 512;

export interface ImageCells {
  rows: string[];
  cols: number;
}

const cellCache = new WeakMap<RawImage, Map<string, ImageCells>>();

/**
 * An image as half-block rows fitted into `maxCols` × `maxRows` cells (aspect kept; a small image is
 * enlarged to fill), remembered per image, size and colour mode: a frame that redraws for the clock
 * costs nothing for the picture.
 */
export function imageCells(image: RawImage, maxCols: number, maxRows: number, mode: HalfBlockMode): ImageCells {
  const key = `${maxCols}x${maxRows}:${mode}`;
  let sizes = cellCache.get(image);
  const hit = sizes?.get(key);
  if (hit) return hit;
  const cols = Math.max(1, Math.floor(maxCols));
  const perCell = pixelRowsPerCell(mode);
  const pxRows = Math.max(perCell, Math.floor(maxRows) * perCell);
  // A cell is about twice as tall as wide: with one pixel a cell, the picture is squeezed to half height.
  const cellAspect = 2 / perCell;
  const scale = Math.min(cols / image.width, (pxRows * cellAspect) / image.height);
  const width = Math.max(1, Math.min(cols, Math.round(image.width * scale)));
  let height = Math.max(1, Math.min(pxRows, Math.round((image.height * scale) / cellAspect)));
  if (perCell === 2 && height > 1 && height % 2 === 1) height -= 1;
  const cells = { rows: renderHalfBlocks(resizeNearest(image, width, height), mode), cols: width };
  if (!sizes) {
    sizes = new Map();
    cellCache.set(image, sizes);
  }
  if (sizes.size > 8) sizes.clear();
  sizes.set(key, cells);
  return cells;
}

/** Pixels to decode for an area of `cols` × `rows` cells drawn in half blocks. */
export function pixelsFor(cols: number, rows: number): number {
  return Math.min(FULL_PX_LIMIT, Math.max(PANEL_PX, cols, rows * 2));
}

/** The sample picked, and the decoded image for it at `minPx` (or a smaller one while that decodes). */
export function pickedImage(run: RunState, sample: SampleFile | null, minPx: number): RawImage | null {
  if (!sample || sample.kind !== 'image') return null;
  return findImage(run.images, sample.path, minPx)?.image ?? null;
}

export function shownSample(run: RunState, ui: UiState): ResolvedSample | null {
  return resolvePick(run.samples, ui.sample);
}

/** "step 750 · 250 steps ago", or "step 1000 · newest" when it was made at the current step. */
export function stepCaption(run: RunState, resolved: ResolvedSample): string {
  const ago = run.step !== null ? run.step - resolved.step : null;
  return `step ${resolved.step}${ago !== null && ago > 0 ? ` · ${ago} step${ago === 1 ? '' : 's'} ago` : resolved.newest ? ' · newest' : ''}`;
}

/** "prompt 2/4: a photo of sks dog" — the config's text, stripped of control sequences. */
export function promptCaption(run: RunState, index: number): string {
  const count = promptCount(run.samples, run.config?.prompts.length ?? 0);
  const text = run.config?.prompts[index];
  return `prompt ${index + 1}/${Math.max(count, index + 1)}${text ? `: ${oneLine(text)}` : ''}`;
}

/** What stands in for a picture that is not drawn: a video, audio, a file still decoding. */
export function missingImageNote(resolved: ResolvedSample, decoded: boolean): string {
  const sample = resolved.sample;
  if (!sample) return `prompt ${resolved.index + 1} not sampled at step ${resolved.step} yet`;
  const name = oneLine(baseName(sample.path));
  if (sample.kind === 'video') return `video sample (${name}): not drawn`;
  if (sample.kind === 'audio') return `audio sample (${name}): not drawn`;
  return decoded ? '' : 'decoding…';
}

function oneLine(text: string): string {
  return stripControlSequences(text).replace(/\s+/g, ' ').trim();
}

export interface ImageWish {
  path: string;
  maxPx: number;
}

/**
 * The images the screen wants decoded, most important first: what is on screen, then the
 * neighbouring steps of the same prompt so that ←/→ find them ready.
 */
export function imageWishes(run: RunState, ui: UiState, size: { cols: number; rows: number }, panel: { cols: number; rows: number; imageMode: HalfBlockMode } | null = null): ImageWish[] {
  // The dashboard's picture at the size its panel has (the watcher decodes the newest small at once).
  const panelPx = panel ? Math.min(FULL_PX_LIMIT, Math.max(PANEL_PX, panel.cols, panel.rows * pixelRowsPerCell(panel.imageMode))) : PANEL_PX;
  const wishes: ImageWish[] = [];
  const add = (sample: SampleFile | null | undefined, maxPx: number) => {
    if (sample && sample.kind === 'image' && !wishes.some((w) => w.path === sample.path && w.maxPx >= maxPx)) wishes.push({ path: sample.path, maxPx });
  };
  const current = shownSample(run, ui);
  if (!current) return wishes;
  if (ui.screen === 'grid') {
    // Every thumbnail on the screen, the selected one first.
    const g = gridGeometry(run, ui, size.cols - 2, size.rows - 1);
    const px = Math.min(FULL_PX_LIMIT, Math.max(g.thumbCols, g.thumbRows * 2));
    add(current.sample, px);
    for (const index of g.prompts) for (const step of g.steps) add(sampleAt(run.samples, step, index), px);
    return wishes;
  }
  if (ui.screen === 'view') add(current.sample, pixelsFor(size.cols, size.rows - 2));
  if (ui.screen === 'compare' && ui.compareLeft !== null) {
    const px = pixelsFor(Math.floor((size.cols - 1) / 2), size.rows - 4);
    add(current.sample, px);
    add(resolvePick(run.samples, { step: ui.compareLeft, index: current.index })?.sample, px);
  }
  add(current.sample, panelPx);
  const steps = sampledSteps(run.samples);
  const at = steps.indexOf(current.step);
  for (const neighbour of [steps[at - 1], steps[at + 1]]) {
    if (neighbour !== undefined) add(resolvePick(run.samples, { step: neighbour, index: current.index })?.sample, panelPx);
  }
  return wishes;
}
