import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { diffFrames, FrameWriter, frameDiff, frameLines } from '../../src/ui/frameWriter.js';

// Frames reach the terminal as the lines that changed, by absolute row.

class FakeTerminal extends EventEmitter {
  columns = 40;
  rows = 10;
  isTTY = true;
  written: string[] = [];
  write(text: string, done?: () => void): boolean {
    this.written.push(text);
    done?.();
    return true;
  }
}

const erase = (n: number) => `${'\x1b[2K\x1b[1A'.repeat(n - 1)}\x1b[2K\x1b[G`;

describe('frame writer', () => {
  it('writes only the changed lines, from their first changed column, and clears rows a shorter frame no longer has', () => {
    expect(frameDiff(['a', 'b', 'c'], ['a', 'B', 'c'])).toBe('\x1b[2;1H\x1b[0mB\x1b[K');
    expect(frameDiff(['a', 'b', 'c'], ['a'])).toBe('\x1b[2;1H\x1b[0m\x1b[2K\x1b[3;1H\x1b[0m\x1b[2K');
    expect(frameDiff([], ['x', 'y'])).toBe('\x1b[1;1H\x1b[0m\x1b[2Kx\x1b[2;1H\x1b[0m\x1b[2Ky');
    // The style active at the change is set again; a change of the same width is written alone, the
    // rest of the line stays (a chart row beside a picture does not send the picture again).
    expect(frameDiff(['step \x1b[1m120\x1b[0m/3000'], ['step \x1b[1m121\x1b[0m/3000'])).toBe('\x1b[1;8H\x1b[0m\x1b[1m1');
    const picture = '\x1b[38;2;1;2;3m\x1b[48;2;4;5;6m▄▄▄▄\x1b[0m';
    expect(frameDiff([`⣿⡀ loss   ${picture}`], [`⣿⣀ loss   ${picture}`])).toBe('\x1b[1;2H\x1b[0m⣀');
    // Not when the rest would look different (the style entering it changed) or move (another width).
    expect(frameDiff(['\x1b[31ma\x1b[0mb'], ['\x1b[32ma\x1b[0mb'])).toBe('\x1b[1;1H\x1b[0m\x1b[32ma\x1b[0mb\x1b[K');
    expect(frameDiff(['\x1b[31mab'], ['\x1b[32mab'])).toBe('\x1b[1;1H\x1b[0m\x1b[32mab\x1b[K');
    // A shorter line is cleared to its end.
    expect(frameDiff(['ETA 10m05s'], ['ETA 9m59s'])).toBe('\x1b[1;5H\x1b[0m9m59s\x1b[K');
    // A line that now fills the last column is not cleared after it (xterm would lose that cell).
    expect(frameDiff(['ab'], ['ac'], 2)).toBe('\x1b[1;2H\x1b[0mc');
    // Before a character that may be two cells wide the column is unknown: the line is rewritten whole.
    expect(frameDiff(['名前 1'], ['名前 2'])).toBe('\x1b[1;1H\x1b[0m\x1b[2K名前 2');
    expect(frameDiff(['⣿⡇ 1'], ['⣿⡇ 2'])).toBe('\x1b[1;4H\x1b[0m2\x1b[K');
    expect(frameLines('a\nb\n')).toEqual(['a', 'b']);
    expect(frameLines('')).toEqual([]);
  });

  it('a hole (CSI n C, where the terminal drew a picture) is never written over, and the damage leaves it out', () => {
    const row = (text: string) => `${text}\x1b[0m \x1b[10C`;
    // A new row with a hole is not erased whole; the cursor moves over the hole.
    const first = diffFrames([], [row('loss ⡀')], 80);
    expect(first.text).toBe(`\x1b[1;1H\x1b[0m${row('loss ⡀')}\x1b[K`);
    expect(first.damage.get(0)).toEqual([[0, 7], [17, Infinity]]);
    // A change beside it writes the change alone.
    const next = diffFrames([row('loss ⡀')], [row('loss ⣀')], 80);
    expect(next.text).toBe('\x1b[1;6H\x1b[0m⣀');
    expect(next.damage.get(0)).toEqual([[5, 6]]);
    // A row without the hole any more overwrites those cells: the damage says so.
    const covered = diffFrames([row('loss ⡀')], ['keys: q quit, ? help, l log'], 80);
    expect(covered.damage.get(0)!.some(([from, to]) => from < 17 && to > 7)).toBe(true);
  });

  it('turns what Ink writes (erase the old frame, write the new) into a line diff', () => {
    const terminal = new FakeTerminal();
    const writer = new FrameWriter(terminal as unknown as NodeJS.WriteStream);
    writer.write('\x1b[?25l');
    writer.write('\x1b[1mtitle\x1b[22m\nstep 1\nfooter\n');
    writer.write(`${erase(4)}\x1b[1mtitle\x1b[22m\nstep 2\nfooter\n`);
    writer.write('\x1b[?2026h');
    writer.write(`${erase(4)}\x1b[1mtitle\x1b[22m\nstep 2\nfooter\n`);
    writer.write('\x1b[?2026l');
    expect(terminal.written).toEqual([
      '\x1b[?25l',
      '\x1b[1;1H\x1b[0m\x1b[2K\x1b[1mtitle\x1b[22m\x1b[2;1H\x1b[0m\x1b[2Kstep 1\x1b[3;1H\x1b[0m\x1b[2Kfooter',
      '\x1b[2;6H\x1b[0m2\x1b[K',
      '\x1b[?2026h',
      '\x1b[?2026l',
    ]);
  });

  it('draws the whole frame again after a resize', () => {
    const terminal = new FakeTerminal();
    const writer = new FrameWriter(terminal as unknown as NodeJS.WriteStream);
    let resized = 0;
    writer.on('resize', () => resized++);
    writer.write('one\ntwo\n');
    terminal.emit('resize');
    writer.write(`${erase(3)}one\ntwo\n`);
    expect(resized).toBe(1);
    expect(terminal.written.slice(1)).toEqual(['\x1b[H\x1b[2J', '\x1b[1;1H\x1b[0m\x1b[2Kone\x1b[2;1H\x1b[0m\x1b[2Ktwo']);
    writer.detach();
    expect(terminal.listenerCount('resize')).toBe(0);
  });

  it("draws composed rows directly: one synchronized update of the changed rows; Ink's frames are then ignored", async () => {
    const terminal = new FakeTerminal();
    const writer = new FrameWriter(terminal as unknown as NodeJS.WriteStream);
    writer.write('\x1b[?25l');
    writer.draw(['title', 'step 1', 'footer']);
    writer.draw(['title', 'step 2', 'footer']);
    writer.draw(['title', 'step 2', 'footer']);
    // Ink's placeholder frame (the App renders nothing itself) must not wipe the rows.
    writer.write('\n');
    writer.write(`${erase(2)}\n`);
    writer.write('\x1b[?25h');
    expect(terminal.written).toEqual([
      '\x1b[?25l',
      '\x1b[?2026h\x1b[1;1H\x1b[0m\x1b[2Ktitle\x1b[2;1H\x1b[0m\x1b[2Kstep 1\x1b[3;1H\x1b[0m\x1b[2Kfooter\x1b[?2026l',
      '\x1b[?2026h\x1b[2;6H\x1b[0m2\x1b[K\x1b[?2026l',
      '\x1b[?25h',
    ]);
    // A picture waits for its rows to be blank.
    let blank = false;
    void writer.whenBlank(1, 1).then(() => (blank = true));
    await Promise.resolve();
    expect(blank).toBe(false);
    writer.draw(['title', '', 'footer']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(blank).toBe(true);
  });
  it('on a model terminal, any frame diff turns the old screen into the new one, holes kept, and says every cell it changed', () => {
    // The terminal as the diff uses it: absolute moves, SGR (the style since the last reset), erase
    // to the end of the line or the whole line, a hole (CSI n C) that moves over cells, and one-cell
    // characters. A cell is its character and the style it was written with.
    const COLS = 24;
    type Cell = string;
    const blank = ' |';
    const screen = (rows: number): Cell[][] => Array.from({ length: rows }, () => Array.from({ length: COLS }, () => blank));
    const play = (cells: Cell[][], bytes: string) => {
      let row = 0;
      let col = 0;
      let style = '';
      const re = /\x1b\[(\d+);(\d+)H|\x1b\[([0-9;]*)m|\x1b\[2K|\x1b\[K|\x1b\[(\d+)C|([\s\S])/gu;
      for (const m of bytes.matchAll(re)) {
        if (m[1] !== undefined) [row, col] = [Number(m[1]) - 1, Number(m[2]) - 1];
        else if (m[3] !== undefined) style = m[3] === '0' || m[3] === '' ? '' : `${style}[${m[3]}]`;
        else if (m[0] === '\x1b[2K') cells[row]!.fill(blank);
        else if (m[0] === '\x1b[K') for (let c = col; c < COLS; c++) cells[row]![c] = blank;
        else if (m[4] !== undefined) col += Number(m[4]);
        else if (col < COLS) cells[row]![col++] = `${m[5]}|${style}`;
      }
    };
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const pick = <T,>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
    const pieces = ['a', 'b', '7', ' ', '⣿', '⡀', '▄', '─', '\x1b[1m', '\x1b[31m', '\x1b[38;5;12m', '\x1b[0m', '\x1b[3C'];
    // Lines as lora-top composes them: each ends with a reset, none wider than the screen.
    const line = (): string => {
      let text = '';
      let cells = 0;
      for (let n = Math.floor(random() * 14); n > 0; n--) {
        const piece = pick(pieces);
        const width = piece.startsWith('\x1b[') ? (piece.endsWith('C') ? 3 : 0) : 1;
        if (cells + width > COLS) break;
        text += piece;
        cells += width;
      }
      return `${text}\x1b[0m`;
    };
    const change = (old: string): string => {
      const roll = random();
      if (roll < 0.3) return old;
      if (roll < 0.5) return line();
      // A digit or a cell changed in place, as a ticking figure or a chart column does.
      return old.replace(/[7ab⣿⡀▄]/u, () => pick(['8', 'c', '⣀', '█']));
    };
    for (let trial = 0; trial < 3000; trial++) {
      const rows = 1 + Math.floor(random() * 5);
      const before = Array.from({ length: rows }, line);
      const after = before.map(change).slice(0, rows - (random() < 0.2 ? 1 : 0));
      if (random() < 0.2) after.push(line());
      const cells = screen(Math.max(before.length, after.length));
      play(cells, diffFrames([], before, COLS).text);
      const old = cells.map((r) => [...r]);
      const { text, damage } = diffFrames(before, after, COLS);
      play(cells, text);
      // What the new frame alone draws on a blank screen; a hole's cells keep what was there before.
      const fresh = screen(cells.length);
      play(fresh, diffFrames([], after, COLS).text);
      // Cells a hole of the new frame moves over keep the marker they start with.
      const holes = screen(cells.length).map((r) => r.fill('H|'));
      play(holes, diffFrames([], after.map((l) => l.replace(/\x1b\[\d+C|\x1b\[[0-9;]*m|[\s\S]/gu, (m) => (m.endsWith('C') && m.startsWith('\x1b') ? m : m.startsWith('\x1b') ? '' : 'x'))), COLS).text);
      for (let r = 0; r < cells.length; r++) {
        for (let c = 0; c < COLS; c++) {
          const inHole = r < after.length && holes[r]![c] === 'H|';
          const expected = inHole ? old[r]![c] : fresh[r]![c];
          if (cells[r]![c] !== expected) throw new Error(`trial ${trial}: row ${r} col ${c} is ${JSON.stringify(cells[r]![c])}, not ${JSON.stringify(expected)}\n${JSON.stringify({ before, after, text })}`);
          if (cells[r]![c] !== old[r]![c] && !(damage.get(r) ?? []).some(([from, to]) => c >= from && c < to)) throw new Error(`trial ${trial}: row ${r} col ${c} changed outside the damage\n${JSON.stringify({ before, after, text })}`);
        }
      }
    }
  });
});
