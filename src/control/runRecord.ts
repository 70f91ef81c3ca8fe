import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What `lora-top run` leaves in the run folder so that a later `lora-top <folder>` re-attaches with
 * control (I/O): `.lora-top/run.json` with the trainer's PID and start time and the control database.
 */

export interface RunRecord {
  pid: number;
  /** /proc/PID/stat field 22 when launched: the PID is only trusted while this matches. */
  startTime: number;
  jobId: string | null;
  controlDb: string | null;
  command: string[];
  config: string;
  startedAt: string;
}

export const RECORD_DIR = '.lora-top';

export function recordPath(folder: string): string {
  return join(folder, RECORD_DIR, 'run.json');
}

export function writeRunRecord(folder: string, record: RunRecord): void {
  mkdirSync(join(folder, RECORD_DIR), { recursive: true });
  const path = recordPath(folder);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** The record, or null when there is none or it is not one. */
export function readRunRecord(folder: string): RunRecord | null {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(recordPath(folder), 'utf8'));
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null) return null;
  const r = data as Record<string, unknown>;
  if (typeof r.pid !== 'number' || typeof r.startTime !== 'number') return null;
  return {
    pid: r.pid,
    startTime: r.startTime,
    jobId: typeof r.jobId === 'string' ? r.jobId : null,
    controlDb: typeof r.controlDb === 'string' ? r.controlDb : null,
    command: Array.isArray(r.command) ? r.command.filter((a): a is string => typeof a === 'string') : [],
    config: typeof r.config === 'string' ? r.config : '',
    startedAt: typeof r.startedAt === 'string' ? r.startedAt : '',
  };
}
