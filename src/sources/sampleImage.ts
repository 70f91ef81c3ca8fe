import type { RawImage } from '../view/halfBlock.js';

/**
 * Decodes a sample image into a small RGB raster for the inline preview (I/O). sharp decodes off
 * the main thread (libuv's pool), so the dashboard never stalls on a 1024² JPEG; it is loaded only
 * when the first sample is shown. Anything it cannot read (a video, a half-written file) → null.
 * Decoding small keeps a cached image cheap; `maxPx` is larger for the full-screen view.
 */
export const PREVIEW_MAX_PX = 96;

export async function decodeSample(path: string, maxPx = PREVIEW_MAX_PX, bytes: Buffer | null = null): Promise<RawImage | null> {
  if (!/\.(jpe?g|png|webp)$/i.test(path)) return null;
  try {
    const sharp = (await import('sharp')).default;
    // The first frame of an animated WebP (video models); a file cut short (still being written) fails.
    const { data, info } = await sharp(bytes ?? path, { animated: false, failOn: 'truncated' })
      .resize({ width: maxPx, height: maxPx, fit: 'inside', withoutEnlargement: true })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch {
    return null;
  }
}
