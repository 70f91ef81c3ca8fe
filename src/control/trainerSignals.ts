import { readFileSync } from 'node:fs';
import { processStartTime } from '../sources/trainerProcess.js';

/**
 * Signals to the trainer, safely (I/O). A PID alone is not an identity: the trainer may have ended
 * and its number been given to another process. Every signal first checks that the process still
 * has the start time it had when lora-top found it (/proc/PID/stat field 22), and is not sent when
 * it does not.
 */

export interface TrainerIdentity {
  pid: number;
  /** Clock ticks since boot when it started. */
  startTime: number;
}

export type SignalName = 'SIGSTOP' | 'SIGCONT' | 'SIGINT';

export type SignalResult = { ok: true; group: boolean } | { ok: false; reason: string };

/** The identity of a running process, or null when there is none with that PID (or /proc is unreadable). */
export function identify(pid: number): TrainerIdentity | null {
  const startTime = processStartTime(pid);
  return startTime === null ? null : { pid, startTime };
}

/** Fields after the comm of /proc/PID/stat: [0] state, [1] ppid, [2] pgrp, [3] session. */
function statFields(pid: number | 'self'): string[] | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const close = text.lastIndexOf(')');
  return close < 0 ? null : text.slice(close + 1).trim().split(/\s+/);
}

/** The process's state letter: R running, S sleeping, T stopped, Z zombie…; null when gone. */
export function processState(pid: number): string | null {
  return statFields(pid)?.[0] ?? null;
}

function processGroup(pid: number | 'self'): number | null {
  const field = statFields(pid)?.[2];
  return field !== undefined && /^\d+$/.test(field) ? Number(field) : null;
}

/** Whether the process is still the one identified (same PID, same start time) and not a zombie. */
export function stillRunning(id: TrainerIdentity): boolean {
  return processLife(id) !== 'gone';
}

/** One read of /proc/PID/stat: the identified process is gone, running, or stopped (SIGSTOP). */
export function processLife(id: TrainerIdentity): 'gone' | 'running' | 'stopped' {
  const fields = statFields(id.pid);
  const start = fields?.[19];
  if (!fields || start === undefined || Number(start) !== id.startTime || fields[0] === 'Z' || fields[0] === 'X') return 'gone';
  return fields[0] === 'T' ? 'stopped' : 'running';
}

/**
 * Sends a signal to the trainer. With `group`, to its whole process group (the data-loader workers
 * too), unless that group is lora-top's own, or the trainer does not lead its group and the group
 * holds more than the job (a shell script's group is still the job; lora-top's is not).
 */
export function signalTrainer(id: TrainerIdentity, signal: SignalName, group: boolean): SignalResult {
  const now = processStartTime(id.pid);
  if (now === null) return { ok: false, reason: `the trainer (pid ${id.pid}) has exited` };
  if (now !== id.startTime) return { ok: false, reason: `pid ${id.pid} is now another process (the trainer exited): nothing sent` };
  const pgid = group ? processGroup(id.pid) : null;
  const ours = processGroup('self');
  const toGroup = pgid !== null && pgid > 1 && pgid !== ours;
  try {
    process.kill(toGroup ? -pgid : id.pid, signal);
    return { ok: true, group: toGroup };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPERM') return { ok: false, reason: `not allowed to signal pid ${id.pid} (another user's process?)` };
    if (code === 'ESRCH') return { ok: false, reason: `the trainer (pid ${id.pid}) has exited` };
    return { ok: false, reason: `signal failed: ${(error as Error).message}` };
  }
}
