import { lineToAnsi } from './ansi.js';
import type { DashboardLayout, TooSmallLayout } from './layout.js';
import type { ThemeName } from './theme.js';
import { viewLineWidth, type ViewLine } from './viewLine.js';
import { wrapText } from '../view/format.js';

/**
 * The screen as rows of styled text: each panel's lines put in its box. Pure. The same rows go to
 * Ink (tests, and any renderer of React elements) and, on a real terminal, straight to the frame
 * writer.
 */

/**
 * A line's text with its styles and its width, made once per line: a panel whose key did not
 * change hands back the very same lines, so a routine frame styles only what was built anew.
 * (Built lines are never changed afterwards.)
 */
interface ComposedLine {
  theme: ThemeName;
  ansi: string;
  width: number;
}
const composed = new WeakMap<ViewLine, ComposedLine>();

function composeLine(line: ViewLine, theme: ThemeName): ComposedLine {
  let done = composed.get(line);
  if (done === undefined || done.theme !== theme) {
    done = { theme, ansi: lineToAnsi(line, theme), width: viewLineWidth(line) };
    composed.set(line, done);
  }
  return done;
}

export function composeDashboard(panels: ReadonlyMap<string, ViewLine[]>, layout: DashboardLayout, theme: ThemeName): string[] {
  // Each screen row: the boxes that cross it, left to right.
  const rows: Array<Array<{ x: number; cols: number; line: ViewLine }>> = Array.from({ length: layout.height }, () => []);
  for (const box of layout.boxes) {
    const lines = panels.get(box.id) ?? [];
    for (let i = 0; i < box.rows; i++) rows[box.y + i]?.push({ x: box.x, cols: box.cols, line: lines[i] ?? [] });
  }
  return rows.map((parts) => {
    parts.sort((a, b) => a.x - b.x);
    let out = '';
    let at = 0;
    for (const part of parts) {
      if (part.line.length === 0) continue;
      const line = composeLine(part.line, theme);
      if (line.width === 0) continue;
      out += ' '.repeat(Math.max(0, part.x - at)) + line.ansi;
      at = part.x + line.width;
    }
    return out;
  });
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
