import type { RunStatus } from '../state/runState.js';
import { stripControlSequences } from '../parse/sanitize.js';
import { codePointCount } from '../view/charts/cells.js';
import type { CellStyle, Glyphs } from '../view/charts/index.js';

/**
 * A line of the screen as styled runs of text, and the few things done to such lines: fitting
 * them to a width, joining items that fit, a panel's title. Pure. Colours are chosen later (theme).
 */

export type ViewStyle = CellStyle | 'title' | 'dim' | 'bad' | 'good' | 'key' | 'value' | 'selected' | `status:${RunStatus | 'queued'}` | `series:${number}`;
export interface ViewRun {
  text: string;
  style: ViewStyle;
  /** Set for text that carries its own colour codes (an image row): how many cells it fills. */
  cells?: number;
}
export type ViewLine = ViewRun[];

export const run = (text: string, style: ViewStyle = null): ViewRun => ({ text, style });

/** Text from the run (names, prompts, messages), safe to draw. */
export function clean(text: string): string {
  return stripControlSequences(text);
}

/** Joins items with a separator, dropping the later ones that would not fit in `width`. */
export function fitItems(items: ViewRun[][], width: number, separator: string): ViewLine {
  const out: ViewLine = [];
  let used = 0;
  for (const item of items) {
    const length = item.reduce((n, r) => n + codePointCount(r.text), 0);
    const extra = out.length > 0 ? separator.length : 0;
    if (used + extra + length > width) break;
    if (extra) out.push(run(separator, 'dim'));
    out.push(...item);
    used += extra + length;
  }
  return out;
}

/** A panel's first line: `── Title` and what fits of `extra` after it. */
export function title(text: string, width: number, glyphs: Glyphs, extra: ViewRun[] = []): ViewLine {
  const rule = glyphs === 'unicode' ? '─' : '-';
  return fitItems([[run(`${rule}${rule} ${text} `, 'title')], ...extra.map((r) => [r])], width, ' ');
}

const ASCII_FOR: Record<string, string> = { '—': '-', '–': '-', '·': '.', '…': '~', '×': 'x', '▲': '^', '─': '-', '│': '|', '┤': '+', '█': '#', '░': '-', '✗': 'x', '←': '<', '→': '>', '↑': '^', '↓': 'v', '◂': '<', '▸': '>', '✓': 'v', '°': 'o' };

/** Text for a terminal without UTF-8: known symbols get an ASCII stand-in, anything else `?`. */
export function asciiOnly(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x20-\x7e]*$/.test(text) ? text : text.replace(/[^\x20-\x7e]/gu, (c) => ASCII_FOR[c] ?? '?');
}

/** Cells a line fills: an image row's own count, else one per code point. */
export function viewLineWidth(line: ViewLine): number {
  let width = 0;
  for (const r of line) width += r.cells ?? codePointCount(r.text);
  return width;
}

/**
 * Cuts a line to `width` columns with an ellipsis (`~` in ASCII mode), so the terminal never has
 * to wrap. Counts code points: wide (CJK) characters in names may still overflow by a little.
 */
export function fitLine(line: ViewLine, width: number, glyphs: Glyphs): ViewLine {
  if (glyphs === 'ascii') line = line.map((r) => (r.cells !== undefined ? r : { text: asciiOnly(r.text), style: r.style }));
  if (viewLineWidth(line) <= width) return line;
  const out: ViewLine = [];
  let left = Math.max(0, width - 1);
  for (const r of line) {
    if (left <= 0) break;
    if (r.cells !== undefined) {
      // Text with its own colour codes cannot be cut: it fits whole or not at all.
      if (r.cells > left) break;
      out.push(r);
      left -= r.cells;
      continue;
    }
    const chars = [...r.text];
    out.push({ text: chars.slice(0, left).join(''), style: r.style });
    left -= Math.min(left, chars.length);
  }
  if (width > 0) out.push({ text: glyphs === 'unicode' ? '…' : '~', style: 'dim' });
  return out;
}

/** Lines fitted to `width`. */
export function fitLines(lines: ViewLine[], width: number, glyphs: Glyphs): ViewLine[] {
  return lines.map((line) => fitLine(line, width, glyphs));
}
