import { statSync } from 'node:fs';
import { localFiles, type HostFiles } from './hostFiles.js';
import { join } from 'node:path';
import { hasImage } from '../state/imageCache.js';
import { sampledSteps } from '../state/sampleIndex.js';
import type { RunEvent, RunState, SampleFile } from '../state/runState.js';
import { listSamples } from './runFolder.js';

/**
 * Keeps the run's samples and their small decoded images up to date (I/O).
 *
 * `samples/` is watched (fs.watch), so a new image is listed and decoded within milliseconds of
 * landing rather than at the next folder scan; the scan still runs as the fallback for file systems
 * that send no events. New images of the newest step are decoded at once; older ones when the
 * dashboard asks for them (browsing). sharp decodes on libuv's pool, never on the main thread.
 * A file that fails to decode (still being written) is tried again when it changes.
 */

/** The size the panel's images are decoded to fit (the panel is at most ~50 × 20 cells). */
export const PANEL_IMAGE_PX = 96;
/** A change to `samples/` is read after this quiet time, so a burst of events is one listing. */
const SETTLE_MS = 15;
/** A file that failed to decode and sent no event since is tried again after this long. */
const RETRY_MS = 5000;

export interface ImageRequest {
  path: string;
  maxPx: number;
}

export interface SampleImagesOptions {
  folder: string;
  getState(): RunState;
  /** `urgent`: draw it now rather than at the next routine refresh. */
  apply(events: RunEvent[], urgent: boolean): void;
  /** Decode images at all (off for --once). */
  decode: boolean;
  /** Where the files are (default this machine): another host's image is fetched when it is decoded. */
  files?: HostFiles;
}

export class SampleImages {
  private watcher: { close(): void } | null = null;
  private readonly files: HostFiles;
  private settleTimer: NodeJS.Timeout | null = null;
  private wanted: ImageRequest[] = [];
  private readonly queue: ImageRequest[] = [];
  /** Files that failed to decode and when: tried again when they change, or after a while. */
  private readonly failed = new Map<string, number>();
  private busy = false;
  private closed = false;
  private listing = false;
  private relist = false;

  constructor(private readonly options: SampleImagesOptions) {
    this.files = options.files ?? localFiles;
  }

  /** Takes a fresh listing (from the folder scan): starts watching once `samples/` exists. */
  onListed(samples: SampleFile[]): void {
    // samples/ deleted and made again (or replaced): Linux sends no error, the old watch just goes quiet.
    if (this.watcher && this.folderIno() !== this.watchedIno) this.stopWatching();
    if (!this.watcher && !this.closed) {
      this.startWatching();
      // What landed between that listing and the watch starting is listed once more now.
      if (this.watcher) this.changed();
    }
    // Where no events come (network mounts), a failed file is tried again now and then.
    const now = Date.now();
    for (const [path, at] of this.failed) if (now - at > RETRY_MS) this.failed.delete(path);
    this.queueNewest(samples);
    this.pump();
  }

  /** What the screen wants drawn now, most important first. Replaces the previous wishes. */
  want(requests: ImageRequest[]): void {
    this.wanted = requests;
    for (const request of [...requests].reverse()) this.enqueue(request, true);
    this.pump();
  }

  close(): void {
    this.closed = true;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.stopWatching();
  }

  private watchedIno: number | null = null;

  private folderIno(): number | null {
    // Another host's folder: its watch looks at the folder itself.
    if (this.files.host !== null) return 0;
    try {
      return statSync(join(this.options.folder, 'samples')).ino;
    } catch {
      return null;
    }
  }

  private stopWatching(): void {
    this.watcher?.close();
    this.watcher = null;
    this.watchedIno = null;
  }

  private startWatching(): void {
    try {
      const dir = join(this.options.folder, 'samples');
      this.watchedIno = this.folderIno();
      if (this.watchedIno === null) return;
      this.watcher = this.files.watchDir(dir, (name) => {
        if (this.folderIno() !== this.watchedIno) {
          // The folder itself went (or was replaced): the next listing watches the new one.
          this.stopWatching();
          this.changed();
          return;
        }
        if (name !== null) this.failed.delete(join(dir, name));
        else this.failed.clear();
        this.changed();
      });
    } catch {
      this.watcher = null;
    }
  }

  private changed(): void {
    if (this.closed) return;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => void this.list(), SETTLE_MS);
  }

  private async list(): Promise<void> {
    this.settleTimer = null;
    if (this.listing) {
      this.relist = true;
      return;
    }
    this.listing = true;
    try {
      const samples = await listSamples(this.options.folder, this.files);
      if (this.closed) return;
      if (!this.watcher) this.startWatching();
      const before = this.options.getState().samples;
      // The list itself is not urgent: the picture is (it follows within milliseconds), and one
      // frame with both beats a frame with "decoding…" and another with the picture.
      if (!sameSamples(before, samples)) this.options.apply([{ type: 'sampleList', samples }], false);
      this.queueNewest(samples);
      // A file that changed since it failed is worth another try.
      for (const request of this.wanted) this.enqueue(request, true);
      this.pump();
    } finally {
      this.listing = false;
      if (this.relist && !this.closed) {
        this.relist = false;
        void this.list();
      }
    }
  }

  /** The newest step's images, at panel size: the dashboard shows one of them by default. */
  private queueNewest(samples: readonly SampleFile[]): void {
    if (!this.options.decode) return;
    const steps = sampledSteps(samples);
    const newest = steps[steps.length - 1];
    if (newest === undefined) return;
    for (const sample of samples) {
      if (sample.step === newest && sample.kind === 'image') this.enqueue({ path: sample.path, maxPx: PANEL_IMAGE_PX }, false);
    }
  }

  private enqueue(request: ImageRequest, first: boolean): void {
    if (!this.options.decode) return;
    const state = this.options.getState();
    if (hasImage(state.images, request.path, request.maxPx)) return;
    const sample = state.samples.find((s) => s.path === request.path);
    if (!sample || sample.kind !== 'image') return;
    if (this.failed.has(request.path)) return;
    if (this.queue.some((q) => q.path === request.path && q.maxPx >= request.maxPx)) return;
    if (first) this.queue.unshift(request);
    else this.queue.push(request);
  }

  private pump(): void {
    if (this.busy || this.closed) return;
    const request = this.queue.shift();
    if (!request) return;
    this.busy = true;
    void this.decode(request).finally(() => {
      this.busy = false;
      this.pump();
    });
  }

  private async decode(request: ImageRequest): Promise<void> {
    if (hasImage(this.options.getState().images, request.path, request.maxPx)) return;
    const { decodeSample } = await import('../sources/sampleImage.js');
    const bytes = this.files.host === null ? null : await this.files.readFile(request.path).catch(() => null);
    const image = this.files.host !== null && bytes === null ? null : await decodeSample(request.path, request.maxPx, bytes);
    if (this.closed) return;
    if (!image) {
      this.failed.set(request.path, Date.now());
      return;
    }
    this.failed.delete(request.path);
    this.options.apply([{ type: 'sampleImage', entry: { path: request.path, maxPx: request.maxPx, image } }], true);
  }
}

function sameSamples(a: readonly SampleFile[], b: readonly SampleFile[]): boolean {
  return a.length === b.length && a.every((s, i) => s.path === b[i]!.path);
}
