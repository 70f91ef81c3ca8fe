import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Reads the loss history from a run's `loss_log.db` (I/O). ai-toolkit keeps it in WAL mode and
 * writes it while training, so it is opened read-only and a busy or broken database is answered
 * with a reason, never an exception. better-sqlite3 is loaded only when a database is there.
 */
export type LossDbResult =
  | { ok: true; points: Array<{ step: number; loss: number }> }
  | { ok: false; reason: string };

export const LOSS_DB_NAME = 'loss_log.db';

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
      .prepare('SELECT step, value_real AS value FROM metrics WHERE key = ? AND value_real IS NOT NULL ORDER BY step')
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
