import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { UserError, EXIT } from '../cli/errors.js';
import { stripControlSequences } from '../parse/sanitize.js';
import { createControlDb, setJobPid } from './controlDb.js';
import { writeRunRecord } from './runRecord.js';
import { identify } from './trainerSignals.js';

/**
 * `lora-top run [--] python run.py CONFIG [args…]` (I/O): starts an ai-toolkit trainer the way the
 * UI does — its old log.txt moved to logs/<N>_log.txt, the trainer detached in a session of its own
 * (it outlives lora-top and a dropped SSH connection), its output appended to log.txt, unbuffered —
 * and gives it a control channel: a control database and a derived config that runs it as a
 * `diffusion_trainer` pointed at that database, so save now, sample now and stop work as under the UI.
 */

export interface Launched {
  folder: string;
  logPath: string;
  pid: number;
  /** What runs (the derived config, or the user's own with --no-control). */
  configPath: string;
  control: boolean;
  /** A word for the user when the config could not be given control. */
  note: string | null;
}

export interface LaunchOptions {
  cwd: string;
  control: boolean;
  env?: NodeJS.ProcessEnv;
}

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The config argument: the first YAML or JSON file after run.py (or anywhere, without run.py). */
export function findConfigArg(command: readonly string[]): number {
  const runPy = command.findIndex((a) => basename(a) === 'run.py');
  for (let i = runPy >= 0 ? runPy + 1 : 1; i < command.length; i++) {
    const arg = command[i]!;
    if (arg.startsWith('-')) continue;
    if (/\.(ya?ml|json)$/i.test(arg)) return i;
  }
  return -1;
}

/** Where the UI puts an old log: logs/<N>_log.txt with the first free N. */
export function rotateLog(folder: string): string | null {
  const logPath = join(folder, 'log.txt');
  if (!existsSync(logPath)) return null;
  const logs = join(folder, 'logs');
  mkdirSync(logs, { recursive: true });
  let n = 0;
  while (existsSync(join(logs, `${n}_log.txt`))) n++;
  const target = join(logs, `${n}_log.txt`);
  renameSync(logPath, target);
  return target;
}

/** Reads the job config: its name, training folder, process type and total steps. */
function readJobConfig(path: string): { data: Dict; process: Dict; name: string; trainingFolder: string; type: string | null; steps: number | null } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read the config ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, EXIT.usage);
  }
  let data: unknown;
  try {
    data = parseYaml(text, { maxAliasCount: 100, prettyErrors: false });
  } catch (error) {
    throw new UserError(`${path} is not YAML or JSON: ${(error as Error).message.split('\n')[0]}`, EXIT.usage);
  }
  const config = isDict(data) && isDict(data.config) ? data.config : null;
  const processes = config && Array.isArray(config.process) ? config.process : null;
  const process = processes && isDict(processes[0]) ? processes[0] : null;
  if (!isDict(data) || !config || !process) throw new UserError(`${path} is not an ai-toolkit job config (no config.process)`, EXIT.usage);
  const name = typeof config.name === 'string' && config.name.trim() ? config.name.trim() : null;
  if (!name) throw new UserError(`${path} has no config.name: ai-toolkit needs one to name the run's folder`, EXIT.usage);
  const trainingFolder = typeof process.training_folder === 'string' && process.training_folder.trim() ? process.training_folder : 'output';
  const train = isDict(process.train) ? process.train : {};
  const steps = typeof train.steps === 'number' ? train.steps : null;
  return { data, process, name, trainingFolder, type: typeof process.type === 'string' ? process.type : null, steps };
}

/** Trainer types that poll a Job row when given a database and AITK_JOB_ID. */
const CONTROLLABLE = new Set(['sd_trainer', 'diffusion_trainer', 'ui_trainer']);

export async function launchTrainer(command: string[], options: LaunchOptions): Promise<Launched> {
  if (command.length === 0) throw new UserError('lora-top run needs the trainer command: lora-top run -- python run.py config.yaml', EXIT.usage);
  const configIndex = findConfigArg(command);
  if (configIndex < 0) throw new UserError('lora-top run needs a config: lora-top run -- python run.py config.yaml', EXIT.usage);
  const configPath = resolve(options.cwd, command[configIndex]!);
  const job = readJobConfig(configPath);
  const folder = resolve(options.cwd, job.trainingFolder, job.name);
  mkdirSync(folder, { recursive: true });
  rotateLog(folder);
  const logPath = join(folder, 'log.txt');

  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env), PYTHONUNBUFFERED: '1' };
  const argv = [...command];
  let control = false;
  let note: string | null = null;
  let jobId: string | null = null;
  let controlDb: string | null = null;
  let runConfig = configPath;
  if (options.control) {
    if (job.type !== null && CONTROLLABLE.has(job.type)) {
      jobId = randomUUID();
      controlDb = join(folder, '.lora-top', 'control.db');
      // The derived config: the same job, run as a diffusion_trainer that polls lora-top's database,
      // writing loss_log.db as under the UI.
      const derived = structuredClone(job.data) as Dict;
      const process = ((derived.config as Dict).process as Dict[])[0]!;
      if (process.type === 'sd_trainer') process.type = 'diffusion_trainer';
      process.sqlite_db_path = controlDb;
      process.logging = { ...(isDict(process.logging) ? process.logging : {}), use_ui_logger: true };
      runConfig = join(folder, `lora-top.${extname(configPath).toLowerCase() === '.json' ? 'json' : 'yaml'}`);
      writeFileSync(
        runConfig,
        runConfig.endsWith('.json')
          ? `${JSON.stringify(derived, null, 2)}\n`
          : `# Written by lora-top run from ${configPath}: the same job, run as a diffusion_trainer\n# that polls lora-top's control database (save now, sample now, stop).\n${stringifyYaml(derived)}`,
      );
      await createControlDb(controlDb, { id: jobId, name: job.name, jobConfig: JSON.stringify(derived), totalSteps: job.steps, gpuIds: env.CUDA_VISIBLE_DEVICES ?? '' });
      argv[configIndex] = runConfig;
      env.AITK_JOB_ID = jobId;
      control = true;
    } else {
      note = `the config's process type is ${job.type === null ? 'not set' : `"${stripControlSequences(job.type)}"`}: it runs as it is, without save now, sample now or a flagged stop`;
    }
  }

  const fd = openSync(logPath, 'a');
  let pid: number;
  try {
    pid = await new Promise<number>((resolvePid, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, detached: true, stdio: ['ignore', fd, fd], env });
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(new UserError(`cannot start ${argv[0]}: ${error.code === 'ENOENT' ? 'no such program' : error.message}`, EXIT.usage)),
      );
      child.once('spawn', () => {
        child.unref();
        resolvePid(child.pid!);
      });
    });
  } finally {
    closeSync(fd);
  }
  const id = identify(pid);
  if (id) {
    writeRunRecord(folder, { pid, startTime: id.startTime, jobId, controlDb, command: argv, config: runConfig, startedAt: new Date().toISOString() });
  }
  if (controlDb && jobId) await setJobPid(controlDb, jobId, pid);
  return { folder, logPath, pid, configPath: runConfig, control, note };
}
