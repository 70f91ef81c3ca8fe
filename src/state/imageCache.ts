import type { RawImage } from '../view/halfBlock.js';

/**
 * Decoded sample images, small, kept by file and size so that browsing back and forth decodes each
 * file once. Bounded by bytes: the oldest entries go first. Pure: every change returns a new cache.
 */

export interface CachedImage {
  path: string;
  /** The longest side it was decoded to fit. */
  maxPx: number;
  image: RawImage;
}

export interface ImageCache {
  /** Oldest first. */
  entries: CachedImage[];
  bytes: number;
}

/** About 12 MiB of pixels: a few full-screen images and a hundred panel-sized ones. */
export const IMAGE_CACHE_BYTES = 12 * 1024 * 1024;

export function emptyImageCache(): ImageCache {
  return { entries: [], bytes: 0 };
}

export function addImage(cache: ImageCache, entry: CachedImage, limit = IMAGE_CACHE_BYTES): ImageCache {
  const entries = cache.entries.filter((e) => !(e.path === entry.path && e.maxPx === entry.maxPx));
  entries.push(entry);
  let bytes = entries.reduce((n, e) => n + e.image.data.byteLength, 0);
  while (bytes > limit && entries.length > 1) bytes -= entries.shift()!.image.data.byteLength;
  return { entries, bytes };
}

/** The best image of a file decoded at `minPx` or more; else the largest there is; else null. */
export function findImage(cache: ImageCache, path: string, minPx = 0): CachedImage | null {
  let best: CachedImage | null = null;
  for (const entry of cache.entries) {
    if (entry.path !== path) continue;
    if (best === null) best = entry;
    else if (best.maxPx < minPx ? entry.maxPx > best.maxPx : entry.maxPx >= minPx && entry.maxPx < best.maxPx) best = entry;
  }
  return best;
}

/** Whether a file is there at `minPx` or more. */
export function hasImage(cache: ImageCache, path: string, minPx: number): boolean {
  return cache.entries.some((e) => e.path === path && e.maxPx >= minPx);
}

/** Drops the images of files that are gone. */
export function keepImages(cache: ImageCache, paths: ReadonlySet<string>): ImageCache {
  if (cache.entries.every((e) => paths.has(e.path))) return cache;
  const entries = cache.entries.filter((e) => paths.has(e.path));
  return { entries, bytes: entries.reduce((n, e) => n + e.image.data.byteLength, 0) };
}
