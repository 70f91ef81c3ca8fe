import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { localFiles, type HostFiles } from '../run/hostFiles.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../state/runSummary.js';

/**
 * Finished runs' summaries kept between sessions (I/O), so that a folder of fifty finished runs
 * opens at once after the first time. One small JSON file a run under
 * `$XDG_CACHE_HOME/lora-top/runs/` (else `~/.cache/…`), in a folder only its owner can read. A
 * summary is used only while its run's files are what they were when it was made: the log's size
 * and mtime, and the mtimes of the folder, samples/ and loss_log.db. Any trouble with the cache
 * (a read-only home, a corrupt file) reads as "not cached", never as an error.
 */

/** What a summary was made from: any change means the run must be read again. */
export interface RunFingerprint {
  logPath: string | null;
  logSize: number;
  logMtimeMs: number;
  folderMtimeMs: number;
  samplesMtimeMs: number;
  lossDbMtimeMs: number;
}

const VERSION = 1;

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'lora-top', 'runs');
}

async function mtimeOf(path: string, files: HostFiles): Promise<number> {
  try {
    return Math.round((await files.stat(path)).mtimeMs);
  } catch {
    return 0;
  }
}

/** The run's fingerprint now (a few stats). */
export async function fingerprint(folder: string | null, logPath: string | null, files: HostFiles = localFiles): Promise<RunFingerprint> {
  let logSize = 0;
  let logMtimeMs = 0;
  if (logPath) {
    try {
      const info = await files.stat(logPath);
      logSize = info.size;
      // Whole milliseconds: what a copy or a restore (utimes) keeps.
      logMtimeMs = Math.round(info.mtimeMs);
    } catch {
      // No log yet.
    }
  }
  const [folderMtimeMs, samplesMtimeMs, lossDbMtimeMs] = folder
    ? await Promise.all([mtimeOf(folder, files), mtimeOf(join(folder, 'samples'), files), mtimeOf(join(folder, 'loss_log.db'), files)])
    : [0, 0, 0];
  return { logPath, logSize, logMtimeMs, folderMtimeMs, samplesMtimeMs, lossDbMtimeMs };
}

export function sameFingerprint(a: RunFingerprint, b: RunFingerprint): boolean {
  return (
    a.logPath === b.logPath &&
    a.logSize === b.logSize &&
    a.logMtimeMs === b.logMtimeMs &&
    a.folderMtimeMs === b.folderMtimeMs &&
    a.samplesMtimeMs === b.samplesMtimeMs &&
    a.lossDbMtimeMs === b.lossDbMtimeMs
  );
}

export class SummaryCache {
  private readonly memory = new Map<string, { print: RunFingerprint; summary: RunSummary }>();
  private ready: Promise<boolean> | null = null;

  /**
   * `dir` null: in memory only. `made` names what made the summaries (lora-top's version): a
   * summary another version made is read again, so a reader's fix reaches finished runs too.
   */
  constructor(
    private readonly dir: string | null,
    private readonly made = '',
  ) {}

  private fileFor(folder: string): string {
    return join(this.dir!, `${createHash('sha1').update(folder).digest('hex')}.json`);
  }

  private ensureDir(): Promise<boolean> {
    this.ready ??= this.dir
      ? mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => true, () => false)
      : Promise.resolve(false);
    return this.ready;
  }

  /** The summary made from exactly these files, or null. */
  async get(folder: string, print: RunFingerprint): Promise<RunSummary | null> {
    const held = this.memory.get(folder);
    if (held && sameFingerprint(held.print, print)) return held.summary;
    if (!this.dir) return null;
    try {
      const data = JSON.parse(await readFile(this.fileFor(folder), 'utf8')) as { version?: number; made?: string; folder?: string; print?: RunFingerprint; summary?: RunSummary };
      if (data.version !== VERSION || data.made !== this.made || data.folder !== folder || !data.print || !data.summary || !sameFingerprint(data.print, print)) return null;
      this.memory.set(folder, { print, summary: data.summary });
      return data.summary;
    } catch {
      return null;
    }
  }

  /** Keeps a finished run's summary (in memory, and on disk when it can). */
  async put(folder: string, print: RunFingerprint, summary: RunSummary): Promise<void> {
    this.memory.set(folder, { print, summary });
    if (!(await this.ensureDir())) return;
    const file = this.fileFor(folder);
    const temp = `${file}.${process.pid}.tmp`;
    try {
      await writeFile(temp, JSON.stringify({ version: VERSION, made: this.made, folder, print, summary }), { mode: 0o600 });
      await rename(temp, file);
    } catch {
      // A cache that cannot be written is only slower next time.
    }
  }
}
