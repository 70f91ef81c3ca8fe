import { LineBuilder, clamp, toDimension, type CellStyle, type Glyphs, type StyledLine } from './cells.js';

export interface ProgressMarker {
  /** Position in the same unit as value/total (e.g. a step number). */
  at: number;
  label: string;
  /** Style of the tick drawn in the bar (default 'target'). The label is always style 'label'. */
  style?: CellStyle;
}

export interface ProgressBarOptions {
  value: number;
  total: number;
  width: number;
  glyphs: Glyphs;
  markers?: ReadonlyArray<ProgressMarker>;
}

export interface ProgressBarLines {
  bar: StyledLine;
  labels: StyledLine;
}

/** Partial-cell glyphs indexed by eighths (0 = nothing). */
export const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'] as const;

export const BAR_GLYPHS = {
  unicode: { full: '█', empty: '░', tick: '│' },
  ascii: { full: '#', empty: '-', tick: '|' },
} as const;

/**
 * A one-row progress bar plus a row of marker labels under it.
 *
 * Fill rule: fraction = clamp(value / total, 0, 1) (0 when total ≤ 0 or either
 * is not finite; value > total is clamped to total).
 * - unicode: eighths = floor(fraction × width × 8); floor(eighths / 8) cells of
 *   '█', then, if eighths % 8 > 0, one partial cell '▏▎▍▌▋▊▉' (all style 'fill');
 *   remaining cells '░' style 'empty'. Flooring means the bar is only full at 100 %.
 * - ascii: floor(fraction × width) cells '#' (style 'fill'), the rest '-' (style 'empty').
 *
 * Marker rule: a marker with finite 0 ≤ at ≤ total sits at column
 * floor(at / total × width). If that column is < width the bar cell there
 * becomes '│' / '|' (style marker.style ?? 'target'); a marker at the very end
 * (at = total) gets no tick (the bar's end is the tick). Markers outside
 * [0, total] are dropped entirely (no tick, no label).
 *
 * Label rule: a label starts under its tick (for the end marker: ends at the
 * right edge); if it would run past the right edge it is shifted left to end at
 * the edge; labels longer than width are cut. Labels are placed greedily from
 * the largest `at` down, and a label that would overlap (or touch — at least one
 * space must separate labels) an already placed one is dropped; so the later,
 * bigger markers (the target step, the total) win. Label style is 'label'.
 */
export function progressBar(options: ProgressBarOptions): ProgressBarLines {
  const width = toDimension(options.width);
  if (width === 0) return { bar: [], labels: [] };
  const g = BAR_GLYPHS[options.glyphs === 'ascii' ? 'ascii' : 'unicode'];
  const { value, total } = options;
  const valid = Number.isFinite(total) && total > 0;
  const fraction = valid && Number.isFinite(value) ? clamp(value / total, 0, 1) : valid && value === Infinity ? 1 : 0;

  const bar = new LineBuilder(width, g.empty, 'empty');
  if (options.glyphs === 'ascii') {
    const full = Math.min(width, Math.floor(fraction * width));
    for (let i = 0; i < full; i++) bar.set(i, g.full, 'fill');
  } else {
    const eighths = Math.min(width * 8, Math.floor(fraction * width * 8));
    const full = Math.floor(eighths / 8);
    for (let i = 0; i < full; i++) bar.set(i, g.full, 'fill');
    const part = eighths % 8;
    if (part > 0) bar.set(full, EIGHTHS[part] ?? ' ', 'fill');
  }

  const labels = new LineBuilder(width);
  if (valid && options.markers !== undefined) {
    const placed: Array<{ at: number; col: number; label: string; style: CellStyle }> = [];
    for (const m of options.markers) {
      if (!Number.isFinite(m.at) || m.at < 0 || m.at > total) continue;
      const col = Math.min(width, Math.floor((m.at / total) * width));
      placed.push({ at: m.at, col, label: sanitizeLabel(m.label, options.glyphs), style: m.style ?? 'target' });
    }
    for (const m of placed) if (m.col < width) bar.set(m.col, g.tick, m.style);

    // Labels: biggest first, drop on collision.
    placed.sort((a, b) => b.at - a.at);
    const taken = new Uint8Array(width); // 1 = occupied by a label
    for (const m of placed) {
      const text = [...m.label].slice(0, width);
      if (text.length === 0) continue;
      let start = m.col >= width ? width - text.length : m.col;
      if (start + text.length > width) start = width - text.length;
      start = Math.max(0, start);
      // Needs its own cells plus one free cell on each side (when inside the row).
      let free = true;
      for (let c = start - 1; c <= start + text.length && free; c++) {
        if (c >= 0 && c < width && taken[c] === 1) free = false;
      }
      if (!free) continue;
      for (let i = 0; i < text.length; i++) taken[start + i] = 1;
      labels.write(start, text.join(''), 'label');
    }
  }
  return { bar: bar.toLine(), labels: labels.toLine() };
}

/** Keeps labels single-width: control/wide chars become '?' (ascii mode: anything outside 0x20–0x7E). */
function sanitizeLabel(label: string, glyphs: Glyphs): string {
  let out = '';
  for (const ch of String(label)) {
    const cp = ch.codePointAt(0) ?? 0;
    const ok = glyphs === 'ascii' ? cp >= 0x20 && cp <= 0x7e : cp >= 0x20 && cp !== 0x7f && !(cp >= 0x80 && cp < 0xa0) && !(cp >= 0x300 && cp < 0x370) && cp < 0x1100;
    out += ok ? ch : '?';
  }
  return out;
}
