import { PANELS } from './panels/index.js';
import type { Panel, PanelInput, RowWants } from './panels/panel.js';

/**
 * The dashboard's layout as a pure function of the terminal size and what each panel of the
 * registry wants. The frame is never taller than rows − 1 (Ink clears the screen and the scrollback
 * once a frame reaches the terminal's height). A wide screen with samples to show gets two
 * columns, the samples in the right one at the column's full width; a narrow one stacks. Panels
 * get their least rows first in priority order, then what serves them, then what is left; below
 * the floor the screen says it is too small.
 */

export const MIN_COLS = 60;
export const MIN_ROWS = 16;
/** From this width, with samples to show, the samples get a column of their own. */
export const TWO_COLUMN_COLS = 100;
/** The samples column: a share of the width, within bounds. */
const SIDE_SHARE = 0.36;
const SIDE_MIN_COLS = 38;
const SIDE_MAX_COLS = 100;

export interface PanelBox {
  id: string;
  x: number;
  y: number;
  cols: number;
  rows: number;
  /** One column: the panel spans the screen. */
  stacked: boolean;
}

export interface DashboardLayout {
  kind: 'dashboard';
  cols: number;
  /** Rows the frame uses, at most rows − 1. */
  height: number;
  twoColumns: boolean;
  /** Every panel on screen, in registry order, where it goes. */
  boxes: PanelBox[];
}

export interface TooSmallLayout {
  kind: 'tooSmall';
  cols: number;
  rows: number;
  needCols: number;
  needRows: number;
}

export type Layout = DashboardLayout | TooSmallLayout;

interface Want {
  panel: Panel;
  wants: RowWants;
}

/** Rows for each panel of a column of `budget` rows: the least first by priority, then the ideal, then the most. */
function allocate(budget: number, wants: Want[]): Map<Panel, number> {
  const out = new Map<Panel, number>();
  const byPriority = [...wants].sort((a, b) => a.panel.priority - b.panel.priority);
  let left = budget;
  for (const { panel, wants: w } of byPriority) {
    if (w.min <= left) {
      out.set(panel, w.min);
      left -= w.min;
    }
  }
  for (const level of ['ideal', 'max'] as const) {
    for (const { panel, wants: w } of byPriority) {
      const given = out.get(panel);
      if (given === undefined) continue;
      const more = Math.max(0, Math.min(left, w[level] - given));
      out.set(panel, given + more);
      left -= more;
    }
  }
  return out;
}

const sumMin = (wants: Want[]) => wants.reduce((n, w) => n + w.wants.min, 0);

export function computeLayout(cols: number, rows: number, input: PanelInput, panels: readonly Panel[] = PANELS): Layout {
  const c = Math.max(0, Math.floor(cols || 0));
  const r = Math.max(0, Math.floor(rows || 0));
  if (c < MIN_COLS || r < MIN_ROWS) return { kind: 'tooSmall', cols: c, rows: r, needCols: MIN_COLS, needRows: MIN_ROWS };
  const height = r - 1;

  const wanted = (place: string, width: number, stacked: boolean): Want[] =>
    panels.filter((p) => p.place === place).flatMap((panel) => {
      const wants = panel.wants(input, { cols: width, stacked });
      return wants ? [{ panel, wants }] : [];
    });

  const top = wanted('top', c, true);
  const bottom = wanted('bottom', c, true);
  const fixedBottom = bottom.filter((w) => w.wants.min === w.wants.max);
  const flexBottom = bottom.filter((w) => w.wants.min !== w.wants.max);
  const overlay = wanted('overlay', c, true)[0] ?? null;

  // Two columns where the screen is wide and the side panels have more than a line to show.
  const sideCols = Math.min(SIDE_MAX_COLS, Math.max(SIDE_MIN_COLS, Math.round(c * SIDE_SHARE)));
  const sideWants = c >= TWO_COLUMN_COLS ? wanted('side', sideCols, false) : [];
  const twoColumns = sideWants.some((w) => w.wants.min > 1);
  const mainCols = twoColumns ? c - sideCols - 1 : c;
  const columns: Array<{ x: number; cols: number; wants: Want[] }> = twoColumns
    ? [
        { x: 0, cols: mainCols, wants: wanted('main', mainCols, false) },
        { x: mainCols + 1, cols: sideCols, wants: sideWants },
      ]
    : [{ x: 0, cols: c, wants: [...wanted('main', c, true), ...wanted('side', c, true)] }];

  const topRows = top.reduce((n, w) => n + w.wants.min, 0);
  const fixedBottomRows = fixedBottom.reduce((n, w) => n + w.wants.min, 0);
  const budget = Math.max(0, height - topRows - fixedBottomRows);
  // The log (and any other flexible bottom panel) only where the columns keep their least.
  const columnsNeed = Math.max(...columns.map((col) => sumMin(col.wants)));
  const flexRows = allocate(Math.max(0, budget - columnsNeed), flexBottom);
  const middle = budget - [...flexRows.values()].reduce((a, b) => a + b, 0);

  const boxes: PanelBox[] = [];
  let y = 0;
  for (const { panel, wants } of top) {
    boxes.push({ id: panel.id, x: 0, y, cols: c, rows: wants.min, stacked: true });
    y += wants.min;
  }
  if (overlay) {
    const rowsOverlay = middle + [...flexRows.values()].reduce((a, b) => a + b, 0);
    boxes.push({ id: overlay.panel.id, x: 0, y, cols: c, rows: rowsOverlay, stacked: true });
    y += rowsOverlay;
  } else {
    let bottomOfColumns = y;
    for (const column of columns) {
      const given = allocate(middle, column.wants);
      let cy = y;
      // Screen order is the registry's, whatever the priority.
      for (const { panel } of column.wants) {
        const n = given.get(panel) ?? 0;
        if (n <= 0) continue;
        boxes.push({ id: panel.id, x: column.x, y: cy, cols: column.cols, rows: n, stacked: !twoColumns });
        cy += n;
      }
      bottomOfColumns = Math.max(bottomOfColumns, cy);
    }
    // A column shorter than the middle leaves its rows blank; the frame goes on under the taller one.
    y = twoColumns ? y + middle : bottomOfColumns;
    for (const { panel } of flexBottom) {
      const n = flexRows.get(panel) ?? 0;
      if (n <= 0) continue;
      boxes.push({ id: panel.id, x: 0, y, cols: c, rows: n, stacked: true });
      y += n;
    }
  }
  for (const { panel, wants } of fixedBottom) {
    boxes.push({ id: panel.id, x: 0, y, cols: c, rows: wants.min, stacked: true });
    y += wants.min;
  }
  return { kind: 'dashboard', cols: c, height: y, twoColumns, boxes };
}

/** The box of a panel, if it is on screen. */
export function boxOf(layout: DashboardLayout, id: string): PanelBox | null {
  return layout.boxes.find((b) => b.id === id) ?? null;
}
