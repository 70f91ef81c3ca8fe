// Measurement: remote. lora-top over SSH to a private sshd on 127.0.0.1 (bench/lib/sshd.js), the
// simulated trainer running "on" that host, the compiled CLI in 120×40 pseudo-terminals:
//
//   remoteBytesPerRunPerS  bytes per second on the wire (the TCP connection's bytes both ways,
//                          encrypted, keep-alives included; `ss`) per followed live run, while the
//                          runs screen follows 5 remote runs at 2 steps/s each, steady state.
//                          Baseline: how fast each run's log grows; goal ≤ 2048 B/s.
//   remoteCpuPercent       lora-top's CPU, % of one core, following those 5 remote runs. Baseline:
//                          the runs screen following the same 5 runs locally, same window.
//   remoteLatencyMs        a step written to a run's log → the step on the remote dashboard's
//                          screen, median over the window. Baseline: the same run's local
//                          dashboard, the same steps. (Routine progress is drawn at most every 2 s
//                          on both, so both figures include that pacing.)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cpuBetween, cpuSample } from './lib/procstat.js';
import { hasScript, startPty } from './lib/pty.js';
import { followScreen } from './lib/screen.js';
import { sshdUnavailable, startSshd, wireBytes } from './lib/sshd.js';
import { median, nowMs, round } from './lib/stats.js';
import { startSim } from './runs.js';

export const name = 'remote';
export const description = 'over SSH (a private sshd on 127.0.0.1): wire bytes per followed run, CPU following 5 remote runs, log write → screen beside local';

const COLS = 120;
const ROWS = 40;
const RUNS = 5;
const WARMUP_S = 8;
const PYTHON = '/usr/bin/python3';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (s) => s.screen.lines().join('\n');

function lastStep(logPath) {
  const tail = readFileSync(logPath, 'latin1').slice(-4096);
  const all = [...tail.matchAll(/ (\d+)\/100000 \[/g)];
  return all.length ? Number(all[all.length - 1][1]) : null;
}

const shownStep = (s) => Number(/step (\d+)\/100000/.exec(text(s))?.[1] ?? -1);

export async function run(ctx) {
  const why = sshdUnavailable() ?? (!hasScript ? 'util-linux `script` is missing' : null) ?? (existsSync(PYTHON) ? null : `${PYTHON} with tqdm and PIL is needed`);
  if (why) return { rows: [], results: {}, notes: [`remote figures left out: ${why}`] };
  const nodeExe = realpathSync(process.execPath);
  mkdirSync(ctx.tmpDir, { recursive: true });
  const dir = mkdtempSync(join(ctx.tmpDir, 'remote-'));
  const sshd = await startSshd(dir, 'box1');
  const env = { LORA_TOP_SSH_COMMAND: sshd.sshCommand, XDG_CACHE_HOME: join(dir, 'cache') };
  const cli = join(ctx.root, 'bin/lora-top.js');
  const pty = (args) => {
    const s = startPty(process.execPath, [cli, ...args], { cols: COLS, rows: ROWS, cwd: ctx.root, env, exe: nodeExe });
    s.screen = followScreen(s, COLS, ROWS);
    return s;
  };
  const rows = [];
  const results = {};
  const sims = [];
  const sessions = [];
  try {
    const five = join(dir, 'five');
    mkdirSync(five);
    for (let i = 0; i < RUNS; i++) sims.push(startSim(ctx, five, `live_${i}`, 0.5));
    const remoteList = pty([`box1:${join(five, 'output')}`, '--no-gpu']);
    const localList = pty([join(five, 'output'), '--no-gpu']);
    sessions.push(remoteList, localList);
    const allRunning = (s) => text(s).includes(`${RUNS} runs · ${RUNS} running`) && !text(s).includes('reading…');
    await remoteList.waitFor(() => allRunning(remoteList), 60_000, 'five remote runs running');
    await localList.waitFor(() => allRunning(localList), 60_000, 'five local runs running');
    await sleep(WARMUP_S * 1000);
    const logs = sims.map((s) => join(s.folder, 'log.txt'));
    const size = () => logs.reduce((n, p) => n + statSync(p).size, 0);
    const [rPid, lPid] = [await remoteList.pid(), await localList.pid()];
    const r0 = cpuSample(rPid);
    const l0 = cpuSample(lPid);
    const w0 = wireBytes(sshd.port);
    const s0 = size();
    const t0 = nowMs();
    ctx.log(`window: ${ctx.seconds} s, ${RUNS} live runs over SSH beside the same runs locally ...`);
    await sleep(ctx.seconds * 1000);
    const elapsed = (nowMs() - t0) / 1000;
    const wire = (wireBytes(sshd.port).total - w0.total) / RUNS / elapsed;
    const growth = (size() - s0) / RUNS / elapsed;
    const rCpu = cpuBetween(r0, cpuSample(rPid), elapsed, rPid).percent;
    const lCpu = cpuBetween(l0, cpuSample(lPid), elapsed, lPid).percent;
    rows.push(
      { figure: `remoteBytesPerRunPerS (${RUNS} runs, 2 steps/s)`, value: round(wire, 0), unit: 'B/s', goal: { op: '<=', target: 2048 }, baseline: { label: 'the log grows by', value: round(growth, 0), unit: 'B/s' } },
      { figure: `remoteCpuPercent (${RUNS} remote runs)`, value: round(rCpu, 2), unit: '%', baseline: { label: 'the same runs, local', value: round(lCpu, 2), unit: '%' } },
    );
    Object.assign(results, { remoteBytesPerRunPerS: round(wire, 0), remoteLogGrowthPerRunPerS: round(growth, 0), remoteCpuPercent: round(rCpu, 2), remoteLocalCpuPercent: round(lCpu, 2) });
    await Promise.all(sessions.splice(0).map((s) => s.stop()));

    // ---- a step written → on screen, remote beside local, the same steps
    const one = join(dir, 'one');
    mkdirSync(one);
    const slow = startSim(ctx, one, 'latency', 1.0);
    sims.push(slow);
    const remoteDash = pty([`box1:${slow.folder}`, '--no-gpu']);
    const localDash = pty([slow.folder, '--no-gpu']);
    sessions.push(remoteDash, localDash);
    await remoteDash.waitFor(() => shownStep(remoteDash) > 0, 60_000, 'the remote dashboard');
    await localDash.waitFor(() => shownStep(localDash) > 0, 60_000, 'the local dashboard');
    const log = join(slow.folder, 'log.txt');
    const remote = [];
    const local = [];
    const until = nowMs() + ctx.seconds * 1000;
    let seen = lastStep(log);
    while (nowMs() < until) {
      const step = lastStep(log);
      if (step === null || step === seen) {
        await sleep(5);
        continue;
      }
      seen = step;
      const written = nowMs();
      const times = { remote: null, local: null };
      while ((times.remote === null || times.local === null) && nowMs() - written < 10_000) {
        if (times.remote === null && shownStep(remoteDash) >= step) times.remote = nowMs() - written;
        if (times.local === null && shownStep(localDash) >= step) times.local = nowMs() - written;
        await sleep(5);
      }
      if (times.remote !== null && times.local !== null) {
        remote.push(times.remote);
        local.push(times.local);
      }
    }
    if (remote.length > 0) {
      rows.push({ figure: `remoteLatencyMs (${remote.length} steps)`, value: round(median(remote), 0), unit: 'ms', baseline: { label: 'the same run, local', value: round(median(local), 0), unit: 'ms' } });
      Object.assign(results, { remoteLatencyMs: round(median(remote), 0), remoteLocalLatencyMs: round(median(local), 0) });
    }
  } finally {
    await Promise.all(sessions.map((s) => s.stop()));
    await Promise.all(sims.map((s) => s.stop()));
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, results, notes: [] };
}
