import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRunConfigText } from '../../src/parse/runConfig.js';
import { parseSampleName } from '../../src/parse/sampleName.js';
import { listSamples } from '../../src/run/runFolder.js';
import { estimateFinish } from '../../src/state/eta.js';
import { addImage, emptyImageCache, findImage, hasImage, keepImages, type CachedImage, type ImageCache } from '../../src/state/imageCache.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState, type RunEvent, type RunState, type SampleFile } from '../../src/state/runState.js';
import { neighbourStep, promptCount, resolvePick, sampleAt, sampledSteps } from '../../src/state/sampleIndex.js';
import { buildGalleryModel, type GalleryInput } from '../../src/ui/galleryModel.js';
import { imageCells, imageWishes, PANEL_PX, pixelsFor } from '../../src/ui/sampleView.js';
import { initialUi, type UiState } from '../../src/ui/uiState.js';
import type { ViewLine } from '../../src/ui/viewLine.js';
import type { RawImage } from '../../src/view/halfBlock.js';
import { jsonSnapshot } from '../../src/view/snapshot.js';

// Samples: their file names, the step × prompt index, the decoded-image cache, what the screen
// wants decoded, the full-screen and comparison screens, and the --json snapshot's samples.

const pad9 = (n: number) => String(n).padStart(9, '0');

/** A sample file as runFolder lists it; createdMs defaults to one second per step. */
function sample(step: number, index: number, opts: { createdMs?: number; kind?: SampleFile['kind']; ext?: string } = {}): SampleFile {
  const createdMs = opts.createdMs ?? 1_700_000_000_000 + step * 1000 + index;
  const kind = opts.kind ?? 'image';
  const ext = opts.ext ?? (kind === 'video' ? 'mp4' : kind === 'audio' ? 'wav' : 'jpg');
  return { step, index, createdMs, kind, path: `/out/job/samples/${createdMs}__${pad9(step)}_${index}.${ext}` };
}

/** A solid RGB image. */
function solid(width: number, height: number, rgb: [number, number, number]): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, channels: 3, data };
}

/** An image whose only interesting property is its byte size. */
function bytesImage(bytes: number): RawImage {
  return { width: 1, height: 1, channels: 3, data: new Uint8Array(bytes) };
}

function entry(path: string, maxPx: number, bytes = 12): CachedImage {
  return { path, maxPx, image: bytesImage(bytes) };
}

const CONFIG_YAML = `
job: extension
config:
  name: job
  process:
    - type: sd_trainer
      training_folder: /out
      train:
        steps: 1000
      save:
        save_every: 250
      sample:
        sample_every: 100
        prompts:
          - a photo of a cat
          - a photo of a dog
`;
const config = parseRunConfigText(CONFIG_YAML)!;

function runWith(samples: SampleFile[], extra: RunEvent[] = []): RunState {
  const events: RunEvent[] = [{ type: 'configLoaded', config }, { type: 'sampleList', samples }, ...extra];
  return reduceRun(initialRunState(), events.map((event, i) => ({ at: 1000 + i, event })));
}

const lineText = (line: ViewLine) => line.map((r) => r.text).join('');
const lineCells = (line: ViewLine) => line.reduce((n, r) => n + (r.cells ?? [...r.text].length), 0);

describe('parseSampleName', () => {
  it('reads the creation time, step, prompt index and extension of an ai-toolkit sample', () => {
    expect(parseSampleName('1724104396637__000000250_0.jpg')).toEqual({ createdMs: 1724104396637, step: 250, index: 0, ext: 'jpg', kind: 'image' });
    expect(parseSampleName('1724104396637__000012000_13.png')).toEqual({ createdMs: 1724104396637, step: 12000, index: 13, ext: 'png', kind: 'image' });
  });

  it('tells images, videos and audio apart by extension, in any case', () => {
    const kinds = (ext: string) => parseSampleName(`1__000000100_0.${ext}`)?.kind ?? null;
    for (const ext of ['jpg', 'jpeg', 'png', 'webp', 'JPG', 'Png']) expect(kinds(ext), ext).toBe('image');
    for (const ext of ['mp4', 'webm', 'mov', 'gif', 'MP4']) expect(kinds(ext), ext).toBe('video');
    for (const ext of ['wav', 'mp3', 'flac', 'ogg']) expect(kinds(ext), ext).toBe('audio');
    expect(parseSampleName('1__000000100_0.JPG')?.ext).toBe('jpg');
  });

  it('rejects sidecars, thumbnails and names that are not quite the pattern', () => {
    for (const name of [
      '1724104396637__000000250_0.txt', // the prompt sidecar
      '1724104396637__000000250_0.jpg.jpg', // a thumbnail
      '1724104396637__000000250_0.jpg.tmp',
      '1724104396637_000000250_0.jpg', // single underscore
      '1724104396637__00000250_0.jpg', // 8-digit step
      '1724104396637__0000002500_0.jpg', // 10-digit step
      '1724104396637__000000250.jpg', // no prompt index
      '1724104396637__000000250_0', // no extension
      '__000000250_0.jpg', // no time
      'abc__000000250_0.jpg',
      '1724104396637__000000250_0.safetensors',
      ' 1724104396637__000000250_0.jpg',
      '',
    ]) {
      expect(parseSampleName(name), name).toBeNull();
    }
  });
});

describe('sample index', () => {
  // Steps 100 and 200 have both prompts; at 300 only prompt 0 is done (sampling under way).
  const samples = [sample(100, 0), sample(100, 1), sample(200, 0), sample(200, 1), sample(300, 0)];

  it('lists the sampled steps once each, ascending', () => {
    expect(sampledSteps(samples)).toEqual([100, 200, 300]);
    expect(sampledSteps([])).toEqual([]);
    expect(sampledSteps([sample(5, 0)])).toEqual([5]);
  });

  it('finds the sample of a step and prompt, or null', () => {
    expect(sampleAt(samples, 200, 1)).toBe(samples[3]);
    expect(sampleAt(samples, 300, 1)).toBeNull();
    expect(sampleAt(samples, 150, 0)).toBeNull();
    expect(sampleAt([], 100, 0)).toBeNull();
  });

  it('takes the newer file when a prompt was sampled twice at one step (a resume)', () => {
    const older = sample(200, 0, { createdMs: 5_000 });
    const newer = sample(200, 0, { createdMs: 9_000 });
    const list = [sample(100, 0), older, newer, sample(200, 1)];
    expect(sampleAt(list, 200, 0)).toBe(newer);
    expect(resolvePick(list, { step: 200, index: 0 })?.sample).toBe(newer);
    expect(resolvePick(list, { step: null, index: 0 })?.sample).toBe(newer);
  });

  it("counts prompts as the config's list or the most indexes seen, whichever is more", () => {
    expect(promptCount(samples, 0)).toBe(2);
    expect(promptCount(samples, 5)).toBe(5);
    expect(promptCount([sample(100, 3)], 2)).toBe(4);
    expect(promptCount([], 0)).toBe(0);
  });

  it('follows the newest step', () => {
    expect(resolvePick(samples, { step: null, index: 0 })).toEqual({ step: 300, index: 0, sample: samples[4], newest: true });
    expect(resolvePick([], { step: null, index: 0 })).toBeNull();
    expect(resolvePick([], { step: 100, index: 0 })).toBeNull();
  });

  it('following the newest, a prompt not sampled yet at the newest step shows at the newest step that has it', () => {
    expect(resolvePick(samples, { step: null, index: 1 })).toEqual({ step: 200, index: 1, sample: samples[3], newest: false });
  });

  it('following the newest, a prompt never sampled shows as missing at the newest step', () => {
    expect(resolvePick(samples, { step: null, index: 4 })).toEqual({ step: 300, index: 4, sample: null, newest: true });
  });

  it('a picked step shows that step even where the prompt is missing there', () => {
    expect(resolvePick(samples, { step: 100, index: 1 })).toEqual({ step: 100, index: 1, sample: samples[1], newest: false });
    expect(resolvePick(samples, { step: 300, index: 1 })).toEqual({ step: 300, index: 1, sample: null, newest: true });
    expect(resolvePick(samples, { step: 300, index: 0 })?.newest).toBe(true);
  });

  it('a pick at a deleted step falls to the nearest sampled step before it (or the first)', () => {
    expect(resolvePick(samples, { step: 250, index: 0 })).toMatchObject({ step: 200, sample: samples[2], newest: false });
    expect(resolvePick(samples, { step: 299, index: 1 })).toMatchObject({ step: 200, sample: samples[3] });
    expect(resolvePick(samples, { step: 900, index: 0 })).toMatchObject({ step: 300, newest: true });
    expect(resolvePick(samples, { step: 50, index: 0 })).toMatchObject({ step: 100, sample: samples[0] });
  });

  it('finds the sampled step before and after any step', () => {
    expect(neighbourStep(samples, 200, -1)).toBe(100);
    expect(neighbourStep(samples, 200, 1)).toBe(300);
    expect(neighbourStep(samples, 100, -1)).toBeNull();
    expect(neighbourStep(samples, 300, 1)).toBeNull();
    expect(neighbourStep(samples, 250, -1)).toBe(200);
    expect(neighbourStep(samples, 250, 1)).toBe(300);
    expect(neighbourStep(samples, 0, 1)).toBe(100);
    expect(neighbourStep([], 100, 1)).toBeNull();
  });
});

describe('image cache', () => {
  it('adds images oldest first and counts their bytes, without changing the cache it was given', () => {
    const empty = emptyImageCache();
    const one = addImage(empty, entry('/a.jpg', 96, 10));
    const two = addImage(one, entry('/b.jpg', 96, 20));
    expect(empty).toEqual({ entries: [], bytes: 0 });
    expect(one.entries.map((e) => e.path)).toEqual(['/a.jpg']);
    expect(two.entries.map((e) => e.path)).toEqual(['/a.jpg', '/b.jpg']);
    expect(two.bytes).toBe(30);
  });

  it('replaces an image of the same file and size, which becomes the newest', () => {
    const first = entry('/a.jpg', 96, 10);
    const again = entry('/a.jpg', 96, 30);
    let cache = addImage(emptyImageCache(), first);
    cache = addImage(cache, entry('/b.jpg', 96, 20));
    cache = addImage(cache, again);
    expect(cache.entries.map((e) => e.path)).toEqual(['/b.jpg', '/a.jpg']);
    expect(cache.entries[1]).toBe(again);
    expect(cache.bytes).toBe(50);
  });

  it('keeps the same file at different sizes side by side', () => {
    let cache = addImage(emptyImageCache(), entry('/a.jpg', 96, 10));
    cache = addImage(cache, entry('/a.jpg', 512, 40));
    expect(cache.entries.map((e) => e.maxPx)).toEqual([96, 512]);
    expect(cache.bytes).toBe(50);
  });

  it('evicts the oldest images beyond the byte limit', () => {
    let cache: ImageCache = emptyImageCache();
    for (const path of ['/1.jpg', '/2.jpg', '/3.jpg']) cache = addImage(cache, entry(path, 96, 40), 100);
    expect(cache.entries.map((e) => e.path)).toEqual(['/2.jpg', '/3.jpg']);
    expect(cache.bytes).toBe(80);
    cache = addImage(cache, entry('/4.jpg', 96, 90), 100);
    expect(cache.entries.map((e) => e.path)).toEqual(['/4.jpg']);
    expect(cache.bytes).toBe(90);
  });

  it('keeps the newest image even when it alone is over the limit', () => {
    let cache = addImage(emptyImageCache(), entry('/1.jpg', 96, 40), 100);
    cache = addImage(cache, entry('/big.jpg', 512, 150), 100);
    expect(cache.entries.map((e) => e.path)).toEqual(['/big.jpg']);
    expect(cache.bytes).toBe(150);
  });

  it('finds the smallest image at the size wanted or more, else the largest there is', () => {
    // Inserted out of size order, so the order of entries does not decide.
    let cache = emptyImageCache();
    for (const px of [512, 96, 256]) cache = addImage(cache, entry('/a.jpg', px));
    cache = addImage(cache, entry('/b.jpg', 200));
    expect(findImage(cache, '/a.jpg', 200)?.maxPx).toBe(256);
    expect(findImage(cache, '/a.jpg', 256)?.maxPx).toBe(256);
    expect(findImage(cache, '/a.jpg', 257)?.maxPx).toBe(512);
    expect(findImage(cache, '/a.jpg', 0)?.maxPx).toBe(96);
    expect(findImage(cache, '/a.jpg')?.maxPx).toBe(96);
    expect(findImage(cache, '/a.jpg', 1000)?.maxPx).toBe(512);
    expect(findImage(cache, '/b.jpg', 1000)?.maxPx).toBe(200);
    expect(findImage(cache, '/c.jpg', 0)).toBeNull();
    let reversed = emptyImageCache();
    for (const px of [96, 256, 512]) reversed = addImage(reversed, entry('/a.jpg', px));
    expect(findImage(reversed, '/a.jpg', 1000)?.maxPx).toBe(512);
    expect(findImage(reversed, '/a.jpg', 100)?.maxPx).toBe(256);
  });

  it('says whether a file is there at a size or more', () => {
    const cache = addImage(emptyImageCache(), entry('/a.jpg', 256));
    expect(hasImage(cache, '/a.jpg', 96)).toBe(true);
    expect(hasImage(cache, '/a.jpg', 256)).toBe(true);
    expect(hasImage(cache, '/a.jpg', 257)).toBe(false);
    expect(hasImage(cache, '/b.jpg', 0)).toBe(false);
  });

  it('drops the images of files that are gone, and returns the same cache when none is', () => {
    let cache = addImage(emptyImageCache(), entry('/a.jpg', 96, 10));
    cache = addImage(cache, entry('/b.jpg', 96, 20));
    cache = addImage(cache, entry('/a.jpg', 512, 40));
    expect(keepImages(cache, new Set(['/a.jpg', '/b.jpg', '/c.jpg']))).toBe(cache);
    const kept = keepImages(cache, new Set(['/b.jpg']));
    expect(kept).not.toBe(cache);
    expect(kept.entries.map((e) => e.path)).toEqual(['/b.jpg']);
    expect(kept.bytes).toBe(20);
    expect(cache.entries).toHaveLength(3);
    expect(keepImages(cache, new Set())).toEqual({ entries: [], bytes: 0 });
  });

  it('the run drops decoded images when their sample files go', () => {
    const a = sample(100, 0);
    const b = sample(200, 0);
    const state = runWith([a, b], [
      { type: 'sampleImage', entry: { path: a.path, maxPx: 96, image: bytesImage(10) } },
      { type: 'sampleImage', entry: { path: b.path, maxPx: 96, image: bytesImage(20) } },
    ]);
    expect(state.images.bytes).toBe(30);
    const after = reduceRun(state, [{ at: 5000, event: { type: 'sampleList', samples: [b] } }]);
    expect(after.images.entries.map((e) => e.path)).toEqual([b.path]);
    expect(after.images.bytes).toBe(20);
  });
});

describe('imageCells', () => {
  it('fits an image into the cells given, keeping its aspect', () => {
    // 100×50 into 20 cols × 20 rows: 20 px wide, 10 px (5 rows) high.
    const wide = imageCells(solid(100, 50, [255, 255, 255]), 20, 20, 'grey');
    expect(wide.cols).toBe(20);
    expect(wide.rows).toHaveLength(5);
    for (const row of wide.rows) expect([...row]).toHaveLength(20);
    // 50×100 into 20 × 20 (40 px high): 20 px wide, 40 high.
    const tall = imageCells(solid(50, 100, [255, 255, 255]), 20, 20, 'grey');
    expect(tall.cols).toBe(20);
    expect(tall.rows).toHaveLength(20);
    // Limited by height: 100×100 into 80 × 10 (20 px high) is 20 px wide.
    const square = imageCells(solid(100, 100, [255, 255, 255]), 80, 10, 'grey');
    expect(square.cols).toBe(20);
    expect(square.rows).toHaveLength(10);
  });

  it('enlarges a small image to fill the space', () => {
    const cells = imageCells(solid(4, 4, [0, 0, 0]), 10, 10, 'grey');
    expect(cells.cols).toBe(10);
    expect(cells.rows).toHaveLength(5);
  });

  it('never draws beyond the cells given', () => {
    const image = solid(37, 23, [10, 200, 30]);
    for (const [cols, rows] of [[1, 1], [3, 1], [7, 2], [13, 9], [40, 3], [5, 40], [120, 37]] as const) {
      const cells = imageCells(image, cols, rows, 'grey');
      expect(cells.cols, `${cols}x${rows}`).toBeLessThanOrEqual(cols);
      expect(cells.rows.length, `${cols}x${rows}`).toBeLessThanOrEqual(rows);
      expect(cells.rows.length).toBeGreaterThan(0);
      for (const row of cells.rows) expect([...row].length).toBe(cells.cols);
    }
  });

  it('remembers the rows per image, size and mode', () => {
    const image = solid(8, 8, [200, 0, 0]);
    const first = imageCells(image, 10, 5, 'truecolor');
    expect(imageCells(image, 10, 5, 'truecolor')).toBe(first);
    expect(imageCells(image, 10, 5, 'truecolor').rows).toBe(first.rows);
    expect(imageCells(image, 12, 5, 'truecolor')).not.toBe(first);
    expect(imageCells(image, 10, 5, 'grey')).not.toBe(first);
    // Another image with the same pixels is another image.
    expect(imageCells(solid(8, 8, [200, 0, 0]), 10, 5, 'truecolor')).not.toBe(first);
    expect(first.rows.join('')).toContain('38;2;200;0;0');
  });
});

describe('imageWishes', () => {
  // Prompt 0 at 100, 200, 300 and a video at 400; prompt 1 at 100 and 300.
  const samples = [sample(100, 0), sample(100, 1), sample(200, 0), sample(300, 0), sample(300, 1)];
  const withVideo = [...samples, sample(400, 0, { kind: 'video' })];
  const ui = (over: Partial<UiState> = {}): UiState => ({ ...initialUi(), ...over });
  const size = { cols: 200, rows: 60 };
  const wish = (s: SampleFile, maxPx: number) => ({ path: s.path, maxPx });

  it('on the dashboard: the sample on screen, then its neighbouring steps, at panel size', () => {
    const run = runWith(samples);
    expect(imageWishes(run, ui(), size)).toEqual([wish(samples[3]!, PANEL_PX), wish(samples[2]!, PANEL_PX)]);
    expect(imageWishes(run, ui({ sample: { step: 200, index: 0 } }), size)).toEqual([
      wish(samples[2]!, PANEL_PX),
      wish(samples[0]!, PANEL_PX),
      wish(samples[3]!, PANEL_PX),
    ]);
  });

  it('wishes only the neighbours that have the same prompt', () => {
    const run = runWith(samples);
    // Prompt 1 at step 100: step 200 has no prompt-1 sample.
    expect(imageWishes(run, ui({ sample: { step: 100, index: 1 } }), size)).toEqual([wish(samples[1]!, PANEL_PX)]);
  });

  it('wishes nothing without samples', () => {
    expect(imageWishes(runWith([]), ui(), size)).toEqual([]);
  });

  it('in the full-screen view: the sample at a larger size first', () => {
    const run = runWith(samples);
    const wishes = imageWishes(run, ui({ screen: 'view', sample: { step: 200, index: 0 } }), size);
    const big = pixelsFor(size.cols, size.rows - 2);
    expect(big).toBeGreaterThan(PANEL_PX);
    expect(wishes[0]).toEqual(wish(samples[2]!, big));
    // The panel-size one is not asked for again; the neighbours come after.
    expect(wishes.slice(1)).toEqual([wish(samples[0]!, PANEL_PX), wish(samples[3]!, PANEL_PX)]);
  });

  it('in the comparison: both images at the comparison size first', () => {
    const run = runWith(samples);
    const wishes = imageWishes(run, ui({ screen: 'compare', compareLeft: 100, sample: { step: null, index: 0 } }), size);
    const px = pixelsFor(Math.floor((size.cols - 1) / 2), size.rows - 4);
    expect(px).toBeGreaterThan(PANEL_PX);
    expect(wishes).toEqual([wish(samples[3]!, px), wish(samples[0]!, px), wish(samples[2]!, PANEL_PX)]);
  });

  it('never wishes a video', () => {
    const run = runWith(withVideo);
    const wishes = imageWishes(run, ui(), size);
    expect(wishes.some((w) => w.path.endsWith('.mp4'))).toBe(false);
    expect(wishes).toEqual([wish(samples[3]!, PANEL_PX)]);
    expect(imageWishes(run, ui({ screen: 'view' }), size)).toEqual([wish(samples[3]!, PANEL_PX)]);
    // Beside a video, the image neighbours are still wanted.
    expect(imageWishes(run, ui({ sample: { step: 300, index: 0 } }), size)).toEqual([wish(samples[3]!, PANEL_PX), wish(samples[2]!, PANEL_PX)]);
  });
});

describe('gallery screens', () => {
  // Red at step 100, green at 200, blue at 300 (prompt 0); prompt 1 only at 100.
  const s100 = sample(100, 0);
  const s200 = sample(200, 0);
  const s300 = sample(300, 0);
  const p1 = sample(100, 1);
  const images: Array<[SampleFile, [number, number, number]]> = [[s100, [255, 0, 0]], [s200, [0, 255, 0]], [s300, [0, 0, 255]]];
  const base = runWith(
    [s100, p1, s200, s300],
    images.map(([s, rgb]): RunEvent => ({ type: 'sampleImage', entry: { path: s.path, maxPx: 96, image: solid(4, 4, rgb) } })),
  );
  const atStep = (step: number): RunState => ({ ...base, step });
  const input = (over: Partial<GalleryInput> & { ui: UiState }): GalleryInput => ({
    run: atStep(400),
    cols: 80,
    height: 20,
    glyphs: 'unicode',
    imageMode: 'truecolor',
    graphics: false,
    ...over,
  });
  const viewUi = (over: Partial<UiState> = {}): UiState => ({ ...initialUi(), screen: 'view', ...over });
  const compareUi = (left: number, over: Partial<UiState> = {}): UiState => ({ ...initialUi(), screen: 'compare', compareLeft: left, ...over });

  it('full screen with graphics: a caption, a blank picture area for the terminal to draw in, and the way back', () => {
    const model = buildGalleryModel(input({ ui: viewUi(), graphics: true }));
    expect(model.imagePath).toBe(s300.path);
    expect(model.imageArea).toEqual({ row: 1, col: 0, cols: 80, rows: 18 });
    expect(model.lines).toHaveLength(20);
    expect(lineText(model.lines[0]!)).toContain('step 300');
    expect(lineText(model.lines[0]!)).toContain('prompt 1/2: a photo of a cat');
    for (let i = 1; i <= 18; i++) expect(lineText(model.lines[i]!), `line ${i}`).toBe('');
    expect(lineText(model.lines[19]!)).toContain('any key');
  });

  it('full screen without graphics: the picture in half blocks', () => {
    const model = buildGalleryModel(input({ ui: viewUi({ sample: { step: 100, index: 0 } }) }));
    expect(model.imageArea).toBeNull();
    expect(model.imagePath).toBeNull();
    expect(model.lines.length).toBeLessThanOrEqual(20);
    const picture = model.lines.slice(1, -1);
    expect(picture.length).toBeGreaterThan(1);
    for (const line of picture) {
      expect(lineText(line)).toContain('▄');
      expect(lineText(line)).toContain('48;2;255;0;0');
    }
    expect(lineText(model.lines[0]!)).toMatch(/step 100 · 300 steps ago/);
    expect(lineText(model.lines[model.lines.length - 1]!)).toContain('any key');
  });

  it('full screen, in grey: plain characters, no colour codes', () => {
    const model = buildGalleryModel(input({ ui: viewUi(), imageMode: 'grey' }));
    const text = model.lines.map(lineText).join('\n');
    expect(text).not.toContain('\x1b[');
    expect(text).not.toContain('▄');
    expect(model.lines.length).toBe(20);
  });

  it('full screen with graphics shows a note, not a blank area, for a video', () => {
    const video = sample(500, 0, { kind: 'video' });
    const run = runWith([s100, video]);
    const model = buildGalleryModel(input({ run, ui: viewUi(), graphics: true }));
    expect(model.imageArea).toBeNull();
    expect(model.imagePath).toBeNull();
    expect(model.lines.map(lineText).join('\n')).toContain(`video sample (${video.path.split('/').pop()}): not drawn`);
  });

  it('full screen: an image still decoding says so', () => {
    const fresh = sample(600, 0);
    const run = runWith([s100, fresh]);
    const model = buildGalleryModel(input({ run, ui: viewUi() }));
    expect(model.lines.map(lineText).join('\n')).toContain('decoding…');
  });

  it('compare: the same prompt at two steps side by side, each with its step', () => {
    const model = buildGalleryModel(input({ ui: compareUi(100), graphics: true }));
    expect(model.imageArea).toBeNull();
    expect(model.lines.length).toBeLessThanOrEqual(20);
    expect(model.lines.length).toBeGreaterThanOrEqual(18);
    expect(lineText(model.lines[0]!)).toContain('prompt 1/2: a photo of a cat');
    const captions = lineText(model.lines[1]!);
    expect(captions).toMatch(/step 100 · 300 steps ago.*step 300 · 100 steps ago/);
    const picture = model.lines.slice(2, -1).filter((l) => lineText(l).includes('▄'));
    expect(picture.length).toBeGreaterThan(1);
    for (const line of picture) {
      const text = lineText(line);
      const red = text.indexOf('48;2;255;0;0');
      const blue = text.indexOf('48;2;0;0;255');
      expect(red).toBeGreaterThanOrEqual(0);
      expect(blue).toBeGreaterThan(red);
    }
    expect(lineText(model.lines[model.lines.length - 1]!)).toMatch(/←\/→ right.*\[\/\] left/);
  });

  it('compare: the left image follows the pinned step, the right the pick', () => {
    const model = buildGalleryModel(input({ ui: compareUi(200, { sample: { step: 100, index: 0 } }) }));
    const captions = lineText(model.lines[1]!);
    expect(captions).toMatch(/step 200 .*step 100 /);
    const row = lineText(model.lines[3]!);
    expect(row.indexOf('48;2;0;255;0')).toBeGreaterThanOrEqual(0);
    expect(row.indexOf('48;2;255;0;0')).toBeGreaterThan(row.indexOf('48;2;0;255;0'));
  });

  it('compare: a prompt missing at the left step says so on that side', () => {
    const model = buildGalleryModel(input({ ui: compareUi(300, { sample: { step: 100, index: 1 } }) }));
    expect(model.lines.map(lineText).join('\n')).toContain('prompt 2 not sampled at step 300 yet');
  });

  it('never uses more rows than given, nor more columns', () => {
    const uis: Array<[string, UiState, boolean]> = [
      ['view', viewUi(), false],
      ['view graphics', viewUi(), true],
      ['compare', compareUi(100), false],
      ['compare, missing', compareUi(300, { sample: { step: 100, index: 1 } }), false],
    ];
    for (const [name, ui, graphics] of uis) {
      for (const height of [1, 2, 3, 4, 5, 8, 13, 30]) {
        for (const cols of [10, 21, 40, 80, 131]) {
          const model = buildGalleryModel(input({ ui, graphics, height, cols }));
          expect(model.lines.length, `${name} ${cols}x${height}`).toBeLessThanOrEqual(height);
          for (const line of model.lines) expect(lineCells(line), `${name} ${cols}x${height}: ${lineText(line)}`).toBeLessThanOrEqual(cols);
          // (One row leaves no room for a picture at all; the app asks for 5 or more.)
          if (model.imageArea && height > 1) expect(model.imageArea.row + model.imageArea.rows, `${name} ${cols}x${height}`).toBeLessThanOrEqual(height);
        }
      }
    }
  });
});

describe('--json snapshot samples', () => {
  let dir: string | null = null;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = null;
  });

  it('lists the samples by step then prompt, each with its prompt from the config (null past its list)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'lora-top-samples-'));
    await mkdir(join(dir, 'samples', '.thumbs'), { recursive: true });
    const names = [
      '1700000003000__000000200_2.jpg',
      '1700000001000__000000100_1.jpg',
      '1700000002000__000000200_0.jpg',
      '1700000000000__000000100_0.jpg',
      '1700000002500__000000200_1.mp4',
      '1700000002000__000000200_0.txt',
      '1700000000000__000000100_0.jpg.jpg',
    ];
    for (const name of names) await writeFile(join(dir, 'samples', name), '');
    await writeFile(join(dir, 'samples', '.thumbs', '1700000000000__000000100_0.jpg'), '');
    const samples = await listSamples(dir);
    const state = runWith(samples);
    const json = jsonSnapshot(state, estimateFinish(state, 2000));
    expect(json.samples.map(({ step, index, prompt }) => ({ step, index, prompt }))).toEqual([
      { step: 100, index: 0, prompt: 'a photo of a cat' },
      { step: 100, index: 1, prompt: 'a photo of a dog' },
      { step: 200, index: 0, prompt: 'a photo of a cat' },
      { step: 200, index: 1, prompt: 'a photo of a dog' },
      { step: 200, index: 2, prompt: null },
    ]);
    expect(json.samples[4]!.path).toBe(join(dir, 'samples', '1700000003000__000000200_2.jpg'));
    expect(Object.keys(json.samples[0]!).sort()).toEqual(['index', 'path', 'prompt', 'step']);
  });

  it('gives every prompt null without a config', () => {
    const state = reduceRun(initialRunState(), [{ at: 1, event: { type: 'sampleList', samples: [sample(100, 0)] } }]);
    expect(jsonSnapshot(state, estimateFinish(state, 2)).samples).toEqual([{ step: 100, index: 0, path: sample(100, 0).path, prompt: null }]);
  });
});
