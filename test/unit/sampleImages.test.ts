// Sample images end to end below the screen: real files landing in a real run folder's samples/
// while watchRun follows it, decoded by the real sharp, and drawn by the half-block renderer.
// Every wait is for a state (or a recorded decode), never a fixed sleep.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { locateRun } from '../../src/run/locateRun.js';
import { watchRun, type RunWatch } from '../../src/run/watchRun.js';
import { findImage, hasImage } from '../../src/state/imageCache.js';
import type { RunState } from '../../src/state/runState.js';
import { renderHalfBlocks, type RawImage } from '../../src/view/halfBlock.js';

// Every call of the real decoder is recorded (path, size, whether it gave an image), so that a test
// can wait for an attempt that fails (nothing shows in the state) and tell what was never tried.
const decodes = vi.hoisted(() => [] as Array<{ path: string; maxPx: number; ok: boolean }>);
vi.mock('../../src/sources/sampleImage.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/sources/sampleImage.js')>();
  return {
    ...real,
    async decodeSample(file: string, maxPx?: number) {
      const image = await real.decodeSample(file, maxPx);
      decodes.push({ path: file, maxPx: maxPx ?? real.PREVIEW_MAX_PX, ok: image !== null });
      return image;
    },
  };
});

type Rgb = readonly [number, number, number];

const RED: Rgb = [220, 40, 40];
const GREEN: Rgb = [40, 200, 60];
const BLUE: Rgb = [30, 60, 210];
const YELLOW: Rgb = [230, 210, 40];

/** Quadrants: top-left, top-right, bottom-left, bottom-right. */
type Quadrants = readonly [Rgb, Rgb, Rgb, Rgb];

const PANEL_PX = 96;

let root: string;
const watches: RunWatch[] = [];

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-samples-'));
});
beforeEach(() => {
  decodes.length = 0;
});
afterEach(async () => {
  for (const watch of watches.splice(0)) await watch.close();
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

let created = 1_795_000_000_000;
function sampleName(step: number, index: number, ext = 'jpg'): string {
  return `${created++}__${String(step).padStart(9, '0')}_${index}.${ext}`;
}

/** A run folder with a config (two prompts) and an empty samples/, and a staging folder beside it. */
function makeRun(label: string): { folder: string; samples: string; staging: string } {
  const dir = fs.mkdtempSync(path.join(root, `${label}-`));
  const folder = path.join(dir, 'run');
  const samples = path.join(folder, 'samples');
  const staging = path.join(dir, 'staging');
  fs.mkdirSync(samples, { recursive: true });
  fs.mkdirSync(staging);
  fs.writeFileSync(
    path.join(folder, 'config.yaml'),
    [
      'job: extension',
      'config:',
      '  name: pics',
      '  process:',
      '  - type: sd_trainer',
      '    train: {steps: 1000}',
      '    sample:',
      '      sample_every: 100',
      '      prompts: ["a red fox", "a lighthouse"]',
      '',
    ].join('\n'),
  );
  return { folder, samples, staging };
}

/**
 * Follows the folder (samples/ decoded for previews). The folder is not listed again for ten
 * minutes, so whatever lands after the first listing reaches the state through samples/' watcher.
 */
async function follow(folder: string): Promise<RunWatch> {
  const watch = watchRun(await locateRun(folder, root), { previews: true, rescanMs: 600_000, notifyMs: 5 });
  watches.push(watch);
  // The config is read by the first listing; samples/ is watched from the moment that is applied.
  await until(watch, (s) => s.config !== null, 'the first listing');
  return watch;
}

function describeState(s: RunState): string {
  const samples = s.samples.map((x) => `${path.basename(x.path)}(${x.kind})`).join(', ') || 'none';
  const images = s.images.entries.map((e) => `${path.basename(e.path)}@${e.maxPx}=${e.image.width}×${e.image.height}`).join(', ') || 'none';
  return `samples: ${samples}; images: ${images}; decodes: ${JSON.stringify(decodes.map((d) => ({ ...d, path: path.basename(d.path) })))}`;
}

/** The first state that passes `test` (checked now and at every notification). */
function until(watch: RunWatch, test: (s: RunState) => boolean, what: string, timeoutMs = 10_000): Promise<RunState> {
  return new Promise((resolve, reject) => {
    let unsubscribe = () => {};
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out waiting for ${what}; ${describeState(watch.getState())}`));
    }, timeoutMs);
    const check = (s: RunState): void => {
      if (!test(s)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(s);
    };
    unsubscribe = watch.subscribe(check);
    check(watch.getState());
  });
}

/** Polls `test` on every turn of the event loop (setImmediate) until it holds. */
async function poll(test: () => boolean, what: string, describe: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; ${describe()}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function rawOf(width: number, height: number, colourAt: (x: number, y: number) => Rgb): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(colourAt(x, y), (y * width + x) * 3);
  return data;
}

/** A real 1024×1024 JPEG of four solid quadrants. */
function quadrantJpeg(q: Quadrants): Promise<Buffer> {
  const size = 1024;
  const half = size / 2;
  const raw = rawOf(size, size, (x, y) => q[(y < half ? 0 : 2) + (x < half ? 0 : 1)]!);
  return sharp(raw, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
}

function solid(width: number, height: number, colour: Rgb): sharp.Sharp {
  return sharp({ create: { width, height, channels: 3, background: { r: colour[0], g: colour[1], b: colour[2] } } });
}

function pixel(image: RawImage, x: number, y: number): Rgb {
  const o = (y * image.width + x) * image.channels;
  return [image.data[o]!, image.data[o + 1]!, image.data[o + 2]!];
}

function near(actual: Rgb, expected: Rgb, tolerance: number): boolean {
  return actual.every((v, i) => Math.abs(v - expected[i]!) <= tolerance);
}

/** The colours in force at each `▄` of a truecolor row, replaying its SGR codes. */
function cellsOf(row: string): Array<{ fg: Rgb; bg: Rgb }> {
  const cells: Array<{ fg: Rgb; bg: Rgb }> = [];
  let fg: Rgb | null = null;
  let bg: Rgb | null = null;
  let consumed = 0;
  for (const match of row.matchAll(/\x1b\[(38|48);2;(\d+);(\d+);(\d+)m|\x1b\[0m|▄/g)) {
    consumed += match[0].length;
    if (match[0] === '▄') {
      if (!fg || !bg) throw new Error(`a cell with no colour set in ${JSON.stringify(row)}`);
      cells.push({ fg, bg });
    } else if (match[1] === '38') fg = [Number(match[2]), Number(match[3]), Number(match[4])];
    else if (match[1] === '48') bg = [Number(match[2]), Number(match[3]), Number(match[4])];
    else fg = bg = null;
  }
  // Nothing but colour codes and half blocks: the row was read whole.
  expect(consumed).toBe(row.length);
  return cells;
}

/**
 * Draws the decoded image in 24-bit half blocks and checks every cell: its colours are exactly the
 * decoded pixels (background = upper, foreground = lower), and those are the quadrant's colour:
 * within a few levels (JPEG) away from the quadrant edges, looser on the pixels that straddle them.
 */
function expectQuadrantCells(image: RawImage, q: Quadrants): void {
  expect(image.channels).toBe(3);
  const rows = renderHalfBlocks(image, 'truecolor');
  expect(rows).toHaveLength(Math.ceil(image.height / 2));
  const midX = image.width / 2;
  const midY = image.height / 2;
  const bad: string[] = [];
  let strict = 0;
  rows.forEach((row, r) => {
    const cells = cellsOf(row);
    expect(cells).toHaveLength(image.width);
    cells.forEach((cell, x) => {
      for (const [y, got] of [
        [2 * r, cell.bg],
        [2 * r + 1, cell.fg],
      ] as const) {
        if (y >= image.height) continue;
        const decoded = pixel(image, x, y);
        const expected = q[(y < midY ? 0 : 2) + (x < midX ? 0 : 1)]!;
        const edge = Math.min(Math.abs(x + 0.5 - midX), Math.abs(y + 0.5 - midY)) < 3;
        if (!edge) strict++;
        if (got.join() !== decoded.join()) bad.push(`cell ${x},${r} ${y % 2 ? 'fg' : 'bg'} ${got.join()} ≠ decoded ${decoded.join()}`);
        else if (!near(got, expected, edge ? 20 : 4)) bad.push(`pixel ${x},${y} is ${got.join()}, expected ${expected.join()}`);
      }
    });
  });
  expect(bad.slice(0, 10)).toEqual([]);
  // Most pixels were held to the tight tolerance.
  expect(strict).toBeGreaterThan(image.width * image.height * 0.85);
}

describe('sample images as they land in samples/ (real files, real sharp)', () => {
  it('a JPEG renamed in and another written in place are decoded at panel size and drawn as their quadrants', async () => {
    const run = makeRun('landing');
    const watch = await follow(run.folder);
    expect(watch.getState().samples).toEqual([]);

    // Written elsewhere, then renamed in (as ai-toolkit's writes through samples/.tmp do).
    const first: Quadrants = [RED, GREEN, BLUE, YELLOW];
    const staged = path.join(run.staging, 'first.jpg');
    fs.writeFileSync(staged, await quadrantJpeg(first));
    const firstPath = path.join(run.samples, sampleName(100, 0));
    fs.renameSync(staged, firstPath);
    const s1 = await until(watch, (s) => hasImage(s.images, firstPath, PANEL_PX), 'the renamed JPEG decoded');
    expect(s1.samples.map((s) => [s.step, s.index, s.kind, s.path])).toEqual([[100, 0, 'image', firstPath]]);
    const one = findImage(s1.images, firstPath, PANEL_PX)!;
    expect(one.maxPx).toBe(PANEL_PX);
    expect([one.image.width, one.image.height]).toEqual([96, 96]);
    expectQuadrantCells(one.image, first);

    // Written straight into samples/ (a newer step): it becomes the newest and is decoded at once.
    const second: Quadrants = [YELLOW, RED, GREEN, BLUE];
    const secondPath = path.join(run.samples, sampleName(200, 0));
    fs.writeFileSync(secondPath, await quadrantJpeg(second));
    const s2 = await until(watch, (s) => hasImage(s.images, secondPath, PANEL_PX), 'the JPEG written in place decoded');
    expect(s2.samples.map((s) => s.path)).toEqual([firstPath, secondPath]);
    const two = findImage(s2.images, secondPath, PANEL_PX)!;
    expect([two.image.width, two.image.height]).toEqual([96, 96]);
    expectQuadrantCells(two.image, second);
    // Each file was decoded once, at panel size.
    expect(decodes.filter((d) => d.ok).map((d) => [path.basename(d.path), d.maxPx])).toEqual([
      [path.basename(firstPath), PANEL_PX],
      [path.basename(secondPath), PANEL_PX],
    ]);
  });

  it('a WebP shows its colour, and an animated WebP its first frame', async () => {
    const run = makeRun('webp');
    const watch = await follow(run.folder);
    const STILL: Rgb = [20, 120, 220];
    const FRAME1: Rgb = [200, 30, 40];
    const FRAME2: Rgb = [10, 220, 50];

    const still = await solid(200, 120, STILL).webp({ quality: 90 }).toBuffer();
    // Two 128×128 frames stacked in one raw buffer; pageHeight makes them frames of an animation.
    const frames = rawOf(128, 256, (_x, y) => (y < 128 ? FRAME1 : FRAME2));
    const animated = await sharp(frames, { raw: { width: 128, height: 256, channels: 3, pageHeight: 128 } }).webp({ lossless: true }).toBuffer();
    const meta = await sharp(animated, { animated: true }).metadata();
    expect([meta.format, meta.pages, meta.pageHeight]).toEqual(['webp', 2, 128]);
    const second = await sharp(animated, { page: 1 }).raw().toBuffer();
    expect([...second.subarray(0, 3)]).toEqual([...FRAME2]);

    const stillPath = path.join(run.samples, sampleName(100, 0, 'webp'));
    const animPath = path.join(run.samples, sampleName(100, 1, 'webp'));
    fs.writeFileSync(path.join(run.staging, 'still.webp'), still);
    fs.writeFileSync(path.join(run.staging, 'anim.webp'), animated);
    fs.renameSync(path.join(run.staging, 'still.webp'), stillPath);
    fs.renameSync(path.join(run.staging, 'anim.webp'), animPath);

    const s = await until(watch, (st) => hasImage(st.images, stillPath, PANEL_PX) && hasImage(st.images, animPath, PANEL_PX), 'both WebPs decoded');
    const a = findImage(s.images, stillPath, PANEL_PX)!.image;
    expect([a.width, a.height]).toEqual([96, 58]);
    for (let y = 0; y < a.height; y++) for (let x = 0; x < a.width; x++) expect(near(pixel(a, x, y), STILL, 6), `still ${x},${y}: ${pixel(a, x, y).join()}`).toBe(true);

    const b = findImage(s.images, animPath, PANEL_PX)!.image;
    // One frame, not the two stacked.
    expect([b.width, b.height]).toEqual([96, 96]);
    for (let y = 0; y < b.height; y++) for (let x = 0; x < b.width; x++) expect(near(pixel(b, x, y), FRAME1, 2), `frame ${x},${y}: ${pixel(b, x, y).join()}`).toBe(true);
    const cells = renderHalfBlocks(b, 'truecolor').flatMap(cellsOf);
    expect(cells).toHaveLength(96 * 48);
    expect(cells.every((c) => near(c.fg, FRAME1, 2) && near(c.bg, FRAME1, 2))).toBe(true);
  });

  it('a half-written JPEG is not shown, and is shown once the rest of it is written', async () => {
    const run = makeRun('half');
    const watch = await follow(run.folder);
    const q: Quadrants = [BLUE, YELLOW, GREEN, RED];
    const jpeg = await quadrantJpeg(q);
    const cut = Math.floor(jpeg.length / 2);
    // The first half alone is a JPEG that stops early: sharp refuses it when asked to.
    await expect(sharp(jpeg.subarray(0, cut), { failOn: 'truncated' }).raw().toBuffer()).rejects.toThrow();

    const file = path.join(run.samples, sampleName(300, 0));
    fs.writeFileSync(file, jpeg.subarray(0, cut));
    await until(watch, (s) => s.samples.some((x) => x.path === file), 'the half-written file listed');
    await poll(
      () => decodes.some((d) => d.path === file),
      'an attempt to decode the half-written file',
      () => describeState(watch.getState()),
    );
    const attempts = () => decodes.filter((d) => d.path === file).map((d) => d.ok);
    expect(attempts().every((ok) => !ok)).toBe(true);
    expect(findImage(watch.getState().images, file)).toBeNull();

    fs.appendFileSync(file, jpeg.subarray(cut));
    const s = await until(watch, (st) => hasImage(st.images, file, PANEL_PX), 'the completed file decoded');
    // Tried again because it changed (the folder is not listed again in this test), and only then shown.
    expect(attempts().at(-1)).toBe(true);
    expect(attempts().slice(0, -1).every((ok) => !ok)).toBe(true);
    // The whole picture: the bottom quadrants (the second half of the bytes) are there too.
    expectQuadrantCells(findImage(s.images, file, PANEL_PX)!.image, q);
  });

  it('.thumbs/, .tmp/ and .txt sidecars are not listed; an .mp4 is listed as a video and never decoded', async () => {
    const run = makeRun('filters');
    fs.mkdirSync(path.join(run.samples, '.thumbs'));
    fs.mkdirSync(path.join(run.samples, '.tmp'));
    const watch = await follow(run.folder);
    const jpeg = await solid(256, 256, GREEN).jpeg().toBuffer();

    // Named as samples are named, but in ai-toolkit's thumbnail and scratch folders.
    fs.writeFileSync(path.join(run.samples, '.thumbs', sampleName(100, 0)), jpeg);
    fs.writeFileSync(path.join(run.samples, '.tmp', sampleName(100, 1)), jpeg);
    // A prompt sidecar beside a sample, and a video sample.
    fs.writeFileSync(path.join(run.samples, sampleName(200, 0, 'txt')), 'a red fox\n');
    const video = path.join(run.samples, sampleName(200, 0, 'mp4'));
    fs.writeFileSync(video, Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypisom'), Buffer.alloc(200, 7)]));
    // Last, an image of the same step: once it is decoded, the listing has seen everything above.
    const image = path.join(run.samples, sampleName(200, 1));
    fs.writeFileSync(image, jpeg);

    const s = await until(watch, (st) => hasImage(st.images, image, PANEL_PX), 'the image of step 200 decoded');
    expect(s.samples.map((x) => [path.basename(x.path), x.step, x.index, x.kind])).toEqual([
      [path.basename(video), 200, 0, 'video'],
      [path.basename(image), 200, 1, 'image'],
    ]);
    // Even when the screen asks for it, the video is not handed to the decoder.
    watch.wantImages([
      { path: video, maxPx: PANEL_PX },
      { path: image, maxPx: 200 },
    ]);
    const after = await until(watch, (st) => hasImage(st.images, image, 200), 'the image at 200 px');
    expect(decodes.map((d) => path.basename(d.path))).not.toContain(path.basename(video));
    expect(decodes.every((d) => d.path === image)).toBe(true);
    expect(findImage(after.images, video)).toBeNull();
    expect(after.samples).toHaveLength(2);
  });

  it('wantImages decodes an older step at the size asked for; only the newest step is decoded unasked', async () => {
    const run = makeRun('older');
    const OLD: Rgb = [200, 120, 30];
    const NEW: Rgb = [30, 120, 200];
    const oldPath = path.join(run.samples, sampleName(100, 0));
    const newPath = path.join(run.samples, sampleName(200, 0));
    // Already there when lora-top starts: the first listing finds them.
    fs.writeFileSync(oldPath, await solid(768, 1024, OLD).jpeg({ quality: 95 }).toBuffer());
    fs.writeFileSync(newPath, await solid(1024, 1024, NEW).jpeg({ quality: 95 }).toBuffer());
    const watch = await follow(run.folder);

    await until(watch, (s) => hasImage(s.images, newPath, PANEL_PX), 'the newest step decoded');
    expect(findImage(watch.getState().images, oldPath)).toBeNull();
    expect(decodes.map((d) => d.path)).toEqual([newPath]);

    watch.wantImages([{ path: oldPath, maxPx: 160 }]);
    const s = await until(watch, (st) => hasImage(st.images, oldPath, 160), 'the older step at 160 px');
    const entry = findImage(s.images, oldPath, 160)!;
    expect(entry.maxPx).toBe(160);
    // 768×1024 fitted inside 160×160.
    expect([entry.image.width, entry.image.height]).toEqual([120, 160]);
    for (let y = 0; y < entry.image.height; y += 7) for (let x = 0; x < entry.image.width; x += 7) expect(near(pixel(entry.image, x, y), OLD, 4)).toBe(true);
    expect(decodes.map((d) => [d.path, d.maxPx, d.ok])).toEqual([
      [newPath, PANEL_PX, true],
      [oldPath, 160, true],
    ]);
    // Asked again beside something new, only the new thing is decoded: what is cached is not redone.
    watch.wantImages([
      { path: oldPath, maxPx: 160 },
      { path: newPath, maxPx: PANEL_PX },
      { path: newPath, maxPx: 200 },
    ]);
    await until(watch, (st) => hasImage(st.images, newPath, 200), 'the newest step at 200 px');
    expect(decodes.map((d) => [d.path, d.maxPx])).toEqual([
      [newPath, PANEL_PX],
      [oldPath, 160],
      [newPath, 200],
    ]);
  });

  it('samples/ removed and made again is watched again: a half-written file there is retried when it is completed', async () => {
    const run = makeRun('recreated');
    const watch = watchRun(await locateRun(run.folder, root), { previews: true, rescanMs: 100, notifyMs: 5 });
    watches.push(watch);
    const jpeg = await quadrantJpeg([RED, GREEN, BLUE, YELLOW]);
    const first = path.join(run.samples, sampleName(100, 0));
    fs.writeFileSync(first, jpeg);
    await until(watch, (s) => hasImage(s.images, first, PANEL_PX), 'the first sample');
    fs.rmSync(run.samples, { recursive: true });
    await until(watch, (s) => s.samples.length === 0, 'samples/ gone');
    fs.mkdirSync(run.samples);
    const second = path.join(run.samples, sampleName(200, 0));
    fs.writeFileSync(second, jpeg);
    await until(watch, (s) => hasImage(s.images, second, PANEL_PX), 'a sample in the new samples/');
    const half = path.join(run.samples, sampleName(300, 0));
    fs.writeFileSync(half, jpeg.subarray(0, jpeg.length >> 1));
    await poll(() => decodes.some((d) => d.path === half), 'the half-written file tried', () => describeState(watch.getState()));
    fs.appendFileSync(half, jpeg.subarray(jpeg.length >> 1));
    await until(watch, (s) => hasImage(s.images, half, PANEL_PX), 'the completed file decoded', 3000);
  });
});
