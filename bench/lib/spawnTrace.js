// Counting the processes a program starts, exactly: run it under strace, following forks, tracing
// only the calls that create a process or run a program, then read the trace back.
//
//   strace -f --seccomp-bpf -ttt -s 256 -e trace=execve,clone,clone3,fork,vfork -o FILE PROGRAM ARGS
//
// Every fork/vfork, and every clone/clone3 without CLONE_THREAD, anywhere in the traced tree is a
// new process (threads are clones WITH CLONE_THREAD and are left out); each is named by the first
// program it exec'd successfully; one whose every exec failed by the first it tried
// (`foo (exec failed: ENOENT)`); one that never tried as `(fork of sh, no exec)`: a shell's child
// for a pipeline element that is a builtin, or a command it found missing on PATH (dash looks it
// up in the child, prints `not found` and exits without an exec). Each line carries an absolute
// time (-ttt, the same clock as Date.now()), so a count can be limited to a window. With
// --seccomp-bpf only those few calls stop the traced processes, so tracing costs little.
// BENCH_STRACE=none makes findStrace() answer that there is none (to try the fallbacks).
import { spawnSync } from 'node:child_process';
import { basename } from 'node:path';

const TRACED = 'execve,clone,clone3,fork,vfork';

let found;
/**
 * strace's path when it is installed and may trace here (ptrace can be forbidden in a container),
 * else null; `problem` says why not.
 */
export function findStrace() {
  if (found !== undefined) return found;
  if (process.env.BENCH_STRACE === 'none') {
    found = { path: null, problem: 'strace is not used (BENCH_STRACE=none)' };
    return found;
  }
  const which = spawnSync('sh', ['-c', 'command -v strace'], { encoding: 'utf8' });
  const path = which.status === 0 ? which.stdout.trim() : '';
  if (!path) {
    found = { path: null, problem: 'strace is not installed (apt-get install -y strace)' };
    return found;
  }
  const probe = spawnSync(path, [...straceArgs('/dev/null'), 'true'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    found = { path: null, problem: `strace cannot trace here: ${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim().split('\n')[0]}` };
    return found;
  }
  const version = spawnSync(path, ['-V'], { encoding: 'utf8' }).stdout?.split('\n')[0]?.trim() ?? 'strace';
  found = { path, version, problem: null };
  return found;
}

/** strace's options (before the program and its arguments) writing the trace to `outFile`. */
export function straceArgs(outFile) {
  return ['-f', '--seccomp-bpf', '-ttt', '-s', '256', '-e', `trace=${TRACED}`, '-o', outFile];
}

/** The argv of an execve line as strace prints it: execve("path", ["a", "b\\"c"...], ...) (strings may be cut). */
function parseExecArgv(call) {
  const at = call.indexOf(', [');
  if (at < 0) return [];
  const out = [];
  const re = /\s*"((?:[^"\\]|\\.)*)"(?:\.\.\.)?,?/y;
  re.lastIndex = at + 3;
  let m;
  while ((m = re.exec(call)) !== null) out.push(m[1].replace(/\\(.)/g, '$1'));
  return out;
}

/**
 * Reads a trace written with straceArgs(). Returns { root, processes }: root is the traced program's
 * pid (the first one in the trace); processes are every process created under it, in order:
 * { pid, parent, t (s, epoch), program (basename of the first successful exec, else as above),
 *   path, argv, execs: [{ path, argv, t }] }.
 */
export function parseStrace(text) {
  const pending = new Map(); // pid → the start of an unfinished call
  const procs = new Map();
  const execs = new Map(); // pid → [{ path, argv, t }] (successful only)
  const failed = new Map(); // pid → { path, errno } of its first failed exec (e.g. a command not found)
  let root = null;
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    const t = Number(m[2]);
    let call = m[3];
    root ??= pid;
    if (call.startsWith('+++') || call.startsWith('---')) continue;
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(call);
    if (resumed) {
      const start = pending.get(pid);
      pending.delete(pid);
      if (!start) continue;
      call = start.text + resumed[2];
    } else if (call.endsWith('<unfinished ...>')) {
      pending.set(pid, { text: call.slice(0, -'<unfinished ...>'.length), t });
      continue;
    }
    const name = /^(\w+)\(/.exec(call)?.[1];
    const ret = /\)\s+=\s+(-?\d+)(?:\s|$)/.exec(call)?.[1];
    if (!name || ret === undefined) continue;
    const result = Number(ret);
    if (name === 'execve') {
      const path = /^execve\("((?:[^"\\]|\\.)*)"/.exec(call)?.[1] ?? '?';
      if (result !== 0) {
        if (!failed.has(pid)) failed.set(pid, { path, errno: /= -1 (\w+)/.exec(call)?.[1] ?? '?' });
        continue;
      }
      if (!execs.has(pid)) execs.set(pid, []);
      execs.get(pid).push({ path, argv: parseExecArgv(call), t });
    } else if (result > 0) {
      if ((name === 'clone' || name === 'clone3') && call.includes('CLONE_THREAD')) continue;
      procs.set(result, { pid: result, parent: pid, t });
    }
  }
  const programOf = (pid) => {
    const first = execs.get(pid)?.[0];
    return first ? basename(first.path) : pid === root ? 'the traced program' : '?';
  };
  const processes = [...procs.values()]
    .filter((p) => p.pid !== root)
    .sort((a, b) => a.t - b.t)
    .map((p) => {
      const ex = execs.get(p.pid) ?? [];
      const first = ex[0];
      return {
        ...p,
        program: first
          ? basename(first.path)
          : failed.has(p.pid)
            ? `${basename(failed.get(p.pid).path)} (exec failed: ${failed.get(p.pid).errno})`
            : `(fork of ${programOf(p.parent)}, no exec)`,
        path: first?.path ?? null,
        argv: first?.argv ?? null,
        execs: ex,
      };
    });
  return { root, processes };
}

/**
 * How the processes break down: { total, byProgram: [[label, n]] } sorted by count. A shell started
 * with -c is labelled with its command (`sh -c "lspci -vvv  2>/dev/null"`), since that says what
 * it was started for.
 */
export function breakdown(processes) {
  const counts = new Map();
  for (const p of processes) {
    let label = p.program;
    if ((label === 'sh' || label === 'bash' || label === 'dash') && p.argv?.[1] === '-c') {
      const cmd = p.argv[2] ?? '';
      label = `${label} -c ${JSON.stringify(cmd.length > 70 ? `${cmd.slice(0, 67)}...` : cmd)}`;
    }
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return { total: processes.length, byProgram: [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])) };
}
