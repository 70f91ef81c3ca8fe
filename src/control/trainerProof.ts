import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { stripControlSequences } from '../parse/sanitize.js';
import { canonical, commandLine, inside, isPython, processCwd, processEnvironment, processStartTime, runPyIndex } from '../sources/trainerProcess.js';
import type { TrainerIdentity } from './trainerSignals.js';

/**
 * The proof that a process is this run's trainer (I/O: /proc and the trainer's config file). A PID
 * from a Job row, from `.lora-top/run.json`, from `--pid` or from a scan is only a claim: the row
 * keeps its pid after the job ended and PIDs are recycled (pid_max is 32768 on many machines), so
 * the number may by now be anyone's shell or a daemon. Nothing is signalled on a claim alone.
 *
 * The proof: a Python process running ai-toolkit's `run.py` with a config of this run — a config
 * file inside the run folder (the UI's `.job_config.json`, the `lora-top.yaml` of `lora-top run`),
 * or one whose `name` and `training_folder` (resolved as ai-toolkit resolves them, against the
 * trainer's working directory) name this run folder — and, where `/proc/PID/environ` is readable
 * and the job is known, started with this job's `AITK_JOB_ID`.
 */

/** What a process must be to be this run's trainer. */
export interface TrainerExpectation {
  /** The run folder (`<training_folder>/<name>`); null when only a log file is followed. */
  runFolder: string | null;
  /** The job's name, which the config must give when the folder is not known. */
  name: string | null;
  /** The `AITK_JOB_ID` of this job (a UI job, a `lora-top run` job); null when there is none. */
  jobId: string | null;
}

export type Proof = { ok: true; id: TrainerIdentity } | { ok: false; why: string };

/** What /proc says about one process. */
export interface ProcessFacts {
  pid: number;
  startTime: number;
  argv: string[] | null;
  /** null: unreadable (another user's process). */
  cwd: string | null;
  /** The environment it was started with; null: unreadable. */
  env: Map<string, string> | null;
}

/** How the proof reads config files: real files in the product, a table in tests. */
export interface ConfigFiles {
  isFile(file: string): boolean;
  /** The text, or null when it cannot be read (or is too large to be a config). */
  read(file: string): string | null;
  /** The path with symbolic links resolved (the path itself when it cannot be). */
  canonical(file: string): string;
}

const MAX_CONFIG_BYTES = 1024 * 1024;
const CONFIG_EXTENSIONS = ['.json', '.jsonc', '.yaml', '.yml'];

export const realFiles: ConfigFiles = {
  isFile(file) {
    try {
      return statSync(file).isFile();
    } catch {
      return false;
    }
  },
  read(file) {
    try {
      if (statSync(file).size > MAX_CONFIG_BYTES) return null;
      return readFileSync(file, 'utf8');
    } catch {
      return null;
    }
  },
  canonical,
};

export function readProcessFacts(pid: number): ProcessFacts | null {
  const startTime = processStartTime(pid);
  if (startTime === null) return null;
  return { pid, startTime, argv: commandLine(pid), cwd: processCwd(pid), env: processEnvironment(pid) };
}

/** Reads the process and judges it. */
export function proveTrainer(pid: number, expect: TrainerExpectation, files: ConfigFiles = realFiles): Proof {
  const facts = readProcessFacts(pid);
  if (!facts) return { ok: false, why: 'no such process' };
  return judgeTrainer(facts, expect, files);
}

/** What the run's config arguments say, read as run.py reads its own (`-n NAME`, `-l FILE`, `-r`). */
interface RunArgs {
  configs: string[];
  name: string | null;
}

function runArgs(args: readonly string[]): RunArgs {
  const configs: string[] = [];
  let name: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-n' || a === '--name') name = args[++i] ?? null;
    else if (a.startsWith('--name=')) name = a.slice('--name='.length);
    else if (a === '-l' || a === '--log') i++;
    else if (a.startsWith('-')) continue;
    else configs.push(a);
  }
  return { configs, name };
}

/** Where ai-toolkit's get_config finds a config argument: `<toolkit>/config/ARG[.ext]`, else ARG itself. */
function resolveConfig(arg: string, toolkitRoot: string | null, cwd: string | null, files: ConfigFiles): string | null {
  // get_config tries `config/ARG` with each extension (only when `config/ARG` itself is not there),
  // then ARG as a path.
  if (toolkitRoot !== null && !path.isAbsolute(arg)) {
    const inConfig = path.resolve(toolkitRoot, 'config', arg);
    if (!files.isFile(inConfig)) {
      for (const ext of CONFIG_EXTENSIONS) if (files.isFile(inConfig + ext)) return inConfig + ext;
    }
  }
  if (path.isAbsolute(arg)) return files.isFile(arg) ? arg : null;
  if (cwd === null) return null;
  const plain = path.resolve(cwd, arg);
  return files.isFile(plain) ? plain : null;
}

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The run folder a job config names (`training_folder/name`, as run from `cwd`), and its name. */
function configuredRun(text: string, nameArg: string | null, cwd: string | null, env: Map<string, string> | null): { name: string; folder: string | null } | null {
  // `${VAR}` is replaced from the environment before parsing, as ai-toolkit does.
  const expanded = env ? text.replace(/\$\{([^}]+)\}/g, (whole, key: string) => env.get(key) ?? whole) : text;
  let data: unknown;
  try {
    data = parseYaml(expanded, { maxAliasCount: 100, prettyErrors: false });
  } catch {
    return null;
  }
  if (!isDict(data) || !isDict(data.config)) return null;
  const config = data.config;
  const configName = typeof config.name === 'string' ? config.name : null;
  const tag = nameArg ?? configName;
  if (tag === null) return null;
  const name = (configName ?? tag).replaceAll('[name]', tag).trim();
  const process = Array.isArray(config.process) && isDict(config.process[0]) ? config.process[0] : null;
  const trainingFolder = (typeof process?.training_folder === 'string' && process.training_folder.trim() ? process.training_folder : 'output').replaceAll('[name]', tag);
  if (name.length === 0) return null;
  if (!path.isAbsolute(trainingFolder) && cwd === null) return { name, folder: null };
  return { name, folder: path.resolve(cwd ?? '/', trainingFolder, name) };
}

/** A short, safe description of a process for a message: `sleep`, `python3 other.py`. */
export function describeCommand(argv: readonly string[] | null): string {
  if (!argv || argv.length === 0) return 'no command line: a kernel thread or a zombie';
  const program = path.basename(argv[0]!);
  const script = isPython(argv[0]!) ? argv.slice(1).find((a) => !a.startsWith('-')) : undefined;
  const text = script !== undefined ? `${program} ${path.basename(script)}` : program;
  return stripControlSequences(text).slice(0, 60);
}

/** Judges whether the process is this run's trainer. Pure but for `files`. */
export function judgeTrainer(facts: ProcessFacts, expect: TrainerExpectation, files: ConfigFiles): Proof {
  const argv = facts.argv;
  if (!argv || argv.length === 0 || !isPython(argv[0]!)) return { ok: false, why: describeCommand(argv) };
  const at = runPyIndex(argv);
  if (at < 0) return { ok: false, why: describeCommand(argv) };
  if (expect.runFolder === null && expect.name === null) return { ok: false, why: 'lora-top cannot tell which run it trains' };

  const runPy = argv[at]!;
  const toolkitRoot = path.isAbsolute(runPy) ? path.dirname(runPy) : facts.cwd !== null ? path.dirname(path.resolve(facts.cwd, runPy)) : null;
  const { configs, name: nameArg } = runArgs(argv.slice(at + 1));
  const runFolder = expect.runFolder === null ? null : files.canonical(expect.runFolder);
  let matched = false;
  let other: string | null = null;
  let unresolved = false;
  for (const arg of configs) {
    const file = resolveConfig(arg, toolkitRoot, facts.cwd, files);
    if (file === null) {
      if (!path.isAbsolute(arg) && facts.cwd === null) unresolved = true;
      continue;
    }
    if (!CONFIG_EXTENSIONS.includes(path.extname(file).toLowerCase())) continue;
    if (runFolder !== null && inside(files.canonical(file), runFolder)) {
      matched = true;
      break;
    }
    const text = files.read(file);
    const run = text === null ? null : configuredRun(text, nameArg, facts.cwd, facts.env);
    if (!run) continue;
    const same = runFolder !== null ? run.folder !== null && files.canonical(run.folder) === runFolder : run.name === expect.name;
    if (same) {
      matched = true;
      break;
    }
    other ??= run.folder ?? run.name;
  }
  if (!matched) {
    if (other !== null) return { ok: false, why: `run.py of another run: ${stripControlSequences(other).slice(-80)}` };
    if (unresolved) return { ok: false, why: 'run.py; its working directory cannot be read to find its config' };
    return { ok: false, why: 'run.py with no config of this run' };
  }
  if (expect.jobId !== null && facts.env !== null) {
    const jobId = facts.env.get('AITK_JOB_ID')?.trim();
    if (jobId === undefined) return { ok: false, why: 'run.py of this run, but not started for this job: no AITK_JOB_ID' };
    if (jobId !== expect.jobId) return { ok: false, why: `run.py of this run, but started for another job (AITK_JOB_ID ${stripControlSequences(jobId).slice(0, 36)})` };
  }
  return { ok: true, id: { pid: facts.pid, startTime: facts.startTime } };
}

/** Every running process proven to be this run's trainer, newest first. */
export function findProvenTrainers(expect: TrainerExpectation, files: ConfigFiles = realFiles): TrainerIdentity[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: TrainerIdentity[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    // The cheap test first: only a `python … run.py` is worth reading further.
    const argv = commandLine(pid);
    if (!argv || !isPython(argv[0] ?? '') || runPyIndex(argv) < 0) continue;
    const proof = proveTrainer(pid, expect, files);
    if (proof.ok) found.push(proof.id);
  }
  return found.sort((a, b) => b.startTime - a.startTime || b.pid - a.pid);
}
