// A program in a real pseudo-terminal without native modules: util-linux `script`.
//
//   script -q -f -E never -e -c "stty cols C rows R; exec PROGRAM ARGS" /dev/null
//
// `script` opens a pty pair, forks, makes the slave the child's controlling terminal and runs the
// command through `sh -c`; the shell sets the window size with stty and then *execs* the program,
// so the program keeps the shell's pid: the pid that `script` forked. Everything the program writes
// to its terminal is read by `script` from the master side and copied, unchanged, to script's
// stdout (`-f`: flushed after every read; the typescript itself goes to /dev/null), which is a pipe
// to this process. Counting the bytes on that pipe counts what a terminal emulator would receive:
// after the tty's output processing (ONLCR turns each "\n" into "\r\n", as on any real terminal).
// script's stdin is a pipe from here that stays open (an EOF would be forwarded as ^D), and is
// used to send keys (`q`).
//
// Why script and not tmux: the bytes arrive here on a pipe as the program writes them, each read
// timed by this process, which also timed the spawn, so first-frame times and byte counts need no
// polling and nothing can be missed; tmux's pipe-pane is attached after the pane starts (a race
// with the first frame), goes through a shell into a file that must be polled, and puts a tmux
// server that parses and redraws every byte on the same two cores as what is being measured.
// The measured pid is the exec'd program itself (script's only child), never found by name.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync, readdirSync } from 'node:fs';
import { nowMs } from './stats.js';

const shQuote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

export const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/** The pids whose parent is `pid` (the kernel's children list, else a scan of /proc). */
export function childrenOf(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? text.split(/\s+/).map(Number) : [];
  } catch {
    const out = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === pid) out.push(Number(name));
      } catch {
        // gone
      }
    }
    return out;
  }
}

const exeOf = (pid) => {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `program args` in a cols×rows pty. Returns a session:
 *   t0            nowMs() just before the spawn
 *   chunks        [{ t, buf }] every read from the pty, t in ms since t0
 *   bytes         total bytes so far
 *   pid()         resolves with the program's own pid, once `sh` has exec'd it (its /proc exe is `exe`)
 *   onChunk(fn)   fn(chunk) for every new chunk
 *   waitFor(test, timeoutMs)  resolves with the time of the first chunk after which test(tail) holds
 *   send(text)    types text into the terminal
 *   stop()        'q', then SIGTERM, then SIGKILL to the program; resolves when script has exited
 */
export function startPty(program, args, { cols = 100, rows = 30, cwd, env = {}, exe } = {}) {
  const command = `stty cols ${cols} rows ${rows}; exec ${[program, ...args].map(shQuote).join(' ')}`;
  const fullEnv = { ...process.env, TERM: 'xterm-256color', LANG: 'C.UTF-8', ...env };
  delete fullEnv.LC_ALL; // LANG must decide the locale
  const t0 = nowMs();
  const child = spawn('script', ['-q', '-f', '-E', 'never', '-e', '-c', command, '/dev/null'], {
    cwd,
    env: fullEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const session = {
    t0,
    chunks: [],
    bytes: 0,
    stderr: '',
    exited: false,
    exit: null,
    script: child,
  };
  const listeners = new Set();
  let tail = Buffer.alloc(0);
  const TAIL = 256 * 1024;
  child.stdout.on('data', (buf) => {
    const chunk = { t: nowMs() - t0, buf };
    session.chunks.push(chunk);
    session.bytes += buf.length;
    tail = tail.length + buf.length > TAIL ? Buffer.concat([tail, buf]).subarray(-TAIL) : Buffer.concat([tail, buf]);
    session.tail = tail;
    for (const fn of listeners) fn(chunk);
  });
  child.stderr.on('data', (b) => {
    session.stderr += b.toString('utf8');
  });
  child.stdin.on('error', () => {});
  session.done = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      session.exited = true;
      session.exit = { code, signal };
      resolve(session.exit);
    });
    child.on('error', (error) => {
      session.exited = true;
      session.exit = { code: null, signal: null, error };
      resolve(session.exit);
    });
  });
  session.onChunk = (fn) => {
    listeners.add(fn);
    return () => listeners.delete(fn);
  };

  let pidPromise = null;
  session.pid = () => {
    pidPromise ??= (async () => {
      const deadline = nowMs() + 10_000;
      while (nowMs() < deadline && !session.exited) {
        const [pid] = childrenOf(child.pid);
        if (pid && (!exe || exeOf(pid) === exe)) return pid;
        await sleep(5);
      }
      throw new Error(`no ${exe ?? program} process under script (pid ${child.pid}) ${session.exited ? 'it exited' : 'after 10 s'}${session.stderr ? `: ${session.stderr.trim()}` : ''}`);
    })();
    return pidPromise;
  };

  session.waitFor = (test, timeoutMs = 20_000, what = 'the expected output') =>
    new Promise((resolve, reject) => {
      const check = (chunk) => {
        if (!test(tail)) return false;
        off();
        clearTimeout(timer);
        resolve(chunk ? chunk.t : nowMs() - t0);
        return true;
      };
      const off = session.onChunk(check);
      const timer = setTimeout(() => {
        off();
        const seen = tail.subarray(-1500).toString('utf8').replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '');
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last output:\n${seen}`));
      }, timeoutMs);
      void session.done.then(() => {
        if (check(null)) return;
        off();
        clearTimeout(timer);
        reject(new Error(`${program} exited (${JSON.stringify(session.exit)}) before ${what}${session.stderr ? `: ${session.stderr.trim()}` : ''}`));
      });
      if (tail.length > 0) check(null);
    });

  session.send = (text) => {
    if (!child.stdin.destroyed) child.stdin.write(text);
  };

  session.stop = async ({ key = 'q', graceMs = 3000 } = {}) => {
    if (session.exited) return session.exit;
    let pid = null;
    try {
      pid = await Promise.race([session.pid(), sleep(2000).then(() => null)]);
    } catch {
      pid = null;
    }
    if (key) session.send(key);
    const waitExit = (ms) => Promise.race([session.done.then(() => true), sleep(ms).then(() => false)]);
    if (await waitExit(graceMs)) return session.exit;
    for (const signal of ['SIGTERM', 'SIGKILL']) {
      try {
        if (pid) process.kill(pid, signal);
        else child.kill(signal);
      } catch {
        // already gone
      }
      if (await waitExit(2000)) return session.exit;
    }
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
    await session.done;
    return session.exit;
  };
  return session;
}

/** All bytes received in [fromMs, toMs) (times since the session's t0). */
export function bytesBetween(session, fromMs, toMs) {
  const parts = session.chunks.filter((c) => c.t >= fromMs && c.t < toMs).map((c) => c.buf);
  return Buffer.concat(parts);
}

/**
 * The time of the first complete frame that contains `marker`: the first chunk after which the
 * output holds the marker and, when the program draws inside synchronized-update brackets
 * (`CSI ? 2026 h` … `CSI ? 2026 l`, as Ink and btop both do), the bracket around the marker is
 * closed. Calls back once, with { ms, bytes } (bytes received up to and including that frame).
 */
export function watchFirstFrame(session, marker, callback) {
  const needle = Buffer.from(marker, 'utf8');
  const open = Buffer.from('\x1b[?2026h');
  const close = Buffer.from('\x1b[?2026l');
  let seen = Buffer.alloc(0);
  const off = session.onChunk((chunk) => {
    seen = Buffer.concat([seen, chunk.buf]);
    const at = seen.indexOf(needle);
    if (at < 0) return;
    const lastOpen = seen.lastIndexOf(open, at);
    const lastClose = seen.lastIndexOf(close, at);
    const inside = lastOpen >= 0 && lastOpen > lastClose;
    if (inside && seen.indexOf(close, at) < 0) return;
    off();
    callback({ ms: chunk.t, bytes: seen.length });
  });
  return off;
}
