import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkpointStep } from '../parse/checkpointName.js';
import { parseRunConfigText, type RunConfig } from '../parse/runConfig.js';
import type { CheckpointFile, SampleFile } from '../state/runState.js';

/** Reading what an ai-toolkit run folder holds (I/O). Every function tolerates a missing folder. */

const SAMPLE_NAME = /^(\d+)__(\d{9})_(\d+)\.([A-Za-z0-9]+)$/;
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
          return { step: checkpointStep(name), path, bytes: info.size, mtimeMs: info.mtimeMs };
        } catch {
          return null;
        }
      }),
  );
  return files
    .filter((file): file is CheckpointFile => file !== null)
    .sort((a, b) => (a.step ?? Infinity) - (b.step ?? Infinity) || a.path.localeCompare(b.path));
}

export async function listSamples(folder: string): Promise<SampleFile[]> {
  let names: string[];
  try {
    names = await readdir(join(folder, 'samples'));
  } catch {
    return [];
  }
  const samples: SampleFile[] = [];
  for (const name of names) {
    const match = SAMPLE_NAME.exec(name);
    if (!match) continue;
    samples.push({
      createdMs: Number(match[1]),
      step: Number(match[2]),
      index: Number(match[3]),
      path: join(folder, 'samples', name),
    });
  }
  return samples.sort((a, b) => a.step - b.step || a.index - b.index || a.createdMs - b.createdMs);
}
