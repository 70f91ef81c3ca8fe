import { lineToAnsi } from './ansi.js';
import type { DashboardLayout, TooSmallLayout } from './layout.js';
import type { ThemeName } from './theme.js';
import { viewLineWidth, type ViewLine, type ViewModel } from './viewModel.js';
import { wrapText } from '../view/format.js';

/**
 * The screen as rows of styled text: the panels of the view model put where the layout says
 * (two columns side by side from 110 columns). Pure. The same rows go to Ink (tests, and any
 * renderer of React elements) and, on a real terminal, straight to the frame writer.
 */

/** A panel's `height` rows, each as text (missing lines are empty). */
function panel(lines: ViewLine[], height: number, theme: ThemeName): Array<{ text: string; width: number }> {
  const out: Array<{ text: string; width: number }> = [];
  for (let i = 0; i < height; i++) {
    const line = lines[i] ?? [];
    out.push({ text: lineToAnsi(line, theme), width: viewLineWidth(line) });
  }
  return out;
}

export function composeDashboard(view: ViewModel, layout: DashboardLayout, theme: ThemeName, showHelp: boolean): string[] {
  const { rows, twoColumns, mainWidth } = layout;
  const out: string[] = [];
  const put = (lines: ViewLine[], height: number) => {
    for (const row of panel(lines, height, theme)) out.push(row.text);
  };
  put(view.header, rows.header);
  put(view.progress, rows.progress);
  const middle = rows.loss + rows.speed + rows.log + (twoColumns ? 0 : rows.gpu + rows.samples);
  if (view.confirm.length > 0) put(view.confirm, middle);
  else if (showHelp) put(view.help, middle);
  else {
    if (twoColumns) {
      const main = panel(view.loss, rows.loss, theme);
      const side = [...panel(view.gpu, rows.gpu, theme), ...panel(view.samples, rows.samples, theme)];
      for (let i = 0; i < rows.loss; i++) {
        const left = main[i]!;
        const right = side[i];
        out.push(right && right.width > 0 ? `${left.text}${' '.repeat(Math.max(0, mainWidth - left.width) + 1)}${right.text}` : left.text);
      }
    } else put(view.loss, rows.loss);
    put(view.speed, rows.speed);
    if (!twoColumns) {
      put(view.gpu, rows.gpu);
      put(view.samples, rows.samples);
    }
    put(view.log, rows.log);
  }
  put([view.footer], rows.footer);
  return out;
}

/** The full-screen sample view and the comparison: their lines, as they are. */
export function composeLines(lines: ViewLine[], theme: ThemeName): string[] {
  return lines.map((line) => lineToAnsi(line, theme));
}

/** Below the floor: what size is needed. */
export function composeTooSmall(layout: TooSmallLayout): string[] {
  // Never taller than the terminal minus one row (a 1-row terminal gets nothing).
  const rows = Math.min(4, layout.rows - 1);
  if (rows <= 0) return [];
  const width = Math.max(1, layout.cols);
  const words = `terminal too small: need ${layout.needCols}×${layout.needRows}, have ${layout.cols}×${layout.rows}`;
  // Wrapped at spaces: the text must stay inside the narrowest terminal.
  const out = wrapText(words, width, Infinity);
  if (layout.rows > 2) out.push(width >= 7 ? '\x1b[2mq quits\x1b[0m' : 'q');
  return out.slice(0, rows);
}
