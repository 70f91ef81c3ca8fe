// Child processes for measurements: a node script or command run on its own, so that its peak RSS
// and its time are its own and not the harness's.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nowMs } from './stats.js';

const WRAPPER = fileURLToPath(new URL('./rssWrapper.js', import.meta.url));

/**
 * Spawns `command args` and collects stdout, stderr, the wall time seen from here (spawn to exit,
 * node start-up included) and anything the child writes on fd 3 (the report channel).
 *
 * `cleanRss` (default true): on Linux a process's peak RSS (ru_maxrss) survives execve, so a child
 * forked straight from this harness reports at least the harness's own RSS at the time of the
 * spawn (a 300 MB harness makes a bare `node -e ''` report 297 MB). The command is therefore
 * started as the background job of a small `sh`: that grandchild is forked from the shell, not
 * from node, and its peak RSS is its own. Costs a shell start-up (about a millisecond).
 */
export function spawnCollect(command, args, { env, cwd, cleanRss = true } = {}) {
  if (cleanRss && process.platform !== 'win32') {
    args = ['-c', '"$@" & wait $!', 'sh', command, ...args];
    command = 'sh';
  }
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn(command, args, {
      cwd,
      env: env ? { ...process.env, ...env } : process.env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    const report = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.stdio[3].on('data', (b) => report.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        code,
        signal,
        wallMs: nowMs() - t0,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        report: Buffer.concat(report).toString('utf8'),
      });
    });
  });
}

/**
 * Runs a node entry point (e.g. bin/lora-top.js) in a fresh node process, as if it were started
 * directly, and reports that process's peak RSS: the wrapper sets process.argv, imports the script
 * and, on exit, writes `{maxRssKiB, wallMs}` (wallMs: from just before the import) to fd 3.
 * `nodeArgs` go to node itself (e.g. --cpu-prof).
 */
export async function runNodeScript(script, args = [], { nodeArgs = [], env, cwd } = {}) {
  const r = await spawnCollect(process.execPath, [...nodeArgs, WRAPPER, script, ...args], { env, cwd });
  let usage = null;
  try {
    usage = JSON.parse(r.report);
  } catch {
    // no report: the child died before its exit handler ran
  }
  return { ...r, maxRssKiB: usage?.maxRssKiB ?? null, innerMs: usage?.wallMs ?? null };
}

/** Throws with the child's stderr when it did not exit cleanly. */
export function assertOk(result, what) {
  if (result.code !== 0) {
    const tail = result.stderr.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${what} exited with ${result.signal ?? `code ${result.code}`}${tail ? `:\n${tail}` : ''}`);
  }
  return result;
}

const ISOLATED = fileURLToPath(new URL('../children/isolated.js', import.meta.url));

/**
 * Runs the measurement `name` (bench/NAME.js) in a child process of its own and returns what its
 * run(ctx) returned. BENCH_ISOLATED=1 tells the measurement it already is that child. Its stdout is
 * passed on; its log lines come through `ctx.log` once it ends.
 */
export async function runIsolated(name, ctx) {
  const { log, ...plain } = ctx;
  const r = await spawnCollect(process.execPath, [ISOLATED, name, JSON.stringify(plain), ...process.argv.slice(2)], { env: { BENCH_ISOLATED: '1' }, cleanRss: false });
  if (r.stdout) process.stdout.write(r.stdout);
  for (const line of r.stderr.split('\n')) if (line.trim()) log(line.trim());
  assertOk(r, `${name} (in a process of its own)`);
  return JSON.parse(r.report);
}
