import { describe, expect, it } from 'vitest';
import { readLog, fixtureText } from '../helpers/readLog.js';
import { frameWhere, NOW, renderDashboard, stripAnsi } from '../helpers/dashboard.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState, type RunState } from '../../src/state/runState.js';
import { addImage, emptyImageCache } from '../../src/state/imageCache.js';
import { boxOf, computeLayout } from '../../src/ui/layout.js';
import { buildPanels, buildScreen, panelInput } from '../../src/ui/screen.js';
import { initialUi } from '../../src/ui/uiState.js';
import { chooseGlyphs } from '../../src/ui/theme.js';
import { gridGeometry } from '../../src/ui/sampleGrid.js';
import { LogReader } from '../../src/parse/logReader.js';

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
    expect(plain).toMatch(/Loss +smoothed .* now +0\.2635/);
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

/** A run in training with one sample of each of two prompts, decoded: a square image, red on top, blue below. */
function withPicture(size = 64): RunState {
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data.set(y < size / 2 ? [255, 0, 0] : [0, 0, 255], (y * size + x) * 3);
  const path = '/o/samples/1__000001200_0.jpg';
  return {
    ...stateOf('001-lokr-saving-checkpoints-windows.txt'),
    samples: [{ path, step: 1200, index: 0, createdMs: 1, kind: 'image' }],
    images: addImage(emptyImageCache(), { path, maxPx: size, image: { width: size, height: size, channels: 3, data } }),
  };
}

const inputOf = (state: RunState, showLog = false) => panelInput(state, { ...initialUi(), showLog }, NOW, { target: 3000, glyphs: 'unicode', imageMode: 'truecolor' });

describe('layout', () => {
  it('every size from 60×16 to 300×90: every box inside the frame, none overlapping, the last row never used', () => {
    const inputs = [initialRunState(), withPicture(), stateOf('019-sampling-inner-bar-unloading-vae.txt')].flatMap((state) => [inputOf(state), inputOf(state, true)]);
    const problems: string[] = [];
    for (let cols = 20; cols <= 300; cols += 5) {
      for (let rows = 5; rows <= 90; rows += 3) {
        for (const [i, input] of inputs.entries()) {
          if ((cols + rows + i) % 2 === 0) continue;
          const layout = computeLayout(cols, rows, input);
          if (cols < 60 || rows < 16) {
            expect(layout.kind).toBe('tooSmall');
            continue;
          }
          if (layout.kind !== 'dashboard') throw new Error(`no dashboard at ${cols}×${rows}`);
          const where = `at ${cols}×${rows} (input ${i})`;
          if (layout.height > rows - 1) problems.push(`height ${layout.height} ${where}`);
          for (const box of layout.boxes) {
            if (box.x + box.cols > cols || box.y + box.rows > layout.height || box.rows <= 0) problems.push(`${box.id} outside ${where}`);
            for (const other of layout.boxes) {
              const overlap = other !== box && box.x < other.x + other.cols && other.x < box.x + box.cols && box.y < other.y + other.rows && other.y < box.y + box.rows;
              if (overlap) problems.push(`${box.id} overlaps ${other.id} ${where}`);
            }
          }
          if ((boxOf(layout, 'loss')?.rows ?? 0) < 6) problems.push(`loss below 6 rows ${where}`);
          if (boxOf(layout, 'footer')?.y !== layout.height - 1) problems.push(`footer not last ${where}`);
          // The frame itself, on a coarser grid (building every panel costs more than a layout).
          if (cols % 40 === 20 && rows % 12 === 2) {
            const frame = buildScreen(input, layout, 'dark');
            if (frame.length > rows - 1) problems.push(`frame of ${frame.length} rows ${where}`);
            for (const line of frame) if ([...stripAnsi(line)].length > cols) problems.push(`a row of ${[...stripAnsi(line)].length} cells ${where}`);
          }
        }
      }
    }
    expect(problems.slice(0, 10)).toEqual([]);
  });

  it('the sample picture gets its share: a column of its own from 100 columns, at least 36×18 cells at 120×40 and 60 columns at 200×55; it stays at 80×24', () => {
    const state = withPicture();
    const picture = (cols: number, rows: number) => {
      const layout = computeLayout(cols, rows, inputOf(state));
      if (layout.kind !== 'dashboard') throw new Error('too small');
      const lines = buildPanels(inputOf(state), layout).get('samples') ?? [];
      const cells = lines.filter((l) => l.some((r) => r.cells !== undefined));
      return { layout, cols: Math.max(0, ...cells.map((l) => l.find((r) => r.cells !== undefined)!.cells!)), rows: cells.length };
    };
    const at = (cols: number, rows: number) => picture(cols, rows);
    expect(at(120, 40)).toMatchObject({ layout: { twoColumns: true } });
    expect(at(120, 40).cols).toBeGreaterThanOrEqual(36);
    expect(at(120, 40).rows).toBeGreaterThanOrEqual(18);
    expect(at(200, 55).cols).toBeGreaterThanOrEqual(60);
    expect(at(240, 70).cols).toBeGreaterThanOrEqual(60);
    expect(at(160, 45).cols).toBeGreaterThanOrEqual(50);
    expect(at(100, 30).cols).toBeGreaterThanOrEqual(30);
    const small = at(80, 24);
    expect(small.layout.twoColumns).toBe(false);
    expect(small.rows).toBeGreaterThanOrEqual(4);
    // The loss chart keeps enough to read the trend.
    for (const [cols, rows] of [[80, 24], [120, 40], [200, 55]] as const) expect(boxOf(at(cols, rows).layout, 'loss')!.rows).toBeGreaterThanOrEqual(6);
  });

  it('a panel with nothing to show takes one line: no nvidia-smi, no samples yet, no checkpoint yet; without samples the screen is one column', () => {
    const base = stateOf('003-krea2-177h-eta.txt');
    const state: RunState = { ...base, gpu: { ...base.gpu, problem: { kind: 'missing', message: 'nvidia-smi not found on PATH: no GPU figures' } } };
    const layout = computeLayout(160, 45, inputOf(state));
    if (layout.kind !== 'dashboard') throw new Error('too small');
    expect(layout.twoColumns).toBe(false);
    for (const id of ['gpu', 'samples', 'checkpoints']) expect(boxOf(layout, id)?.rows, id).toBe(1);
    const lines = buildPanels(inputOf(state), layout);
    const one = (id: string) => (lines.get(id) ?? []).map((l) => l.map((r) => r.text).join(''));
    expect(one('gpu')).toEqual(['── GPU nvidia-smi not found on PATH: no GPU figures']);
    expect(one('samples')[0]).toMatch(/^── Samples none yet/);
    expect(one('checkpoints')[0]).toMatch(/^── Checkpoints none yet/);
  });

  it('the log, when shown, takes rows from the bottom only while the columns keep their least', () => {
    const tall = computeLayout(80, 40, inputOf(withPicture(), true));
    const short = computeLayout(80, 18, inputOf(withPicture(), true));
    if (tall.kind !== 'dashboard' || short.kind !== 'dashboard') throw new Error('too small');
    expect(boxOf(tall, 'log')!.rows).toBeGreaterThanOrEqual(4);
    expect(boxOf(short, 'log')).toBeNull();
    expect(boxOf(short, 'loss')!.rows).toBeGreaterThanOrEqual(6);
  });
});

describe('sample preview', () => {
  it('at 120×40: the newest sample in coloured half blocks across its column, its step and prompt under it', () => {
    const r = renderDashboard(withPicture(), 120, 40, { imageMode: 'truecolor' });
    const frame = r.lastFrame() ?? '';
    expect(frame).toContain('▄');
    expect(frame).toMatch(/\x1b\[[0-9;]*38;2;(?:255;0;0|0;0;255)[0-9;]*m|\x1b\[[0-9;]*48;2;255;0;0[0-9;]*m/);
    const plain = r.plain();
    expect(plain).toMatch(/── Loss .*── Samples/);
    expect(plain).toMatch(/▄{36,}\n.*step 1200 · 300 steps ago/);
    r.unmount();
  });

  it('at 80×24: the picture beside its step, stacked under the other panels', () => {
    const r = renderDashboard(withPicture(), 80, 24, { imageMode: 'truecolor' });
    expect(r.plain()).toMatch(/── Samples[^\n]*\n▄+ step 1200 · 300 steps ago/);
    r.unmount();
  });

  it('under NO_COLOR (mono) draws it with grey characters, no colour codes', () => {
    const r = renderDashboard(withPicture(), 120, 40, { theme: 'mono' });
    const frame = r.lastFrame() ?? '';
    expect(frame).not.toContain('▄');
    expect(frame).not.toMatch(/\x1b\[[0-9;]*[34]8;[25];/);
    r.unmount();
  });

  it('with ASCII glyphs (no Unicode blocks) draws it with spaces on background colours, one pixel a cell', () => {
    const r = renderDashboard(withPicture(), 120, 40, { glyphs: 'ascii', imageMode: 'truecolor' });
    const frame = r.lastFrame() ?? '';
    expect(frame).not.toContain('▄');
    expect(frame).toMatch(/\x1b\[48;2;255;0;0m {10,}/);
    expect(frame).toMatch(/\x1b\[48;2;0;0;255m {10,}/);
    r.unmount();
  });
});

describe('glyphs: UTF-8 unless something says the terminal cannot draw it', () => {
  it('an unset, C or POSIX locale is taken as UTF-8; a locale naming another charset, a TERM without UTF-8 or --ascii is not', () => {
    const glyphs = (env: NodeJS.ProcessEnv, flag = false) => chooseGlyphs(flag, env);
    for (const env of [{}, { LANG: 'C' }, { LANG: 'POSIX' }, { LC_ALL: 'C' }, { LANG: 'C.UTF-8' }, { LANG: 'en_US.utf8' }, { LANG: 'de_DE' }, { LANG: 'en_US.UTF-8@euro' }, { TERM: 'xterm-256color' }, { TERM: 'tmux-256color', LANG: '' }]) {
      expect(glyphs(env), JSON.stringify(env)).toBe('unicode');
    }
    for (const env of [{ LANG: 'en_US.ISO-8859-1' }, { LC_ALL: 'ja_JP.eucJP', LANG: 'en_US.UTF-8' }, { LC_CTYPE: 'ru_RU.KOI8-R' }, { TERM: 'linux' }, { TERM: 'vt100' }, { TERM: 'vt220' }, { TERM: 'dumb', LANG: 'C.UTF-8' }]) {
      expect(glyphs(env), JSON.stringify(env)).toBe('ascii');
    }
    expect(glyphs({ LANG: 'C.UTF-8' }, true)).toBe('ascii');
  });
});

describe('the grid of samples (g)', () => {
  /** Steps 100–500 × 3 prompts, each a solid colour: red, green, blue by prompt; step k's brightness k/5. */
  function gridRun(): RunState {
    let images = emptyImageCache();
    const samples: RunState['samples'] = [];
    for (let s = 1; s <= 5; s++) {
      for (let p = 0; p < 3; p++) {
        const path = `/o/samples/${s}${p}__${String(s * 100).padStart(9, '0')}_${p}.jpg`;
        samples.push({ path, step: s * 100, index: p, createdMs: s * 10 + p, kind: 'image' });
        const data = new Uint8Array(8 * 8 * 3);
        const level = Math.round((255 * s) / 5);
        for (let i = 0; i < 64; i++) data.set([p === 0 ? level : 0, p === 1 ? level : 0, p === 2 ? level : 0], i * 3);
        images = addImage(images, { path, maxPx: 64, image: { width: 8, height: 8, channels: 3, data } });
      }
    }
    return { ...stateOf('001-lokr-saving-checkpoints-windows.txt'), samples, images };
  }

  it('geometry: the newest steps across, every prompt down, square thumbnails, the selected step in view', () => {
    const run = gridRun();
    const g = gridGeometry(run, initialUi(), 118, 39);
    expect(g.prompts).toEqual([0, 1, 2]);
    expect(g.thumbCols).toBe(2 * g.thumbRows);
    expect(g.steps[g.steps.length - 1]).toBe(500);
    expect(g.steps.length).toBe(Math.min(5, Math.floor(119 / (g.thumbCols + 1))));
    expect(g.selected).toEqual({ step: 500, index: 0 });
    // A narrow screen scrolls to the step picked.
    const narrow = gridGeometry(run, { ...initialUi(), sample: { step: 100, index: 2 } }, 40, 39);
    expect(narrow.steps[0]).toBe(100);
    expect(narrow.selected).toEqual({ step: 100, index: 2 });
  });

  it('g shows every sample as thumbnails; the arrows move the selection; Enter opens it, a key returns to the grid, Esc to the dashboard', async () => {
    const r = renderDashboard(gridRun(), 120, 40, { imageMode: 'truecolor' });
    r.stdin.write('g');
    const grid = await frameWhere(r, (f) => f.includes('Samples 5 sampled steps') && f.includes('step 500'));
    expect(grid).toMatch(/step 100 +step 200 +step 300 +step 400 +step 500/);
    const frame = r.lastFrame() ?? '';
    // Red, green and blue thumbnails at full brightness (step 500) and at a fifth (step 100).
    for (const colour of ['255;0;0', '0;255;0', '0;0;255', '51;0;0', '0;0;51']) expect(frame).toContain(`48;2;${colour}m`);
    expect(grid).toMatch(/step 500 · 1000 steps ago · prompt 1\/3/);
    r.stdin.write('\x1b[D'); // ←
    await frameWhere(r, (f) => /step 400 · 1100 steps ago · prompt 1\/3/.test(f));
    r.stdin.write('\x1b[B'); // ↓
    await frameWhere(r, (f) => /step 400 · 1100 steps ago · prompt 2\/3/.test(f));
    r.stdin.write('\r');
    const view = await frameWhere(r, (f) => f.includes('any key returns'));
    expect(view).toMatch(/step 400 .*prompt 2\/3/);
    r.stdin.write('x');
    await frameWhere(r, (f) => f.includes('Samples 5 sampled steps'));
    r.stdin.write('\x1b');
    await frameWhere(r, (f) => f.includes('── Loss'));
    r.unmount();
  });
});

describe('panels are built again only when what they read changed', () => {
  it('the same run and size: the loss, speed, samples, checkpoints and log lines are the ones built last frame; a new step rebuilds the loss chart', () => {
    const state = withPicture();
    const input = inputOf(state, true);
    const layout = computeLayout(120, 40, input);
    if (layout.kind !== 'dashboard') throw new Error('too small');
    const cache = new Map();
    const first = buildPanels(input, layout, cache);
    const again = buildPanels({ ...input }, layout, cache);
    for (const id of ['loss', 'speed', 'samples', 'checkpoints', 'log', 'gpu']) expect(again.get(id), id).toBe(first.get(id));
    // The header reads the clock: built every frame.
    expect(again.get('header')).not.toBe(first.get('header'));
    const next = reduceRun(state, new LogReader().push('\rlokr-test-2:  50%|#####     | 1501/3000 [2:57:00<34:00,  1.36s/it, lr: 2.0e-04 loss: 1.000e-01]\n', NOW).map((e) => e));
    const moved = buildPanels(inputOf(next, true), layout, cache);
    expect(moved.get('loss')).not.toBe(first.get('loss'));
  });
});
