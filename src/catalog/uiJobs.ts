import { isAbsolute, join, resolve } from 'node:path';
import { withRetry, type JobDbResult } from '../control/jobDb.js';
import { stripControlSequences } from '../parse/sanitize.js';
import type { ListJob } from '../state/runsList.js';
import type { HostFiles } from '../run/hostFiles.js';

/**
 * Every job of the ai-toolkit UI's queue (I/O): the `Job` table of `aitk_db.db`, read-only, with
 * the same locked-database discipline as the control side (short retries off the event loop, a
 * lock that stays is a reason, never a throw). Nothing is ever written here.
 */

/** A UI job as the list shows it (state/runsList.ts), and what kind of job it is (train, caption). */
export type UiJob = ListJob & { jobType: string | null };

/**
 * The training folder a job writes to. The UI writes an absolute `training_folder`; a relative one
 * is resolved against the toolkit root, where the UI starts run.py.
 */
export function jobFolder(jobConfig: string | null, name: string, toolkitRoot: string): string | null {
  if (!jobConfig) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(jobConfig);
  } catch {
    return null;
  }
  const config = (parsed as { config?: { name?: unknown; process?: unknown } } | null)?.config;
  const process = Array.isArray(config?.process) ? (config.process[0] as { training_folder?: unknown; name?: unknown } | undefined) : undefined;
  const trainingFolder = typeof process?.training_folder === 'string' ? process.training_folder : null;
  if (!trainingFolder) return null;
  const jobName = typeof config?.name === 'string' && config.name ? config.name : name;
  // ai-toolkit's save_root: the process's own name where it has one, else the job's.
  const runName = typeof process?.name === 'string' && process.name ? process.name : jobName;
  const folder = join(trainingFolder.replace(/\[name\]/g, jobName), runName.replace(/\[name\]/g, jobName));
  return isAbsolute(folder) ? folder : resolve(toolkitRoot, folder);
}

function gpuIdsOf(text: unknown): number[] {
  if (typeof text !== 'string') return [];
  return text.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n >= 0);
}

function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return null;
}

function text(v: unknown): string | null {
  return typeof v === 'string' ? stripControlSequences(v) : null;
}

/** The Job columns lora-top reads, those of them a table has (older UI versions lack some). */
const JOB_COLUMNS = ['id', 'name', 'status', 'gpu_ids', 'job_config', 'step', 'total_steps', 'info', 'speed_string', 'queue_position', 'job_type', 'created_at'];

function jobOf(raw: Record<string, unknown>, toolkitRoot: string): UiJob {
  const name = text(raw.name) ?? String(raw.id);
  return {
    id: String(raw.id),
    name,
    status: text(raw.status) ?? 'stopped',
    gpuIds: gpuIdsOf(raw.gpu_ids),
    step: num(raw.step),
    totalSteps: num(raw.total_steps),
    info: text(raw.info),
    speedString: text(raw.speed_string),
    queuePosition: num(raw.queue_position),
    folder: jobFolder(typeof raw.job_config === 'string' ? raw.job_config : null, typeof raw.name === 'string' ? raw.name : name, toolkitRoot),
    jobType: text(raw.job_type),
  };
}

/** The jobs of the UI database at `path` (the toolkit root is its folder), in the UI's own order. */
export async function readUiJobs(path: string, toolkitRoot: string): Promise<JobDbResult<UiJob[]>> {
  return withRetry(path, true, (db) => {
    const columns = new Set((db.prepare(`PRAGMA table_info(Job)`).all() as Array<{ name: string }>).map((c) => c.name));
    if (!columns.has('id') || !columns.has('name')) throw Object.assign(new Error('no Job table'), { code: 'NO_JOB_TABLE' });
    const rows = db.prepare(`SELECT ${JOB_COLUMNS.filter((c) => columns.has(c)).join(', ')} FROM Job`).all() as Array<Record<string, unknown>>;
    return rows.map((raw) => jobOf(raw, toolkitRoot));
  });
}

/**
 * The same, where the database lies (another host's, read-only through its agent; this machine's
 * through readUiJobs). A database that cannot be read is a reason, never a throw.
 */
export async function readUiJobsOn(files: HostFiles, path: string, toolkitRoot: string): Promise<JobDbResult<UiJob[]>> {
  if (!files.querySqlite) return readUiJobs(path, toolkitRoot);
  try {
    const info = await files.querySqlite(path, 'PRAGMA table_info(Job)', []);
    const nameAt = info.columns.indexOf('name');
    const columns = new Set(info.rows.map((row) => String(row[nameAt])));
    if (!columns.has('id') || !columns.has('name')) return { ok: false, reason: `${path}: no Job table (not the ai-toolkit UI's database?)` };
    const { columns: names, rows } = await files.querySqlite(path, `SELECT ${JOB_COLUMNS.filter((c) => columns.has(c)).join(', ')} FROM Job`, []);
    return { ok: true, value: rows.map((row) => jobOf(Object.fromEntries(names.map((n, k) => [n, row[k]])), toolkitRoot)) };
  } catch (error) {
    return { ok: false, reason: stripControlSequences((error as Error).message.split('\n')[0] ?? 'unreadable') };
  }
}
