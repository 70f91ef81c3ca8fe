/**
 * ai-toolkit sample file names: `<unix-ms>__<step:09d>_<prompt-index>.<ext>` (a double underscore),
 * e.g. `1724104396637__000000250_0.jpg`. Pure.
 */

export type SampleKind = 'image' | 'video' | 'audio';

export interface SampleName {
  createdMs: number;
  step: number;
  index: number;
  ext: string;
  kind: SampleKind;
}

const SAMPLE_NAME = /^(\d+)__(\d{9})_(\d+)\.([A-Za-z0-9]+)$/;
const IMAGE_EXT = new Set(['jpg', 'jpeg', 'png', 'webp']);
const VIDEO_EXT = new Set(['mp4', 'webm', 'mov', 'gif', 'mkv', 'avi']);
const AUDIO_EXT = new Set(['wav', 'mp3', 'flac', 'ogg', 'm4a']);

/** The parts of a sample file's name, or null for anything else (a `.txt` sidecar, a thumbnail). */
export function parseSampleName(name: string): SampleName | null {
  const match = SAMPLE_NAME.exec(name);
  if (!match) return null;
  const ext = match[4]!.toLowerCase();
  const kind: SampleKind | null = IMAGE_EXT.has(ext) ? 'image' : VIDEO_EXT.has(ext) ? 'video' : AUDIO_EXT.has(ext) ? 'audio' : null;
  if (kind === null) return null;
  return { createdMs: Number(match[1]), step: Number(match[2]), index: Number(match[3]), ext, kind };
}
