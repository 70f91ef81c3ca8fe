// Measurement: backfill. How fast lora-top reads an existing ~50 MB ai-toolkit log to its final
// state, and at what peak memory, against `wc -l` and node's raw read of the same file.
//
//   backfillMBps       file MB / s of readRunOnce in a child process, timed around the read only
//   backfillPeakRssMB  peak RSS of the child, the larger of the readRunOnce child and the CLI
//                      (`node bin/lora-top.js LOG --once --json`)
//   wcMBps             `wc -l LOG` (spawned), the baseline for backfillMBps
//   nodeReadMBps       fs.readFileSync(LOG) in this process, a second reference
//   backfillCliMBps    the CLI end to end (node start-up, module load, read, JSON), seen from here
//   dashboardOpenMs    the dashboard's open (watchRun) of the same log, until its state reaches the last step
//   peak RSS baseline  a bare `node -e` child started the same way
//
// Every figure is the median of ctx.runs runs, interleaved (one of each per round) so that the
// machine's noise falls on all of them alike. Each read's final state is checked against what the
// generator knows the log ends with, so a broken parse cannot pass as a fast one. When a goal is
// missed (or with --profile), one more readRunOnce child runs under `node --cpu-prof` and the
// summary (top functions, time per pipeline stage) is printed after the table.

import { readdirSync, readFileSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildAitkLog, GENERATOR_VERSION } from './lib/aitkLog.js';
import { cachedFile } from './lib/cache.js';
import { assertOk, runNodeScript, spawnCollect } from './lib/child.js';
import { formatProfile, summarizeProfile } from './lib/cpuProfile.js';
import { mbPerSecond, median, nowMs, round } from './lib/stats.js';

export const name = 'backfill';
export const description = 'read a ~50 MB ai-toolkit log to its final state (readRunOnce and the --once --json CLI)';

const TARGET_BYTES = 50e6;
const SESSION_STEPS = 3000;
const GOAL_MBPS = 100;
const GOAL_RSS_MB = 150;

/** The cached log: probe the size of a session, then write as many sessions as make ~50 MB. */
function ensureLog(ctx) {
  const dir = ctx.tmpDir;
  const base = `backfill-aitk-v${GENERATOR_VERSION}.log`;
  if (existsSync(dir)) {
    for (const f of readdirSync(dir)) {
      if (/^backfill-aitk-v\d+\.log(?:\.json)?$/.test(f) && !f.startsWith(base)) rmSync(join(dir, f), { force: true });
    }
  }
  return cachedFile(
    join(dir, base),
    GENERATOR_VERSION,
    () => {
      // the bar's n/total have 6 digits in the real file: probe with a total of that size
      const probe = buildAitkLog({ totalSteps: 100 * SESSION_STEPS, sessionSteps: SESSION_STEPS, maxSessions: 2 });
      const perSession = Buffer.byteLength(probe.text) / 2;
      let sessions = Math.max(1, Math.round(TARGET_BYTES / perSession));
      let log = buildAitkLog({ totalSteps: sessions * SESSION_STEPS, sessionSteps: SESSION_STEPS });
      // later sessions print longer numbers (n, ETA) than the probe: correct once
      const better = Math.max(1, Math.round((sessions * TARGET_BYTES) / Buffer.byteLength(log.text)));
      if (better !== sessions) {
        sessions = better;
        log = buildAitkLog({ totalSteps: sessions * SESSION_STEPS, sessionSteps: SESSION_STEPS });
      }
      return { text: log.text, meta: { sessions: log.sessions, expect: log.expect } };
    },
    ctx.log,
  );
}

/** Differences between a read state and the expected one (empty when right). */
function checkState(state, expect) {
  const problems = [];
  for (const key of ['name', 'status', 'step', 'totalSteps', 'loss', 'lr', 'error']) {
    if (state[key] !== expect[key]) problems.push(`${key}: got ${JSON.stringify(state[key])}, expected ${JSON.stringify(expect[key])}`);
  }
  if (JSON.stringify(state.resume) !== JSON.stringify(expect.resume)) {
    problems.push(`resume: got ${JSON.stringify(state.resume)}, expected ${JSON.stringify(expect.resume)}`);
  }
  const lc = state.lastCheckpoint;
  if (lc?.path !== expect.lastCheckpoint?.path || lc?.step !== expect.lastCheckpoint?.step) {
    problems.push(`lastCheckpoint: got ${JSON.stringify(lc)}, expected ${JSON.stringify(expect.lastCheckpoint)}`);
  }
  return problems;
}

function assertState(state, expect, what) {
  const problems = checkState(state, expect);
  if (problems.length > 0) throw new Error(`${what} read the log wrong:\n  ${problems.join('\n  ')}`);
}

async function readDirect(ctx, logPath, expect, nodeArgs = []) {
  const r = assertOk(await runNodeScript(join(ctx.benchDir, 'children/readRunOnce.js'), [logPath], { nodeArgs }), 'readRunOnce child');
  const out = JSON.parse(r.stdout);
  assertState(out.state, expect, 'readRunOnce');
  return out;
}

/** The dashboard's open: watchRun until its state reaches the log's last step (bench/children/watchRunOpen.js). */
async function openDashboardState(ctx, logPath, expect) {
  const r = assertOk(await runNodeScript(join(ctx.benchDir, 'children/watchRunOpen.js'), [logPath, String(expect.step)]), 'watchRunOpen child');
  const out = JSON.parse(r.stdout);
  for (const key of ['name', 'step', 'totalSteps', 'loss', 'lr']) {
    if (out.state[key] !== expect[key]) throw new Error(`watchRun read the log wrong: ${key}: got ${JSON.stringify(out.state[key])}, expected ${JSON.stringify(expect[key])}`);
  }
  return out;
}

async function readCli(ctx, logPath, expect) {
  const r = assertOk(await runNodeScript(join(ctx.root, 'bin/lora-top.js'), [logPath, '--once', '--json']), 'lora-top --once --json');
  const snap = JSON.parse(r.stdout);
  assertState(snap, expect, 'lora-top --once --json');
  return r;
}

async function wcLines(logPath) {
  const t0 = nowMs();
  const r = await spawnCollect('wc', ['-l', logPath], { cleanRss: false });
  const ms = nowMs() - t0;
  if (r.code !== 0) throw new Error(`wc -l failed: ${r.stderr.trim()}`);
  return { ms, lines: Number(r.stdout.trim().split(/\s+/)[0]) };
}

function nodeRead(logPath) {
  const t0 = nowMs();
  const buf = readFileSync(logPath);
  const ms = nowMs() - t0;
  return { ms, bytes: buf.length };
}

/** The design's floor: read, decode and split the log, nothing else (bench/children/decodeSplit.js). */
async function decodeSplit(ctx, logPath) {
  const r = assertOk(await spawnCollect(process.execPath, [join(ctx.benchDir, 'children/decodeSplit.js'), logPath]), 'decodeSplit');
  return JSON.parse(r.stdout);
}

async function bareNodeRssKiB() {
  const r = assertOk(
    await spawnCollect(process.execPath, ['-e', 'process.stdout.write(String(process.resourceUsage().maxRSS))']),
    'bare node',
  );
  return Number(r.stdout);
}

export async function run(ctx) {
  const { path: logPath, meta } = ensureLog(ctx);
  const bytes = meta.bytes;
  const expect = meta.expect;
  ctx.log(`log: ${logPath} (${(bytes / 1e6).toFixed(1)} MB, ${meta.sessions} sessions, ends ${expect.status} at step ${expect.step})`);

  // warm the page cache and check once before timing anything
  nodeRead(logPath);
  await readDirect(ctx, logPath, expect);

  const direct = [];
  const cli = [];
  const wc = [];
  const raw = [];
  const bare = [];
  const floor = [];
  const open = [];
  for (let i = 0; i < ctx.runs; i++) {
    ctx.log(`round ${i + 1}/${ctx.runs}`);
    wc.push(await wcLines(logPath));
    raw.push(nodeRead(logPath));
    bare.push(await bareNodeRssKiB());
    floor.push(await decodeSplit(ctx, logPath));
    direct.push(await readDirect(ctx, logPath, expect));
    cli.push(await readCli(ctx, logPath, expect));
    open.push(await openDashboardState(ctx, logPath, expect));
  }

  const directMs = median(direct.map((d) => d.ms));
  const directRssMB = median(direct.map((d) => d.maxRssKiB)) / 1024;
  const cliMs = median(cli.map((c) => c.wallMs));
  const cliRssMB = median(cli.map((c) => c.maxRssKiB)) / 1024;
  const wcMs = median(wc.map((w) => w.ms));
  const rawMs = median(raw.map((r) => r.ms));
  const floorMs = median(floor.map((f) => f.ms));
  const openMs = median(open.map((o) => o.ms));
  const bareRssMB = median(bare) / 1024;

  const backfillMBps = mbPerSecond(bytes, directMs);
  const backfillCliMBps = mbPerSecond(bytes, cliMs);
  const wcMBps = mbPerSecond(bytes, wcMs);
  const nodeReadMBps = mbPerSecond(bytes, rawMs);
  const floorMBps = mbPerSecond(bytes, floorMs);
  const backfillPeakRssMB = Math.max(directRssMB, cliRssMB);

  const rows = [
    {
      figure: 'backfillMBps (readRunOnce)',
      value: backfillMBps,
      unit: 'MB/s',
      goal: { op: '>=', target: GOAL_MBPS },
      baseline: { label: 'wc -l', value: wcMBps, unit: 'MB/s' },
    },
    {
      figure: '  same, vs node readFileSync',
      value: backfillMBps,
      unit: 'MB/s',
      baseline: { label: 'readFileSync', value: nodeReadMBps, unit: 'MB/s' },
    },
    {
      figure: '  floor: read + decode + split, no parsing',
      value: floorMBps,
      unit: 'MB/s',
      baseline: { label: 'readRunOnce', value: backfillMBps, unit: 'MB/s' },
    },
    {
      figure: 'backfillCliMBps (CLI, end to end)',
      value: backfillCliMBps,
      unit: 'MB/s',
      baseline: { label: 'wc -l', value: wcMBps, unit: 'MB/s' },
    },
    {
      figure: 'backfillPeakRssMB (max of the two)',
      value: backfillPeakRssMB,
      unit: 'MB',
      goal: { op: '<=', target: GOAL_RSS_MB },
      baseline: { label: 'bare node', value: bareRssMB, unit: 'MB' },
    },
    {
      figure: 'dashboardOpenMs (watchRun to the last step)',
      value: openMs,
      unit: 'ms',
      baseline: { label: 'readRunOnce', value: directMs, unit: 'ms' },
    },
    { figure: '  readRunOnce child peak RSS', value: directRssMB, unit: 'MB', baseline: { label: 'bare node', value: bareRssMB, unit: 'MB' } },
    { figure: '  CLI child peak RSS', value: cliRssMB, unit: 'MB', baseline: { label: 'bare node', value: bareRssMB, unit: 'MB' } },
  ];

  const results = {
    backfillMBps: round(backfillMBps, 1),
    backfillPeakRssMB: round(backfillPeakRssMB, 1),
    wcMBps: round(wcMBps, 1),
    nodeReadMBps: round(nodeReadMBps, 1),
    backfillFloorMBps: round(floorMBps, 1),
    backfillCliMBps: round(backfillCliMBps, 1),
    dashboardOpenMs: round(openMs, 1),
    backfillReadRssMB: round(directRssMB, 1),
    backfillCliRssMB: round(cliRssMB, 1),
    backfillLogMB: round(bytes / 1e6, 1),
    backfillRuns: ctx.runs,
  };

  const missed = backfillMBps < GOAL_MBPS || backfillPeakRssMB > GOAL_RSS_MB;
  const list = (xs, f) => xs.map(f).join(' ');
  const notes = [
    [
      `backfill runs (${(bytes / 1e6).toFixed(1)} MB log, ${meta.sessions} sessions, ${expect.totalSteps} steps; medians above):`,
      `  readRunOnce ms: ${list(direct, (d) => d.ms.toFixed(0))}   peak RSS MB: ${list(direct, (d) => (d.maxRssKiB / 1024).toFixed(1))}`,
      `  CLI ms:         ${list(cli, (c) => c.wallMs.toFixed(0))}   peak RSS MB: ${list(cli, (c) => (c.maxRssKiB / 1024).toFixed(1))}`,
      `  watchRun ms:    ${list(open, (o) => o.ms.toFixed(0))}   peak RSS MB: ${list(open, (o) => (o.maxRssKiB / 1024).toFixed(1))}`,
      `  wc -l ms:       ${list(wc, (w) => w.ms.toFixed(1))}`,
      `  readFileSync ms: ${list(raw, (r) => r.ms.toFixed(1))}`,
    ].join('\n'),
  ];
  if (missed || ctx.profile) {
    notes.push(await profile(ctx, logPath, expect));
  }
  return { rows, results, notes };
}

/** The pipeline stage a file belongs to, for the profile summary. */
function stageOf(file) {
  const stages = [
    [/^dist\/sources\/|^node:(?:fs|string_decoder|buffer|internal\/fs)/, 'read + UTF-8 decode (fileFollower, string_decoder)'],
    [/^dist\/parse\/segmentSplitter\.js$/, 'splitter (segmentSplitter)'],
    [/^dist\/parse\/sanitize\.js$/, 'sanitizer (stripControlSequences)'],
    [/^dist\/parse\/(?:tqdmBar|timeFields)\.js$/, 'tqdm bar parser (tqdmBar, timeFields, their regexes)'],
    [/^dist\/parse\//, 'line parser + reader (logParser, logReader, line regexes)'],
    [/^dist\/state\//, 'reducer (reduceRun, speed, lossHistory, pauses)'],
    [/^dist\/run\//, 'readRunOnce glue (watchRun)'],
  ];
  for (const [re, stage] of stages) if (re.test(file)) return stage;
  return file;
}

/** One more readRunOnce child under --cpu-prof; where its time went. */
async function profile(ctx, logPath, expect) {
  const dir = join(ctx.tmpDir, 'profiles');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  ctx.log('profiling one readRunOnce child (node --cpu-prof) ...');
  await readDirect(ctx, logPath, expect, ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', 'backfill.cpuprofile']);
  const file = join(dir, 'backfill.cpuprofile');
  const summary = summarizeProfile(file, { filter: (label) => label.includes(' dist/'), owner: stageOf });
  return `backfill CPU profile (${file}):\n${formatProfile(summary)}`;
}
