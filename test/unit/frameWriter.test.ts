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
    expect(frameDiff(['a', 'b', 'c'], ['a'])).toBe('\x1b[2;1H\x1b[2K\x1b[3;1H\x1b[2K');
    expect(frameDiff([], ['x', 'y'])).toBe('\x1b[1;1H\x1b[2Kx\x1b[2;1H\x1b[2Ky');
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
    expect(frameDiff(['名前 1'], ['名前 2'])).toBe('\x1b[1;1H\x1b[2K名前 2');
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
      '\x1b[1;1H\x1b[2K\x1b[1mtitle\x1b[22m\x1b[2;1H\x1b[2Kstep 1\x1b[3;1H\x1b[2Kfooter',
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
    expect(terminal.written.slice(1)).toEqual(['\x1b[H\x1b[2J', '\x1b[1;1H\x1b[2Kone\x1b[2;1H\x1b[2Ktwo']);
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
      '\x1b[?2026h\x1b[1;1H\x1b[2Ktitle\x1b[2;1H\x1b[2Kstep 1\x1b[3;1H\x1b[2Kfooter\x1b[?2026l',
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
});
