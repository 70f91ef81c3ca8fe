// Measurement: preview. How soon a new sample image is ready to draw, and what it costs the event
// loop, beside terminal-image 4 (the usual npm way to put a picture in a terminal) on the same file:
//
//   previewMs             a new 1024×1024 JPEG renamed into a run folder's samples/ (atomically, as
//                         ai-toolkit saves it) → its half-block cells ready to draw: in this process,
//                         through the built code the CLI runs (dist/): locateRun → watchRun(location,
//                         { previews: true }) → subscribe until state.images holds the file at panel
//                         size (hasImage) → imageCells(image, 24, 12, 'truecolor') as the samples panel
//                         builds them. samples/ is fs.watch'ed, sharp decodes on libuv's pool.
//   maxEventLoopDelayMs   the worst event-loop stall in this process over that same span
//                         (perf_hooks.monitorEventLoopDelay, 1 ms resolution, enabled just before the
//                         rename; read a few ms after the cells are ready so that a stall at the very
//                         end is recorded too). Median over trials; the worst trial is printed too.
//   terminalImageMs       baseline: terminal-image's `file(path, { width: 24, height: 12 })` on the
//                         same JPEG right after (ANSI half blocks, 24-bit colour forced, as our cells),
//   terminalImageStallMs  and the event-loop stall it causes, measured the same way.
//   previewScreenMs       the real CLI (`node bin/lora-top.js FOLDER`) in a 120×40 pty (util-linux
//                         `script`, lib/pty.js) with COLORTERM=truecolor: after its first frame a JPEG
//                         whose middle is one solid, distinctive colour lands in samples/; the time
//                         from the rename to the first pty output holding that colour as a 24-bit SGR
//                         (`38;2;R;G;B` or `48;2;R;G;B`, ±3 per channel; the colour to look for is the
//                         one sharp decodes from that JPEG, taken from the bytes, not from the file).
//
// Every trial uses a new image (its own colours and noise) under a new name
// `<ms>__<step:09d>_0.jpg` at a newer step, so it is the newest sample, the one the panel shows.
// Figures are medians of ctx.runs trials; one untimed image before the trials loads sharp (and
// Jimp for the baseline), as a dashboard that has already shown a sample has.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildAitkLog } from './lib/aitkLog.js';
import { hasScript, startPty, watchFirstFrame } from './lib/pty.js';
import { median, nowMs, round } from './lib/stats.js';

export const name = 'preview';
export const description =
  'a new 1024² sample JPEG landing in samples/ → its cells ready (in-process, dist/) and on screen (CLI in a 120×40 pty); event-loop stall; terminal-image 4 beside it';

const PANEL_COLS = 24;
const PANEL_ROWS = 12;
const IMAGE_PX = 1024;
const PTY_COLS = 120;
const PTY_ROWS = 40;
const GOAL_PREVIEW_MS = 100;
const GOAL_STALL_MS = 16;
const COLOUR_TOLERANCE = 3;
const TRIAL_TIMEOUT_MS = 15_000;
const LOSS_TITLE = '── Loss';
/** Wait after the CLI's first frame before the first image lands. */
const PTY_SETTLE_MS = Number(process.env.BENCH_PREVIEW_SETTLE_MS ?? 1000);
/** Distinctive solid colours, one per trial (more trials cycle with a small shift). */
const COLOURS = [
  [17, 201, 93],
  [201, 23, 157],
  [37, 89, 211],
  [233, 151, 11],
  [13, 187, 219],
  [149, 211, 29],
  [211, 61, 41],
  [121, 47, 197],
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pad9 = (n) => String(n).padStart(9, '0');

function colourOf(i) {
  const base = COLOURS[i % COLOURS.length];
  const shift = 7 * Math.floor(i / COLOURS.length);
  return base.map((v) => (v + shift) % 256);
}

/**
 * A 1024² JPEG like a sample (a photo's worth of detail: gradients and noise, ~quality 85), with
 * the middle half a solid `colour` so that the picture's colour can be recognized on screen.
 * Returns { jpeg, expect }: expect is the colour sharp decodes there at panel size.
 */
async function makeImage(sharp, mulberry32, seed, colour) {
  const random = mulberry32(seed);
  const px = Buffer.alloc(IMAGE_PX * IMAGE_PX * 3);
  const phase = random() * Math.PI * 2;
  const hue = [random(), random(), random()].map((v) => 40 + v * 150);
  const lo = IMAGE_PX / 4;
  const hi = (3 * IMAGE_PX) / 4;
  for (let y = 0; y < IMAGE_PX; y++) {
    for (let x = 0; x < IMAGE_PX; x++) {
      const o = (y * IMAGE_PX + x) * 3;
      if (x >= lo && x < hi && y >= lo && y < hi) {
        px[o] = colour[0];
        px[o + 1] = colour[1];
        px[o + 2] = colour[2];
        continue;
      }
      const wave = Math.sin(phase + x / 61 + y / 97) * 40 + Math.cos(phase + y / 43 - x / 151) * 30;
      for (let c = 0; c < 3; c++) {
        const v = hue[c] + wave * (c + 1) * 0.4 + (random() - 0.5) * 70;
        px[o + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  const jpeg = await sharp(px, { raw: { width: IMAGE_PX, height: IMAGE_PX, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
  // What the dashboard will see: decoded from the bytes (not the file, so that libvips caches
  // nothing by its name) the way sources/sampleImage.js decodes, the middle pixel at panel size.
  const { data, info } = await sharp(jpeg).resize({ width: 96, height: 96, fit: 'inside', withoutEnlargement: true }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const mid = ((info.height >> 1) * info.width + (info.width >> 1)) * 3;
  return { jpeg, expect: [data[mid], data[mid + 1], data[mid + 2]] };
}

/** The first 24-bit SGR colour (fg or bg) in `text` within ±tolerance of `rgb`, or null. */
function findColour(text, rgb, tolerance = COLOUR_TOLERANCE) {
  const re = /[34]8;2;(\d{1,3});(\d{1,3});(\d{1,3})/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const got = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (got.every((v, c) => Math.abs(v - rgb[c]) <= tolerance)) return m[0];
  }
  return null;
}

/** Writes the JPEG beside the run folder, then renames it into samples/ (the moment it lands). */
function landSample(dir, folder, jpeg, step, index = 0) {
  const file = `${Date.now()}__${pad9(step)}_${index}.jpg`;
  const tmp = join(dir, `.incoming-${file}`);
  writeFileSync(tmp, jpeg);
  const path = join(folder, 'samples', file);
  return {
    path,
    land() {
      renameSync(tmp, path);
    },
  };
}

/** A run folder with a real-looking log (one unfinished session) and an empty samples/. */
function makeRunFolder(dir, name) {
  const folder = join(dir, 'output', name);
  mkdirSync(join(folder, 'samples'), { recursive: true });
  const log = buildAitkLog({ totalSteps: 3000, sessionSteps: 3000, maxSessions: 1 });
  writeFileSync(join(folder, 'log.txt'), log.text);
  return folder;
}

/** terminal-image, its version and a chalk forced to 24-bit colour; or null when it is not installed. */
async function loadTerminalImage() {
  let entry;
  try {
    entry = fileURLToPath(import.meta.resolve('terminal-image'));
  } catch {
    return null;
  }
  if (!existsSync(entry)) return null;
  const pkg = JSON.parse(readFileSync(join(dirname(entry), 'package.json'), 'utf8'));
  const terminalImage = (await import(pathToFileURL(entry).href)).default;
  // terminal-image colours its half blocks through chalk, which turns colour off when stdout is no
  // TTY (as here): force 24-bit colour on the very chalk it imports, so that it does all the work.
  const chalkPath = createRequire(entry).resolve('chalk');
  const chalk = (await import(pathToFileURL(chalkPath).href)).default;
  chalk.level = 3;
  return { terminalImage, version: pkg.version, jimp: jimpVersion(entry) };
}

function jimpVersion(entry) {
  try {
    const path = createRequire(entry).resolve('jimp/package.json');
    return JSON.parse(readFileSync(path, 'utf8')).version;
  } catch {
    return '?';
  }
}

/** Runs `fn` with the event-loop delay histogram on; returns { value, ms, stallMs }. */
async function measured(fn) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = nowMs();
  const value = await fn(t0);
  const ms = nowMs() - t0;
  // a stall in the last synchronous stretch is recorded only at the histogram's next tick
  await sleep(5);
  h.disable();
  return { value, ms: value?.ms ?? ms, stallMs: h.max / 1e6 };
}

export async function run(ctx) {
  const { locateRun } = await import(join(ctx.root, 'dist/run/locateRun.js'));
  const { watchRun } = await import(join(ctx.root, 'dist/run/watchRun.js'));
  const { hasImage, findImage } = await import(join(ctx.root, 'dist/state/imageCache.js'));
  const { imageCells, PANEL_PX } = await import(join(ctx.root, 'dist/ui/sampleView.js'));
  const sharp = (await import('sharp')).default;
  const ti = await loadTerminalImage();
  const notes = [];
  if (!ti) {
    const line = 'terminal-image is not installed, so its baselines are left empty: `npm ci` (it is a devDependency, terminal-image@^4)';
    process.stdout.write(`${line}\n`);
    notes.push(line);
  } else {
    ctx.log(`baseline: terminal-image ${ti.version} (jimp ${ti.jimp}), ANSI half blocks, 24-bit colour`);
  }

  mkdirSync(ctx.tmpDir, { recursive: true });
  const dir = realpathSync(mkdtempSync(join(ctx.tmpDir, 'preview-')));
  const images = [];
  try {
    // every image made up front, off the clock
    // the demo's seeded generator (mulberry32), from the built code
    const { mulberry32 } = await import(join(ctx.root, 'dist/demo/demoConfig.js'));
    for (let i = 0; i < 2 * ctx.runs + 2; i++) images.push(await makeImage(sharp, mulberry32, 1000 + i, colourOf(i)));
    ctx.log(`${images.length} test JPEGs of ${IMAGE_PX}², ${(median(images.map((m) => m.jpeg.length)) / 1024).toFixed(0)} KiB each (median)`);

    // ---- in-process: watchRun → state.images → imageCells
    const folder = makeRunFolder(dir, 'preview_lora');
    const location = await locateRun(folder, dir);
    if (location.kind !== 'folder') throw new Error(`locateRun took ${folder} for a ${location.kind}`);
    const watch = watchRun(location, { previews: true });
    const trials = [];
    const baseline = [];
    let step = 250;
    try {
      const until = (test, what) =>
        new Promise((resolve, reject) => {
          const check = (state) => {
            const got = test(state);
            if (!got) return;
            clearTimeout(timer);
            off();
            resolve(got);
          };
          const timer = setTimeout(() => {
            off();
            reject(new Error(`timed out after ${TRIAL_TIMEOUT_MS} ms waiting for ${what}`));
          }, TRIAL_TIMEOUT_MS);
          const off = watch.subscribe(check);
          check(watch.getState());
        });
      /** Lands image `i` at a new step; resolves with the time its cells were ready (ms after the rename). */
      const preview = (i) => {
        const sample = landSample(dir, folder, images[i].jpeg, step, 0);
        step += 250;
        let t0 = 0;
        const ready = until((state) => {
          if (!hasImage(state.images, sample.path, PANEL_PX)) return null;
          const image = findImage(state.images, sample.path, PANEL_PX).image;
          const cells = imageCells(image, PANEL_COLS, PANEL_ROWS, 'truecolor');
          return { ms: nowMs() - t0, cells };
        }, `${sample.path} in state.images`);
        return {
          path: sample.path,
          run: (start) => {
            t0 = start;
            sample.land();
            return ready;
          },
        };
      };

      // the folder's first scan (it starts watching samples/), then one untimed image: sharp loaded
      // the first notification comes after the folder's first scan, which starts watching samples/
      await new Promise((resolve) => {
        const off = watch.subscribe(() => {
          off();
          resolve();
        });
      });
      await sleep(300);
      const warm = preview(images.length - 1);
      const warmResult = await warm.run(nowMs());
      if (ti) await ti.terminalImage.file(warm.path, { width: PANEL_COLS, height: PANEL_ROWS, preferNativeRender: false });
      ctx.log(`warm-up image ready in ${warmResult.ms.toFixed(1)} ms (loads sharp)`);

      for (let i = 0; i < ctx.runs; i++) {
        await sleep(250);
        const p = preview(i);
        const r = await measured((t0) => p.run(t0));
        const cellsText = r.value.cells.rows.join('\n');
        if (!findColour(cellsText, images[i].expect)) {
          throw new Error(`the cells of ${p.path} do not hold its colour rgb(${images[i].expect.join(',')})`);
        }
        trials.push({ ms: r.ms, stallMs: r.stallMs, cols: r.value.cells.cols, rows: r.value.cells.rows.length });
        let b = null;
        if (ti) {
          await sleep(100);
          const out = await measured(() =>
            ti.terminalImage.file(p.path, { width: PANEL_COLS, height: PANEL_ROWS, preferNativeRender: false }),
          );
          if (!findColour(out.value, images[i].expect, 8)) {
            throw new Error(`terminal-image's output for ${p.path} lacks its colour rgb(${images[i].expect.join(',')}) (colour off?)`);
          }
          b = { ms: out.ms, stallMs: out.stallMs, rows: out.value.split('\n').length };
          baseline.push(b);
        }
        ctx.log(
          `trial ${i + 1}/${ctx.runs}: lora-top ${r.ms.toFixed(1)} ms, stall ${r.stallMs.toFixed(1)} ms` +
            (b ? `; terminal-image ${b.ms.toFixed(1)} ms, stall ${b.stallMs.toFixed(1)} ms` : ''),
        );
      }
    } finally {
      await watch.close();
    }

    // ---- the real CLI in a pty: rename → the picture's colour in the terminal's input
    const screen = await measureScreen(ctx, dir, images, ctx.runs).catch((error) => ({ error }));
    if (screen.error) {
      notes.push(`preview: the pty measure failed and is left out: ${screen.error.message}`);
      ctx.log(`pty measure failed: ${screen.error.message}`);
    }
    const screenTimes = screen.error ? [] : screen.times;
    // ---- the same with the terminal's own pictures: rename → the picture's escape sequence in the pty
    const protocols = {};
    for (const protocol of Object.keys(PROTOCOLS)) {
      protocols[protocol] = await measureProtocol(ctx, dir, images, ctx.runs, protocol).catch((error) => ({ error }));
      if (protocols[protocol].error) notes.push(`preview: the ${protocol} pty measure failed and is left out: ${protocols[protocol].error.message}`);
    }
    const protocolMs = (protocol) => (protocols[protocol]?.times?.length ? median(protocols[protocol].times) : null);

    const previewMs = median(trials.map((t) => t.ms));
    const stall = median(trials.map((t) => t.stallMs));
    const stallWorst = Math.max(...trials.map((t) => t.stallMs));
    const tiMs = baseline.length ? median(baseline.map((b) => b.ms)) : null;
    const tiStall = baseline.length ? median(baseline.map((b) => b.stallMs)) : null;
    const tiStallWorst = baseline.length ? Math.max(...baseline.map((b) => b.stallMs)) : null;
    const previewScreenMs = screenTimes.length ? median(screenTimes) : null;
    const tiLabel = ti ? `terminal-image ${ti.version}` : 'terminal-image: not installed';
    const base = (value, label = tiLabel) => ({ label, value, unit: 'ms' });

    const rows = [
      {
        figure: `previewMs (median of ${ctx.runs}; ${PANEL_COLS}×${PANEL_ROWS} cells)`,
        value: previewMs,
        unit: 'ms',
        goal: { op: '<=', target: GOAL_PREVIEW_MS },
        baseline: base(tiMs),
      },
      {
        figure: 'maxEventLoopDelayMs (median)',
        value: stall,
        unit: 'ms',
        goal: { op: '<=', target: GOAL_STALL_MS },
        baseline: base(tiStall),
      },
      { figure: '  worst stall of the trials', value: stallWorst, unit: 'ms', baseline: base(tiStallWorst) },
      // no baseline: terminal-image draws nothing by itself and watches no folder
      { figure: `previewScreenMs (CLI in a ${PTY_COLS}×${PTY_ROWS} pty)`, value: previewScreenMs, unit: 'ms' },
      ...Object.keys(PROTOCOLS).map((protocol) => ({
        figure: `  with ${protocol} pictures (full resolution)`,
        value: protocolMs(protocol),
        unit: 'ms',
        baseline: { label: 'half blocks, same run', value: previewScreenMs, unit: 'ms' },
      })),
    ];
    const list = (xs) => xs.map((x) => x.toFixed(1)).join(' ');
    notes.push(
      [
        `preview: ${ctx.runs} trials, each a new ${IMAGE_PX}×${IMAGE_PX} JPEG (${(median(images.map((m) => m.jpeg.length)) / 1024).toFixed(0)} KiB median; noise and gradients around a solid middle) renamed into samples/ at a newer step;`,
        `  in this process through dist/: locateRun → watchRun({ previews: true }) (samples/ fs.watch'ed, 15 ms settle, sharp on libuv's pool) → state.images (hasImage at ${PANEL_PX} px) → imageCells(…, ${PANEL_COLS}, ${PANEL_ROWS}, 'truecolor') = ${trials[0]?.cols}×${trials[0]?.rows} cells.`,
        `  lora-top ms:          ${list(trials.map((t) => t.ms))}`,
        `  lora-top stall ms:    ${list(trials.map((t) => t.stallMs))}   (monitorEventLoopDelay, 1 ms resolution: ~1 ms is an idle loop)`,
        ti
          ? `  terminal-image ms:    ${list(baseline.map((b) => b.ms))}   (file(path, { width: ${PANEL_COLS}, height: ${PANEL_ROWS}, preferNativeRender: false }): Jimp decodes in JS, ${baseline[0]?.rows} rows)`
          : '  terminal-image:       not installed',
        ti ? `  terminal-image stall: ${list(baseline.map((b) => b.stallMs))}` : '',
        screen.error
          ? '  pty: left out (see above)'
          : `  pty (node bin/lora-top.js FOLDER, ${PTY_COLS}×${PTY_ROWS}, COLORTERM=truecolor; first frame at ${screen.firstFrameMs.toFixed(0)} ms): rename → first output holding the image's colour (±${COLOUR_TOLERANCE}), ms: ${list(screenTimes)}` +
            `\n    (first output of any kind after the rename, ms: ${list(screen.firstOutputs)}; Ink draws at most 10 frames/s; warm-up image ${screen.warmMs.toFixed(0)} ms)`,
      ]
        .filter(Boolean)
        .join('\n'),
    );

    const results = {
      previewMs: round(previewMs, 1),
      maxEventLoopDelayMs: round(stall, 2),
      previewWorstEventLoopDelayMs: round(stallWorst, 2),
      terminalImageMs: round(tiMs, 1),
      terminalImageStallMs: round(tiStall, 2),
      terminalImageVersion: ti?.version ?? null,
      previewScreenMs: round(previewScreenMs, 1),
      previewScreenKittyMs: round(protocolMs('kitty'), 1),
      previewScreenIterm2Ms: round(protocolMs('iterm2'), 1),
      previewScreenSixelMs: round(protocolMs('sixel'), 1),
      previewRuns: ctx.runs,
    };
    return { rows, results, notes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Terminals that draw pictures themselves, as lora-top sees them: the environment, the answer to
 * its one question (typed in as the terminal would), and the escape sequence that carries a picture.
 */
const PROTOCOLS = {
  kitty: { env: { TERM: 'xterm-kitty', KITTY_WINDOW_ID: '1' }, reply: null, marker: '\x1b_Ga=T,U=1' },
  iterm2: { env: { TERM_PROGRAM: 'iTerm.app' }, reply: null, marker: '\x1b]1337;File=' },
  sixel: { env: {}, reply: '\x1b[6;20;10t\x1b[?62;4;22c', marker: '\x1bP0;1;0q' },
};

/** The CLI in a pty on a terminal with `protocol`: a new sample's landing → its picture's escape sequence out. */
async function measureProtocol(ctx, dir, images, runs, protocol) {
  const { env, reply, marker } = PROTOCOLS[protocol];
  const folder = makeRunFolder(dir, `preview_${protocol}`);
  const cli = join(ctx.root, 'bin/lora-top.js');
  const s = startPty(process.execPath, [cli, folder], { cols: PTY_COLS, rows: PTY_ROWS, cwd: ctx.root, env: { COLORTERM: 'truecolor', ...env }, exe: realpathSync(process.execPath) });
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no first frame with ${JSON.stringify(LOSS_TITLE)} in 20 s`)), 20_000);
      watchFirstFrame(s, LOSS_TITLE, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    let step = 250;
    let asked = false;
    const time = async (i) => {
      const sample = landSample(dir, folder, images[i].jpeg, step, 0);
      step += 250;
      let seen = '';
      let droppedAt = 0;
      const found = new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`no ${protocol} picture ${TRIAL_TIMEOUT_MS} ms after ${sample.path} landed`));
        }, TRIAL_TIMEOUT_MS);
        const off = s.onChunk((chunk) => {
          const text = s.tail.toString('latin1');
          // The terminal's answer to the one question lora-top asks (cell size, DA1 with sixel).
          if (reply && !asked && text.includes('\x1b[c')) {
            asked = true;
            s.send(reply);
          }
          if (chunk.t >= droppedAt) seen += chunk.buf.toString('latin1');
          if (chunk.t >= droppedAt && seen.includes(marker)) {
            off();
            clearTimeout(timer);
            resolve(chunk.t - droppedAt);
          }
        });
      });
      droppedAt = nowMs() - s.t0;
      sample.land();
      return found;
    };
    await sleep(PTY_SETTLE_MS);
    await time(images.length - 2);
    const times = [];
    for (let i = 0; i < runs; i++) {
      await sleep(400);
      times.push(await time(runs + i));
    }
    ctx.log(`${protocol} pty: rename → picture sent, ms: ${times.map((t) => t.toFixed(1)).join(' ')}`);
    return { times };
  } finally {
    await s.stop();
  }
}

/** The CLI in a pty: first frame, a warm-up image, then ctx.runs timed images. */
async function measureScreen(ctx, dir, images, runs) {
  if (!hasScript) throw new Error('util-linux `script` is missing (apt-get install -y bsdutils)');
  const folder = makeRunFolder(dir, 'preview_pty');
  const cli = join(ctx.root, 'bin/lora-top.js');
  const s = startPty(process.execPath, [cli, folder], {
    cols: PTY_COLS,
    rows: PTY_ROWS,
    cwd: ctx.root,
    env: { COLORTERM: 'truecolor' },
    exe: realpathSync(process.execPath),
  });
  try {
    const firstFrameMs = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no first frame with ${JSON.stringify(LOSS_TITLE)} in 20 s`)), 20_000);
      watchFirstFrame(s, LOSS_TITLE, (f) => {
        clearTimeout(timer);
        resolve(f.ms);
      });
      void s.done.then(() => reject(new Error(`lora-top exited before its first frame: ${JSON.stringify(s.exit)} ${s.stderr}`)));
    });
    let step = 250;
    const time = async (i) => {
      const sample = landSample(dir, folder, images[i].jpeg, step, 0);
      step += 250;
      let seen = '';
      let droppedAt = 0;
      let firstOutput = null;
      const found = new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`rgb(${images[i].expect.join(',')}) not seen in the pty ${TRIAL_TIMEOUT_MS} ms after ${sample.path} landed`));
        }, TRIAL_TIMEOUT_MS);
        const off = s.onChunk((chunk) => {
          if (chunk.t < droppedAt) return;
          firstOutput ??= chunk.t - droppedAt;
          seen += chunk.buf.toString('latin1');
          if (findColour(seen, images[i].expect)) {
            off();
            clearTimeout(timer);
            resolve({ ms: chunk.t - droppedAt, firstOutputMs: firstOutput });
          }
        });
      });
      droppedAt = nowMs() - s.t0;
      sample.land();
      return found;
    };
    // lora-top starts watching samples/ once its first folder scan is done, which may be after the
    // first frame: give it that time, as a run's first sample comes minutes after start-up
    await sleep(PTY_SETTLE_MS);
    const warm = await time(images.length - 2);
    ctx.log(`pty: first frame at ${firstFrameMs.toFixed(0)} ms, warm-up image on screen ${warm.ms.toFixed(1)} ms after landing`);
    const times = [];
    const firstOutputs = [];
    for (let i = 0; i < runs; i++) {
      await sleep(400);
      const r = await time(runs + i);
      times.push(r.ms);
      firstOutputs.push(r.firstOutputMs);
      ctx.log(`pty trial ${i + 1}/${runs}: ${r.ms.toFixed(1)} ms (first output after landing at ${r.firstOutputMs.toFixed(1)} ms)`);
    }
    return { times, firstOutputs, firstFrameMs, warmMs: warm.ms };
  } finally {
    await s.stop();
  }
}
