// CPU time of a process from /proc (Linux): utime + stime in clock ticks.
//
// /proc/PID/stat is the whole thread group: the kernel sums utime/stime over every live thread
// and adds what the threads that already exited used (node's libuv pool threads, V8's platform
// workers and any worker_threads all count). /proc/PID/task/TID/stat is one thread; the per-thread
// figures are read too, to say where the time went, and their sum is a cross-check.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

let tck = null;
/** Clock ticks per second (getconf CLK_TCK; 100 on Linux). */
export function clockTicks() {
  if (tck === null) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(r.stdout?.trim());
    tck = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return tck;
}

/** Fields of a stat line: comm, and the numbers after it (fields[0] is state, as in proc(5) field 3). */
function parseStat(text) {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const comm = text.slice(open + 1, close);
  const fields = text.slice(close + 2).trim().split(' ');
  // proc(5): (14) utime, (15) stime, (16) cutime, (17) cstime; fields[] starts at (3)
  return {
    comm,
    state: fields[0],
    ppid: Number(fields[1]),
    utime: Number(fields[11]),
    stime: Number(fields[12]),
    cutime: Number(fields[13]),
    cstime: Number(fields[14]),
    threads: Number(fields[17]),
  };
}

/** { ticks (utime+stime of the thread group), childTicks (cutime+cstime), threads, perThread: Map tid → {comm, ticks} } */
export function cpuSample(pid) {
  const whole = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const perThread = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = parseStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      perThread.set(Number(tid), { comm: s.comm, ticks: s.utime + s.stime });
    } catch {
      // the thread ended between readdir and read
    }
  }
  return {
    ticks: whole.utime + whole.stime,
    childTicks: whole.cutime + whole.cstime,
    threads: whole.threads,
    perThread,
  };
}

/**
 * CPU used between two samples as % of one core, and per thread: the main thread (tid = pid) and
 * each other thread alive at the end (name/tid). Their sum is a cross-check: threads that came and
 * went in between are only in the whole-process figure.
 */
export function cpuBetween(a, b, seconds, pid) {
  const hz = clockTicks();
  const pct = (ticks) => (100 * ticks) / hz / seconds;
  const threads = [];
  let threadSum = 0;
  for (const [tid, end] of b.perThread) {
    const d = end.ticks - (a.perThread.get(tid)?.ticks ?? 0);
    threadSum += d;
    threads.push({ tid, comm: end.comm, main: tid === pid, ticks: d, percent: pct(d) });
  }
  threads.sort((x, y) => Number(y.main) - Number(x.main) || y.ticks - x.ticks);
  const main = threads.find((t) => t.main);
  const others = threads.filter((t) => !t.main);
  return {
    ticks: b.ticks - a.ticks,
    percent: pct(b.ticks - a.ticks),
    childPercent: pct(b.childTicks - a.childTicks),
    threadSumPercent: pct(threadSum),
    mainPercent: main ? main.percent : null,
    otherPercent: pct(others.reduce((s, t) => s + t.ticks, 0)),
    threads,
    threadCount: b.threads,
    resolutionPercent: pct(1),
  };
}

/** The process's identity, to make sure the right process is measured. */
export function describeProcess(pid) {
  const exe = readlinkSync(`/proc/${pid}/exe`);
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const env = Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  let tty = null;
  try {
    tty = readlinkSync(`/proc/${pid}/fd/1`);
  } catch {
    // no fd 1
  }
  let size = null;
  if (tty && tty.startsWith('/dev/pts/')) {
    // the window size of the very terminal the process writes to (stty prints "rows cols")
    const r = spawnSync('stty', ['-F', tty, 'size'], { encoding: 'utf8' });
    const m = /^(\d+) (\d+)/.exec(r.stdout ?? '');
    if (m) size = { rows: Number(m[1]), cols: Number(m[2]) };
  }
  return { pid, exe, argv, term: env.TERM ?? null, lang: env.LANG ?? null, lcAll: env.LC_ALL ?? null, tty, size };
}
