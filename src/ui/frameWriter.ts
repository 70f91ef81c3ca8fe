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
    const b = tokenize(line, SCRATCH_B);
    const a = old === undefined || !b ? null : tokenize(old, SCRATCH_A);
    if (a && b) {
      // Only the changed middle where the rest of the line stays in place (a chart row beside a picture).
      const span = changedSpan(a, b);
      if (span) {
        out += `${ESC}[${i + 1};${span.column + 1}H${ESC}[0m${span.style}${line.slice(b.starts[span.from], b.starts[span.to])}`;
        damage.set(i, written(b, span.from, span.to, span.column, false));
        continue;
      }
      const tail = changedTail(a, b);
      if (tail) {
        // Reset first: the terminal may still hold the style a previous write left active.
        out += `${ESC}[${i + 1};${tail.column + 1}H${ESC}[0m${tail.style}${line.slice(b.starts[tail.from])}`;
        const clear = tail.column + tail.width < columns;
        if (clear) out += `${ESC}[K`;
        damage.set(i, written(b, tail.from, b.count, tail.column, clear));
        continue;
      }
    }
    if (b && b.holes > 0) {
      // Not erased whole: that would take the picture in the hole with it.
      out += `${ESC}[${i + 1};1H${ESC}[0m${line}${ESC}[K`;
      damage.set(i, written(b, 0, b.count, 0, true));
    } else {
      // Reset first: an erase paints with the active background, and a span written before may have left its style on.
      out += `${ESC}[${i + 1};1H${ESC}[0m${ESC}[2K${line}`;
      damage.set(i, [[0, Number.POSITIVE_INFINITY]]);
    }
  }
  for (let i = next.length; i < previous.length; i++) {
    out += `${ESC}[${i + 1};1H${ESC}[0m${ESC}[2K`;
    damage.set(i, [[0, Number.POSITIVE_INFINITY]]);
  }
  return { text: out, damage };
}

/**
 * A line cut into units (an SGR sequence, a hole, or a one-cell character): where each starts and
 * how many cells it covers, in typed arrays reused from one line to the next, so that comparing two
 * frames makes no object a character. `starts[count]` is the line's length.
 */
interface LineUnits {
  line: string;
  count: number;
  starts: Int32Array;
  /** 0 for SGR, 1 for a character, n for a hole of n cells. */
  cells: Int32Array;
  /** 1 for SGR, 2 for a hole, 0 for a character. */
  kinds: Uint8Array;
  holes: number;
}

const SGR = 1;
const HOLE = 2;

function lineUnits(): LineUnits {
  return { line: '', count: 0, starts: new Int32Array(256), cells: new Int32Array(256), kinds: new Uint8Array(256), holes: 0 };
}

/** The scratch of the old line and of the new one (diffFrames is synchronous: one pair at a time). */
const SCRATCH_A = lineUnits();
const SCRATCH_B = lineUnits();

function grow(u: LineUnits): void {
  const size = u.starts.length * 2;
  const starts = new Int32Array(size);
  starts.set(u.starts);
  const cells = new Int32Array(size);
  cells.set(u.cells);
  const kinds = new Uint8Array(size);
  kinds.set(u.kinds);
  u.starts = starts;
  u.cells = cells;
  u.kinds = kinds;
}

/** `line` as SGR sequences, holes and one-cell characters, into `u`; null when it holds anything else. */
function tokenize(line: string, u: LineUnits): LineUnits | null {
  u.line = line;
  u.count = 0;
  u.holes = 0;
  for (let i = 0; i < line.length; ) {
    // Room for this unit and the end offset after it.
    if (u.count + 2 > u.starts.length) grow(u);
    let end: number;
    let kind = 0;
    let cells = 1;
    if (line.charCodeAt(i) === 27) {
      end = escapeEnd(line, i);
      if (end < 0) return null;
      if (line.charCodeAt(end - 1) === 109 /* m */) {
        kind = SGR;
        cells = 0;
      } else {
        kind = HOLE;
        cells = holeCells;
        u.holes++;
      }
    } else {
      const code = line.codePointAt(i)!;
      end = i + (code > 0xffff ? 2 : 1);
      if (code === KITTY_PLACEHOLDER_CODE) {
        // A kitty image placeholder: one cell, with the diacritics that number its row and column.
        for (let next = line.codePointAt(end); next !== undefined && isKittyDiacritic(next); next = line.codePointAt(end)) end += next > 0xffff ? 2 : 1;
      } else if (!isSingleCell(code)) return null;
    }
    u.starts[u.count] = i;
    u.cells[u.count] = cells;
    u.kinds[u.count] = kind;
    u.count++;
    i = end;
  }
  u.starts[u.count] = line.length;
  return u;
}

/** The cells of the last hole escapeEnd read. */
let holeCells = 0;

/**
 * Where the escape at `i` ends: an SGR sequence (`ESC [ digits and ; m`) or a hole (`ESC [ digits C`,
 * its cells left in holeCells); -1 for anything else.
 */
function escapeEnd(line: string, i: number): number {
  if (line.charCodeAt(i + 1) !== 91 /* [ */) return -1;
  let k = i + 2;
  let digitsOnly = true;
  let value = 0;
  for (; k < line.length; k++) {
    const c = line.charCodeAt(k);
    if (c >= 48 && c <= 57) value = value * 10 + (c - 48);
    else if (c === 59 /* ; */) digitsOnly = false;
    else break;
  }
  const final = line.charCodeAt(k);
  if (final === 109 /* m */) return k + 1;
  if (final === 67 /* C */ && digitsOnly && k > i + 2) {
    holeCells = value;
    return k + 1;
  }
  return -1;
}

/** Whether unit `k` of `a` and unit `j` of `b` are the same text. */
function sameUnit(a: LineUnits, k: number, b: LineUnits, j: number): boolean {
  const from = a.starts[k]!;
  const length = a.starts[k + 1]! - from;
  const other = b.starts[j]!;
  if (b.starts[j + 1]! - other !== length) return false;
  for (let c = 0; c < length; c++) if (a.line.charCodeAt(from + c) !== b.line.charCodeAt(other + c)) return false;
  return true;
}

/** How many units the two lines share from their start. */
function commonPrefix(a: LineUnits, b: LineUnits): number {
  let p = 0;
  while (p < a.count && p < b.count && sameUnit(a, p, b, p)) p++;
  return p;
}

function cellsOf(u: LineUnits, from: number, to: number): number {
  let n = 0;
  for (let k = from; k < to; k++) n += u.cells[k]!;
  return n;
}

/** The SGR state after units `[0, end)`: the sequences since the last reset. */
function styleAfter(u: LineUnits, end: number): string {
  let style = '';
  for (let k = 0; k < end; k++) {
    if (u.kinds[k] !== SGR) continue;
    const text = u.line.slice(u.starts[k], u.starts[k + 1]);
    style = text === `${ESC}[0m` ? '' : style + text;
  }
  return style;
}

/** The cells written by units `[from, to)` of `u` from `column` on (holes left out), and to the end of the line when cleared. */
function written(u: LineUnits, from: number, to: number, column: number, clearedToEnd: boolean): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let at = column;
  let start = column;
  for (let k = from; k < to; k++) {
    if (u.kinds[k] === HOLE) {
      if (at > start) ranges.push([start, at]);
      at += u.cells[k]!;
      start = at;
    } else at += u.cells[k]!;
  }
  if (clearedToEnd) ranges.push([start, Number.POSITIVE_INFINITY]);
  else if (at > start) ranges.push([start, at]);
  return ranges;
}

/**
 * Where the new line `b` differs from the old `a` only in a middle of the same width, with the same
 * style after it: that middle alone (its units `[from, to)` of `b`, its column, the style active at
 * its start). Null otherwise.
 */
function changedSpan(a: LineUnits, b: LineUnits): { from: number; to: number; column: number; style: string } | null {
  const p = commonPrefix(a, b);
  let s = 0;
  while (s < a.count - p && s < b.count - p && sameUnit(a, a.count - 1 - s, b, b.count - 1 - s)) s++;
  if (s === 0) return null;
  if (cellsOf(a, p, a.count - s) !== cellsOf(b, p, b.count - s)) return null;
  // The unchanged rest keeps its look only when the style entering it is the same.
  if (styleAfter(a, a.count - s) !== styleAfter(b, b.count - s)) return null;
  return { from: p, to: b.count - s, column: cellsOf(b, 0, p), style: styleAfter(b, p) };
}

/**
 * Where `b` starts to differ from `a`: its first differing unit, the screen column and the SGR state
 * active there, and the width of the rest. Null when nothing differs but what `b` lacks.
 */
function changedTail(a: LineUnits, b: LineUnits): { from: number; column: number; style: string; width: number } | null {
  const p = commonPrefix(a, b);
  if (p >= b.count && b.count >= a.count) return null;
  return { from: p, column: cellsOf(b, 0, p), style: styleAfter(b, p), width: cellsOf(b, p, b.count) };
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
