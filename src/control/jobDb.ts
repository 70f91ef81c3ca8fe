import { existsSync } from 'node:fs';

/**
 * The `Job` row a trainer polls (I/O): the ai-toolkit UI's `aitk_db.db`, or the control database
 * `lora-top run` makes with the same table. lora-top only ever reads the row and sets its flag
 * columns (`save_now`, `sample_now`, `stop`); it never changes a schema it does not own. A locked
 * database is retried a few times, briefly (the trainer holds its write lock for milliseconds), and
 * every write is read back.
 */

export type JobFlag = 'save_now' | 'sample_now' | 'stop';

export interface JobRow {
  id: string;
  name: string | null;
  status: string | null;
  info: string | null;
  step: number | null;
  pid: number | null;
  saveNow: boolean;
  sampleNow: boolean;
  stop: boolean;
}

export type JobDbResult<T> = { ok: true; value: T } | { ok: false; reason: string };

const RETRIES = 8;
const RETRY_MS = 60;

type Database = import('better-sqlite3').Database;

async function open(path: string, readonly: boolean): Promise<Database> {
  const Sqlite = (await import('better-sqlite3')).default;
  // timeout 0: a busy database is retried here without blocking the event loop.
  return new Sqlite(path, { readonly, fileMustExist: true, timeout: 0 });
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code.startsWith('SQLITE_BUSY');
}

function describe(path: string, error: unknown, readonly: boolean): string {
  if (isBusy(error)) return `${path} stays locked`;
  const code = (error as { code?: string }).code ?? '';
  if (code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN') return `${path} cannot be ${readonly ? 'read' : 'written'} (permissions?)`;
  return `${path}: ${(error as Error).message.split('\n')[0]}`;
}

export async function withRetry<T>(path: string, readonly: boolean, work: (db: Database) => T): Promise<JobDbResult<T>> {
  if (!existsSync(path)) return { ok: false, reason: `${path} does not exist` };
  let lastError: unknown = null;
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    let db: Database | null = null;
    try {
      db = await open(path, readonly);
      return { ok: true, value: work(db) };
    } catch (error) {
      lastError = error;
      if (!isBusy(error)) break;
    } finally {
      db?.close();
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS * (attempt + 1)));
  }
  return { ok: false, reason: describe(path, lastError, readonly) };
}

const COLUMNS = 'id, name, status, info, step, pid, save_now, sample_now, stop';

function toRow(raw: Record<string, unknown> | undefined): JobRow | null {
  if (!raw) return null;
  const num = (v: unknown) => (typeof v === 'number' || typeof v === 'bigint' ? Number(v) : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null);
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const flag = (v: unknown) => v === 1 || v === 1n || v === '1' || v === true;
  return {
    id: String(raw.id),
    name: str(raw.name),
    status: str(raw.status),
    info: str(raw.info),
    step: num(raw.step),
    pid: num(raw.pid),
    saveNow: flag(raw.save_now),
    sampleNow: flag(raw.sample_now),
    stop: flag(raw.stop),
  };
}

/** The job by id, else by name (the UI's names are unique). */
export function readJob(path: string, key: { id?: string | null; name?: string | null }): Promise<JobDbResult<JobRow | null>> {
  return withRetry(path, true, (db) => {
    if (key.id) {
      const row = db.prepare(`SELECT ${COLUMNS} FROM Job WHERE id = ?`).get(key.id) as Record<string, unknown> | undefined;
      if (row) return toRow(row);
    }
    if (key.name) return toRow(db.prepare(`SELECT ${COLUMNS} FROM Job WHERE name = ?`).get(key.name) as Record<string, unknown> | undefined);
    return null;
  });
}

/** Sets one flag of a job to 1 and reads it back. */
export async function setJobFlag(path: string, jobId: string, flag: JobFlag): Promise<JobDbResult<true>> {
  const result = await withRetry(path, false, (db) => {
    const changed = db.prepare(`UPDATE Job SET ${flag} = 1 WHERE id = ?`).run(jobId).changes;
    if (changed === 0) throw Object.assign(new Error(`no job ${jobId} in the database`), { code: 'NO_JOB' });
    const back = db.prepare(`SELECT ${flag} AS value FROM Job WHERE id = ?`).get(jobId) as { value: unknown } | undefined;
    return back?.value;
  });
  if (!result.ok) return result;
  // The trainer may already have read and cleared it: 0 then is fine, only "no row" is not.
  return { ok: true, value: true };
}
