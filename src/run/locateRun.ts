import { access, open } from 'node:fs/promises';
import { constants } from 'node:fs';
import { exists, localFiles, namesIn, type HostFiles } from './hostFiles.js';
import { basename, dirname, join, resolve } from 'node:path';
import { describeFsError, EXIT, UserError } from '../cli/errors.js';

/** Where the run is: a training folder (with or without a log yet), a log file, or standard input. */
export type RunLocation =
  | { kind: 'folder'; folder: string; logPath: string }
  | { kind: 'log'; logPath: string; folder: string | null }
  | { kind: 'stdin' };

const RUN_MARKERS = ['log.txt', 'config.yaml', '.job_config.json', 'logs'];

/**
 * Resolves the command line's PATH (I/O). `lora-top output/my_lora`, `lora-top output/my_lora/log.txt`,
 * `lora-top -`, or nothing: the newest run under `./output`. Throws UserError with one clear line.
 */
export async function locateRun(pathArg: string | undefined, cwd: string, files: HostFiles = localFiles): Promise<RunLocation> {
  if (pathArg === '-') return { kind: 'stdin' };
  if (pathArg === undefined) return newestRunUnder(join(cwd, 'output'), files);

  const path = resolve(cwd, pathArg);
  let info;
  try {
    info = await files.stat(path);
  } catch (error) {
    throw describeFsError(error, pathArg);
  }
  if (info.type === 'dir') return locateInFolder(path, pathArg, files);
  if (info.type !== 'file') throw new UserError(`not a regular file or folder: ${pathArg}`);
  await checkReadable(path, pathArg, files);
  await assertLogFile(path, pathArg, files);
  return { kind: 'log', logPath: path, folder: await folderOfLog(path, files) };
}

/** What the command line points at: one run, or a folder of several runs (the runs screen). */
export type Target = RunLocation | { kind: 'runs'; root: string | null; db: string | null };

/**
 * Like locateRun, but a folder holding several runs (ai-toolkit's `output/`), and `./output` when
 * no PATH is given and it holds more than one, open the runs screen. A folder with one run inside
 * still opens that run. With no PATH and no run, a UI database in the current folder (`aitk_db.db`)
 * opens its queue.
 */
export async function locateTarget(pathArg: string | undefined, cwd: string, db: string | null = null, files: HostFiles = localFiles): Promise<Target> {
  if (pathArg === '-') return { kind: 'stdin' };
  const folder = pathArg === undefined ? join(cwd, 'output') : resolve(cwd, pathArg);
  if (pathArg === undefined || (await isPlainFolder(folder, files))) {
    const runs = await listRunFolders(folder, files);
    if (runs.length > 1) return { kind: 'runs', root: folder, db };
    if (pathArg === undefined && runs.length === 0) {
      const uiDb = db ?? (await existing(join(cwd, 'aitk_db.db'), files));
      if (uiDb) return { kind: 'runs', root: null, db: uiDb };
    }
  }
  return locateRun(pathArg, cwd, files);
}

/** A readable folder that is not itself a run folder. */
async function isPlainFolder(path: string, files: HostFiles): Promise<boolean> {
  try {
    if ((await files.stat(path)).type !== 'dir') return false;
    const names = (await files.list(path)).map((e) => e.name);
    return !names.some((n) => RUN_MARKERS.includes(n));
  } catch {
    return false;
  }
}

async function existing(path: string, files: HostFiles): Promise<string | null> {
  if (files.host !== null) return (await exists(files, path)) ? path : null;
  try {
    await access(path, constants.R_OK);
    return path;
  } catch {
    return null;
  }
}

/** The run folders directly inside `parent`, with when each last changed. */
export async function listRunFolders(parent: string, files: HostFiles = localFiles): Promise<Array<{ folder: string; name: string; mtime: number }>> {
  let entries;
  try {
    entries = await files.list(parent);
  } catch {
    return [];
  }
  const found = await Promise.all(
    entries.filter((e) => e.type === 'dir' && !e.link && !e.name.startsWith('.')).map(async (entry) => {
      const folder = join(parent, entry.name);
      const mtime = await runActivityTime(folder, files);
      return mtime === null ? null : { folder, name: entry.name, mtime };
    }),
  );
  return found.filter((f): f is { folder: string; name: string; mtime: number } => f !== null);
}

/** The log a run folder is read from: log.txt, else its newest rotated log, else log.txt to come. */
export async function logPathOfFolder(folder: string, files: HostFiles = localFiles): Promise<string> {
  if (await exists(files, join(folder, 'log.txt'))) return join(folder, 'log.txt');
  return (await newestRotatedLog(folder, files)) ?? join(folder, 'log.txt');
}

async function locateInFolder(folder: string, shown: string, files: HostFiles): Promise<RunLocation> {
  await checkReadable(folder, shown, files, constants.R_OK | constants.X_OK);
  const names = await files.list(folder).then(
    (entries) => entries.map((e) => e.name),
    (error: unknown) => {
      throw describeFsError(error, shown);
    },
  );
  if (names.includes('log.txt')) {
    await checkReadable(join(folder, 'log.txt'), join(shown, 'log.txt'), files);
    await assertLogFile(join(folder, 'log.txt'), join(shown, 'log.txt'), files);
    return { kind: 'folder', folder, logPath: join(folder, 'log.txt') };
  }
  const rotated = await newestRotatedLog(folder, files);
  if (rotated) {
    await assertLogFile(rotated, rotated, files);
    return { kind: 'folder', folder, logPath: rotated };
  }
  if (names.length === 0 || names.includes('config.yaml') || names.includes('.job_config.json')) {
    // A run that has not written its log yet (or an output folder made ready for one): wait for log.txt.
    return { kind: 'folder', folder, logPath: join(folder, 'log.txt') };
  }
  // The user pointed at `output/` itself, or a training_folder holding several runs.
  const inner = await newestRunIn(folder, files);
  if (inner) return inner;
  throw new UserError(
    `no ai-toolkit run in ${shown}: expected log.txt, logs/<N>_log.txt or config.yaml there (or in a run folder inside it)`,
  );
}

/** The UI renames each session's log to logs/<N>_log.txt; the highest N is the newest. */
async function newestRotatedLog(folder: string, files: HostFiles): Promise<string | null> {
  const names = await namesIn(files, join(folder, 'logs'));
  let best: { n: number; name: string } | null = null;
  for (const name of names) {
    const match = /^(\d+)_log\.txt$/.exec(name);
    if (match && (!best || Number(match[1]) > best.n)) best = { n: Number(match[1]), name };
  }
  return best ? join(folder, 'logs', best.name) : null;
}

async function newestRunIn(parent: string, files: HostFiles): Promise<RunLocation | null> {
  let entries;
  try {
    entries = await files.list(parent);
  } catch {
    return null;
  }
  let best: { folder: string; mtime: number } | null = null;
  for (const entry of entries) {
    if (entry.type !== 'dir') continue;
    const folder = join(parent, entry.name);
    const mtime = await runActivityTime(folder, files);
    if (mtime !== null && (!best || mtime > best.mtime)) best = { folder, mtime };
  }
  return best ? locateInFolder(best.folder, best.folder, files) : null;
}

/** When a run folder last changed (its log, else the folder), or null when it is not a run. */
async function runActivityTime(folder: string, files: HostFiles): Promise<number | null> {
  let newest: number | null = null;
  for (const marker of RUN_MARKERS) {
    try {
      const info = await files.stat(join(folder, marker));
      newest = Math.max(newest ?? 0, info.mtimeMs);
    } catch {
      // Not this marker.
    }
  }
  return newest;
}

async function newestRunUnder(outputFolder: string, files: HostFiles): Promise<RunLocation> {
  const found = await newestRunIn(outputFolder, files);
  if (found) return found;
  throw new UserError(
    `no run found: looked for ./output/<name>/log.txt in ${dirname(outputFolder)}. ` +
      'Point lora-top at a training folder or a log (lora-top output/my_lora), pipe a run into it (… 2>&1 | lora-top -), or try lora-top --demo',
  );
}

/** `output/<name>/log.txt` or `output/<name>/logs/3_log.txt` → `output/<name>` when it looks like a run folder. */
async function folderOfLog(logPath: string, files: HostFiles): Promise<string | null> {
  let folder = dirname(logPath);
  if (basename(folder) === 'logs') folder = dirname(folder);
  for (const marker of ['config.yaml', '.job_config.json', 'samples']) {
    if (await exists(files, join(folder, marker))) return folder;
  }
  return null;
}

/** Local files: readable by this user (a remote file's reads say so themselves). */
async function checkReadable(path: string, shown: string, files: HostFiles, mode = constants.R_OK): Promise<void> {
  if (files.host !== null) return;
  try {
    await access(path, mode);
    if (mode === constants.R_OK) {
      const handle = await open(path, 'r');
      await handle.close();
    }
  } catch (error) {
    throw describeFsError(error, shown);
  }
}

const PROBE_BYTES = 1024 * 1024;

/**
 * Refuses a file that is plainly not a training log, from its first MiB alone (so a 500 MB file
 * costs no more than that): NUL bytes mean a binary file; a full MiB with no line break at all
 * (no `\n`, no tqdm `\r`) is not a log either.
 */
export async function assertLogFile(path: string, shown: string, files: HostFiles = localFiles): Promise<void> {
  try {
    const head = await files.readFile(path, PROBE_BYTES);
    const bytesRead = head.length;
    if (head.includes(0)) throw new UserError(`${shown} is a binary file, not a training log`, EXIT.usage);
    if (bytesRead === PROBE_BYTES && !head.includes(10) && !head.includes(13)) {
      throw new UserError(`${shown} has no line breaks in its first MiB: not a training log`, EXIT.usage);
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw describeFsError(error, shown);
  }
}
