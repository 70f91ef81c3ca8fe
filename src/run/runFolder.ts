import { join } from 'node:path';
import { localFiles, type DirEntry, type HostFiles } from './hostFiles.js';
import { checkpointStep } from '../parse/checkpointName.js';
import { parseRunConfigText, type RunConfig } from '../parse/runConfig.js';
import { parseSampleName } from '../parse/sampleName.js';
import type { CheckpointFile, DiskSpace, SampleFile } from '../state/runState.js';

/** Reading what an ai-toolkit run folder holds (I/O). Every function tolerates a missing folder. */

const CONFIG_FILES = ['config.yaml', 'config.yml', '.job_config.json'];

/** A config is at most this large (a YAML with a few dozen prompts is a few KB). */
const CONFIG_MAX_BYTES = 4 << 20;

export async function readRunConfig(folder: string, files: HostFiles = localFiles): Promise<RunConfig | null> {
  for (const file of CONFIG_FILES) {
    try {
      const text = (await files.readFile(join(folder, file), CONFIG_MAX_BYTES)).toString('utf8');
      const config = parseRunConfigText(text);
      if (config) return config;
    } catch {
      // Not there, or unreadable: try the next one.
    }
  }
  return null;
}

export async function listCheckpoints(folder: string, files: HostFiles = localFiles): Promise<CheckpointFile[]> {
  let entries: DirEntry[];
  try {
    entries = await files.list(folder);
  } catch {
    return [];
  }
  const found = await Promise.all(
    entries
      .filter((entry) => entry.name.endsWith('.safetensors'))
      .map(async (entry): Promise<CheckpointFile | null> => {
        const path = join(folder, entry.name);
        try {
          // A remote listing carries sizes and times; a local one is asked file by file.
          const info = entry.size !== undefined && entry.mtimeMs !== undefined && entry.ctimeMs !== undefined ? { ...entry, size: entry.size, mtimeMs: entry.mtimeMs, ctimeMs: entry.ctimeMs } : await files.stat(path);
          if (info.type !== 'file') return null;
          return { step: checkpointStep(entry.name), path, bytes: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs };
        } catch {
          return null;
        }
      }),
  );
  return found
    .filter((file): file is CheckpointFile => file !== null)
    .sort((a, b) => (a.step ?? Infinity) - (b.step ?? Infinity) || a.path.localeCompare(b.path));
}

/**
 * The sample files, by step then prompt. Only plain files named as ai-toolkit names samples count:
 * its `.thumbs/` and `.tmp/` folders, `.txt` prompt sidecars and anything else are passed over.
 */
export async function listSamples(folder: string, files: HostFiles = localFiles): Promise<SampleFile[]> {
  let entries: DirEntry[];
  try {
    entries = await files.list(join(folder, 'samples'));
  } catch {
    return [];
  }
  const samples: SampleFile[] = [];
  for (const entry of entries) {
    if (entry.type !== 'file' && !entry.link) continue;
    const parsed = parseSampleName(entry.name);
    if (!parsed) continue;
    samples.push({ createdMs: parsed.createdMs, step: parsed.step, index: parsed.index, kind: parsed.kind, path: join(folder, 'samples', entry.name) });
  }
  return samples.sort((a, b) => a.step - b.step || a.index - b.index || a.createdMs - b.createdMs);
}

/** Free space where the run saves, and optimizer.pt's size (I/O; null where it cannot be read). */
export async function readDiskSpace(folder: string, files: HostFiles = localFiles): Promise<{ disk: DiskSpace | null; optimizerBytes: number | null }> {
  const [disk, optimizer] = await Promise.all([
    files.statfs(folder).then(
      (space): DiskSpace => space,
      () => null,
    ),
    files.stat(join(folder, 'optimizer.pt')).then(
      (info) => (info.type === 'file' ? info.size : null),
      () => null,
    ),
  ]);
  return { disk, optimizerBytes: optimizer };
}
