import { describe, expect, it } from 'vitest';
import { readLog, fixtureText } from '../helpers/readLog.js';
import { frameWhere, renderDashboard, stripAnsi } from '../helpers/dashboard.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState, type RunState } from '../../src/state/runState.js';
import { addImage, emptyImageCache } from '../../src/state/imageCache.js';
import { computeLayout } from '../../src/ui/layout.js';

// The dashboard rendered with ink-testing-library at fixed sizes, for each kind of run.

const SIZES: Array<[number, number]> = [
  [120, 40],
  [80, 24],
  [40, 12],
];

function stateOf(file: string): RunState {
  return readLog(fixtureText(file), Date.parse('2026-11-28T11:59:00Z')).state;
}

function stopped(): RunState {
  const base = stateOf('003-krea2-177h-eta.txt');
  return reduceRun(base, [{ at: Date.parse('2026-11-28T11:59:30Z'), event: { type: 'jobStopped' } }]);
}

const RUNS: Array<[string, () => RunState, RegExp]> = [
  ['starting', () => initialRunState(), /STARTING/],
  ['preparing', () => stateOf('005-chroma-ui-startup-windows-ascii.txt'), /PREPARING/],
  ['sampling', () => stateOf('019-sampling-inner-bar-unloading-vae.txt'), /SAMPLING +Generating samples 0\/2 \(15\/30\)/],
  ['training', () => stateOf('003-krea2-177h-eta.txt'), /TRAINING/],
  ['saving', () => stateOf('001-lokr-saving-checkpoints-windows.txt'), /SAVING +Saving checkpoint at step 1500/],
  ['failed', () => stateOf('011-stabilitymatrix-cuda-error-doubled-traceback.txt'), /FAILED/],
  ['stopped', stopped, /STOPPED/],
];

function checkFrame(plain: string, cols: number, rows: number): void {
  const lines = plain.split('\n');
  expect(lines.length, plain).toBeLessThanOrEqual(rows - 1);
  for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(cols);
}

describe('dashboard rendering', () => {
  for (const [cols, rows] of SIZES) {
    for (const [status, make, pattern] of RUNS) {
      it(`${status} at ${cols}×${rows}`, () => {
        const r = renderDashboard(make(), cols, rows);
        const plain = r.plain();
        checkFrame(plain, cols, rows);
        if (cols < 60 || rows < 16) {
          expect(plain.replace(/\s*\n\s*/g, ' ')).toContain(`terminal too small: need 60×16, have ${cols}×${rows}`);
        } else {
          expect(plain).toMatch(pattern);
          expect(plain).toMatch(/q quit +\? help +l log/);
        }
        r.unmount();
      });
    }
  }

  it('shows progress, speed, ETA, next save and loss for a run in training', () => {
    const r = renderDashboard(stateOf('001-lokr-saving-checkpoints-windows.txt'), 120, 40);
    const plain = r.plain();
    expect(plain).toContain('lokr-test-2');
    expect(plain).toMatch(/step 1500\/3000 50%/);
    expect(plain).toMatch(/1\.57 s\/step/);
    expect(plain).toMatch(/ETA \d+m\d\ds \(\d\d:\d\d\)/);
    expect(plain).toMatch(/2000 +3000/);
    expect(plain).toMatch(/Loss +now +0\.2635/);
    expect(plain).toMatch(/step 1200 /);
    r.unmount();
  });

  it('says what went wrong when a run fails', () => {
    const r = renderDashboard(stateOf('011-stabilitymatrix-cuda-error-doubled-traceback.txt'), 80, 24);
    expect(r.plain()).toContain('OUT OF MEMORY: CUDA error: out of memory');
    r.unmount();
  });

  it('? opens the key list generated from the keymap, and Esc closes it', async () => {
    const r = renderDashboard(stateOf('003-krea2-177h-eta.txt'), 100, 30);
    r.stdin.write('?');
    const help = await frameWhere(r, (f) => f.includes('── Keys'));
    for (const text of ['Quit lora-top. The training run is not touched', 'Show or hide the last lines of the training log', 'Smooth the loss curve more']) {
      expect(help).toContain(text);
    }
    r.stdin.write('\x1b');
    await frameWhere(r, (f) => !f.includes('── Keys') && f.includes('── Loss'));
    r.unmount();
  });

  it('l shows the log with each bar reduced to its newest state', async () => {
    const r = renderDashboard(stateOf('019-sampling-inner-bar-unloading-vae.txt'), 100, 40);
    r.stdin.write('l');
    const frame = await frameWhere(r, (f) => f.includes('── Log'));
    expect(frame).toContain('50%|#####     | 15/30 [28:39<28:38, 114.56s/it]');
    expect(frame).not.toContain('14/30 [26:44');
    expect(frame).toContain('Unloading text encoder');
    r.unmount();
  });

  it('a key that cannot act says why, and q quits', async () => {
    const r = renderDashboard(stateOf('003-krea2-177h-eta.txt'), 100, 30);
    for (const shown of ['(0.95)', '(0.98)', '(0.99)']) {
      r.stdin.write('+');
      await frameWhere(r, (f) => f.includes(shown));
    }
    r.stdin.write('+');
    await frameWhere(r, (f) => f.includes('+: the loss curve is already at its smoothest'));
    r.stdin.write('q');
    await frameWhere(r, () => r.quits() === 1);
    r.unmount();
  });

  it('draws no control sequence that came from the run', () => {
    const state = { ...stateOf('003-krea2-177h-eta.txt'), name: 'evil\x1b]52;c;cHduZWQ=\x07\x1b[2Jname' };
    const r = renderDashboard(state, 100, 30);
    const frame = r.lastFrame() ?? '';
    expect(frame).not.toMatch(/\x1b\]/);
    expect(stripAnsi(frame)).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(stripAnsi(frame)).toContain('evilname');
    r.unmount();
  });

  it('NO_COLOR-style mono theme and ASCII glyphs draw without colour or non-ASCII', () => {
    const r = renderDashboard(stateOf('001-lokr-saving-checkpoints-windows.txt'), 100, 30, { theme: 'mono', glyphs: 'ascii' });
    const frame = r.lastFrame() ?? '';
    expect(frame).not.toMatch(/\x1b\[(?:3\d|4\d|9\d)(?:;\d+)*m/);
    const foreign = [...stripAnsi(frame)].filter((c) => c !== '\n' && (c < ' ' || c > '~'));
    expect(foreign.join('')).toBe('');
    r.unmount();
  });
});

describe('layout', () => {
  it('never uses the last row and keeps the floor', () => {
    for (let cols = 20; cols <= 220; cols += 7) {
      for (let rows = 5; rows <= 70; rows += 3) {
        for (const showLog of [false, true]) {
          const layout = computeLayout(cols, rows, { showLog });
          if (cols < 60 || rows < 16) {
            expect(layout.kind).toBe('tooSmall');
            continue;
          }
          expect(layout.kind).toBe('dashboard');
          if (layout.kind !== 'dashboard') continue;
          expect(layout.height).toBeLessThanOrEqual(rows - 1);
          expect(layout.rows.loss).toBeGreaterThanOrEqual(6);
          if (layout.twoColumns) expect(layout.mainWidth + 1 + layout.sideWidth).toBe(cols);
        }
      }
    }
  });

  it('gives way in a fixed order as the terminal shrinks', () => {
    const tall = computeLayout(80, 40, { showLog: true });
    const short = computeLayout(80, 20, { showLog: true });
    expect(tall.kind === 'dashboard' && tall.rows.samples > 0 && tall.rows.gpu > 0 && tall.rows.log > 0).toBe(true);
    expect(short.kind === 'dashboard' && short.rows.samples === 0 && short.rows.speed === 2).toBe(true);
  });
});

describe('sample preview', () => {
  // A 4×4 image: red on top, blue below.
  const data = new Uint8Array(4 * 4 * 3);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) data.set(y < 2 ? [255, 0, 0] : [0, 0, 255], (y * 4 + x) * 3);
  const path = '/o/samples/1__000001200_0.jpg';
  const withPreview = (): RunState => ({
    ...stateOf('001-lokr-saving-checkpoints-windows.txt'),
    samples: [{ path, step: 1200, index: 0, createdMs: 1, kind: 'image' }],
    images: addImage(emptyImageCache(), { path, maxPx: 96, image: { width: 4, height: 4, channels: 3, data } }),
  });

  it('draws the newest sample in coloured half blocks beside its step and the checkpoints', () => {
    const r = renderDashboard(withPreview(), 120, 40, { imageMode: 'truecolor' });
    const frame = r.lastFrame() ?? '';
    expect(frame).toContain('▄');
    expect(frame).toMatch(/\x1b\[[0-9;]*38;2;255;0;0[0-9;]*m|\x1b\[[0-9;]*48;2;255;0;0[0-9;]*m/);
    expect(r.plain()).toMatch(/── Samples & checkpoints/);
    expect(r.plain()).toMatch(/▄+ step 1200\n.*▄+ 300 steps ago\n.*▄+ prompt 1\/1/);
    r.unmount();
  });

  it('under NO_COLOR (mono) draws it with grey characters, no colour codes', () => {
    const r = renderDashboard(withPreview(), 120, 40, { theme: 'mono' });
    const frame = r.lastFrame() ?? '';
    expect(frame).not.toContain('▄');
    expect(frame).not.toMatch(/\x1b\[[0-9;]*[34]8;2;/);
    r.unmount();
  });
});
