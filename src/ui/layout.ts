/**
 * The dashboard's layout as a pure function of the terminal size. The frame is never taller than
 * rows − 1 (Ink clears the screen and the scrollback once a frame reaches the terminal's height).
 * Panels give way in a fixed order as the terminal shrinks; below the floor the screen says so.
 */

export const MIN_COLS = 60;
export const MIN_ROWS = 16;
/** From this width the GPU and samples panels sit beside the loss chart. */
export const TWO_COLUMN_COLS = 110;

export interface LayoutOptions {
  showLog: boolean;
}

export interface DashboardLayout {
  kind: 'dashboard';
  cols: number;
  /** Rows the frame uses, at most rows − 1. */
  height: number;
  twoColumns: boolean;
  /** Width of the column that holds the loss chart. */
  mainWidth: number;
  /** Width of the side column (0 in one-column layouts). */
  sideWidth: number;
  rows: {
    header: number;
    progress: number;
    loss: number;
    speed: number;
    gpu: number;
    samples: number;
    log: number;
    footer: number;
  };
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
  id: keyof DashboardLayout['rows'];
  min: number;
  max: number;
}

/** Gives each panel its minimum in priority order while there is room, then spreads what is left. */
function allocate(budget: number, wants: Want[]): Partial<Record<Want['id'], number>> {
  const out: Partial<Record<Want['id'], number>> = {};
  let left = budget;
  for (const want of wants) {
    if (left >= want.min) {
      out[want.id] = want.min;
      left -= want.min;
    }
  }
  for (const want of wants) {
    const given = out[want.id];
    if (given === undefined) continue;
    const more = Math.min(left, want.max - given);
    out[want.id] = given + more;
    left -= more;
  }
  return out;
}

export function computeLayout(cols: number, rows: number, options: LayoutOptions): Layout {
  const c = Math.max(0, Math.floor(cols || 0));
  const r = Math.max(0, Math.floor(rows || 0));
  if (c < MIN_COLS || r < MIN_ROWS) return { kind: 'tooSmall', cols: c, rows: r, needCols: MIN_COLS, needRows: MIN_ROWS };

  const header = 2;
  const progress = 3;
  const footer = 1;
  const budget = r - 1 - header - progress - footer;
  const twoColumns = c >= TWO_COLUMN_COLS;

  const wants: Want[] = [{ id: 'loss', min: 6, max: twoColumns ? 22 : 16 }, { id: 'speed', min: 2, max: 3 }];
  if (options.showLog) wants.push({ id: 'log', min: 4, max: 12 });
  if (!twoColumns) wants.push({ id: 'gpu', min: 3, max: 7 }, { id: 'samples', min: 4, max: 8 });
  const given = allocate(budget, wants);
  let loss = given.loss ?? 0;
  // Whatever is still free goes to the chart.
  const used = Object.values(given).reduce((a, b) => a + (b ?? 0), 0);
  loss += budget - used;

  let gpu = given.gpu ?? 0;
  let samples = given.samples ?? 0;
  let sideWidth = 0;
  if (twoColumns) {
    sideWidth = Math.max(36, Math.min(52, Math.round(c * 0.34)));
    // The side column is as tall as the chart beside it.
    gpu = Math.min(8, loss);
    samples = loss - gpu >= 3 ? loss - gpu : 0;
  }
  const mainWidth = twoColumns ? c - sideWidth - 1 : c;
  const rowsOut = { header, progress, loss, speed: given.speed ?? 0, gpu, samples, log: given.log ?? 0, footer };
  const height = header + progress + footer + loss + rowsOut.speed + rowsOut.log + (twoColumns ? 0 : gpu + samples);
  return { kind: 'dashboard', cols: c, height, twoColumns, mainWidth, sideWidth, rows: rowsOut };
}
