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

  /** A run with one sample, on a terminal of `term` with `env`, at 120×40. */
  async function onTerminal(name: string, term: string, env: NodeJS.ProcessEnv): Promise<{ pty: PtySession; folder: string }> {
    const folder = makeRunFolder(root, name, { step: 300 });
    await jpeg(path.join(folder, 'samples', '1795000000001__000000300_0.jpg'), [40, 200, 40]);
    const pty = new PtySession(root, [process.execPath, CLI, folder, '--no-gpu'], { cols: 120, rows: 40, term, env: { ...process.env, COLORTERM: 'truecolor', ...env } });
    return { pty, folder };
  }

  const count = (text: string, marker: string) => text.split(marker).length - 1;

  for (const [label, term, env, marker, reply] of [
    ['iTerm2 (TERM_PROGRAM=iTerm.app)', 'xterm-256color', { TERM_PROGRAM: 'iTerm.app' }, '\x1b]1337;File=inline=1;', null],
    ['sixel (announced in the reply to DA1)', 'xterm-256color', {}, '\x1bP0;1;0q', '\x1b[6;20;10t\x1b[?62;4;22c'],
  ] as const) {
    it(`${label}: the picture is drawn into a hole the frames leave alone, once, and again only after an overlay covered it`, async () => {
      const { pty, folder } = await onTerminal(`hole_${label.slice(0, 5).replace(/\W/g, '')}`, term, env);
      try {
        if (reply) {
          // The terminal is asked once (kitty query, cell size, DA1); its answer comes as input.
          await pty.waitFor((out) => out.includes('\x1b[c'), 'the graphics query');
          pty.type(reply);
        }
        const first = await pty.waitFor((out) => count(out, marker) === 1, 'the picture drawn');
        // Drawn at its place, the cursor saved and restored around it; the frame's rows hold a hole there.
        const at = first.lastIndexOf(marker);
        expect(first.slice(0, at)).toMatch(/\x1b7\x1b\[\d+;\d+H$/);
        const hole = /\x1b\[(\d+)C/.exec(first);
        expect(Number(hole?.[1])).toBeGreaterThanOrEqual(36);
        // (Half blocks may show for the moment the picture takes to decode.)
        // Routine frames (the run goes on) leave it alone.
        for (const n of [301, 302, 303]) fs.appendFileSync(path.join(folder, 'log.txt'), `\r${path.basename(folder)}:  30%|###       | ${n}/1000 [01:00<09:00,  1.00s/it, lr: 1.0e-04 loss: 2.000e-01]`);
        await pty.waitFor((out) => out.includes('3 steps ago'), 'a routine frame (step 303)');
        expect(count(pty.output(), marker)).toBe(1);
        // The key list covers it; closing the list draws it again, once.
        pty.type('?');
        await pty.waitFor((out) => out.includes('Quitting lora-top never stops or pauses'), 'the key list');
        pty.type('\x1b');
        await pty.waitFor((out) => count(out, marker) === 2, 'the picture drawn again');
        pty.type('q');
        expect(await pty.exited(10_000)).toBe(0);
        expect(count(pty.output(), marker)).toBe(2);
      } finally {
        pty.kill();
      }
    }, 60_000);
  }

  it('no protocol (a terminal that says nothing): half blocks, no picture escapes', async () => {
    const { pty } = await onTerminal('plain_lora', 'xterm-256color', {});
    try {
      await pty.waitFor((out) => out.includes('\x1b[c'), 'the graphics query');
      // A DA1 reply without sixel, and no kitty answer.
      pty.type('\x1b[?62;22c');
      await pty.waitFor((out) => out.includes('▄'), 'the half-block picture');
      // Keys typed while the answer is still being read are the answer's: q until it is taken as a key.
      let code: number | null = null;
      for (let i = 0; i < 20 && code === null; i++) {
        pty.type('q');
        code = await Promise.race([pty.exit, new Promise<null>((resolve) => setTimeout(() => resolve(null), 500))]);
      }
      expect(code).toBe(0);
      const out = pty.output();
      for (const marker of ['\x1b]1337;', '\x1bP0;1;0q', '\x1b_Ga=T']) expect(out).not.toContain(marker);
    } finally {
      pty.kill();
    }
  }, 60_000);
});
