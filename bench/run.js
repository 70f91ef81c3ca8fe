#!/usr/bin/env node
// The project's benchmark entry point: `npm run bench` (builds first), or
//   node bench/run.js [NAME...] [--runs N] [--seconds N] [--profile] [--list]
// Each measurement is a module under bench/ listed in MEASUREMENTS below; it exports `name`,
// `description` and `run(ctx)`, which returns { rows, results, notes }:
//   rows:    [{ figure, value, unit, goal?: { op: '>=' | '<=', target }, baseline?: { label, value, unit } }]
//            every figure sits beside a baseline measured in the same invocation (ratio = value / baseline)
//   results: flat keys merged into bench/results.json
//   notes:   extra text printed after the table (e.g. a CPU profile when a goal is missed)
// Performance is measured only here, never in unit tests. These machines are small and noisy, so
// every figure is the median of several runs (--runs, default 5).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machineInfo, mergeResults } from './lib/results.js';
import { fmt, formatTable } from './lib/table.js';

/** name → module path (relative to bench/). Add new measurements here. */
const MEASUREMENTS = {
  backfill: './backfill.js',
  dashboard: './dashboard.js',
  gpu: './gpu.js',
  eta: './eta.js',
  preview: './preview.js',
  fuzz: './fuzz.js',
  runs: './runs.js',
  remote: './remote.js',
};

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const root = join(benchDir, '..');

function usage() {
  return `usage: node bench/run.js [NAME...] [--runs N] [--seconds N] [--profile] [--list]
  NAME         run only these measurements (default: all): ${Object.keys(MEASUREMENTS).join(', ')}
  --runs N     runs per figure; the median is reported (default 5)
  --seconds N  length of the dashboard's steady-state window (default 60; less for development)
  --profile    also CPU-profile the measured child (done anyway when a goal is missed)
  --list       list the measurements and exit
`;
}

async function main() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        runs: { type: 'string', default: '5' },
        seconds: { type: 'string', default: '60' },
        profile: { type: 'boolean', default: false },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`${error.message}\n${usage()}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage());
    return 0;
  }
  if (values.list) {
    for (const [name, path] of Object.entries(MEASUREMENTS)) {
      const mod = await import(path);
      process.stdout.write(`${name.padEnd(12)} ${mod.description}\n`);
    }
    return 0;
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write(`--runs takes a whole number >= 1, got ${values.runs}\n`);
    return 2;
  }
  const seconds = Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    process.stderr.write(`--seconds takes a number > 0, got ${values.seconds}\n`);
    return 2;
  }
  const unknown = positionals.filter((n) => !(n in MEASUREMENTS));
  if (unknown.length > 0) {
    process.stderr.write(`unknown measurement: ${unknown.join(', ')}\n${usage()}`);
    return 2;
  }
  if (!existsSync(join(root, 'dist', 'run', 'watchRun.js'))) {
    process.stderr.write('dist/ is missing: run `npm run build` first (or `npm run bench`, which builds)\n');
    return 2;
  }
  const selected = positionals.length > 0 ? [...new Set(positionals)] : Object.keys(MEASUREMENTS);

  const machine = machineInfo();
  process.stdout.write(
    `lora-top bench: ${selected.join(', ')}\n` +
      `machine: ${machine.cores} cores, ${machine.cpu}, node ${machine.node}\n` +
      `each figure is the median of ${runs} run${runs === 1 ? '' : 's'}; baselines are measured in this same invocation\n\n`,
  );

  const ctx = {
    runs,
    seconds,
    profile: values.profile,
    root,
    benchDir,
    tmpDir: join(benchDir, 'tmp'),
    log: (message) => process.stderr.write(`  ${message}\n`),
  };

  const rows = [];
  const results = {};
  const notes = [];
  let failed = false;
  for (const name of selected) {
    const mod = await import(MEASUREMENTS[name]);
    process.stderr.write(`[${name}] ${mod.description}\n`);
    try {
      const out = await mod.run({ ...ctx, log: (m) => ctx.log(`[${name}] ${m}`) });
      rows.push(...out.rows);
      Object.assign(results, out.results);
      notes.push(...(out.notes ?? []));
    } catch (error) {
      failed = true;
      process.stderr.write(`[${name}] FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }

  const missed = [];
  const table = rows.map((r) => {
    let goal = '';
    if (r.goal) {
      const ok = r.goal.op === '>=' ? r.value >= r.goal.target : r.value <= r.goal.target;
      goal = `${r.goal.op === '>=' ? '≥' : '≤'} ${r.goal.target} ${ok ? 'ok' : 'MISSED'}`;
      if (!ok) missed.push(r.figure.trim());
    }
    const baseline = r.baseline ? `${fmt(r.baseline.value, r.baseline.unit)} (${r.baseline.label})` : '';
    const ratio = r.baseline && r.baseline.value ? `${(r.value / r.baseline.value).toFixed(3)}×` : '';
    return [r.figure, fmt(r.value, r.unit), goal, baseline, ratio];
  });
  if (table.length > 0) {
    process.stdout.write(`${formatTable(['figure', 'value', 'goal', 'baseline', 'ratio'], table, { right: [1, 4] })}\n`);
  }
  for (const note of notes) process.stdout.write(`\n${note}\n`);

  if (Object.keys(results).length > 0) {
    const path = join(benchDir, 'results.json');
    mergeResults(path, results);
    process.stdout.write(`\nwrote ${path}\n`);
  }
  if (missed.length > 0) process.stdout.write(`goals missed: ${missed.join(', ')}\n`);
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`bench: ${error?.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
