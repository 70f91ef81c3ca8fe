/**
 * ai-toolkit checkpoint names: `<name>_<step:09d>.safetensors`, Wan 2.2's `<name>_<step:09d>_high_noise.safetensors`
 * and `_low_noise` pairs, and the final `<name>.safetensors` with no step.
 */

const STEP_SUFFIX = /_(\d{9})(?:_(?:high|low)_noise)?\.safetensors$/;

/** The step in a checkpoint's file name or path, or null for an un-numbered (final) file. */
export function checkpointStep(path: string): number | null {
  const match = STEP_SUFFIX.exec(path);
  return match ? Number(match[1]) : null;
}

/** The file name part of a Windows or POSIX path. */
export function baseName(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut >= 0 ? path.slice(cut + 1) : path;
}

/** The folder part of a Windows or POSIX path ('' when there is none). */
export function dirName(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut >= 0 ? path.slice(0, cut) : '';
}

/** The job name a checkpoint file belongs to: `my_lora_000000250.safetensors` → `my_lora`. */
export function checkpointJobName(path: string): string | null {
  const name = baseName(path);
  if (!name.endsWith('.safetensors')) return null;
  return name.replace(STEP_SUFFIX, '').replace(/\.safetensors$/, '') || null;
}
