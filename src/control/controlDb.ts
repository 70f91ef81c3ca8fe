import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The control database `lora-top run` gives a command-line run (I/O): a small SQLite file owned by
 * lora-top, in the run folder, with the `Job` table ai-toolkit's DiffusionTrainer reads and writes
 * (the same columns as the UI's `aitk_db.db`). The trainer finds it through `sqlite_db_path` in its
 * config and `AITK_JOB_ID` in its environment, and then polls the flags exactly as under the UI.
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS Job (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL UNIQUE,
  gpu_ids TEXT NOT NULL DEFAULT '',
  job_config TEXT NOT NULL DEFAULT '{}',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  status TEXT NOT NULL DEFAULT 'stopped',
  stop BOOLEAN NOT NULL DEFAULT 0,
  return_to_queue BOOLEAN NOT NULL DEFAULT 0,
  step INTEGER NOT NULL DEFAULT 0,
  total_steps INTEGER,
  info TEXT NOT NULL DEFAULT '',
  speed_string TEXT NOT NULL DEFAULT '',
  queue_position INTEGER NOT NULL DEFAULT 0,
  pid INTEGER,
  job_type TEXT NOT NULL DEFAULT 'train',
  job_ref TEXT,
  save_now BOOLEAN NOT NULL DEFAULT 0,
  sample_now BOOLEAN NOT NULL DEFAULT 0
)`;

export interface NewJob {
  id: string;
  name: string;
  jobConfig: string;
  totalSteps: number | null;
  gpuIds: string;
}

/** Creates (or reuses) the database and puts in a fresh row for the job, replacing one of the same name. */
export async function createControlDb(path: string, job: NewJob): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const Sqlite = (await import('better-sqlite3')).default;
  const db = new Sqlite(path, { timeout: 2000 });
  try {
    db.exec(SCHEMA);
    db.transaction(() => {
      db.prepare('DELETE FROM Job WHERE name = ? OR id = ?').run(job.name, job.id);
      db.prepare(`INSERT INTO Job (id, name, gpu_ids, job_config, status, info, total_steps) VALUES (?, ?, ?, ?, 'running', 'Starting', ?)`).run(
        job.id,
        job.name,
        job.gpuIds,
        job.jobConfig,
        job.totalSteps,
      );
    })();
  } finally {
    db.close();
  }
}

/** Records the trainer's PID in its row (what the UI's startJob does). */
export async function setJobPid(path: string, id: string, pid: number): Promise<void> {
  const Sqlite = (await import('better-sqlite3')).default;
  const db = new Sqlite(path, { timeout: 2000 });
  try {
    db.prepare('UPDATE Job SET pid = ? WHERE id = ?').run(pid, id);
  } finally {
    db.close();
  }
}
