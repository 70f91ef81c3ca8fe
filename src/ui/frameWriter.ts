import { EventEmitter } from 'node:events';
import { isKittyDiacritic } from '../view/kittyPlaceholder.js';

const KITTY_PLACEHOLDER_CODE = 0x10eeee;

/**
 * Writes Ink's frames to the terminal as the lines that changed, nothing more.
 *
 * Ink's standard renderer erases the whole previous frame and writes the new one on every update
 * (its incremental mode puts lines one row off in a full-height frame). lora-top owns the whole
 * alternate screen and its frame always starts at the top-left and is never taller than the
 * terminal, so a frame can be written by absolute row: each changed line is moved to, cleared
 * and written. A dashboard left open for hours over SSH then costs a few hundred bytes
 * a second instead of several kilobytes.
 */

const ESC = '\x1b';
/** What ansi-escapes' eraseLines(n) writes before a frame: erase line, cursor up, …, cursor left. */
// eslint-disable-next-line no-control-regex
const ERASE_PREFIX = /^(?:\x1b\[2K(?:\x1b\[1A)?)+\x1b\[G/;

/** Cells a write overwrote in each row (0-based row → [from, to) column ranges; `to` may be Infinity). */
export type FrameDamage = Map<number, Array<[number, number]>>;

/**
 * The bytes that turn the screen's `previous` lines into `next` (rows counted from 1). Pure.
 * A changed line is rewritten from its first changed column when everything before that column is
 * known to be one cell per character; otherwise whole. Lines ending before the last column are
 * cleared to their end; a line that fills the width is not (xterm would lose its last cell).
 */
export function frameDiff(previous: readonly string[], next: readonly string[], columns = Infinity): string {
  return diffFrames(previous, next, columns).text;
}

/**
 * frameDiff, and which cells it overwrites. A hole in a line (`CSI n C`: the cursor moves on, the
 * cells keep what the terminal drew there — a picture) is never overwritten: a line with one is
 * not erased whole, and the damage leaves it out.
 */
export function diffFrames(previous: readonly string[], next: readonly string[], columns = Infinity): { text: string; damage: FrameDamage } {
  let out = '';
  const damage: FrameDamage = new Map();
  for (let i = 0; i < next.length; i++) {
    const line = next[i]!;
    const old = previous[i];
    if (line === old) continue;
    // Only the changed middle where the rest of the line stays in place (a chart row beside a picture).
    const span = old === undefined ? null : changedSpan(old, line);
    if (span) {
      out += `${ESC}[${i + 1};${span.column + 1}H${ESC}[0m${span.style}${span.text}`;
      damage.set(i, written(span.units, span.column, false));
      continue;
    }
    const tail = old === undefined ? null : changedTail(old, line);
    if (tail) {
      // Reset first: the terminal may still hold the style a previous write left active.
      out += `${ESC}[${i + 1};${tail.column + 1}H${ESC}[0m${tail.style}${tail.text}`;
      const clear = tail.column + tail.width < columns;
      if (clear) out += `${ESC}[K`;
      damage.set(i, written(tail.units, tail.column, clear));
      continue;
    }
    const all = units(line);
    if (all && all.some((u) => u.hole)) {
      // Not erased whole: that would take the picture in the hole with it.
      out += `${ESC}[${i + 1};1H${ESC}[0m${line}${ESC}[K`;
      damage.set(i, written(all, 0, true));
    } else {
      out += `${ESC}[${i + 1};1H${ESC}[2K${line}`;
      damage.set(i, [[0, Number.POSITIVE_INFINITY]]);
    }
  }
  for (let i = next.length; i < previous.length; i++) {
    out += `${ESC}[${i + 1};1H${ESC}[2K`;
    damage.set(i, [[0, Number.POSITIVE_INFINITY]]);
  }
  return { text: out, damage };
}

/** The cells written by `list` from `column` on (holes left out), and to the end of the line when cleared. */
function written(list: readonly Unit[], column: number, clearedToEnd: boolean): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let at = column;
  let start = column;
  for (const u of list) {
    if (u.hole) {
      if (at > start) ranges.push([start, at]);
      at += u.cells;
      start = at;
    } else at += u.cells;
  }
  if (clearedToEnd) ranges.push([start, Number.POSITIVE_INFINITY]);
  else if (at > start) ranges.push([start, at]);
  return ranges;
}

// eslint-disable-next-line no-control-regex
const SGR_AT = /\x1b\[[0-9;]*m/y;

/**
 * Where `line` starts to differ from `old`: the screen column, the SGR state active there, and the
 * rest of the line from there (with its width). Null when that cannot be known cheaply and safely
 * (an escape other than SGR, or a character that might be two cells wide, in either line).
 */
function changedTail(old: string, line: string): { column: number; style: string; text: string; width: number; units: Unit[] } | null {
  const a = units(old);
  const b = units(line);
  if (!a || !b) return null;
  let p = 0;
  while (p < a.length && p < b.length && a[p]!.text === b[p]!.text) p++;
  if (p >= b.length && b.length >= a.length) return null;
  const cells = (list: Unit[], from: number, to: number) => list.slice(from, to).reduce((n, u) => n + u.cells, 0);
  return { column: cells(b, 0, p), style: styleAfter(b, p), text: b.slice(p).map((u) => u.text).join(''), width: cells(b, p, b.length), units: b.slice(p) };
}

interface Unit {
  text: string;
  /** An SGR sequence (no cell). */
  sgr: boolean;
  /** Cells it covers: 0 for SGR, 1 for a character, n for a hole. */
  cells: number;
  /** `CSI n C`: the cursor moves over n cells and leaves them as they are (a picture). */
  hole: boolean;
}

// eslint-disable-next-line no-control-regex
const HOLE_AT = /\x1b\[(\d+)C/y;

/** A line as SGR sequences and one-cell characters; null when it holds anything else. */
function units(line: string): Unit[] | null {
  const out: Unit[] = [];
  for (let i = 0; i < line.length; ) {
    if (line.charCodeAt(i) === 27) {
      SGR_AT.lastIndex = i;
      const match = SGR_AT.exec(line);
      if (match) {
        out.push({ text: match[0], sgr: true, cells: 0, hole: false });
        i += match[0].length;
        continue;
      }
      HOLE_AT.lastIndex = i;
      const hole = HOLE_AT.exec(line);
      if (!hole) return null;
      out.push({ text: hole[0], sgr: false, cells: Number(hole[1]), hole: true });
      i += hole[0].length;
      continue;
    }
    const code = line.codePointAt(i)!;
    let end = i + (code > 0xffff ? 2 : 1);
    if (code === KITTY_PLACEHOLDER_CODE) {
      // A kitty image placeholder: one cell, with the diacritics that number its row and column.
      for (let next = line.codePointAt(end); next !== undefined && isKittyDiacritic(next); next = line.codePointAt(end)) end += next > 0xffff ? 2 : 1;
    } else if (!isSingleCell(code)) return null;
    out.push({ text: line.slice(i, end), sgr: false, cells: 1, hole: false });
    i = end;
  }
  return out;
}

/** The SGR state after `list[0..end)`: the sequences since the last reset. */
function styleAfter(list: readonly Unit[], end: number): string {
  let style = '';
  for (let k = 0; k < end; k++) {
    const u = list[k]!;
    if (u.sgr) style = u.text === `${ESC}[0m` ? '' : style + u.text;
  }
  return style;
}

/**
 * Where `line` differs from `old` only in a middle of the same width, with the same style after it:
 * that middle alone (its column, the style active at its start, its text). Null otherwise.
 */
function changedSpan(old: string, line: string): { column: number; style: string; text: string; units: Unit[] } | null {
  const a = units(old);
  const b = units(line);
  if (!a || !b) return null;
  let p = 0;
  while (p < a.length && p < b.length && a[p]!.text === b[p]!.text) p++;
  let s = 0;
  while (s < a.length - p && s < b.length - p && a[a.length - 1 - s]!.text === b[b.length - 1 - s]!.text) s++;
  if (s === 0) return null;
  const cells = (list: Unit[], from: number, to: number) => list.slice(from, to).reduce((n, u) => n + u.cells, 0);
  if (cells(a, p, a.length - s) !== cells(b, p, b.length - s)) return null;
  // The unchanged rest keeps its look only when the style entering it is the same.
  if (styleAfter(a, a.length - s) !== styleAfter(b, b.length - s)) return null;
  const middle = b.slice(p, b.length - s);
  return { column: cells(b, 0, p), style: styleAfter(b, p), text: middle.map((u) => u.text).join(''), units: middle };
}

/** Characters lora-top draws that every terminal shows one cell wide. */
function isSingleCell(code: number): boolean {
  return (
    (code >= 0x20 && code < 0x7f) ||
    (code >= 0xa0 && code < 0x300) ||
    (code >= 0x2010 && code <= 0x2027) ||
    (code >= 0x2190 && code <= 0x21ff) ||
    (code >= 0x2500 && code <= 0x25ff) ||
    (code >= 0x2800 && code <= 0x28ff)
  );
}

/** Splits a frame as Ink writes it (lines joined by `\n`, perhaps one trailing `\n`). */
export function frameLines(frame: string): string[] {
  const body = frame.endsWith('\n') ? frame.slice(0, -1) : frame;
  return body.length === 0 ? [] : body.split('\n');
}

/**
 * A stand-in for process.stdout that Ink renders into. Frames become line diffs; anything else Ink
 * writes (cursor visibility, synchronized-output brackets) passes through.
 */
export class FrameWriter extends EventEmitter {
  private lines: string[] = [];
  private readonly onResize = () => {
    // After a resize the terminal may have reflowed or cleared: draw the next frame whole.
    this.invalidate();
    this.emit('resize');
  };

  constructor(private readonly target: NodeJS.WriteStream) {
    super();
    target.on('resize', this.onResize);
  }

  get columns(): number {
    return this.target.columns;
  }

  get rows(): number {
    return this.target.rows;
  }

  get isTTY(): boolean {
    return this.target.isTTY === true;
  }

  /** How many times the screen was cleared: what the terminal drew on it (a picture) is gone since. */
  generation = 0;

  /** Forget what is on the screen: the next frame is written whole, after a clear. */
  invalidate(): void {
    this.lines = [];
    this.generation++;
    this.target.write(`${ESC}[H${ESC}[2J`);
  }

  /** Rows drawn by `draw` (direct mode): Ink's own frames are then only its empty placeholder. */
  private direct = false;

  /**
   * Draws composed rows directly (the dashboard's frames without Ink's output pass): only the rows
   * that changed are written. From the first call on, frames Ink writes are ignored.
   */
  draw(rows: readonly string[]): FrameDamage {
    this.direct = true;
    const { text: out, damage } = diffFrames(this.lines, rows, this.target.columns || Infinity);
    this.lines = [...rows];
    queueMicrotask(() => this.checkWaiters());
    // One synchronized update (mode 2026): terminals that know it show the frame at once, never half drawn.
    if (out.length > 0) this.target.write(`${ESC}[?2026h${out}${ESC}[?2026l`);
    return damage;
  }

  write(chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void): boolean {
    const done = typeof encoding === 'function' ? encoding : callback;
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (this.direct && !text.startsWith(`${ESC}[?`)) {
      // Ink's (empty) frame: the rows on screen are ours.
      done?.();
      return true;
    }
    const erase = ERASE_PREFIX.exec(text);
    let out = text;
    // A frame follows the erase prefix; the very first one has none (there was nothing to erase).
    // Cursor visibility and synchronized-output brackets (`ESC[?…`) are not frames.
    if (erase || (this.lines.length === 0 && !text.startsWith(`${ESC}[?`))) {
      const next = frameLines(erase ? text.slice(erase[0].length) : text);
      out = frameDiff(this.lines, next, this.target.columns || Infinity);
      this.lines = next;
      queueMicrotask(() => this.checkWaiters());
    }
    if (out.length === 0) {
      done?.();
      return true;
    }
    return this.target.write(out, done);
  }

  private waiters: Array<{ from: number; count: number; resolve(): void }> = [];

  /**
   * Resolves once the screen's rows `from`…`from + count − 1` (0-based) are blank, so that a picture
   * drawn there by a graphics protocol is not wiped by a frame still on its way.
   */
  whenBlank(from: number, count: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ from, count, resolve });
      this.checkWaiters();
    });
  }

  private checkWaiters(): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => {
      if (this.lines.length === 0) return true;
      for (let i = waiter.from; i < waiter.from + waiter.count; i++) {
        const line = this.lines[i];
        if (line !== undefined && line.replace(/\x1b\[[0-9;]*m/g, '').trim() !== '') return true;
      }
      waiter.resolve();
      return false;
    });
  }

  /** Writes bytes that are not a frame (a picture) straight to the terminal. */
  writeRaw(text: string): void {
    this.target.write(text);
  }

  /** Stops following the real terminal's resizes. */
  detach(): void {
    this.target.off('resize', this.onResize);
  }
}
