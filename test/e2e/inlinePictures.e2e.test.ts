import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { KITTY_DIACRITICS, KITTY_PLACEHOLDER } from '../../src/view/kittyPlaceholder.js';
import { CLI } from '../helpers/sim.js';
import { hasPty, makeRunFolder, PtySession } from '../helpers/hardening.js';

// The dashboard's sample picture at the terminal's own resolution, read from the bytes lora-top
// writes to a terminal (a pty) that says it is kitty: the picture is sent once per file and size
// as an image with a virtual placement, the panel writes placeholder cells for it (U+10EEEE with a
// row and a column diacritic, in the image's colour), a routine frame sends neither again, moving
// to another sample sends that one once, and quitting deletes them.

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-inline-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const TRANSMIT = /\x1b_Ga=T,U=1,f=100,t=d,i=(\d+),c=(\d+),r=(\d+),q=2,m=[01];/g;

/** Every run of placeholder cells in the output: image id, and each cell's row and column numbers. */
function placeholderRuns(output: string): Array<{ id: number; cells: Array<[number, number]> }> {
  const index = new Map(KITTY_DIACRITICS.map((code, i) => [code, i]));
  const runs: Array<{ id: number; cells: Array<[number, number]> }> = [];
  const re = new RegExp(`\\x1b\\[38;5;(\\d+)m((?:${KITTY_PLACEHOLDER}[^\\x1b${KITTY_PLACEHOLDER}]{2})+)`, 'gu');
  for (const m of output.matchAll(re)) {
    const cells: Array<[number, number]> = [];
    for (const cell of m[2]!.split(KITTY_PLACEHOLDER).slice(1)) {
      const [row, col] = [...cell].map((c) => index.get(c.codePointAt(0)!) ?? -1);
      cells.push([row!, col!]);
    }
    runs.push({ id: Number(m[1]), cells });
  }
  return runs;
}

async function jpeg(file: string, rgb: [number, number, number]): Promise<void> {
  await sharp({ create: { width: 512, height: 512, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).jpeg().toFile(file);
}

describe.skipIf(!hasPty)('inline pictures on a kitty terminal', () => {
  it('sends each picture once, places it with placeholder cells, sends nothing on routine frames, deletes them on quit', async () => {
    const folder = makeRunFolder(root, 'kitty_lora', { step: 300 });
    await jpeg(path.join(folder, 'samples', '1795000000000__000000250_0.jpg'), [200, 40, 40]);
    await jpeg(path.join(folder, 'samples', '1795000000001__000000300_0.jpg'), [40, 40, 200]);
    const pty = new PtySession(root, [process.execPath, CLI, folder, '--no-gpu'], {
      cols: 120,
      rows: 40,
      term: 'xterm-kitty',
      env: { ...process.env, KITTY_WINDOW_ID: '1', COLORTERM: 'truecolor' },
    });
    try {
      const first = await pty.waitFor((out) => [...out.matchAll(TRANSMIT)].length >= 1 && out.includes(KITTY_PLACEHOLDER), 'the picture sent and placed');
      const sends = [...first.matchAll(TRANSMIT)];
      expect(sends).toHaveLength(1);
      const [, id, cols, rows] = sends[0]!.map(Number) as [number, number, number, number];
      // At 120×40 the samples column's picture: at least 36 columns by 18 rows.
      expect(cols).toBeGreaterThanOrEqual(36);
      expect(rows).toBeGreaterThanOrEqual(18);
      // Cell by cell: every row of the placement, each with columns 0…cols−1 in order, in the image's colour.
      await pty.waitFor((out) => placeholderRuns(out).filter((r) => r.id === id).length >= rows, 'every placeholder row drawn');
      const runs = placeholderRuns(pty.output()).filter((r) => r.id === id);
      const byRow = new Map<number, number[]>();
      for (const run of runs) for (const [row, col] of run.cells) byRow.set(row, [...(byRow.get(row) ?? []), col]);
      expect([...byRow.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: rows }, (_, i) => i));
      for (const cells of byRow.values()) expect(cells).toEqual(Array.from({ length: cols }, (_, i) => i));

      // Routine frames (the run goes on): no picture bytes again, no placeholder written again.
      const placeholders = (out: string) => out.split(KITTY_PLACEHOLDER).length - 1;
      const before = placeholders(pty.output());
      for (const n of [301, 302, 303]) fs.appendFileSync(path.join(folder, 'log.txt'), `\r${'kitty_lora'}:  30%|###       | ${n}/1000 [01:00<09:00,  1.00s/it, lr: 1.0e-04 loss: 2.000e-01]`);
      // The caption under the picture counts the steps since it was made (the frame diff sends only what changed).
      await pty.waitFor((out) => out.includes('3 steps ago'), 'a routine frame (step 303)');
      expect([...pty.output().matchAll(TRANSMIT)]).toHaveLength(1);
      expect(placeholders(pty.output())).toBe(before);

      // ← the older sample: sent once; → back: nothing sent, the first image placed again.
      pty.type('\x1b[D');
      await pty.waitFor((out) => [...out.matchAll(TRANSMIT)].length === 2 && out.includes('step 250'), 'the older sample sent');
      pty.type('\x1b[C');
      await pty.waitFor((out) => placeholderRuns(out.slice(out.lastIndexOf('step 250'))).some((r) => r.id === id), 'the newest placed again');
      expect([...pty.output().matchAll(TRANSMIT)]).toHaveLength(2);

      pty.type('q');
      expect(await pty.exited(10_000)).toBe(0);
      const out = pty.output();
      for (const sent of [...out.matchAll(TRANSMIT)]) expect(out).toContain(`\x1b_Ga=d,d=I,i=${sent[1]},q=2\x1b\\`);
    } finally {
      pty.kill();
    }
  }, 60_000);
});
