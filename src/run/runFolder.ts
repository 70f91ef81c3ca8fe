import type { Dirent } from 'node:fs';
import { readdir, readFile, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { checkpointStep } from '../parse/checkpointName.js';
import { parseRunConfigText, type RunConfig } from '../parse/runConfig.js';
import { parseSampleName } from '../parse/sampleName.js';
import type { CheckpointFile, DiskSpace, SampleFile } from '../state/runState.js';

/** Reading what an ai-toolkit run folder holds (I/O). Every function tolerates a missing folder. */

const CONFIG_FILES = ['config.yaml', 'config.yml', '.job_config.json'];

export async function readRunConfig(folder: string): Promise<RunConfig | null> {
  for (const file of CONFIG_FILES) {
    try {
      const text = await readFile(join(folder, file), 'utf8');
      const config = parseRunConfigText(text);
      if (config) return config;
    } catch {
      // Not there, or unreadable: try the next one.
    }
  }
  return null;
}

export async function listCheckpoints(folder: string): Promise<CheckpointFile[]> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  const files = await Promise.all(
    names
      .filter((name) => name.endsWith('.safetensors'))
      .map(async (name): Promise<CheckpointFile | null> => {
        const path = join(folder, name);
        try {
          const info = await stat(path);
          if (!info.isFile()) return null;
          return { step: checkpointStep(name), path, bytes: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs };
        } catch {
          return null;
        }
      }),
  );
  return files
    .filter((file): file is CheckpointFile => file !== null)
    .sort((a, b) => (a.step ?? Infinity) - (b.step ?? Infinity) || a.path.localeCompare(b.path));
}

/**
 * The sample files, by step then prompt. Only plain files named as ai-toolkit names samples count:
 * its `.thumbs/` and `.tmp/` folders, `.txt` prompt sidecars and anything else are passed over.
 */
export async function listSamples(folder: string): Promise<SampleFile[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(join(folder, 'samples'), { withFileTypes: true });
  } catch {
    return [];
  }
  const samples: SampleFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const parsed = parseSampleName(entry.name);
    if (!parsed) continue;
    samples.push({ createdMs: parsed.createdMs, step: parsed.step, index: parsed.index, kind: parsed.kind, path: join(folder, 'samples', entry.name) });
  }
  return samples.sort((a, b) => a.step - b.step || a.index - b.index || a.createdMs - b.createdMs);
}

/** Free space where the run saves, and optimizer.pt's size (I/O; null where it cannot be read). */
export async function readDiskSpace(folder: string): Promise<{ disk: DiskSpace | null; optimizerBytes: number | null }> {
  const [disk, optimizer] = await Promise.all([
    statfs(folder).then(
      (fs): DiskSpace => ({ freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize }),
      () => null,
    ),
    stat(join(folder, 'optimizer.pt')).then(
      (info) => (info.isFile() ? info.size : null),
      () => null,
    ),
  ]);
  return { disk, optimizerBytes: optimizer };
}
