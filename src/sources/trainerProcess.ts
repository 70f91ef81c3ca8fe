/**
 * Finds the ai-toolkit trainer (`python run.py config.yaml`) among the running processes and reads
 * a few facts about it, from Linux /proc. Synchronous but cheap (small /proc reads, no child
 * processes). Nothing here throws: an unreadable /proc (another OS, another user's process, a
 * process that just ended) gives null.
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';

export interface FindTrainerOptions {
  /** The run folder being watched (`<training_folder>/<name>`). */
  runFolder?: string | null;
  /** The config file of the run. */
  configPath?: string | null;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function validPid(pid: number): boolean {
  return Number.isInteger(pid) && pid > 0;
}

/** argv of a process (/proc/PID/cmdline is NUL-separated, NUL-terminated); null when unreadable or empty (kernel threads, zombies). */
export function commandLine(pid: number): string[] | null {
  if (!validPid(pid)) return null;
  const raw = readText(`/proc/${pid}/cmdline`);
  if (raw === null || raw.length === 0) return null;
  const parts = raw.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts.length > 0 ? parts : null;
}

/** The working directory of a process; null when unreadable (usually another user's process). */
export function processCwd(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return null;
  }
}

/**
 * Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot (usually 1/100 s).
 * Together with the PID it identifies a process across PID reuse. The comm field (2) is in
 * parentheses and may itself hold spaces and parentheses, so fields are counted from the LAST ')'.
 */
export function processStartTime(pid: number): number | null {
  if (!validPid(pid)) return null;
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const rest = stat.slice(close + 1).trim().split(/\s+/); // rest[0] is field 3 (state)
  const field = rest[22 - 3];
  if (field === undefined || !/^\d+$/.test(field)) return null;
  const n = Number(field);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * The environment a process was started with (/proc/PID/environ: a later change inside the process
 * is not seen), as a map; null when it cannot be read (another user's process, or gone).
 */
export function processEnvironment(pid: number): Map<string, string> | null {
  if (!validPid(pid)) return null;
  const raw = readText(`/proc/${pid}/environ`);
  if (raw === null) return null;
  const env = new Map<string, string>();
  for (const entry of raw.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

/**
 * CUDA_VISIBLE_DEVICES as the process was started with it (/proc/PID/environ holds the initial
 * environment; a later `os.environ[...] = ...` inside Python is not seen). null when the environment
 * is unreadable or the variable is not set (all GPUs visible); '' when set to the empty string.
 */
export function visibleDevices(pid: number): string | null {
  if (!validPid(pid)) return null;
  const raw = readText(`/proc/${pid}/environ`);
  if (raw === null) return null;
  const key = 'CUDA_VISIBLE_DEVICES=';
  let found: string | null = null;
  for (const entry of raw.split('\0')) if (entry.startsWith(key)) found = entry.slice(key.length);
  return found;
}

export function isPython(argv0: string): boolean {
  return /^python[\d.]*[a-z]?$/i.test(path.basename(argv0));
}

/** Index of the `run.py` argument, or -1. */
export function runPyIndex(argv: readonly string[]): number {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === 'run.py' || path.basename(a) === 'run.py') return i;
  }
  return -1;
}

export function canonical(p: string): string {
  const abs = path.resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

export function inside(child: string, parent: string): boolean {
  if (child === parent) return true;
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * How well a trainer matches the run: 3 its config argument is `configPath`; 2 its config argument
 * lies in `runFolder`, or its cwd is (inside) `runFolder`; 1 `runFolder` lies under its cwd (the
 * trainer was started from the ai-toolkit folder that holds the run); 0 no match.
 */
function matchScore(
  cwd: string | null,
  configArgs: readonly string[],
  runFolder: string | null,
  configPath: string | null,
): number {
  const configs: string[] = [];
  for (const a of configArgs) {
    if (a.startsWith('-')) continue;
    if (path.isAbsolute(a)) configs.push(canonical(a));
    else if (cwd !== null) configs.push(canonical(path.join(cwd, a)));
  }
  const realCwd = cwd === null ? null : canonical(cwd);
  let score = 0;
  if (configPath !== null && configs.includes(configPath)) score = Math.max(score, 3);
  if (runFolder !== null) {
    if (configs.some((c) => inside(c, runFolder))) score = Math.max(score, 2);
    if (realCwd !== null && inside(realCwd, runFolder)) score = Math.max(score, 2);
    if (realCwd !== null && realCwd !== path.parse(realCwd).root && inside(runFolder, realCwd)) score = Math.max(score, 1);
  }
  return score;
}

/**
 * The PID of a Python process running ai-toolkit's `run.py`. When `runFolder` and/or `configPath`
 * are given, only a process whose config argument or working directory matches the run counts
 * (the best match wins); otherwise any. Among equals the newest (latest start time) wins.
 * null when there is none, or /proc cannot be read.
 */
export function findTrainerPid(options: FindTrainerOptions = {}): number | null {
  try {
    const runFolder = options.runFolder ? canonical(options.runFolder) : null;
    const configPath = options.configPath ? canonical(options.configPath) : null;
    const filtered = runFolder !== null || configPath !== null;
    let entries: string[];
    try {
      entries = readdirSync('/proc');
    } catch {
      return null;
    }
    let best: { pid: number; score: number; start: number } | null = null;
    for (const name of entries) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      if (pid === process.pid) continue;
      const argv = commandLine(pid);
      if (!argv || !isPython(argv[0] ?? '')) continue;
      const at = runPyIndex(argv);
      if (at < 0) continue;
      let score = 0;
      if (filtered) {
        score = matchScore(processCwd(pid), argv.slice(at + 1), runFolder, configPath);
        if (score === 0) continue;
      }
      const start = processStartTime(pid) ?? 0;
      if (
        best === null ||
        score > best.score ||
        (score === best.score && (start > best.start || (start === best.start && pid > best.pid)))
      ) {
        best = { pid, score, start };
      }
    }
    return best?.pid ?? null;
  } catch {
    return null;
  }
}
