// Measurement: gpu. How many processes lora-top starts per minute to get its GPU figures, beside
// systeminformation's graphics() polled at the same interval over the same span:
//
//   gpuSpawnsPerMinute         nvidia-smi starts by the live dashboard (`node bin/lora-top.js RUN
//                              --interval 1000` in a 120×40 pty, lib/pty.js), counted from the
//                              stand-in's log (test/bin/nvidia-smi, FAKE_NVIDIA_SMI_LOG: one line per
//                              start), over --seconds (default 60) from lora-top's spawn, so the one
//                              resident `nvidia-smi -lms 1000` start counts as well as the periodic
//                              `--query-compute-apps` queries. Goal ≤ 2 per minute.
//   siGraphicsSpawnsPerMinute  every process that `require('systeminformation').graphics()`, called
//                              every 1000 ms for the same span in a child node (lib/siGraphicsChild.js),
//                              starts: nvidia-smi and all the rest (sh, lspci, dmidecode, clinfo,
//                              xdpyinfo, xrandr, grep, awk …), counted exactly from an strace of the
//                              child (lib/spawnTrace.js). Without strace: only its nvidia-smi starts,
//                              from its own stand-in log, with a note saying so.
//
// Both run at the same time, each with the same stand-in nvidia-smi first on PATH (test/bin) and
// its own FAKE_NVIDIA_SMI_LOG file. lora-top also runs under strace (when there is one), so the
// table shows every process it starts too, not only the nvidia-smi ones it logs.
//
// The realistic case: lora-top runs its compute-apps query only while it knows the trainer's PID
// (a python process whose command line holds run.py, matched to the run folder). So a dummy
// trainer is started first: `python3 TMP/run.py config.yaml` (a run.py that only sleeps) with its
// cwd the run folder's parent, as ai-toolkit is run; the stand-in lists that pid among its compute
// apps (FAKE_NVIDIA_SMI_APPS), and lora-top's screen is checked to show `trainer pid PID`. The run
// folder holds a copy of test/fixtures/ai-toolkit-logs/003-krea2-177h-eta.txt as its log.txt.
//
// systeminformation asks nvidia-smi only after `lspci -vvv` succeeded; on a machine without lspci
// (a container) graphics() would never start nvidia-smi, unlike on any machine with an NVIDIA card.
// So when lspci is missing, a one-process stand-in (a `sh` script printing one NVIDIA VGA
// controller at 01:00.0, as the stand-in nvidia-smi has it) is put on PATH for both, and a note
// says so. The other programs graphics() tries (dmidecode, clinfo, xdpyinfo, xrandr) are run as
// this machine has them: the shells that look for them count either way.
//
// Needs python3 for the dummy trainer and util-linux `script`; strace for the exact counts
// (apt-get install -y strace; BENCH_STRACE=none runs without it). The counts are one long window,
// not a median of runs (--runs does not apply).

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { breakdown, findStrace, parseStrace, straceArgs } from './lib/spawnTrace.js';
import { describeProcess } from './lib/procstat.js';
import { childrenOf, hasScript, startPty } from './lib/pty.js';
import { followScreen } from './lib/screen.js';
import { median, round } from './lib/stats.js';

export const name = 'gpu';
export const description =
  'processes started per minute for the GPU figures: lora-top (--interval 1000, stand-in nvidia-smi, a dummy trainer) vs systeminformation graphics() polled every 1 s';

const INTERVAL_MS = 1000;
const COLS = 120;
const ROWS = 40;
const GOAL_PER_MINUTE = 2;
const FIXTURE = 'test/fixtures/ai-toolkit-logs/003-krea2-177h-eta.txt';
const RUN_NAME = 'bench_gpu';
const TRAINER_MIB = 18000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `promise`'s value, or `fallback` after `ms` (the timer is cleared either way, so it holds nothing up). */
function within(promise, ms, fallback) {
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The lines of a stand-in log: [{ pid, argv }]. */
function readLog(path) {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** What a stand-in start was for: the resident loop, a compute-apps query, or something else. */
function kindOf(argv) {
  if (argv.some((a) => a === '-lms' || a === '-l' || a.startsWith('--loop'))) return 'resident';
  if (argv.some((a) => a.startsWith('--query-compute-apps'))) return 'apps';
  if (argv.some((a) => a.startsWith('--query-gpu'))) return 'queryGpu';
  return 'other';
}

function countKinds(entries) {
  const c = { resident: 0, apps: 0, queryGpu: 0, other: 0 };
  for (const e of entries) c[kindOf(e.argv)]++;
  return c;
}

function findPython() {
  for (const p of ['/usr/bin/python3', '/usr/local/bin/python3']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/** A dummy ai-toolkit trainer: `python3 DIR/run.py config.yaml` in `cwd`, sleeping until killed or orphaned. */
function startDummyTrainer(python, dir, cwd) {
  const script = join(dir, 'run.py');
  writeFileSync(
    script,
    [
      '# a stand-in for ai-toolkit\'s run.py (bench/gpu.js): only sleeps, and leaves when orphaned',
      'import os, time',
      'parent = os.getppid()',
      'while os.getppid() == parent:',
      '    time.sleep(0.5)',
      '',
    ].join('\n'),
  );
  const child = spawn(python, [script, 'config.yaml'], { cwd, stdio: 'ignore' });
  const done = new Promise((resolve) => child.on('exit', resolve));
  return {
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      if (!(await within(done.then(() => true), 3000, false))) child.kill('SIGKILL');
    },
  };
}

/** An `lspci` that lists one NVIDIA card at 01:00.0 (one process, printf being a shell builtin). */
function writeLspciStandIn(binDir) {
  mkdirSync(binDir, { recursive: true });
  const path = join(binDir, 'lspci');
  writeFileSync(
    path,
    [
      '#!/bin/sh',
      '# lspci stand-in written by bench/gpu.js for a machine without pciutils: one NVIDIA card at 01:00.0',
      "printf '%s\\n' '01:00.0 VGA compatible controller: NVIDIA Corporation AD102 [GeForce RTX 4090] [10de:2684] (rev a1) (prog-if 00 [VGA controller])' \\",
      "  '\tSubsystem: NVIDIA Corporation AD102 [GeForce RTX 4090] [10de:16f3]' \\",
      "  '\tMemory at f0000000 (32-bit, non-prefetchable) [size=16M]' \\",
      "  '\tMemory at 6000000000 (64-bit, prefetchable) [size=32G]' ''",
      '',
    ].join('\n'),
  );
  chmodSync(path, 0o755);
  return path;
}

const hasCommand = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

export async function run(ctx) {
  const seconds = ctx.seconds ?? 60;
  if (!hasScript) throw new Error('util-linux `script` is missing (apt-get install -y bsdutils)');
  const python = findPython();
  if (!python) throw new Error('python3 is missing: it is needed for the dummy trainer (run.py) that makes lora-top query compute apps');
  const cli = join(ctx.root, 'bin/lora-top.js');
  const testBin = join(ctx.root, 'test/bin');
  const childScript = join(ctx.benchDir, 'lib/siGraphicsChild.js');
  const nodeExe = realpathSync(process.execPath);
  const strace = findStrace();
  const notes = [];
  if (!strace.path) {
    const line = `gpu: ${strace.problem}, so only nvidia-smi starts are counted (from the stand-in's logs): systeminformation's other processes (sh, lspci, …) and any non-nvidia-smi process of lora-top are NOT counted.`;
    process.stdout.write(`${line}\n`);
    notes.push(line);
  } else {
    ctx.log(`counting processes with ${strace.version} (${strace.path})`);
  }

  mkdirSync(ctx.tmpDir, { recursive: true });
  const dir = mkdtempSync(join(ctx.tmpDir, 'gpu-'));
  const cleanups = [];
  try {
    // ---- the run folder, the dummy trainer, PATH
    const outputDir = join(dir, 'output');
    const runFolder = join(outputDir, RUN_NAME);
    mkdirSync(runFolder, { recursive: true });
    copyFileSync(join(ctx.root, FIXTURE), join(runFolder, 'log.txt'));
    const trainer = startDummyTrainer(python, dir, outputDir);
    cleanups.push(() => trainer.stop());
    const trainerPid = trainer.child.pid;
    ctx.log(`dummy trainer: pid ${trainerPid} (${python} ${join(dir, 'run.py')} config.yaml, cwd ${outputDir})`);

    const pathParts = [testBin];
    let lspciNote = null;
    if (!hasCommand('lspci')) {
      const extraBin = join(dir, 'bin');
      writeLspciStandIn(extraBin);
      pathParts.push(extraBin);
      lspciNote =
        'gpu: this machine has no lspci, and systeminformation asks nvidia-smi only after `lspci -vvv` succeeded, so a one-process lspci stand-in (a sh script listing one NVIDIA card at 01:00.0) was put on PATH for both programs, as a machine with an NVIDIA card has lspci.';
      ctx.log('no lspci here: using a one-process stand-in for the baseline');
    }
    const PATH = [...pathParts, process.env.PATH ?? ''].join(delimiter);
    const apps = JSON.stringify([{ pid: trainerPid, usedMemoryMiB: TRAINER_MIB, processName: 'python' }]);
    const ltLog = join(dir, 'lora-top-nvidia-smi.jsonl');
    const siLog = join(dir, 'si-nvidia-smi.jsonl');
    const ltTrace = join(dir, 'lora-top.strace');
    const siTrace = join(dir, 'si.strace');
    const baseEnv = { PATH, FAKE_NVIDIA_SMI_APPS: apps };
    const check = spawnSync('sh', ['-c', 'command -v nvidia-smi'], { env: { ...process.env, PATH }, encoding: 'utf8' });
    if (check.stdout?.trim() !== join(testBin, 'nvidia-smi')) {
      throw new Error(`the nvidia-smi first on PATH is not the stand-in ${join(testBin, 'nvidia-smi')}: ${check.stdout?.trim() || check.stderr}`);
    }
    await sleep(300); // let the dummy trainer exec python before lora-top looks for it

    // ---- both at once: lora-top in a pty, systeminformation in a child node
    const ltArgs = [cli, runFolder, '--interval', String(INTERVAL_MS)];
    const ltT0 = Date.now();
    const lt = strace.path
      ? startPty(strace.path, [...straceArgs(ltTrace), process.execPath, ...ltArgs], {
          cols: COLS,
          rows: ROWS,
          cwd: ctx.root,
          env: { ...baseEnv, FAKE_NVIDIA_SMI_LOG: ltLog },
          exe: realpathSync(strace.path),
        })
      : startPty(process.execPath, ltArgs, { cols: COLS, rows: ROWS, cwd: ctx.root, env: { ...baseEnv, FAKE_NVIDIA_SMI_LOG: ltLog }, exe: nodeExe });
    const screen = followScreen(lt, COLS, ROWS);
    const seen = { gpu: null, trainer: null };
    const trainerText = `trainer pid ${trainerPid}`;
    lt.onChunk((chunk) => {
      if (seen.gpu !== null && seen.trainer !== null) return;
      const text = screen.lines().join('\n');
      if (seen.gpu === null && text.includes('RTX 4090')) seen.gpu = chunk.t;
      if (seen.trainer === null && text.includes(trainerText)) seen.trainer = chunk.t;
    });
    let ltExited = false;
    void lt.done.then(() => {
      ltExited = true;
    });
    cleanups.push(() => lt.stop());

    const siT0 = Date.now();
    const siCmd = strace.path ? strace.path : process.execPath;
    const siArgs = [...(strace.path ? [...straceArgs(siTrace), process.execPath] : []), childScript, String(seconds), String(INTERVAL_MS)];
    const si = spawn(siCmd, siArgs, { cwd: ctx.root, env: { ...process.env, ...baseEnv, FAKE_NVIDIA_SMI_LOG: siLog }, stdio: ['ignore', 'pipe', 'pipe'] });
    let siOut = '';
    let siErr = '';
    si.stdout.on('data', (b) => (siOut += b));
    si.stderr.on('data', (b) => (siErr += b));
    const siDone = new Promise((resolve) => si.on('close', (code, signal) => resolve({ code, signal })));
    cleanups.push(async () => {
      if (si.exitCode === null && si.signalCode === null) si.kill('SIGKILL');
      await siDone;
    });

    // lora-top's own node process (under strace: strace's child)
    const ptyPid = await lt.pid();
    let ltPid = ptyPid;
    if (strace.path) {
      // strace's child running node with the CLI (strace may fork a short-lived probe first)
      const isLoraTop = (pid) => {
        try {
          const d = describeProcess(pid);
          return d.exe === nodeExe && d.argv.includes(cli);
        } catch {
          return false;
        }
      };
      ltPid = null;
      for (let i = 0; i < 2000 && ltPid === null; i++) {
        ltPid = childrenOf(ptyPid).find(isLoraTop) ?? null;
        if (ltPid === null) await sleep(5);
      }
      if (ltPid === null) throw new Error(`no lora-top process under strace (pid ${ptyPid})`);
    }
    ctx.log(`lora-top: pid ${ltPid}${strace.path ? ` (under strace, pid ${ptyPid})` : ''}; systeminformation child: pid ${si.pid}; window ${seconds} s ...`);

    const progress = setInterval(() => {
      const c = countKinds(readLog(ltLog));
      ctx.log(`  ${((Date.now() - ltT0) / 1000).toFixed(0)} s: lora-top ${c.resident} resident + ${c.apps} queries; systeminformation ${readLog(siLog).length} nvidia-smi starts`);
    }, 15_000);
    // the resident nvidia-smi must be lora-top's own child: check it half-way
    let residentParent = null;
    const parentCheck = setTimeout(() => {
      const resident = readLog(ltLog).find((e) => kindOf(e.argv) === 'resident');
      if (!resident) return;
      try {
        const stat = readFileSync(`/proc/${resident.pid}/stat`, 'utf8');
        residentParent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      } catch {
        residentParent = 'gone';
      }
    }, Math.min(seconds * 500, 10_000));
    await sleep(ltT0 + seconds * 1000 - Date.now());
    clearInterval(progress);
    clearTimeout(parentCheck);
    const ltT1 = Date.now();
    const ltEntries = readLog(ltLog);
    const ltDiedEarly = ltExited;

    // ---- stop lora-top ('q'; its own pid by signal if need be, as strace's SIGTERM would only detach)
    lt.send('q');
    const quit = await within(lt.done.then(() => true), 3000, false);
    if (!quit) {
      for (const signal of ['SIGTERM', 'SIGKILL']) {
        try {
          process.kill(ltPid, signal);
        } catch {
          // gone
        }
        if (await within(lt.done.then(() => true), 2000, false)) break;
      }
      await lt.stop();
    }
    ctx.log(`lora-top ${quit ? "quit on 'q'" : 'was stopped by signal'} ${((Date.now() - ltT1) / 1000).toFixed(1)} s after the window`);
    const ltAfter = readLog(ltLog).length - ltEntries.length;
    if (ltDiedEarly) throw new Error(`lora-top exited during the window: ${JSON.stringify(lt.exit)} ${lt.stderr}`);

    const siExit = await within(siDone, 60_000, null);
    if (!siExit || siExit.code !== 0) {
      throw new Error(`the systeminformation child ${siExit ? `exited with ${siExit.signal ?? `code ${siExit.code}`}` : 'did not end within 60 s of the window'}: ${siErr.trim().split('\n').slice(-10).join('\n')}`);
    }
    ctx.log(`systeminformation child ended ${((Date.now() - ltT1) / 1000).toFixed(1)} s after the window`);
    const siReport = JSON.parse(siOut.trim().split('\n').at(-1));
    const siEntries = readLog(siLog);

    // ---- counts
    const perMinute = (n) => (n * 60) / seconds;
    const lk = countKinds(ltEntries);
    const sk = countKinds(siEntries);
    const gpuSpawnsPerMinute = perMinute(ltEntries.length);
    let ltAll = null;
    let siAll = null;
    if (strace.path) {
      const lts = parseStrace(readFileSync(ltTrace, 'utf8'));
      ltAll = lts.processes.filter((p) => p.t * 1000 >= ltT0 && p.t * 1000 <= ltT1);
      const sis = parseStrace(readFileSync(siTrace, 'utf8'));
      siAll = sis.processes;
      // the two ways of counting nvidia-smi starts must agree
      const ltSmi = ltAll.filter((p) => p.program === 'nvidia-smi').length;
      const siSmi = siAll.filter((p) => p.program === 'nvidia-smi').length;
      if (Math.abs(ltSmi - ltEntries.length) > 1 || siSmi !== siEntries.length) {
        notes.push(`gpu: WARNING the strace and stand-in log counts of nvidia-smi starts differ: lora-top ${ltSmi} vs ${ltEntries.length} logged, systeminformation ${siSmi} vs ${siEntries.length} logged`);
      }
    }
    const siCount = siAll ? siAll.length : siEntries.length;
    const siGraphicsSpawnsPerMinute = perMinute(siCount);

    const siLabel = siAll ? 'si.graphics() 1 s, all processes' : 'si.graphics() 1 s, nvidia-smi only';
    const rows = [
      {
        figure: 'gpuSpawnsPerMinute (lora-top nvidia-smi starts)',
        value: gpuSpawnsPerMinute,
        unit: '/min',
        goal: { op: '<=', target: GOAL_PER_MINUTE },
        baseline: { label: siLabel, value: siGraphicsSpawnsPerMinute, unit: '/min' },
      },
      { figure: '  resident nvidia-smi -lms', value: perMinute(lk.resident), unit: '/min' },
      { figure: '  --query-compute-apps', value: perMinute(lk.apps), unit: '/min' },
      {
        figure: '  nvidia-smi starts',
        value: gpuSpawnsPerMinute,
        unit: '/min',
        baseline: { label: 'si.graphics() 1 s', value: perMinute(siEntries.length), unit: '/min' },
      },
    ];
    if (ltAll) {
      rows.push({
        figure: '  all processes (strace)',
        value: perMinute(ltAll.length),
        unit: '/min',
        baseline: { label: 'si.graphics() 1 s', value: perMinute(siAll.length), unit: '/min' },
      });
    }
    const results = {
      gpuSpawnsPerMinute: round(gpuSpawnsPerMinute, 2),
      siGraphicsSpawnsPerMinute: round(siGraphicsSpawnsPerMinute, 2),
      gpuResidentStartsPerMinute: round(perMinute(lk.resident), 2),
      gpuAppsQueriesPerMinute: round(perMinute(lk.apps), 2),
      gpuAllSpawnsPerMinute: ltAll ? round(perMinute(ltAll.length), 2) : null,
      siGraphicsNvidiaSmiPerMinute: round(perMinute(siEntries.length), 2),
      siGraphicsCalls: siReport.calls,
      siGraphicsCallMsMedian: siReport.durationsMs.length ? round(median(siReport.durationsMs), 1) : null,
      siGraphicsEventLoopMaxMs: siReport.eventLoop.maxMs,
      gpuSpawnCounting: ltAll ? 'strace' : 'stand-in log (nvidia-smi only)',
      gpuWindowSeconds: seconds,
    };

    // does the stand-in answer systeminformation's query? (the count does not depend on it)
    let siSmiAnswer = '';
    if (siEntries.length > 0) {
      const probe = spawnSync(join(testBin, 'nvidia-smi'), siEntries[0].argv, { env: { ...process.env, ...baseEnv }, encoding: 'utf8' });
      if (probe.status !== 0) {
        siSmiAnswer = ` The stand-in refuses that query (exit ${probe.status}: ${JSON.stringify((probe.stdout || probe.stderr).trim().split('\n')[0])}), so graphics() gets no nvidia-smi figures here; it starts nvidia-smi once per call all the same, as with the real one, so the count is unaffected.`;
      }
    }
    const list = (b) => b.byProgram.map(([label, n]) => `      ${String(n).padStart(4)}  ${label}`).join('\n');
    const f1 = (x) => (x === null || x === undefined ? 'n/a' : (x / 1000).toFixed(1));
    const durs = siReport.durationsMs;
    notes.push(
      [
        `gpu: one window of ${seconds} s (a count, not a median of runs), lora-top and the systeminformation child at the same time, each with test/bin/nvidia-smi first on PATH and its own FAKE_NVIDIA_SMI_LOG.`,
        `  lora-top (pid ${ltPid}): \`node bin/lora-top.js ${runFolder.slice(ctx.root.length + 1)} --interval ${INTERVAL_MS}\` in a ${COLS}×${ROWS} pty${strace.path ? ', under strace' : ''}; window = its spawn + ${seconds} s, so its one-time start of the resident child is inside it${seconds < 60 ? ` (with a window under 60 s that one start weighs ${(60 / seconds).toFixed(1)}× per minute)` : ''}.`,
        `    nvidia-smi starts in the window (stand-in log): ${ltEntries.length} = ${lk.resident} resident -lms ${INTERVAL_MS} + ${lk.apps} --query-compute-apps${lk.queryGpu + lk.other ? ` + ${lk.queryGpu} other --query-gpu + ${lk.other} other` : ''}` +
          (ltAfter > 0 ? `; ${ltAfter} more started after the window, before it quit (not counted)` : ''),
        `    resident nvidia-smi's parent: ${residentParent === ltPid ? `lora-top (pid ${ltPid})` : residentParent === null ? 'not checked' : `${residentParent} (expected ${ltPid})`}.`,
        `    dummy trainer pid ${trainerPid}: GPU figures on screen at ${f1(seen.gpu)} s, \`${trainerText}\` (its compute-apps match) at ${f1(seen.trainer)} s${seen.trainer === null ? ' — NOT seen: lora-top may not have matched the trainer' : ''}.`,
        ltAll ? `    every process lora-top started in the window (strace), ${ltAll.length}:\n${list(breakdown(ltAll))}` : '    other processes of lora-top: not counted (no strace)',
        `  systeminformation ${siReport.calls} graphics() calls every ${INTERVAL_MS} ms (${siReport.skipped} ticks skipped while one was still running, ${siReport.errors} rejected); call time median ${durs.length ? median(durs).toFixed(0) : 'n/a'} ms, max ${durs.length ? Math.max(...durs).toFixed(0) : 'n/a'} ms; module load ${siReport.loadMs} ms (before the window).`,
        `    it saw: ${siReport.controllers.map((c) => `${c.vendor} ${c.model} (${c.busAddress}${c.memoryUsed !== null ? `, ${c.memoryUsed} MiB used` : ''})`).join('; ') || 'no controller'}.`,
        `    event loop blocked (monitorEventLoopDelay, 10 ms resolution): max ${siReport.eventLoop.maxMs} ms, p99 ${siReport.eventLoop.p99Ms} ms, mean ${siReport.eventLoop.meanMs} ms; longest gap between 10 ms timer ticks ${siReport.eventLoop.longestTimerGapMs} ms (graphics() runs nvidia-smi with execFileSync and dmidecode with execSync).`,
        `    nvidia-smi starts (stand-in log): ${siEntries.length}${siEntries.length ? ` (argv: ${siEntries[0].argv.join(' ').slice(0, 120)})` : ''}.${siSmiAnswer}`,
        siAll ? `    every process it started (strace, ${siAll.length}; a shell's forks for pipelines count as processes):\n${list(breakdown(siAll))}` : '    other processes: not counted (no strace)',
        `  programs graphics() looks for, as this machine has them: ${['lspci', 'dmidecode', 'clinfo', 'xdpyinfo', 'xrandr'].map((c) => `${c} ${hasCommand(c) ? 'present' : 'missing'}`).join(', ')}.`,
      ].join('\n'),
    );
    if (lspciNote) notes.push(lspciNote);
    return { rows, results, notes };
  } finally {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // best effort
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
