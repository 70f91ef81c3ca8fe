import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nearest256 } from '../../src/view/halfBlock.js';
import { CLI, hasSimDeps, startSim, writeSimConfig } from '../helpers/sim.js';
import { hasTmux } from '../helpers/tmux.js';

// The sample features in a real terminal (tmux, 120×40, inside which lora-top draws half blocks):
// the pictures' colours are read back from `tmux capture-pane -e`, cell by cell. The run is one the
// simulated trainer finished (its log, config with two prompts, checkpoints and loss_log.db), with
// samples of our own: one solid colour per step and prompt, so that a colour on the screen says
// which sample is drawn. Every wait is for something on the screen.

type Rgb = readonly [number, number, number];

const PROMPTS = ['a red fox in the snow', 'a lighthouse at dusk'];
// Colours on the xterm-256 cube's levels (0, 95, 135, 175, 215, 255): the 256-colour mode draws each
// with its own palette index, whatever the few levels a JPEG moves them.
const COLOUR: Record<string, Rgb> = {
  '100_0': [215, 0, 0],
  '100_1': [0, 175, 175],
  '200_0': [0, 175, 0],
  '200_1': [255, 135, 0],
  '300_0': [0, 95, 215],
  '300_1': [215, 215, 0],
  '400_0': [175, 0, 175],
};
const COLS = 120;
const ROWS = 40;

let root: string;
/** The finished run with our samples, copied for each test. */
let template: string;
const sessions: Pane[] = [];

let created = 1_795_000_000_000;
const sampleName = (step: number, index: number) => `${created++}__${String(step).padStart(9, '0')}_${index}.jpg`;

function sampleJpeg(key: string): Promise<Buffer> {
  const [r, g, b] = COLOUR[key]!;
  return sharp({ create: { width: 256, height: 256, channels: 3, background: { r, g, b } } }).jpeg({ quality: 95 }).toBuffer();
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-samples-e2e-'));
  if (!hasTmux || !hasSimDeps) return;
  const { configPath, folder } = writeSimConfig(root, { name: 'pic_lora', steps: 400, saveEvery: 100, sampleEvery: 1000, prompts: PROMPTS });
  const sim = startSim(configPath, path.join(folder, 'log.txt'), ['--step-time', '0.001', '--sample-time', '0', '--save-time', '0', '--load-time', '0.05']);
  expect((await sim.done).code).toBe(0);
  // The trainer's own samples (baseline and final) make way for ours.
  fs.rmSync(path.join(folder, 'samples'), { recursive: true, force: true });
  fs.mkdirSync(path.join(folder, 'samples'));
  for (const key of ['100_0', '100_1', '200_0', '200_1', '300_0', '300_1']) {
    const [step, index] = key.split('_').map(Number) as [number, number];
    fs.writeFileSync(path.join(folder, 'samples', sampleName(step, index)), await sampleJpeg(key));
  }
  template = folder;
}, 60_000);

afterEach(() => {
  for (const pane of sessions.splice(0)) pane.kill();
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

// ── The terminal, read back with its colours ─────────────────────────────────────────────────────

type Colour = { kind: 'rgb'; rgb: Rgb } | { kind: '256'; index: number } | { kind: 'other' } | null;

interface Cell {
  ch: string;
  fg: Colour;
  bg: Colour;
}

interface Screen {
  /** What capture-pane -e printed. */
  raw: string;
  /** The text alone. */
  text: string;
  cells: Cell[][];
}

/** Replays the SGR codes of `capture-pane -e -p` into one cell per character. */
function parseScreen(raw: string): Screen {
  const cells: Cell[][] = [];
  let fg: Colour = null;
  let bg: Colour = null;
  for (const line of raw.split('\n')) {
    const row: Cell[] = [];
    for (const token of line.match(/\x1b\[[0-9;:]*m|\x1b[^[]|[^\x1b]/gu) ?? []) {
      if (!token.startsWith('\x1b')) {
        row.push({ ch: token, fg, bg });
        continue;
      }
      if (!token.endsWith('m')) continue;
      const params = token.slice(2, -1).split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
      for (let i = 0; i < params.length; i++) {
        const p = params[i]!;
        if (p === 0) fg = bg = null;
        else if (p === 38 || p === 48) {
          let colour: Colour;
          if (params[i + 1] === 2) {
            colour = { kind: 'rgb', rgb: [params[i + 2]!, params[i + 3]!, params[i + 4]!] };
            i += 4;
          } else {
            colour = { kind: '256', index: params[i + 2]! };
            i += 2;
          }
          if (p === 38) fg = colour;
          else bg = colour;
        } else if (p === 39) fg = null;
        else if (p === 49) bg = null;
        else if ((p >= 30 && p <= 37) || (p >= 90 && p <= 97)) fg = { kind: 'other' };
        else if ((p >= 40 && p <= 47) || (p >= 100 && p <= 107)) bg = { kind: 'other' };
      }
    }
    cells.push(row);
  }
  return { raw, text: cells.map((row) => row.map((c) => c.ch).join('')).join('\n'), cells };
}

function isColour(colour: Colour, rgb: Rgb): boolean {
  if (colour?.kind === 'rgb') return colour.rgb.every((v, i) => Math.abs(v - rgb[i]!) <= 10);
  if (colour?.kind === '256') return colour.index === nearest256(rgb[0], rgb[1], rgb[2]);
  return false;
}

interface Picture {
  count: number;
  top: number;
  bottom: number;
  left: number;
  right: number;
  /** The cells fill their bounding box: one whole rectangle. */
  solid: boolean;
}

/** Where a sample's colour is drawn: the half blocks whose upper and lower halves both have it. */
function pictureOf(screen: Screen, key: string, within?: (row: number, col: number) => boolean): Picture | null {
  const rgb = COLOUR[key]!;
  let count = 0;
  let top = Infinity;
  let bottom = -1;
  let left = Infinity;
  let right = -1;
  screen.cells.forEach((row, r) =>
    row.forEach((cell, c) => {
      if (cell.ch !== '▄' || !isColour(cell.fg, rgb) || !isColour(cell.bg, rgb) || (within && !within(r, c))) return;
      count++;
      top = Math.min(top, r);
      bottom = Math.max(bottom, r);
      left = Math.min(left, c);
      right = Math.max(right, c);
    }),
  );
  if (count === 0) return null;
  return { count, top, bottom, left, right, solid: count === (bottom - top + 1) * (right - left + 1) };
}

/** A picture of at least `minCells` cells in one rectangle. */
function shows(screen: Screen, key: string, minCells = 60, within?: (row: number, col: number) => boolean): boolean {
  const picture = pictureOf(screen, key, within);
  return picture !== null && picture.solid && picture.count >= minCells;
}

/** The kinds of colour code (24-bit or palette) the cells of a picture's rectangle were drawn with. */
function colourKinds(screen: Screen, picture: Picture): string[] {
  const kinds = new Set<string>();
  for (let r = picture.top; r <= picture.bottom; r++) {
    for (let c = picture.left; c <= picture.right; c++) {
      const cell = screen.cells[r]![c]!;
      kinds.add(cell.fg?.kind ?? 'none').add(cell.bg?.kind ?? 'none');
    }
  }
  return [...kinds];
}

/** Which of the samples' colours are on the screen. */
function coloursOn(screen: Screen): string[] {
  return Object.keys(COLOUR).filter((key) => pictureOf(screen, key) !== null);
}

interface Pane {
  send(...keys: string[]): void;
  type(text: string): void;
  screen(): Screen;
  /** Resolves with the first screen that passes `test`; rejects with the last one after `timeoutMs`. */
  waitFor(test: (screen: Screen) => boolean, what: string, timeoutMs?: number): Promise<Screen>;
  kill(): void;
}

/** A tmux server of the test's own with one window running bash (the helper's, with colours read back). */
function openPane(cwd: string, env: Record<string, string>): Pane {
  const socket = `lora-top-samples-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  const vars = { LANG: 'C.UTF-8', TERM: 'xterm-256color', PS1: 'PROMPT$ ', ...env };
  const assignments = Object.entries(vars).map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'`);
  tmux('new-session', '-d', '-s', 'main', '-x', String(COLS), '-y', String(ROWS), '-c', cwd, `env ${assignments.join(' ')} bash --norc --noprofile`);
  const screen = () => parseScreen(tmux('capture-pane', '-e', '-p', '-t', 'main'));
  const pane: Pane = {
    send: (...keys) => void tmux('send-keys', '-t', 'main', ...keys),
    type: (text) => void tmux('send-keys', '-t', 'main', '-l', text),
    screen,
    waitFor(test, what, timeoutMs = 15_000) {
      const started = Date.now();
      return new Promise((resolve, reject) => {
        const poll = () => {
          let s: Screen;
          try {
            s = screen();
          } catch (error) {
            return reject(error);
          }
          if (test(s)) return resolve(s);
          if (Date.now() - started > timeoutMs) {
            return reject(new Error(`timed out waiting for ${what}; colours on screen: ${coloursOn(s).join(', ') || 'none'}; the screen was:\n${s.text}`));
          }
          setTimeout(poll, 50);
        };
        poll();
      });
    },
    kill() {
      try {
        tmux('kill-server');
      } catch {
        // Already gone.
      }
    },
  };
  sessions.push(pane);
  return pane;
}

/** A fresh copy of the run, and lora-top started on it in a new terminal. */
async function startOnRun(label: string, env: Record<string, string>): Promise<{ pane: Pane; folder: string }> {
  const folder = path.join(fs.mkdtempSync(path.join(root, `${label}-`)), 'pic_lora');
  fs.cpSync(template, folder, { recursive: true });
  const pane = openPane(path.dirname(folder), env);
  await pane.waitFor((s) => s.text.includes('PROMPT$'), 'the shell');
  pane.type(`node ${CLI} --no-gpu ${folder}; echo "EXIT=$?"`);
  pane.send('Enter');
  return { pane, folder };
}

const dashboardUp = (s: Screen) => s.text.includes('── Loss') && s.text.includes('── Samples') && /pic_lora +COMPLETED/.test(s.text);

async function quit(pane: Pane): Promise<void> {
  pane.send('q');
  await pane.waitFor((s) => s.text.includes('EXIT=0'), 'lora-top to exit 0');
}

describe.skipIf(!hasTmux || !hasSimDeps)('samples in a real terminal (tmux)', () => {
  it('draws the newest sample in 24-bit colour; ← steps back, ↑/↓ change the prompt, each with its caption', async () => {
    const { pane } = await startOnRun('browse', { COLORTERM: 'truecolor' });
    const first = await pane.waitFor((s) => dashboardUp(s) && shows(s, '300_0') && s.text.includes('step 300'), 'the newest sample (step 300, prompt 1)');
    // tmux passes 24-bit colour through: the picture's cells carry 38;2 / 48;2 codes.
    expect(colourKinds(first, pictureOf(first, '300_0')!)).toEqual(['rgb']);
    expect(first.raw).toMatch(/\x1b\[38;2;\d+;\d+;\d+m/);
    expect(first.raw).toMatch(/\x1b\[48;2;\d+;\d+;\d+m/);
    expect(coloursOn(first)).toEqual(['300_0']);
    expect(first.text).toContain('100 steps ago');
    expect(first.text).toContain('prompt 1/2');
    // The prompt under the picture: one word of it is enough.
    expect(first.text).toContain('fox');
    const panel = pictureOf(first, '300_0')!;
    // In a column of its own on the right, across it: at 120×40 at least 36 columns by 18 rows.
    expect(panel.left).toBeGreaterThan(COLS / 2);
    expect(panel.right - panel.left + 1).toBeGreaterThanOrEqual(36);
    expect(panel.bottom - panel.top + 1).toBeGreaterThanOrEqual(18);
    expect(first.cells[panel.bottom + 1]!.map((c) => c.ch).join('')).toContain('step 300');

    pane.send('Left');
    const older = await pane.waitFor((s) => shows(s, '200_0') && /step 200\b/.test(s.text), 'step 200 after ←');
    expect(coloursOn(older)).toEqual(['200_0']);
    expect(older.text).toContain('200 steps ago');

    pane.send('Down');
    const second = await pane.waitFor((s) => shows(s, '200_1') && s.text.includes('prompt 2/2'), 'prompt 2 after ↓');
    expect(coloursOn(second)).toEqual(['200_1']);
    expect(second.text).toContain('lighthouse');
    expect(second.text).toMatch(/step 200\b/);

    pane.send('Up');
    const back = await pane.waitFor((s) => shows(s, '200_0') && s.text.includes('prompt 1/2'), 'prompt 1 after ↑');
    expect(back.text).toContain('fox');
    expect(back.text).not.toContain('lighthouse');

    pane.send('Left');
    await pane.waitFor((s) => shows(s, '100_0') && /step 100\b/.test(s.text), 'step 100 after a second ←');
    // The first sampled step: ← says why it cannot go further, and the picture stays.
    pane.send('Left');
    const edge = await pane.waitFor((s) => s.text.includes('first sampled step'), 'the note that step 100 is the first');
    expect(coloursOn(edge)).toEqual(['100_0']);

    pane.send('Right');
    pane.send('Right');
    await pane.waitFor((s) => shows(s, '300_0') && s.text.includes('step 300'), 'back at the newest after → →');
    await quit(pane);
  }, 60_000);

  it('c compares two steps side by side and Esc returns; v fills the screen with half blocks and any key returns', async () => {
    const { pane } = await startOnRun('compare', { COLORTERM: 'truecolor' });
    await pane.waitFor((s) => dashboardUp(s) && shows(s, '300_0'), 'the dashboard with the newest sample');

    pane.send('c');
    const half = Math.floor((COLS - 1) / 2);
    const leftSide = (_r: number, c: number) => c < half;
    const rightSide = (_r: number, c: number) => c > half;
    const compare = await pane.waitFor(
      (s) => s.text.includes('Compare') && shows(s, '200_0', 200, leftSide) && shows(s, '300_0', 200, rightSide),
      'step 200 on the left and step 300 on the right',
    );
    expect(compare.text).not.toContain('── Loss');
    const captions = compare.text.split('\n').find((line) => line.includes('step 200') && line.includes('step 300'));
    expect(captions, 'both steps captioned on one line').toBeDefined();
    expect(captions!.indexOf('step 200')).toBeLessThan(half);
    expect(captions!.indexOf('step 300')).toBeGreaterThan(half);
    const left = pictureOf(compare, '200_0')!;
    const right = pictureOf(compare, '300_0')!;
    // Side by side: the same rows, the same size.
    expect([left.top, left.bottom]).toEqual([right.top, right.bottom]);
    expect(left.right - left.left).toBe(right.right - right.left);
    expect(left.right).toBeLessThan(right.left);

    // [ moves the left image back a step; ↓ changes the prompt on both sides.
    pane.send('[');
    await pane.waitFor((s) => shows(s, '100_0', 200, leftSide) && shows(s, '300_0', 200, rightSide) && s.text.includes('step 100'), 'step 100 on the left after [');
    pane.send('Down');
    const prompt2 = await pane.waitFor((s) => shows(s, '100_1', 200, leftSide) && shows(s, '300_1', 200, rightSide), 'prompt 2 on both sides after ↓');
    expect(prompt2.text).toContain('prompt 2/2: a lighthouse at dusk');

    pane.send('Escape');
    const dashboard = await pane.waitFor((s) => dashboardUp(s) && shows(s, '300_1') && !s.text.includes('Compare'), 'the dashboard after Esc');
    expect(coloursOn(dashboard)).toEqual(['300_1']);
    const panelSize = pictureOf(dashboard, '300_1')!.count;

    pane.send('v');
    const view = await pane.waitFor(
      (s) => s.text.includes('any key returns to the dashboard') && shows(s, '300_1', 1000),
      'the full-screen view',
    );
    expect(view.text).not.toContain('── Loss');
    expect(view.text.split('\n')[0]).toMatch(/step 300 .*prompt 2\/2: a lighthouse at dusk/);
    const big = pictureOf(view, '300_1')!;
    // Half blocks (inside tmux there is no graphics protocol) over nearly the whole height.
    expect(big.bottom - big.top + 1).toBeGreaterThanOrEqual(ROWS - 5);
    expect(big.right - big.left + 1).toBeGreaterThanOrEqual(2 * (ROWS - 5));
    expect(big.count).toBeGreaterThan(2 * panelSize);

    pane.send('x');
    const again = await pane.waitFor((s) => dashboardUp(s) && shows(s, '300_1') && !s.text.includes('any key returns'), 'the dashboard after a key');
    // Intact: the panel's picture at its own size, the footer, no leftover of the big picture.
    expect(pictureOf(again, '300_1')!.count).toBe(panelSize);
    expect(again.text).toMatch(/q quit +\? help/);
    expect(again.text).toContain('prompt 2/2');
    await quit(pane);
  }, 60_000);

  it('a sample landing while it runs is drawn without a key press (256 colours when COLORTERM says nothing)', async () => {
    const { pane, folder } = await startOnRun('live', { COLORTERM: '' });
    const first = await pane.waitFor((s) => dashboardUp(s) && shows(s, '300_0'), 'the newest sample in 256 colours');
    // No 24-bit colour without COLORTERM: the picture uses the palette.
    expect(colourKinds(first, pictureOf(first, '300_0')!)).toEqual(['256']);
    const [r, g, b] = COLOUR['300_0']!;
    expect(first.raw).toContain(`\x1b[38;5;${nearest256(r, g, b)}m`);

    // Written through samples/.tmp and renamed in, as ai-toolkit does.
    const name = sampleName(400, 0);
    const scratch = path.join(folder, 'samples', '.tmp');
    fs.mkdirSync(scratch, { recursive: true });
    fs.writeFileSync(path.join(scratch, name), await sampleJpeg('400_0'));
    fs.renameSync(path.join(scratch, name), path.join(folder, 'samples', name));

    const landed = await pane.waitFor((s) => shows(s, '400_0') && s.text.includes('step 400'), 'the new sample (step 400) drawn');
    expect(coloursOn(landed)).toEqual(['400_0']);
    expect(landed.text).toContain('newest');
    await quit(pane);
  }, 60_000);
});
