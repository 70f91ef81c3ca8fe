import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { HostFiles } from '../run/hostFiles.js';

/**
 * Reads the loss history from a run's `loss_log.db` (I/O). ai-toolkit keeps it in WAL mode and
 * writes it while training, so it is opened read-only and a busy or broken database is answered
 * with a reason, never an exception. better-sqlite3 is loaded only when a database is there.
 */
export type LossDbResult =
  | { ok: true; points: Array<{ step: number; loss: number }> }
  | { ok: false; reason: string };

export const LOSS_DB_NAME = 'loss_log.db';
const LOSS_SQL = 'SELECT step, value_real AS value FROM metrics WHERE key = ? AND value_real IS NOT NULL ORDER BY step';

/** The same, on another host: the query runs there (read-only), only its rows cross the link. */
export async function readLossDbOn(files: HostFiles, folder: string, key = 'loss/loss'): Promise<LossDbResult> {
  if (!files.querySqlite) return { ok: false, reason: 'no way to read loss_log.db there' };
  const path = join(folder, LOSS_DB_NAME);
  try {
    await files.stat(path);
  } catch {
    return { ok: false, reason: 'no loss_log.db' };
  }
  try {
    const { rows } = await files.querySqlite(path, LOSS_SQL, [key]);
    return { ok: true, points: rows.map((row) => ({ step: Number(row[0]), loss: Number(row[1]) })) };
  } catch (error) {
    return { ok: false, reason: `loss_log.db unreadable: ${(error as Error).message}` };
  }
}

export async function readLossDb(folder: string, key = 'loss/loss'): Promise<LossDbResult> {
  const path = join(folder, LOSS_DB_NAME);
  if (!existsSync(path)) return { ok: false, reason: 'no loss_log.db' };
  let Database: typeof import('better-sqlite3');
  try {
    Database = (await import('better-sqlite3')).default;
  } catch {
    return { ok: false, reason: 'better-sqlite3 is not available' };
  }
  let db: import('better-sqlite3').Database | null = null;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 200 });
    const rows = db
      .prepare(LOSS_SQL)
      .all(key) as Array<{ step: number; value: number }>;
    return { ok: true, points: rows.map((row) => ({ step: row.step, loss: row.value })) };
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    const reason = code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' ? 'loss_log.db is locked' : `loss_log.db unreadable: ${(error as Error).message}`;
    return { ok: false, reason };
  } finally {
    db?.close();
  }
}
