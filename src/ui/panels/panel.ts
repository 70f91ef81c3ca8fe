import type { Eta } from '../../state/eta.js';
import type { RunState } from '../../state/runState.js';
import type { Glyphs } from '../../view/charts/index.js';
import type { HalfBlockMode } from '../../view/halfBlock.js';
import type { KeyContext } from '../keymap.js';
import type { UiState } from '../uiState.js';
import type { ViewLine } from '../viewLine.js';
import type { PictureLookup } from '../inlinePictures.js';

/**
 * The contract every part of the dashboard keeps (like btop's boxes: say what room it wants, then
 * draw into the room it got). A panel is one module under ui/panels/ exporting one `Panel`; the
 * registry (panels/index.ts) is the one list of them, and the layout, the building and the
 * composition all go through it. Pure.
 */

/** What every panel draws from: the run, the screen's own state, the clock and the drawing options. */
export interface PanelInput {
  run: RunState;
  ui: UiState;
  now: number;
  /** The milestone the ETA counts to (3000 unless --target). */
  target: number;
  glyphs: Glyphs;
  imageMode: HalfBlockMode;
  /** `--stall-after`: the least log silence that reads as a stall (seconds). */
  stallFloorS: number;
  eta: Eta;
  keys: KeyContext;
  /** Pictures the terminal draws itself (kitty placeholders), or null: half blocks. */
  pictures: PictureLookup | null;
}

/** Rows a panel would like at a width: the least it can live with, what serves it, the most it can use. */
export interface RowWants {
  min: number;
  ideal: number;
  max: number;
}

/** The width a panel is offered: `stacked` when the screen is one column (a panel then spans it). */
export interface Width {
  cols: number;
  stacked: boolean;
}

export interface Box extends Width {
  rows: number;
}

/**
 * Where a panel goes: `top` and `bottom` span the screen; `main` is the left column and `side` the
 * right one on a wide screen (stacked after `main` on a narrow one); an `overlay` takes the place of
 * the middle while it is shown.
 */
export type Place = 'top' | 'main' | 'side' | 'bottom' | 'overlay';

/** What a panel keeps from one frame to the next (the loss chart's scale). */
export type PanelMemory = Record<string, unknown>;

export interface Panel {
  readonly id: string;
  readonly place: Place;
  /** Who gets rows first when they are short: lower first. */
  readonly priority: number;
  /**
   * The rows it wants at `cols` columns, or null when it is not on the screen at all (the log while
   * hidden, an overlay while closed). A panel with nothing to show wants one line, not a block.
   */
  wants(input: PanelInput, width: Width): RowWants | null;
  /** Its lines, at most `box.rows` of them, each at most `box.cols` cells. */
  build(input: PanelInput, box: Box, memory: PanelMemory): ViewLine[];
  /**
   * A cheap key of everything `build` reads: while it is the same, the lines built last time are
   * drawn again. Without one the panel is built every frame (it is cheap, or reads the clock).
   */
  key?(input: PanelInput, box: Box): string;
}

/** The same wants whatever the width. */
export const fixedRows = (n: number): RowWants => ({ min: n, ideal: n, max: n });
