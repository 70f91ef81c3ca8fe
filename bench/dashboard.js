// Measurement: dashboard. The live dashboard (`node bin/lora-top.js FOLDER`, the compiled CLI) in a
// real 100×30 pseudo-terminal, watching the simulated trainer (test/sim/trainer.py) at 2 steps/s,
// each figure beside Debian's `btop` measured the same way in the same invocation:
//
//   idleCpuPercent      lora-top's CPU over the steady-state window, % of one core: utime+stime of
//                       its node process from /proc/PID/stat (the whole thread group: main thread,
//                       libuv pool, V8 workers, threads that already ended). Baseline btopCpuPercent.
//   bytesPerSecond      bytes lora-top writes to its pty per second over the same window.
//                       Baseline btopBytesPerSecond.
//   kittyBytesPerSecond the same dashboard on a terminal that says it is kitty (TERM=xterm-kitty), whose
//                       sample picture goes out once per file as an image and is then placed by
//                       placeholder text: all its bytes, and those apart from the pictures.
//   firstFrameMs        spawn of the pty to the first complete frame holding the `── Loss` title,
//                       median of ctx.runs starts. Baseline btopFirstFrameMs (its process list).
//
// The pty is util-linux `script` (see lib/pty.js for why and how). Both programs run at the same
// time, in ptys of the same size, over the same window: it starts once lora-top shows TRAINING
// and both have run for at least 5 s, and lasts --seconds (default 60). CPU and bytes are measured
// once over that long window (one long window rather than a median of short ones); the first-frame
// times are the median of ctx.runs starts, lora-top's and btop's interleaved, with the trainer
// still running. The measured processes are found by pid (script's child after `sh` exec'd it) and
// checked: executable, argv, TERM, LANG and the size of the very pty their stdout is.
//
// Also printed, to help tuning: frames/s and bytes/frame of both, and, from a screen model
// (lib/screen.js, lib/frames.js), which rows each lora-top frame rewrites and how much of them
// really changed; ~10 s of lora-top's raw steady-state output is saved to
// bench/tmp/dashboard-capture.bin (and the modelled screen at the end to …capture.screen.txt).
// When a goal is missed (or with --profile) one more lora-top runs alone under `node --cpu-prof`
// and its start-up and steady state are summarized after the table.
//
// Needs util-linux `script`, /usr/bin/python3 with python3-tqdm and python3-pil, and btop for the
// baselines (without it they are left empty, with a line saying how to install it).
// BENCH_BTOP=PATH measures another btop binary; BENCH_BTOP=none runs without one.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatProfile, sliceProfile, summarizeProfile } from './lib/cpuProfile.js';
import { analyzeFrames } from './lib/frames.js';
import { cpuBetween, cpuSample, describeProcess } from './lib/procstat.js';
import { bytesBetween, hasScript, startPty, watchFirstFrame } from './lib/pty.js';
import { followScreen } from './lib/screen.js';
import { median, nowMs, round } from './lib/stats.js';

export const name = 'dashboard';
export const description =
  'the live dashboard in a 100×30 pty (util-linux script) following the simulated trainer at 2 steps/s: CPU, bytes/s, first frame; btop beside it';

const COLS = 100;
const ROWS = 30;
const STEP_TIME = 0.5; // 2 steps/s
const WARMUP_S = 5;
const CAPTURE_S = 10;
const JOB = 'bench_lora';
const GOAL_CPU = 0.5;
const GOAL_CPU_OF_BTOP = 0.5;
const GOAL_BYTES = 1024;
const GOAL_FIRST_MS = 400;
const PYTHON = '/usr/bin/python3';
const LOSS_TITLE = '── Loss';
const BTOP_MARKER = 'Pid:'; // the process list's header: drawn with the first data, not with the empty boxes

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function hasSimDeps() {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import tqdm, PIL'], { stdio: 'ignore' }).status === 0;
}

/** btop's executable (resolved), or null. BENCH_BTOP=PATH picks another one, BENCH_BTOP=none none. */
function findBtop() {
  const choice = process.env.BENCH_BTOP;
  if (choice === 'none') return null;
  const r = choice ? { status: 0, stdout: choice } : spawnSync('sh', ['-c', 'command -v btop'], { encoding: 'utf8' });
  const path = r.stdout?.trim();
  if (r.status !== 0 || !path) return null;
  const version = spawnSync(path, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) return null;
  return { path, exe: realpathSync(path), version: version.stdout.trim() };
}

/** A long simulated run: config + output folder under `dir`, trainer started with its output appended to log.txt. */
function startTrainer(ctx, dir, steps) {
  const config = {
    job: 'extension',
    config: {
      name: JOB,
      process: [
        {
          type: 'sd_trainer',
          training_folder: 'output',
          trigger_word: 'p3rs0n',
          network: { type: 'lora', linear: 16, linear_alpha: 16 },
          save: { save_every: 100, max_step_saves_to_keep: 4 },
          train: { steps, lr: 1e-4, batch_size: 1 },
          sample: { sample_every: 100, prompts: ['a photo of p3rs0n', 'p3rs0n at the beach'], width: 64, height: 64 },
          logging: { log_every: 1, use_ui_logger: true },
        },
      ],
    },
  };
  const configPath = join(dir, `${JOB}.json`);
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const folder = join(dir, 'output', JOB);
  mkdirSync(folder, { recursive: true });
  const fd = openSync(join(folder, 'log.txt'), 'a');
  const child = spawn(PYTHON, [join(ctx.root, 'test/sim/trainer.py'), configPath, '--step-time', String(STEP_TIME)], {
    cwd: dir,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const done = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    folder,
    child,
    done,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await done;
      clearTimeout(t);
    },
  };
}

/** The pty really is COLS×ROWS with TERM and LANG set, as a program in it sees it. */
async function checkPty(ctx) {
  const probe = 'const o=process.stdout;o.write(JSON.stringify({isTTY:o.isTTY,cols:o.columns,rows:o.rows,TERM:process.env.TERM,LANG:process.env.LANG})+"\\n")';
  const s = startPty(process.execPath, ['-e', probe], { cols: COLS, rows: ROWS, cwd: ctx.root });
  const exit = await s.done;
  const text = Buffer.concat(s.chunks.map((c) => c.buf)).toString('utf8');
  const seen = JSON.parse(/\{.*\}/.exec(text)?.[0] ?? 'null');
  if (!seen || seen.isTTY !== true || seen.cols !== COLS || seen.rows !== ROWS || seen.TERM !== 'xterm-256color' || seen.LANG !== 'C.UTF-8') {
    throw new Error(`the pty is not what it should be: ${text.trim() || JSON.stringify(exit)}`);
  }
  const firstByteMs = s.chunks[0]?.t ?? null;
  return { seen, firstByteMs };
}

/** Makes sure `pid` is the program meant, in a COLS×ROWS pty with TERM/LANG; returns its description. */
function checkProcess(pid, exe, argvHas, what) {
  const d = describeProcess(pid);
  const problems = [];
  if (d.exe !== exe) problems.push(`exe ${d.exe}, expected ${exe}`);
  if (argvHas && !d.argv.includes(argvHas)) problems.push(`argv ${JSON.stringify(d.argv)} lacks ${argvHas}`);
  if (!d.tty?.startsWith('/dev/pts/')) problems.push(`stdout is ${d.tty}, not a pty`);
  if (!d.size || d.size.cols !== COLS || d.size.rows !== ROWS) problems.push(`pty size ${JSON.stringify(d.size)}, expected ${COLS}×${ROWS}`);
  if (d.term !== 'xterm-256color') problems.push(`TERM=${d.term}`);
  if (d.lang !== 'C.UTF-8' || d.lcAll) problems.push(`LANG=${d.lang} LC_ALL=${d.lcAll}`);
  if (problems.length > 0) throw new Error(`${what} (pid ${pid}): ${problems.join('; ')}`);
  return d;
}

/** A fresh, empty config home for btop, so it neither reads nor writes the user's. */
function btopEnv(dir) {
  const home = mkdtempSync(join(dir, 'btop-home-'));
  return { HOME: home, XDG_CONFIG_HOME: join(home, '.config') };
}

/** What the screen shows: the step (`step N/M`) and the status word of the header. */
function shown(screen) {
  const text = screen.lines().join('\n');
  const step = /step (\d+)\/\d+/.exec(text);
  const status = /\b(STARTING|PREPARING|TRAINING|SAVING|SAMPLING|STOPPED|FAILED|COMPLETED)\b/.exec(text);
  return { step: step ? Number(step[1]) : -1, status: status?.[1] ?? null };
}

/** Starts a program in a pty and times its first complete frame holding `marker`, then quits it. */
async function firstFrame(program, args, { marker, exe, cwd, env, timeoutMs = 15_000 }) {
  const s = startPty(program, args, { cols: COLS, rows: ROWS, cwd, env, exe });
  try {
    const frame = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${program}: no frame with ${JSON.stringify(marker)} within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = watchFirstFrame(s, marker, (f) => {
        clearTimeout(timer);
        resolve(f);
      });
      void s.done.then(() => {
        clearTimeout(timer);
        off();
        reject(new Error(`${program} exited (${JSON.stringify(s.exit)}) before its first frame${s.stderr ? `: ${s.stderr.trim()}` : ''}`));
      });
    });
    return { ms: frame.ms, bytes: frame.bytes, firstByteMs: s.chunks[0]?.t ?? null };
  } finally {
    await s.stop();
  }
}

/** Starts lora-top on the trainer's folder in a pty (extra node flags first), with its screen followed. */
function startLoraTop(ctx, cli, folder, nodeExe, nodeArgs = []) {
  const session = startPty(process.execPath, [...nodeArgs, cli, folder], { cols: COLS, rows: ROWS, cwd: ctx.root, exe: nodeExe });
  session.screen = followScreen(session, COLS, ROWS);
  return session;
}

/** Resolves with the time (ms since spawn) at which lora-top shows TRAINING and a step > 0. */
function untilTraining(session, timeoutMs = 60_000) {
  return session.waitFor(() => {
    const s = shown(session.screen);
    return s.status === 'TRAINING' && s.step > 0;
  }, timeoutMs, 'TRAINING with a step > 0');
}

export async function run(ctx) {
  const seconds = ctx.seconds ?? 60;
  if (!hasScript) throw new Error('util-linux `script` is missing (apt-get install -y bsdutils)');
  if (!hasSimDeps()) throw new Error(`the simulated trainer needs ${PYTHON} with tqdm and PIL (apt-get install -y python3-tqdm python3-pil)`);
  const cli = join(ctx.root, 'bin/lora-top.js');
  const nodeExe = realpathSync(process.execPath);
  const btop = findBtop();
  const notes = [];
  if (!btop) {
    const line = 'btop is not installed, so the btop baselines are left empty: install it with `apt-get install -y btop` (Debian/Ubuntu; `apt-get update` first if needed)';
    process.stdout.write(`${line}\n`);
    notes.push(line);
  } else {
    ctx.log(`baseline: ${btop.version} (${btop.path}), default refresh`);
  }

  mkdirSync(ctx.tmpDir, { recursive: true });
  const dir = mkdtempSync(join(ctx.tmpDir, 'dashboard-'));
  const pty = await checkPty(ctx);
  ctx.log(`pty: util-linux script, ${pty.seen.cols}×${pty.seen.rows}, TERM=${pty.seen.TERM} LANG=${pty.seen.LANG}; a bare node's first byte at ${pty.firstByteMs?.toFixed(0)} ms`);

  // enough steps to outlast everything at 2 steps/s (saves and samples every 100 steps pause it)
  const steps = Math.max(3000, Math.ceil((2 * seconds + 180 + ctx.runs * 10) / STEP_TIME));
  const trainer = startTrainer(ctx, dir, steps);
  const sessions = [];
  try {
    // ---- steady state: lora-top and btop side by side, over the same window
    const lt = startLoraTop(ctx, cli, trainer.folder, nodeExe);
    sessions.push(lt);
    // The same dashboard on a terminal that speaks kitty graphics: the sample picture goes out once
    // per file (an image with a virtual placement) and is then only placed by placeholder text.
    const kitty = startPty(process.execPath, [cli, trainer.folder], { cols: COLS, rows: ROWS, cwd: ctx.root, exe: nodeExe, env: { TERM: 'xterm-kitty', KITTY_WINDOW_ID: '1' } });
    sessions.push(kitty);
    const bt = btop ? startPty(btop.path, [], { cols: COLS, rows: ROWS, cwd: dir, env: btopEnv(dir), exe: btop.exe }) : null;
    if (bt) sessions.push(bt);
    // The design's floor: a bare node following the same log the same way, a frame every 2 s.
    const floor = startPty(process.execPath, [join(ctx.benchDir, 'children/followFloor.js'), join(trainer.folder, 'log.txt')], { cols: COLS, rows: ROWS, cwd: ctx.root, exe: nodeExe });
    sessions.push(floor);
    // Another design's floor: the log read only just before each frame (no wake-up per write).
    const tickFloor = startPty(process.execPath, [join(ctx.benchDir, 'children/followFloor.js'), join(trainer.folder, 'log.txt'), '--tick-only'], { cols: COLS, rows: ROWS, cwd: ctx.root, exe: nodeExe });
    sessions.push(tickFloor);

    const ltPid = await lt.pid();
    const ltProc = checkProcess(ltPid, nodeExe, cli, 'lora-top');
    ctx.log(`lora-top: pid ${ltPid} (${ltProc.exe} ${ltProc.argv.slice(1).join(' ')}), ${ltProc.tty} ${ltProc.size.cols}×${ltProc.size.rows}`);
    let btPid = null;
    if (bt) {
      btPid = await bt.pid();
      const btProc = checkProcess(btPid, btop.exe, null, 'btop');
      ctx.log(`btop: pid ${btPid} (${btProc.exe}), ${btProc.tty} ${btProc.size.cols}×${btProc.size.rows}`);
    }

    const trainingAt = await untilTraining(lt);
    ctx.log(`lora-top shows TRAINING at ${(trainingAt / 1000).toFixed(1)} s (step ${shown(lt.screen).step})`);
    if (bt) await bt.waitFor((tail) => tail.includes(BTOP_MARKER), 20_000, "btop's first frame");
    const age = () => Math.min(...sessions.map((s) => nowMs() - s.t0));
    if (age() < WARMUP_S * 1000) await sleep(WARMUP_S * 1000 - age());

    // ---- the window
    const ltStart = nowMs() - lt.t0;
    const btStart = bt ? nowMs() - bt.t0 : 0;
    const wallStart = nowMs();
    const floorPid = await floor.pid();
    const ltCpu0 = cpuSample(ltPid);
    const btCpu0 = bt ? cpuSample(btPid) : null;
    const floorCpu0 = cpuSample(floorPid);
    const tickFloorPid = await tickFloor.pid();
    const tickFloorCpu0 = cpuSample(tickFloorPid);
    const stepStart = shown(lt.screen).step;
    ctx.log(`window: ${seconds} s from ${(ltStart / 1000).toFixed(1)} s after lora-top's spawn (step ${stepStart}) ...`);
    const progress = setInterval(() => ctx.log(`  ${((nowMs() - wallStart) / 1000).toFixed(0)} s, step ${shown(lt.screen).step}`), 15_000);
    let windowOver = false;
    const died = lt.done.then(() => {
      if (!windowOver) throw new Error(`lora-top exited during the window: ${JSON.stringify(lt.exit)} ${lt.stderr}`);
    });
    died.catch(() => {});
    await Promise.race([sleep(seconds * 1000), died]).finally(() => {
      windowOver = true;
      clearInterval(progress);
    });
    const ltCpu1 = cpuSample(ltPid);
    const btCpu1 = bt ? cpuSample(btPid) : null;
    const floorCpu1 = cpuSample(floorPid);
    const tickFloorCpu1 = cpuSample(tickFloorPid);
    const elapsed = (nowMs() - wallStart) / 1000;
    const ltEnd = ltStart + elapsed * 1000;
    const btEnd = btStart + elapsed * 1000;
    const end = shown(lt.screen);
    if (!(end.step > stepStart)) throw new Error(`lora-top's step did not move during the window (step ${stepStart} → ${end.step})`);

    const ltCpu = cpuBetween(ltCpu0, ltCpu1, elapsed, ltPid);
    const btCpu = bt ? cpuBetween(btCpu0, btCpu1, elapsed, btPid) : null;
    // The goal is half of btop's CPU in the same window (GOAL_CPU_OF_BTOP); without a btop reading, GOAL_CPU %.
    const cpuGoal = btCpu && btCpu.percent > 0 ? Math.round(GOAL_CPU_OF_BTOP * btCpu.percent * 1000) / 1000 : GOAL_CPU;
    const floorCpu = cpuBetween(floorCpu0, floorCpu1, elapsed, floorPid);
    const tickFloorCpu = cpuBetween(tickFloorCpu0, tickFloorCpu1, elapsed, tickFloorPid);
    const ltFrames = analyzeFrames(lt.chunks, { fromMs: ltStart, toMs: ltEnd, seconds: elapsed, cols: COLS, rows: ROWS });
    const btFrames = bt ? analyzeFrames(bt.chunks, { fromMs: btStart, toMs: btEnd, seconds: elapsed, cols: COLS, rows: ROWS, model: false }) : null;
    const bytesPerSecond = ltFrames.bytes / elapsed;
    // kitty: the whole window's bytes, and those apart from the pictures sent (one APC per chunk).
    const kittyBytes = bytesBetween(kitty, ltStart, ltEnd);
    const kittyText = kittyBytes.toString('latin1');
    const pictureBytes = [...kittyText.matchAll(/\x1b_G[^\x1b]*\x1b\\/g)].reduce((n, m) => n + m[0].length, 0);
    const picturesSent = [...kittyText.matchAll(/\x1b_Ga=T,U=1/g)].length;
    const kittyBytesPerSecond = kittyBytes.length / elapsed;
    const kittyFrameBytesPerSecond = (kittyBytes.length - pictureBytes) / elapsed;
    const btopBytesPerSecond = bt ? btFrames.bytes / elapsed : null;

    const capturePath = join(ctx.tmpDir, 'dashboard-capture.bin');
    const captureS = Math.min(CAPTURE_S, elapsed);
    const capture = bytesBetween(lt, ltStart, ltStart + captureS * 1000);
    writeFileSync(capturePath, capture);
    // the screen as the model has it at the end of the window, to check the capture against
    writeFileSync(
      capturePath.replace(/\.bin$/, '.screen.txt'),
      `lora-top's ${COLS}×${ROWS} screen at the end of the window (bench/lib/screen.js model, styles dropped):\n${ltFrames.model.screen.map((l) => `|${l.padEnd(COLS)}|`).join('\n')}\n`,
    );

    await Promise.all(sessions.splice(0).map((s) => s.stop()));

    // ---- first frames: lora-top and btop interleaved, the trainer still running
    const ltFirst = [];
    const btFirst = [];
    for (let i = 0; i < ctx.runs; i++) {
      ltFirst.push(await firstFrame(process.execPath, [cli, trainer.folder], { marker: LOSS_TITLE, exe: nodeExe, cwd: ctx.root }));
      if (btop) btFirst.push(await firstFrame(btop.path, [], { marker: BTOP_MARKER, exe: btop.exe, cwd: dir, env: btopEnv(dir) }));
      ctx.log(`first frame ${i + 1}/${ctx.runs}: lora-top ${ltFirst.at(-1).ms.toFixed(0)} ms${btop ? `, btop ${btFirst.at(-1).ms.toFixed(0)} ms` : ''}`);
    }
    const firstFrameMs = median(ltFirst.map((f) => f.ms));
    const btopFirstFrameMs = btop ? median(btFirst.map((f) => f.ms)) : null;

    const base = (label, value, unit) => (value === null ? undefined : { label, value, unit });
    const rows = [
      {
        figure: 'idleCpuPercent (lora-top, 2 steps/s)',
        value: ltCpu.percent,
        unit: '%',
        goal: { op: '<=', target: cpuGoal },
        baseline: base('btop', btCpu?.percent ?? null, '%'),
      },
      {
        figure: '  floor: a bare node following the log the same way',
        value: floorCpu.percent,
        unit: '%',
        baseline: { label: 'lora-top, same window', value: ltCpu.percent, unit: '%' },
      },
      {
        figure: '  floor: the log read only before each frame',
        value: tickFloorCpu.percent,
        unit: '%',
        baseline: base('btop', btCpu?.percent ?? null, '%'),
      },
      {
        figure: 'bytesPerSecond (to the pty)',
        value: bytesPerSecond,
        unit: 'B/s',
        goal: { op: '<=', target: GOAL_BYTES },
        baseline: base('btop', btopBytesPerSecond, 'B/s'),
      },
      {
        figure: 'kittyBytesPerSecond (samples inline)',
        value: kittyBytesPerSecond,
        unit: 'B/s',
        baseline: { label: 'half blocks, same window', value: bytesPerSecond, unit: 'B/s' },
      },
      {
        figure: `  of which not pictures (${picturesSent} sent)`,
        value: kittyFrameBytesPerSecond,
        unit: 'B/s',
        goal: { op: '<=', target: GOAL_BYTES },
        baseline: { label: 'half blocks, same window', value: bytesPerSecond, unit: 'B/s' },
      },
      { figure: '  frames per second', value: ltFrames.framesPerSecond, unit: '/s', baseline: base('btop', btFrames?.framesPerSecond ?? null, '/s') },
      { figure: '  bytes per frame', value: ltFrames.bytesPerFrame, unit: 'B', baseline: base('btop', btFrames?.bytesPerFrame ?? null, 'B') },
      {
        figure: `firstFrameMs (median of ${ctx.runs})`,
        value: firstFrameMs,
        unit: 'ms',
        goal: { op: '<=', target: GOAL_FIRST_MS },
        baseline: base('btop', btopFirstFrameMs, 'ms'),
      },
    ];

    const results = {
      idleCpuPercent: round(ltCpu.percent, 3),
      idleCpuMainThreadPercent: round(ltCpu.mainPercent ?? 0, 3),
      idleCpuOtherThreadsPercent: round(ltCpu.otherPercent, 3),
      floorCpuPercent: round(floorCpu.percent, 3),
      tickFloorCpuPercent: round(tickFloorCpu.percent, 3),
      bareNodeFirstByteMs: pty.firstByteMs === null ? null : round(pty.firstByteMs, 1),
      btopCpuPercent: btCpu ? round(btCpu.percent, 3) : null,
      bytesPerSecond: round(bytesPerSecond, 1),
      kittyBytesPerSecond: round(kittyBytesPerSecond, 1),
      kittyFrameBytesPerSecond: round(kittyFrameBytesPerSecond, 1),
      kittyPicturesSent: picturesSent,
      btopBytesPerSecond: btFrames ? round(btopBytesPerSecond, 1) : null,
      firstFrameMs: round(firstFrameMs, 1),
      btopFirstFrameMs: btopFirstFrameMs === null ? null : round(btopFirstFrameMs, 1),
      dashboardFramesPerSecond: round(ltFrames.framesPerSecond, 2),
      dashboardBytesPerFrame: round(ltFrames.bytesPerFrame, 0),
      btopFramesPerSecond: btFrames ? round(btFrames.framesPerSecond, 2) : null,
      dashboardWindowSeconds: round(elapsed, 1),
      dashboardFirstFrameRuns: ctx.runs,
    };

    const pct = (x) => `${x.toFixed(3)} %`;
    const threadList = (cpu) =>
      `main thread ${pct(cpu.mainPercent ?? 0)}, other threads ${pct(cpu.otherPercent)}` +
      (cpu.threads.some((t) => !t.main && t.ticks > 0)
        ? ` (${cpu.threads
            .filter((t) => !t.main && t.ticks > 0)
            .map((t) => `${t.comm}/${t.tid} ${t.percent.toFixed(2)}`)
            .join(', ')})`
        : '');
    const list = (xs) => xs.map((f) => f.ms.toFixed(0)).join(' ');
    notes.push(
      [
        `dashboard: one window of ${elapsed.toFixed(1)} s (CPU and bytes are measured once over it, not a median), lora-top and btop in ${COLS}×${ROWS} ptys at the same time;`,
        `  lora-top (pid ${ltPid}) followed the trainer from step ${stepStart} to ${end.step} (${((end.step - stepStart) / elapsed).toFixed(2)} steps/s shown; status at the end: ${end.status}).`,
        `  CPU = Δ(utime+stime) in /proc/PID/stat (the whole thread group) / ${elapsed.toFixed(1)} s; one clock tick = ${pct(ltCpu.resolutionPercent)}.`,
        `  lora-top: ${pct(ltCpu.percent)} — ${threadList(ltCpu)}; ${ltCpu.threadCount} threads${ltCpu.childPercent > 0 ? `; plus ${pct(ltCpu.childPercent)} in child processes it waited for` : ''}`,
        `  floor (bench/children/followFloor.js: fs.watch + 1 s poll, a read per event, decode and split, a 1.3 KB frame every 2 s): ${pct(floorCpu.percent)} — ${threadList(floorCpu)}`,
        `  floor read only before each frame (followFloor.js --tick-only: no watch, no poll): ${pct(tickFloorCpu.percent)} — ${threadList(tickFloorCpu)}`,
        btCpu ? `  btop:     ${pct(btCpu.percent)} — ${threadList(btCpu)}; ${btCpu.threadCount} threads` : '  btop:     not measured (not installed)',
        `  bytes: all that script read from the pty master in the window (after ONLCR, as a terminal gets them): lora-top ${ltFrames.bytes}, btop ${btFrames?.bytes ?? 'n/a'}.`,
        `  first frame (spawn of script → first complete frame holding ${JSON.stringify(LOSS_TITLE)}; btop: ${JSON.stringify(BTOP_MARKER)}), ms:`,
        `    lora-top ${list(ltFirst)}   (its first byte: ${ltFirst.map((f) => f.firstByteMs?.toFixed(0)).join(' ')})`,
        btop ? `    btop     ${list(btFirst)}` : '    btop     n/a',
        `    for scale: script + sh + stty + a bare \`node -e\` to its first byte: ${pty.firstByteMs?.toFixed(0)} ms`,
      ].join('\n'),
    );
    notes.push(frameNote(ltFrames, btFrames, capturePath, capture.length, captureS));

    const missed = ltCpu.percent > cpuGoal || bytesPerSecond > GOAL_BYTES || firstFrameMs > GOAL_FIRST_MS;
    if (missed || ctx.profile) {
      const profiled = await profile(ctx, cli, trainer.folder, nodeExe, Math.min(seconds, 20));
      notes.push(profiled.text);
      if (profiled.split) results.idleCpuSplit = profiled.split;
    }
    return { rows, results, notes };
  } finally {
    await Promise.all(sessions.map((s) => s.stop()));
    await trainer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Frames/s, bytes/frame and, from the screen model, what each frame rewrites and what changes. */
function frameNote(lt, bt, capturePath, captureBytes, captureS) {
  const f0 = (x) => (x === null || x === undefined ? 'n/a' : x.toFixed(0));
  const f1 = (x) => (x === null || x === undefined ? 'n/a' : x.toFixed(1));
  const f2 = (x) => (x === null || x === undefined ? 'n/a' : x.toFixed(2));
  const iv = (f) => `interval p10/p50/p90 ${f0(f.intervals.p10)}/${f0(f.intervals.p50)}/${f0(f.intervals.p90)} ms`;
  const lines = [
    'dashboard frames at steady state (a frame = one CSI ?2026h … CSI ?2026l synchronized update):',
    `  lora-top: ${f2(lt.framesPerSecond)} frames/s × ${f0(lt.bytesPerFrame)} B/frame, ${iv(lt)}; ${lt.outsideFrames} B outside frames`,
    bt ? `  btop:     ${f2(bt.framesPerSecond)} frames/s × ${f0(bt.bytesPerFrame)} B/frame, ${iv(bt)}` : '  btop:     n/a',
  ];
  const m = lt.model;
  if (m) {
    const k = m.bytesPerFrameByKind;
    lines.push(
      `  lora-top per frame: ${f1(m.touchedRowsPerFrame)} of ${ROWS} rows written, ${f1(m.changedRowsPerFrame)} with visibly different text, ${f0(m.cellsChangedPerFrame)} of ${COLS * ROWS} cells differ;` +
        ` ${m.framesWithoutVisibleChange} of ${lt.frames} frames changed no visible text`,
      `    bytes/frame by kind: text ${f0(k.text)}, SGR style ${f0(k.style)}, cursor positioning ${f0(k.position)}, erase ${f0(k.erase)}, other (sync brackets, modes) ${f0(k.other)}`,
      `    for comparison, rewriting only each changed row's span (first to last differing cell; cursor move + text, styles not counted): ~${f0(m.spanTextBytesPerFrame)} B/frame`,
      `    (screen model: ${m.wraps} wraps past column ${COLS}, ${m.scrolls} scrolls in the window)`,
      '    rows by bytes written (row: written in % of frames, visibly changed in %, B/frame, cells differing per change — text now):',
      ...m.rows
        .filter((r) => r.bytes > 0)
        .sort((a, b) => b.bytes - a.bytes)
        .slice(0, 14)
        .map(
          (r) =>
            `      ${String(r.row + 1).padStart(2)}: ${(100 * r.touchedShare).toFixed(0).padStart(3)} % ${(100 * r.changedShare).toFixed(0).padStart(3)} % ${f0(r.bytesPerFrame).padStart(5)} B ${f1(r.cellsPerChange).padStart(5)} — ${JSON.stringify(r.label.trim().slice(0, 60))}`,
        ),
    );
  }
  lines.push(
    `  raw capture: ${capturePath} (${captureBytes} B, the first ${captureS.toFixed(0)} s of the window; read it with \`cat -v\`, or replay it with \`cat\` in a ${COLS}×${ROWS} terminal after the dashboard's first frame);`,
    `  the screen at the end of the window: ${capturePath.replace(/\.bin$/, '.screen.txt')}`,
  );
  return lines.join('\n');
}

/**
 * One more lora-top, alone, under `node --cpu-prof`: start-up (spawn to its first frame) and steady
 * state (`seconds` after TRAINING + 5 s) summarized separately, idle samples left out. Quit with q
 * so that node writes the profile.
 */
async function profile(ctx, cli, folder, nodeExe, seconds) {
  const profDir = join(ctx.tmpDir, 'profiles');
  rmSync(join(profDir, 'dashboard.cpuprofile'), { force: true });
  mkdirSync(profDir, { recursive: true });
  const file = join(profDir, 'dashboard.cpuprofile');
  ctx.log(`profiling one more lora-top (node --cpu-prof) for ${seconds} s of steady state ...`);
  const s = startLoraTop(ctx, cli, folder, nodeExe, ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', 'dashboard.cpuprofile']);
  let firstMs = null;
  watchFirstFrame(s, LOSS_TITLE, (f) => {
    firstMs = f.ms;
  });
  try {
    const trainingAt = await untilTraining(s);
    const from = Math.max(trainingAt, WARMUP_S * 1000);
    const wait = from + seconds * 1000 - (nowMs() - s.t0);
    if (wait > 0) await sleep(wait);
  } finally {
    await s.stop({ graceMs: 5000 });
  }
  if (!existsSync(file)) return { text: `dashboard CPU profile: node wrote no profile (${JSON.stringify(s.exit)})`, split: null };
  // profile times count from node's start, a little after the spawn: close enough for these cuts
  const startup = join(profDir, 'dashboard-startup.cpuprofile');
  const steady = join(profDir, 'dashboard-steady.cpuprofile');
  const first = firstMs ?? 1000;
  const a = sliceProfile(file, startup, { fromMs: 0, toMs: first });
  const b = sliceProfile(file, steady, { fromMs: Math.max(first, WARMUP_S * 1000), toMs: Infinity });
  const opts = { filter: (label) => label.includes(' dist/') };
  const steadySummary = summarizeProfile(steady, opts);
  const split = cpuSplit(steadySummary);
  return {
    text: [
      `dashboard CPU profile (${file}; main JS thread only, idle samples left out):`,
      `start-up, spawn to first frame (${first.toFixed(0)} ms; ${a.keptMs.toFixed(0)} ms busy):`,
      formatProfile(summarizeProfile(startup, opts), 12),
      `steady state (from ${(Math.max(first, WARMUP_S * 1000) / 1000).toFixed(1)} s; ${b.keptMs.toFixed(0)} ms busy, ${b.idleMs.toFixed(0)} ms idle):`,
      formatProfile(steadySummary, 15),
      `steady state by part, % of the main thread's busy time: ${Object.entries(split).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    ].join('\n'),
    split,
  };
}

/**
 * The main thread's steady-state time by part (% of its busy time): the frame (React's render,
 * the panels' build, the frame diff and write), the log (read, parse, reduce), GPU readings, GC,
 * and the rest (timers, libuv callbacks, V8's own work). Parts are the inclusive times of the
 * functions that begin each; the rest is what none of them covers.
 */
function cpuSplit(summary) {
  const total = summary.totalMs || 1;
  const inclusive = (pattern) => summary.inclusive.filter((e) => pattern.test(e.label)).reduce((m, e) => Math.max(m, e.ms), 0);
  const self = (name) => summary.self.filter((e) => e.label.startsWith(name)).reduce((n, e) => n + e.ms, 0);
  const parts = {
    frame: inclusive(/^(performWorkUntilDeadline|performWorkOnRoot) /),
    viewBuild: inclusive(/^buildScreen /),
    log: inclusive(/^onText /),
    gpu: inclusive(/^(onStdout|sampleHost|queryApps) /),
    gc: self('(garbage collector)'),
  };
  const covered = parts.frame + parts.log + parts.gpu + parts.gc;
  const pct = (ms) => Math.round((1000 * ms) / total) / 10;
  return {
    frame: pct(parts.frame),
    'frame.viewBuild': pct(parts.viewBuild),
    log: pct(parts.log),
    gpu: pct(parts.gpu),
    gc: pct(parts.gc),
    other: pct(Math.max(0, total - covered)),
    busyMs: Math.round(total),
  };
}
