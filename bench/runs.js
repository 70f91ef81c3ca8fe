// Measurement: runs. The runs screen (`node bin/lora-top.js OUTPUT`, the compiled CLI) in a real
// 120×40 pseudo-terminal:
//
//   runsListColdMs      spawn to the complete list of 50 finished runs (every run read: the summary
//                       line says "50 completed") with an empty summary cache, median of ctx.runs
//                       starts. Baseline: the backfill bound, 50 × the time readRunOnce takes to read
//                       one of the logs in this process (the cold list may not be slower than
//                       reading every log once; goal ≤ 1.25× it).
//   runsListCachedMs    the same with the cache the cold start left (the logs unchanged). Baseline:
//                       a bare node's first byte in the same pty; goal ≤ 1000 ms.
//   runsCpuPercent      lora-top's CPU, % of one core, over the steady-state window (--seconds) while
//                       its runs screen follows 10 live runs of the simulated trainer at 2 steps/s
//                       each. Baseline: lora-top's dashboard of one such run (`lora-top FOLDER`),
//                       measured over the same window; goal ≤ 2× it.
//
// Each log of the 50 is a 12000-step ai-toolkit log (bench/lib/aitkLog.js, a few MB), hard-linked
// into 50 run folders. Needs util-linux `script` and, for the CPU figure, /usr/bin/python3 with
// python3-tqdm and python3-pil.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAitkLog, GENERATOR_VERSION } from './lib/aitkLog.js';
import { cachedFile } from './lib/cache.js';
import { cpuBetween, cpuSample } from './lib/procstat.js';
import { hasScript, startPty } from './lib/pty.js';
import { followScreen } from './lib/screen.js';
import { median, nowMs, round } from './lib/stats.js';

export const name = 'runs';
export const description = 'the runs screen in a 120×40 pty: 50 finished runs listed cold and cached; CPU following 10 live runs at 2 steps/s beside one';

const COLS = 120;
const ROWS = 40;
const RUNS = 50;
const LIVE = 10;
const STEP_TIME = 0.5;
const WARMUP_S = 8;
const PYTHON = '/usr/bin/python3';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function screenText(session) {
  return session.screen.lines().join('\n');
}

/** Spawn → the screen passes `test`; then quit. */
async function timeToScreen(ctx, args, env, test, nodeExe) {
  const s = startPty(process.execPath, [join(ctx.root, 'bin/lora-top.js'), ...args], { cols: COLS, rows: ROWS, cwd: ctx.root, env, exe: nodeExe });
  s.screen = followScreen(s, COLS, ROWS);
  try {
    return await s.waitFor(() => test(screenText(s)), 120_000, 'the complete list');
  } finally {
    await s.stop();
  }
}

async function bareNodeFirstByte(ctx, nodeExe) {
  const s = startPty(process.execPath, ['-e', 'process.stdout.write("x")'], { cols: COLS, rows: ROWS, cwd: ctx.root, exe: nodeExe });
  try {
    await s.waitFor((tail) => tail.includes('x'), 10_000, 'x');
    return s.chunks[0]?.t ?? null;
  } finally {
    await s.stop();
  }
}

/** A simulated trainer (real tqdm) writing `<dir>/output/<jobName>/log.txt`, a step every `stepTime` s. */
export function startSim(ctx, dir, jobName, stepTime = STEP_TIME) {
  const config = {
    job: 'extension',
    config: {
      name: jobName,
      process: [
        {
          type: 'sd_trainer',
          training_folder: join(dir, 'output'),
          network: { type: 'lora', linear: 16, linear_alpha: 16 },
          save: { save_every: 100, max_step_saves_to_keep: 4 },
          train: { steps: 100000, lr: 1e-4, batch_size: 1 },
          sample: { sample_every: 100, prompts: ['a photo of p3rs0n'], width: 64, height: 64 },
          logging: { log_every: 1, use_ui_logger: true },
        },
      ],
    },
  };
  const configPath = join(dir, `${jobName}.json`);
  writeFileSync(configPath, JSON.stringify(config));
  const folder = join(dir, 'output', jobName);
  mkdirSync(folder, { recursive: true });
  const fd = openSync(join(folder, 'log.txt'), 'a');
  const child = spawn(PYTHON, [join(ctx.root, 'test/sim/trainer.py'), configPath, '--step-time', String(stepTime), '--load-time', '0.2'], { cwd: dir, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const done = new Promise((resolve) => child.on('exit', resolve));
  return {
    folder,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await done;
    },
  };
}

export async function run(ctx) {
  if (!hasScript) throw new Error('util-linux `script` is missing (apt-get install -y bsdutils)');
  const nodeExe = realpathSync(process.execPath);
  mkdirSync(ctx.tmpDir, { recursive: true });
  const dir = mkdtempSync(join(ctx.tmpDir, 'runs-'));
  const rows = [];
  const results = {};
  const notes = [];
  try {
    // ---- 50 finished runs
    const log = cachedFile(join(ctx.tmpDir, 'aitk-12000.log'), GENERATOR_VERSION, () => {
      const made = buildAitkLog({ totalSteps: 12000, sessionSteps: 12000 });
      return { text: made.text, meta: { expect: made.expect } };
    }, ctx.log);
    const output = join(dir, 'finished');
    for (let i = 0; i < RUNS; i++) {
      const folder = join(output, `run_${String(i).padStart(2, '0')}`);
      mkdirSync(folder, { recursive: true });
      linkSync(log.path, join(folder, 'log.txt'));
    }
    const bytes = statSync(log.path).size;
    ctx.log(`${RUNS} runs of ${(bytes / 1e6).toFixed(1)} MB each`);

    const { readRunOnce } = await import('../dist/run/watchRun.js');
    const one = [];
    for (let i = 0; i < Math.max(3, ctx.runs); i++) {
      const t0 = nowMs();
      const state = await readRunOnce({ kind: 'folder', folder: join(output, 'run_00'), logPath: join(output, 'run_00', 'log.txt') });
      one.push(nowMs() - t0);
      if (state.status !== 'completed') throw new Error(`the generated log reads as ${state.status}, not completed`);
    }
    const backfillBoundMs = median(one) * RUNS;

    const complete = (text) => text.includes(`${RUNS} runs · ${RUNS} completed`) && !text.includes('reading…');
    const cold = [];
    const cached = [];
    for (let i = 0; i < ctx.runs; i++) {
      const cache = join(dir, `cache-${i}`);
      cold.push(await timeToScreen(ctx, [output, '--no-gpu'], { XDG_CACHE_HOME: cache }, complete, nodeExe));
      cached.push(await timeToScreen(ctx, [output, '--no-gpu'], { XDG_CACHE_HOME: cache }, complete, nodeExe));
      ctx.log(`list of ${RUNS} ${i + 1}/${ctx.runs}: cold ${cold.at(-1).toFixed(0)} ms, cached ${cached.at(-1).toFixed(0)} ms`);
    }
    const bare = [];
    for (let i = 0; i < ctx.runs; i++) bare.push(await bareNodeFirstByte(ctx, nodeExe));
    const runsListColdMs = median(cold);
    const runsListCachedMs = median(cached);
    const bareMs = median(bare.filter((b) => b !== null));
    rows.push(
      { figure: `runsListColdMs (${RUNS} finished runs)`, value: round(runsListColdMs, 0), unit: 'ms', goal: { op: '<=', target: Math.round(backfillBoundMs * 1.25) }, baseline: { label: `${RUNS}× one log read`, value: round(backfillBoundMs, 0), unit: 'ms' } },
      { figure: `runsListCachedMs (${RUNS} finished runs)`, value: round(runsListCachedMs, 0), unit: 'ms', goal: { op: '<=', target: 1000 }, baseline: { label: 'bare node first byte', value: round(bareMs, 0), unit: 'ms' } },
    );
    Object.assign(results, { runsListColdMs: round(runsListColdMs, 0), runsListCachedMs: round(runsListCachedMs, 0), runsBackfillBoundMs: round(backfillBoundMs, 0) });

    // ---- CPU: 10 live runs on the runs screen, beside one run's dashboard, over the same window
    const hasPython = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import tqdm, PIL'], { stdio: 'ignore' }).status === 0;
    if (!hasPython) {
      notes.push(`runsCpuPercent left out: ${PYTHON} with tqdm and PIL is needed for the simulated trainer`);
    } else {
      const tenDir = join(dir, 'ten');
      const oneDir = join(dir, 'one');
      mkdirSync(tenDir);
      mkdirSync(oneDir);
      const sims = [];
      try {
        for (let i = 0; i < LIVE; i++) sims.push(startSim(ctx, tenDir, `live_${i}`));
        const single = startSim(ctx, oneDir, 'live_single');
        sims.push(single);
        const cli = join(ctx.root, 'bin/lora-top.js');
        const list = startPty(process.execPath, [cli, join(tenDir, 'output'), '--no-gpu'], { cols: COLS, rows: ROWS, cwd: ctx.root, env: { XDG_CACHE_HOME: join(dir, 'cache-live') }, exe: nodeExe });
        list.screen = followScreen(list, COLS, ROWS);
        const dash = startPty(process.execPath, [cli, single.folder, '--no-gpu'], { cols: COLS, rows: ROWS, cwd: ctx.root, exe: nodeExe });
        dash.screen = followScreen(dash, COLS, ROWS);
        try {
          await list.waitFor(() => screenText(list).includes(`${LIVE} runs · ${LIVE} running`) && !screenText(list).includes('reading…'), 60_000, 'ten running runs');
          await dash.waitFor(() => /TRAINING/.test(screenText(dash)), 60_000, 'TRAINING');
          await sleep(WARMUP_S * 1000);
          const listPid = await list.pid();
          const dashPid = await dash.pid();
          const a0 = cpuSample(listPid);
          const b0 = cpuSample(dashPid);
          const t0 = nowMs();
          ctx.log(`window: ${ctx.seconds} s, ${LIVE} live runs listed beside one run's dashboard ...`);
          await sleep(ctx.seconds * 1000);
          const elapsed = (nowMs() - t0) / 1000;
          const listCpu = cpuBetween(a0, cpuSample(listPid), elapsed, listPid);
          const dashCpu = cpuBetween(b0, cpuSample(dashPid), elapsed, dashPid);
          rows.push({ figure: `runsCpuPercent (${LIVE} live runs, 2 steps/s each)`, value: round(listCpu.percent, 2), unit: '%', goal: { op: '<=', target: round(2 * dashCpu.percent, 2) }, baseline: { label: 'one run, its dashboard', value: round(dashCpu.percent, 2), unit: '%' } });
          Object.assign(results, { runsCpuPercent: round(listCpu.percent, 2), runsSingleCpuPercent: round(dashCpu.percent, 2) });
        } finally {
          await Promise.all([list.stop(), dash.stop()]);
        }
      } finally {
        await Promise.all(sims.map((s) => s.stop()));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, results, notes };
}
