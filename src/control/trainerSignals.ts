import { readdirSync, readFileSync } from 'node:fs';
import { processStartTime } from '../sources/trainerProcess.js';

/**
 * Signals to the trainer, safely (I/O). A PID alone is not an identity: the trainer may have ended
 * and its number been given to another process. Every signal first checks that the process still
 * has the start time it had when it was proven to be the trainer (/proc/PID/stat field 22), and is
 * not sent when it does not. A freeze reaches the trainer and its own descendants (the data-loader
 * workers), found from /proc — never a whole process group, which may hold a launcher script, a
 * `conda run`, the person's own shell or other jobs.
 */

export interface TrainerIdentity {
  pid: number;
  /** Clock ticks since boot when it started. */
  startTime: number;
}

export type SignalName = 'SIGSTOP' | 'SIGCONT' | 'SIGINT';

/** `processes`: how many got the signal (the trainer and its descendants). */
export type SignalResult = { ok: true; processes: number } | { ok: false; reason: string };

/** The identity of a running process, or null when there is none with that PID (or /proc is unreadable). */
export function identify(pid: number): TrainerIdentity | null {
  const startTime = processStartTime(pid);
  return startTime === null ? null : { pid, startTime };
}

/** Fields after the comm of /proc/PID/stat: [0] state, [1] ppid, [2] pgrp, [3] session, [19] start time. */
function statFields(pid: number | string): string[] | null {
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

/** Every descendant of the process (children, their children…), from one pass over /proc. */
export function descendants(id: TrainerIdentity): TrainerIdentity[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const children = new Map<number, TrainerIdentity[]>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    const ppid = Number(fields?.[1]);
    const start = Number(fields?.[19]);
    if (!fields || !Number.isInteger(ppid) || !Number.isSafeInteger(start)) continue;
    const list = children.get(ppid);
    const child = { pid: Number(entry), startTime: start };
    if (list) list.push(child);
    else children.set(ppid, [child]);
  }
  const out: TrainerIdentity[] = [];
  const queue = [id.pid];
  const seen = new Set(queue);
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      // A child that started before its parent is a PID the parent's number was recycled onto.
      if (seen.has(child.pid) || child.startTime < id.startTime) continue;
      seen.add(child.pid);
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

function send(id: TrainerIdentity, signal: SignalName): NodeJS.ErrnoException | null {
  if (processStartTime(id.pid) !== id.startTime) return Object.assign(new Error('gone'), { code: 'ESRCH' });
  try {
    process.kill(id.pid, signal);
    return null;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
}

/**
 * Sends a signal to the trainer and, with `withDescendants`, to every process it started (a stop
 * goes to the trainer first, so it starts nothing new meanwhile, then to the descendants found
 * after it; a continue goes to the descendants first). The caller has proven `id` to be the trainer.
 */
export function signalTrainer(id: TrainerIdentity, signal: SignalName, withDescendants: boolean): SignalResult {
  const now = processStartTime(id.pid);
  if (now === null) return { ok: false, reason: `the trainer (pid ${id.pid}) has exited` };
  if (now !== id.startTime) return { ok: false, reason: `pid ${id.pid} is now another process (the trainer exited): nothing sent` };
  let processes = 0;
  if (withDescendants && signal === 'SIGCONT') for (const d of descendants(id)) if (send(d, signal) === null) processes++;
  const error = send(id, signal);
  if (error) {
    if (error.code === 'EPERM') return { ok: false, reason: `not allowed to signal pid ${id.pid} (another user's process?)` };
    if (error.code === 'ESRCH') return { ok: false, reason: `the trainer (pid ${id.pid}) has exited` };
    return { ok: false, reason: `signal failed: ${error.message}` };
  }
  processes++;
  if (withDescendants && signal !== 'SIGCONT') for (const d of descendants(id)) if (send(d, signal) === null) processes++;
  return { ok: true, processes };
}
