import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import { createElement } from 'react';
import { render } from 'ink-testing-library';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { readJob, setJobFlag } from '../../src/control/jobDb.js';
import { identify, processState, signalTrainer, stillRunning } from '../../src/control/trainerSignals.js';
import { LogReader } from '../../src/parse/logReader.js';
import type { RunLocation } from '../../src/run/locateRun.js';
import { readRunOnce, watchRun, type RunWatch } from '../../src/run/watchRun.js';
import { estimateFinish } from '../../src/state/eta.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState, type RunState } from '../../src/state/runState.js';
import { App, type AppOptions } from '../../src/ui/App.js';
import { jsonSnapshot, textSnapshot } from '../../src/view/snapshot.js';
import { fakeWatch, NOW, renderDashboard, stripAnsi } from '../helpers/dashboard.js';
import {
  ALL_PAYLOADS,
  PAYLOADS,
  PAYLOADS_VISIBLE,
  PtySession,
  expectOneLine,
  expectQuiet,
  foreignControls,
  hasPty,
  makeRunFolder,
  runCli,
  startFakeTrainer,
  tqdmLine,
  writeFailurePreload,
  writeRssPreload,
  type CliOptions,
} from '../helpers/hardening.js';
import { useNobodyCli } from '../helpers/nobody.js';
import { FIXTURES, fixtureText } from '../helpers/readLog.js';
import { waitForState } from '../helpers/sim.js';

/*
 * The hardening suite (issue 7): bad inputs, one `it` each, grouped by where they come from. Each
 * ends in a clear one-line message with a meaningful exit code, or in a correct degraded screen or
 * snapshot: never a stack trace, a hang or unbounded memory.
 *
 * Reused rather than repeated: test/e2e/badInput.test.ts writes a real 500 MB file (here it is a
 * sparse one) and checks usage errors; test/unit/parserFuzz.test.ts fuzzes whole mutated logs;
 * fileFollower, gpuMonitor, lossDb, control and dashboard unit tests go deeper on each part.
 */

interface BadInput {
  input: string;
  check: (ctx: TestContext) => Promise<void> | void;
  timeout?: number;
}

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-hardening-'));
});
afterAll(() => {
  // Undo chmod 000 so the folder can be removed.
  for (const p of chmodded) fs.chmodSync(p, 0o755);
  fs.rmSync(root, { recursive: true, force: true });
});

const chmodded: string[] = [];
const nobody = useNobodyCli();
const BIN = fileURLToPath(new URL('../bin', import.meta.url));
const LEAVE_ALT_SCREEN = '\x1b[?1049l';
const ENTER_ALT_SCREEN = '\x1b[?1049h';
const MiB = 1024 * 1024;

let counter = 0;
/** A fresh folder under the suite's root. */
function scratch(prefix: string): string {
  return fs.mkdtempSync(path.join(root, `${prefix}-${counter++}-`));
}

function cli(args: string[], options: Partial<CliOptions> = {}) {
  return runCli(args, { cwd: root, ...options });
}

function folderAt(folder: string): RunLocation {
  return { kind: 'folder', folder, logPath: path.join(folder, 'log.txt') };
}

/** Peak RSS of a CLI run, recorded by a preload at exit. */
async function cliWithRss(args: string[], options: Partial<CliOptions> = {}) {
  const rssFile = path.join(scratch('rss'), 'rss');
  const preload = writeRssPreload(path.dirname(rssFile));
  const result = await cli(args, { ...options, nodeArgs: ['--max-old-space-size=64', '--import', preload], env: { ...process.env, HARDEN_RSS_FILE: rssFile } });
  const rss = fs.existsSync(rssFile) ? Number(fs.readFileSync(rssFile, 'utf8')) : Number.NaN;
  return { ...result, rss };
}

/** A file of `bytes` bytes: `head`, then 1 MiB of `x` (no line break), then a sparse (unwritten) rest. */
function sparseFile(file: string, head: string, bytes: number): string {
  fs.writeFileSync(file, head + 'x'.repeat(MiB + 1));
  fs.truncateSync(file, bytes);
  return file;
}

// ---------------------------------------------------------------------------------------------
// 1. Paths on the command line

/** As root, the CLI runs as nobody (root reads a chmod 000 file all the same). */
function unreadable(ctx: TestContext): CliOptions['asNobody'] {
  return nobody.needed(ctx) ? nobody : undefined;
}

const PATHS: BadInput[] = [
  {
    input: 'a missing path',
    async check() {
      const r = await cli([path.join(root, 'no', 'such', 'run'), '--once']);
      expect(r.code).toBe(2);
      expectOneLine(r.stderr, /no such file or directory: .*no\/such\/run/);
    },
  },
  {
    input: 'an unreadable log file (chmod 000)',
    async check(ctx) {
      const asNobody = unreadable(ctx);
      const dir = scratch('perm-file');
      const file = path.join(dir, 'log.txt');
      fs.writeFileSync(file, 'Running 1 job\n');
      fs.chmodSync(file, 0o000);
      chmodded.push(file);
      fs.chmodSync(dir, 0o755);
      fs.chmodSync(root, 0o755);
      const r = await cli([file, '--once'], { asNobody, cwd: '/' });
      expect(r.code).toBe(3);
      expectOneLine(r.stderr, /permission denied: .*log\.txt/);
    },
  },
  {
    input: 'an unreadable run folder (chmod 000)',
    async check(ctx) {
      const asNobody = unreadable(ctx);
      const folder = makeRunFolder(scratch('perm-dir'), 'locked_out');
      fs.chmodSync(path.dirname(path.dirname(folder)), 0o755);
      fs.chmodSync(path.dirname(folder), 0o755);
      fs.chmodSync(root, 0o755);
      fs.chmodSync(folder, 0o000);
      chmodded.push(folder);
      const r = await cli([folder, '--once'], { asNobody, cwd: '/' });
      expect(r.code).toBe(3);
      expectOneLine(r.stderr, /permission denied: .*locked_out/);
    },
  },
  {
    input: 'a directory where log.txt should be a file',
    async check() {
      const folder = scratch('dir-log');
      fs.mkdirSync(path.join(folder, 'log.txt'));
      const r = await cli([folder, '--once']);
      expect(r.code).toBe(2);
      expectOneLine(r.stderr, /is a directory, not a log file: .*log\.txt/);
    },
  },
  {
    input: 'a path that goes through a file (log.txt/more)',
    async check() {
      const folder = makeRunFolder(scratch('enotdir'), 'run');
      const r = await cli([path.join(folder, 'log.txt', 'more'), '--once']);
      expect(r.code).toBe(2);
      expectOneLine(r.stderr, /not a directory: .*log\.txt\/more/);
    },
  },
  {
    input: 'a binary file (a checkpoint given as the log)',
    async check() {
      const file = path.join(scratch('binary'), 'my_lora.safetensors');
      fs.writeFileSync(file, Buffer.concat([Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"__metadata__":{}}'), Buffer.alloc(4096, 0x3c)]));
      const r = await cli([file, '--once']);
      expect(r.code).toBe(2);
      expectOneLine(r.stderr, /my_lora\.safetensors is a binary file, not a training log/);
    },
  },
  {
    input: 'a named pipe nobody writes to (no hang)',
    async check() {
      const fifo = path.join(scratch('fifo'), 'log.txt');
      execFileSync('mkfifo', [fifo]);
      const r = await cli([fifo, '--once'], { timeoutMs: 10_000 });
      expect(r.code).toBe(2);
      expectOneLine(r.stderr, /not a regular file or folder: .*log\.txt/);
    },
  },
  {
    input: '/dev/zero (an endless device)',
    async check() {
      const r = await cli(['/dev/zero', '--once'], { timeoutMs: 10_000 });
      expect(r.code).toBe(2);
      expectOneLine(r.stderr, /not a regular file or folder: \/dev\/zero/);
    },
  },
  {
    input: 'a 500 MB log with no line break (sparse; badInput.test.ts writes a real one), in bounded memory',
    async check() {
      const file = sparseFile(path.join(scratch('nolf'), 'log.txt'), '', 500 * MiB);
      const r = await cliWithRss([file, '--once']);
      expect(r.code).toBe(2);
      expectOneLine(r.stderr, /has no line breaks in its first MiB: not a training log/);
      expect(r.rss).toBeLessThan(150 * MiB);
    },
  },
  {
    input: 'a log that starts well, then one 100 MB line without a break, in bounded memory',
    async check() {
      const file = sparseFile(path.join(scratch('longline'), 'log.txt'), `Running 1 job\n${tqdmLine('long_lora', 120)}\n`, 100 * MiB);
      fs.appendFileSync(file, `\n${tqdmLine('long_lora', 121)}\n`);
      // A 64 MB heap: keeping the endless line (or 800 pieces of it) would crash instead of answering.
      const r = await cliWithRss([file, '--once', '--json', '--no-gpu'], { timeoutMs: 30_000 });
      expectQuiet(r);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ status: 'training', step: 121, totalSteps: 1000 });
      expect(r.rss).toBeLessThan(200 * MiB);
    },
    timeout: 40_000,
  },
];

// ---------------------------------------------------------------------------------------------
// 2. The log changes under lora-top's feet (watchRun)

/** Watches `folder` and gathers warnings; `use` gets the watch, which is closed afterwards. */
async function watching(folder: string, use: (watch: RunWatch, warnings: string[]) => Promise<void>): Promise<void> {
  const warnings: string[] = [];
  const watch = watchRun(folderAt(folder), { notifyMs: 20, rescanMs: 100, onWarning: (w) => warnings.push(w) });
  try {
    await use(watch, warnings);
  } finally {
    await watch.close();
  }
}

const training = (step: number) => (s: RunState) => s.status === 'training' && s.step === step;

const WHILE_WATCHING: BadInput[] = [
  {
    input: 'the log truncated to nothing, then written again',
    async check() {
      const folder = makeRunFolder(scratch('trunc'), 'trunc_lora');
      const log = path.join(folder, 'log.txt');
      await watching(folder, async (watch, warnings) => {
        await waitForState(watch, training(300), 5000);
        fs.truncateSync(log, 0);
        // The truncation is a new session: the old one's status goes.
        await waitForState(watch, (s) => s.status === 'starting', 5000);
        fs.appendFileSync(log, `Running 1 job\n${tqdmLine('trunc_lora', 40)}\n`);
        const state = await waitForState(watch, training(40), 5000);
        expect(state.name).toBe('trunc_lora');
        expect(warnings).toEqual([]);
      });
    },
  },
  {
    input: 'the log rotated (log.txt moved to logs/1_log.txt, a new log.txt)',
    async check() {
      const folder = makeRunFolder(scratch('rotate'), 'rot_lora');
      const log = path.join(folder, 'log.txt');
      await watching(folder, async (watch, warnings) => {
        await waitForState(watch, training(300), 5000);
        fs.mkdirSync(path.join(folder, 'logs'));
        fs.renameSync(log, path.join(folder, 'logs', '1_log.txt'));
        fs.writeFileSync(log, '');
        await waitForState(watch, (s) => s.status === 'starting', 5000);
        fs.appendFileSync(log, `Running 1 job\nLoading checkpoint shards: 100%|##########| 3/3 [00:02<00:00,  1.10it/s]\n${tqdmLine('rot_lora', 301)}\n`);
        await waitForState(watch, training(301), 5000);
        expect(warnings).toEqual([]);
      });
    },
  },
  {
    input: 'the log deleted while watched, then made again',
    async check() {
      const folder = makeRunFolder(scratch('delete'), 'del_lora');
      const log = path.join(folder, 'log.txt');
      await watching(folder, async (watch, warnings) => {
        await waitForState(watch, training(300), 5000);
        fs.unlinkSync(log);
        // Gone: what was read stays on screen (the trainer may still write to the open file).
        await new Promise((resolve) => setTimeout(resolve, 600));
        expect(watch.getState()).toMatchObject({ status: 'training', step: 300 });
        fs.writeFileSync(log, `Running 1 job\n${tqdmLine('del_lora', 310)}\nError running job: CUDA error: out of memory\n`);
        const state = await waitForState(watch, (s) => s.status === 'failed', 5000);
        expect(state.error).toMatchObject({ kind: 'oom' });
        expect(state.step).toBe(310);
        expect(warnings).toEqual([]);
      });
    },
  },
  {
    input: 'the whole run folder removed while watched',
    async check() {
      const folder = makeRunFolder(scratch('rmdir'), 'gone_lora', { files: ['gone_lora_000000250.safetensors'] });
      await watching(folder, async (watch, warnings) => {
        await waitForState(watch, (s) => training(300)(s) && s.checkpoints.length === 1, 5000);
        fs.rmSync(folder, { recursive: true, force: true });
        const state = await waitForState(watch, (s) => s.checkpoints.length === 0, 5000);
        expect(state).toMatchObject({ status: 'training', step: 300 });
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(warnings).toEqual([]);
      });
    },
  },
];

// ---------------------------------------------------------------------------------------------
// 3. Random and mutated input into the parser (a few hundred runs; the long run is the bench's)

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;

function collectText(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) collectText(v, out);
}

/** Reads text pieces like lora-top does and checks what comes out is sane. */
function readAndCheck(pieces: Array<{ text: string; live: boolean }>): void {
  const reader = new LogReader();
  let state = initialRunState();
  let at = 1_000_000;
  const texts: string[] = [];
  for (const { text, live } of pieces) {
    at += 250;
    const events = reader.push(text, at, live);
    for (const { event } of events) collectText(event, texts);
    state = reduceRun(state, events);
  }
  state = reduceRun(state, [...reader.end(at), { at, event: { type: 'inputEnded' } }]);
  for (const text of texts) expect(text).not.toMatch(CONTROL);
  for (const n of [state.step, state.totalSteps]) if (n !== null) expect(Number.isSafeInteger(n) && n >= 0, `step ${n}`).toBe(true);
  if (state.loss !== null) expect(typeof state.loss).toBe('number');
  const eta = estimateFinish(state, at + 1000, 3000);
  for (const seconds of [eta.etaSeconds, eta.etaTargetSeconds]) if (seconds !== null) expect(Number.isFinite(seconds) && seconds >= 0, `eta ${seconds}`).toBe(true);
  expect(textSnapshot(state, eta, at + 1000).replace(/\n/g, '')).not.toMatch(CONTROL);
  const json = jsonSnapshot(state, eta);
  expect(JSON.parse(JSON.stringify(json))).toEqual(JSON.parse(JSON.stringify(json)));
}

const BAR_LINES = fs
  .readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.txt'))
  .flatMap((f) => fixtureText(f).split(/\r\n|\r|\n/))
  .filter((line) => /\d+%\|.*\|\s*\d+\/\d+ \[/.test(line));

const NASTY_NUMBERS = ['9'.repeat(400), '1e309', 'NaN', 'inf', '-1', '0', '-0', '0000000000000000000007', '1.2.3', '１２', '4294967296', '9007199254740993'];
const ESCAPES = [...Object.values(PAYLOADS), '\x1b[?1049h', '\x1bc', '\x07', '\x00', '\ufffd', '\ud800'];
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('number' as const), at: fc.nat(), text: fc.constantFrom(...NASTY_NUMBERS) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 30 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...ESCAPES, '|', '[', ']', '<', ',', '%', '/', ' ', 's/it', 'it/s', '?it/s', 'lr: ', 'loss: '), fc.string({ unit: 'binary', maxLength: 8 })),
  }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(line: string, m: Mutation): string {
  if (m.kind === 'number') {
    const runs = [...line.matchAll(/\d+(?:\.\d+)?/g)];
    if (runs.length === 0) return line;
    const run = runs[m.at % runs.length]!;
    return line.slice(0, run.index) + m.text + line.slice(run.index! + run[0].length);
  }
  const at = m.at % (line.length + 1);
  if (m.kind === 'delete') return line.slice(0, at) + line.slice(at + m.len);
  if (m.kind === 'repeat') return line.slice(0, at + m.len) + line.slice(at);
  return line.slice(0, at) + m.text + line.slice(at);
}

const PARSER: BadInput[] = [
  {
    input: 'random bytes, decoded in random pieces (split UTF-8 sequences too), live and read back',
    check() {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }), fc.boolean(), (bytes, sizes, live) => {
          const decoder = new StringDecoder('utf8');
          const pieces: Array<{ text: string; live: boolean }> = [];
          for (let i = 0, k = 0; i < bytes.length; i += sizes[k++ % sizes.length]!) {
            pieces.push({ text: decoder.write(Buffer.from(bytes.subarray(i, i + sizes[k % sizes.length]!))), live });
          }
          pieces.push({ text: decoder.end(), live });
          readAndCheck(pieces);
        }),
        { numRuns: 300, seed: 20261128 },
      );
    },
  },
  {
    input: 'mutated real tqdm lines (huge, NaN, negative numbers, cuts, repeats, escapes)',
    check() {
      expect(BAR_LINES.length).toBeGreaterThan(20);
      const bars = fc.array(
        fc.tuple(fc.constantFrom(...BAR_LINES), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.constantFrom('\r', '\n', '\r\n'), fc.boolean()),
        { minLength: 1, maxLength: 12 },
      );
      fc.assert(
        fc.property(bars, (lines) => {
          readAndCheck([
            { text: 'Running 1 job\n', live: false },
            ...lines.map(([line, mutations, end, live]) => ({ text: mutations.reduce(mutate, line) + end, live })),
          ]);
        }),
        { numRuns: 400, seed: 7_2026 },
      );
    },
  },
];

// ---------------------------------------------------------------------------------------------
// 4. Control sequences from the run: none may reach the terminal

interface Carrier {
  input: string;
  /** Makes the run folder; returns it and the texts that must show (what is left of the run's text). */
  make(dir: string): { folder: string; dashboard: string[]; once: string[]; json: (snapshot: Record<string, unknown>) => void };
}

const CARRIERS: Carrier[] = [
  {
    input: 'log lines carrying CSI, OSC 0/8/52, DCS and C1 codes',
    make(dir) {
      const lines = Object.entries(PAYLOADS).map(([kind, p]) => `${kind} before${p}after ${kind}`);
      const folder = makeRunFolder(dir, 'log_lora', {
        logExtra: `${lines.join('\n')}\nhello ${ALL_PAYLOADS} world\n\r${tqdmLine('log_lora', 301)}${PAYLOADS.osc52}\nError running job: boom${ALL_PAYLOADS}\n`,
      });
      return {
        folder,
        dashboard: ['csi beforeafter csi', 'osc8 beforeclickafter osc8', `hello ${PAYLOADS_VISIBLE} world`, 'FAILED'],
        once: ['[failed]', `boom${PAYLOADS_VISIBLE}`],
        json: (s) => expect(s.error).toMatchObject({ message: expect.stringContaining(`boom${PAYLOADS_VISIBLE}`) }),
      };
    },
  },
  {
    input: 'a job name (config name, tqdm description, folder name) carrying them',
    make(dir) {
      const name = `evil${ALL_PAYLOADS}_lora`;
      const folder = makeRunFolder(dir, name, { files: [`${name}_000000250.safetensors`] });
      fs.appendFileSync(path.join(folder, 'log.txt'), `Saved checkpoint to ${folder}/${name}_000000250.safetensors\n`);
      return {
        folder,
        dashboard: [`evil${PAYLOADS_VISIBLE}_lora`],
        once: [`evil${PAYLOADS_VISIBLE}_lora  [training]`],
        json(s) {
          expect(s.name).toBe(`evil${PAYLOADS_VISIBLE}_lora`);
          // Paths are the real ones, byte for byte (a script can open them), only escaped.
          expect((s.checkpoints as Array<{ path: string }>).map((c) => c.path)).toContain(path.join(folder, `${name}_000000250.safetensors`));
        },
      };
    },
  },
  {
    input: 'sample prompts in the config carrying them',
    make(dir) {
      const folder = makeRunFolder(dir, 'prompt_lora', {
        prompts: [`cat${ALL_PAYLOADS}dog`, `${PAYLOADS.osc8}${PAYLOADS.c1}`],
        sampleFiles: ['1764000000000__000000250_0.jpg', '1764000000000__000000250_1.jpg'],
      });
      return {
        folder,
        dashboard: [`cat${PAYLOADS_VISIBLE}dog`],
        once: ['samples: 2, newest at step 250'],
        json: (s) => expect((s.samples as Array<{ prompt: string }>).map((x) => x.prompt)).toEqual([`cat${PAYLOADS_VISIBLE}dog`, PAYLOADS_VISIBLE]),
      };
    },
  },
  {
    input: 'sample and checkpoint file names carrying them',
    make(dir) {
      const folder = makeRunFolder(dir, 'files_lora', {
        sampleFiles: ['1764000000000__000000250_0.jpg', `x${ALL_PAYLOADS}.jpg`, `1764000000000__000000250_1.jpg${ALL_PAYLOADS}`, `${ALL_PAYLOADS}__000000250_2.png`],
        files: [`files${ALL_PAYLOADS}_lora_000000250.safetensors`],
      });
      fs.mkdirSync(path.join(folder, 'samples', `dir${ALL_PAYLOADS}`));
      return {
        folder,
        dashboard: ['step 250'],
        once: [`last checkpoint: step 250  ${folder}/files${PAYLOADS_VISIBLE}_lora_000000250.safetensors`, 'samples: 1, newest at step 250'],
        json(s) {
          expect((s.samples as unknown[]).length).toBe(1);
          expect(s.lastCheckpoint).toEqual({ step: 250, path: path.join(folder, `files${ALL_PAYLOADS}_lora_000000250.safetensors`) });
        },
      };
    },
  },
];

function expectNoForeignControls(text: string, where: string): void {
  expect(foreignControls(text), `${where}: ${JSON.stringify(text.slice(0, 400))}`).toEqual([]);
}

async function checkCarrier(carrier: Carrier): Promise<void> {
  const { folder, dashboard, once, json } = carrier.make(scratch('escapes'));
  const [text, asJson, state] = await Promise.all([
    cli([folder, '--once', '--no-gpu']),
    cli([folder, '--once', '--json', '--no-gpu']),
    readRunOnce(folderAt(folder)),
  ]);
  expectQuiet(text);
  expect(text.code).toBe(0);
  expectNoForeignControls(text.stdout, '--once');
  for (const shown of once) expect(text.stdout).toContain(shown);

  expectQuiet(asJson);
  expect(asJson.code).toBe(0);
  expectNoForeignControls(asJson.stdout, '--json');
  json(JSON.parse(asJson.stdout) as Record<string, unknown>);

  // The dashboard, with the log view open: every frame it drew, not just the last.
  const r = renderDashboard(state, 120, 50);
  try {
    r.stdin.write('l');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const frames = r.frames as string[];
    expect(frames.length).toBeGreaterThan(1);
    for (const frame of frames) expectNoForeignControls(frame, 'dashboard frame');
    const plain = r.plain();
    expect(plain).toContain('── Log');
    for (const shown of dashboard) expect(plain).toContain(shown);
    expect(plain).not.toContain('pwned');
  } finally {
    r.unmount();
  }
}

const ESCAPES_IN: BadInput[] = [
  ...CARRIERS.map((carrier): BadInput => ({ input: carrier.input, check: () => checkCarrier(carrier) })),
  {
    input: 'an error message quoting a run folder named with them (found under ./output)',
    async check() {
      const cwd = scratch('escaped-error');
      const folder = path.join(cwd, 'output', `evil${ALL_PAYLOADS}`);
      fs.mkdirSync(folder, { recursive: true });
      fs.writeFileSync(path.join(folder, 'log.txt'), Buffer.from([0x80, 0, 0, 0, 1, 2]));
      const r = await cli(['--once'], { cwd });
      expect(r.code).toBe(2);
      expectOneLine(r.stderr, new RegExp(`evil${PAYLOADS_VISIBLE}/log\\.txt is a binary file`));
      expectNoForeignControls(r.stderr, 'stderr');
    },
  },
];

// ---------------------------------------------------------------------------------------------
// 5. Databases: loss_log.db (read by the CLI) and aitk_db.db (the UI's Job table)

function makeLossDb(folder: string): Database.Database {
  const db = new Database(path.join(folder, 'loss_log.db'));
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE steps(step INTEGER PRIMARY KEY, wall_time REAL);
    CREATE TABLE metrics(step INTEGER, key TEXT, value_real REAL, value_text TEXT, PRIMARY KEY(step, key));`);
  const insert = db.prepare("INSERT INTO metrics VALUES (?, 'loss/loss', ?, NULL)");
  for (let step = 1; step <= 300; step++) insert.run(step, 1 / step);
  return db;
}

/** `--once` and `--once --json` still give the run's snapshot, from the log. */
async function expectSnapshotDespite(folder: string): Promise<void> {
  const [text, json] = await Promise.all([cli([folder, '--once', '--no-gpu'], { timeoutMs: 10_000 }), cli([folder, '--once', '--json', '--no-gpu'], { timeoutMs: 10_000 })]);
  for (const r of [text, json]) {
    expectQuiet(r);
    expect(r.code).toBe(0);
  }
  expect(text.stdout).toContain('step 300/1000 (30%)');
  expect(JSON.parse(json.stdout)).toMatchObject({ status: 'training', step: 300, loss: 0.2 });
}

function makeJobDb(file: string, columns = 'id TEXT PRIMARY KEY, name TEXT, status TEXT, info TEXT, step INTEGER, pid INTEGER, save_now INTEGER, sample_now INTEGER, stop INTEGER'): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.exec(`CREATE TABLE Job(${columns})`);
  db.prepare('INSERT INTO Job(id, name) VALUES (?, ?)').run('job-1', 'my_lora');
  db.close();
}

/** readJob and setJobFlag answer with a reason matching `reason`, and throw nothing. */
async function expectJobDbReason(file: string, reason: RegExp): Promise<void> {
  const [read, set] = await Promise.all([readJob(file, { id: 'job-1', name: 'my_lora' }), setJobFlag(file, 'job-1', 'save_now')]);
  for (const result of [read, set]) {
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  }
}

const DATABASES: BadInput[] = [
  {
    input: 'loss_log.db locked by its writer (exclusive)',
    async check() {
      const folder = makeRunFolder(scratch('loss-locked'), 'loss_lora');
      const writer = makeLossDb(folder);
      writer.pragma('locking_mode = EXCLUSIVE');
      writer.exec('BEGIN EXCLUSIVE');
      writer.prepare("INSERT INTO metrics VALUES (301, 'loss/loss', 0.1, NULL)").run();
      try {
        await expectSnapshotDespite(folder);
      } finally {
        writer.exec('COMMIT');
        writer.close();
      }
    },
  },
  {
    input: 'loss_log.db corrupt (not a database)',
    async check() {
      const folder = makeRunFolder(scratch('loss-corrupt'), 'loss_lora');
      fs.writeFileSync(path.join(folder, 'loss_log.db'), Buffer.alloc(8192, 0x5a));
      await expectSnapshotDespite(folder);
    },
  },
  {
    input: 'loss_log.db cut short (half a real database)',
    async check() {
      const folder = makeRunFolder(scratch('loss-cut'), 'loss_lora');
      makeLossDb(folder).close();
      const file = path.join(folder, 'loss_log.db');
      fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
      await expectSnapshotDespite(folder);
    },
  },
  {
    input: 'loss_log.db of another schema (no metrics table)',
    async check() {
      const folder = makeRunFolder(scratch('loss-schema'), 'loss_lora');
      const db = new Database(path.join(folder, 'loss_log.db'));
      db.exec('CREATE TABLE other(x)');
      db.close();
      await expectSnapshotDespite(folder);
    },
  },
  {
    input: 'aitk_db.db locked by the UI (exclusive transaction)',
    async check() {
      const file = path.join(scratch('job-locked'), 'aitk_db.db');
      makeJobDb(file);
      const holder = new Database(file, { timeout: 0 });
      holder.exec('BEGIN EXCLUSIVE');
      try {
        await expectJobDbReason(file, /^.*aitk_db\.db stays locked$/);
      } finally {
        holder.close();
      }
      // Nothing was written while it was locked.
      const row = await readJob(file, { id: 'job-1' });
      expect(row.ok && row.value?.saveNow).toBe(false);
    },
  },
  {
    input: 'aitk_db.db corrupt (not a database)',
    async check() {
      const file = path.join(scratch('job-corrupt'), 'aitk_db.db');
      fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));
      await expectJobDbReason(file, /aitk_db\.db: file is not a database/);
    },
  },
  {
    input: 'aitk_db.db empty (0 bytes, no Job table)',
    async check() {
      const file = path.join(scratch('job-empty'), 'aitk_db.db');
      fs.writeFileSync(file, '');
      await expectJobDbReason(file, /aitk_db\.db: no such table: Job/);
    },
  },
  {
    input: 'aitk_db.db whose Job table lacks the flag columns (another UI version)',
    async check() {
      const file = path.join(scratch('job-old'), 'aitk_db.db');
      makeJobDb(file, 'id TEXT PRIMARY KEY, name TEXT, status TEXT');
      await expectJobDbReason(file, /aitk_db\.db: no such column: /);
    },
  },
];

// ---------------------------------------------------------------------------------------------
// 6. nvidia-smi: missing, hanging, failing, talking nonsense (test/bin/nvidia-smi's modes)

async function gpuOnce(env: NodeJS.ProcessEnv): Promise<{ json: Record<string, unknown>; text: string; ms: number }> {
  const folder = makeRunFolder(scratch('gpu'), 'gpu_lora');
  const options = { env: { ...process.env, ...env }, timeoutMs: 15_000 };
  const [json, text] = await Promise.all([cli([folder, '--once', '--json'], options), cli([folder, '--once'], options)]);
  for (const r of [json, text]) {
    expectQuiet(r);
    expect(r.code).toBe(0);
  }
  expectNoForeignControls(text.stdout, '--once');
  expectNoForeignControls(json.stdout, '--json');
  return { json: JSON.parse(json.stdout) as Record<string, unknown>, text: text.stdout, ms: Math.max(json.ms, text.ms) };
}

const standIn = (mode: string) => ({ PATH: `${BIN}:${path.dirname(process.execPath)}`, FAKE_NVIDIA_SMI_MODE: mode });

const NVIDIA_SMI: BadInput[] = [
  {
    input: 'nvidia-smi missing from PATH',
    async check() {
      const { json, text } = await gpuOnce({ PATH: scratch('empty-path') });
      expect(json).toMatchObject({ gpu: null, gpus: [], step: 300 });
      expect(text).toContain('GPU: nvidia-smi not found on PATH: no GPU figures');
    },
  },
  {
    input: 'nvidia-smi hanging (never answers)',
    async check() {
      const { json, text, ms } = await gpuOnce(standIn('hang'));
      expect(json).toMatchObject({ gpu: null, gpus: [], step: 300 });
      expect(text).toMatch(/GPU: nvidia-smi did not answer/);
      expect(ms).toBeLessThan(10_000);
    },
    timeout: 20_000,
  },
  {
    input: 'nvidia-smi failing (no driver, exit 9)',
    async check() {
      const { json, text } = await gpuOnce(standIn('driver-failure'));
      expect(json).toMatchObject({ gpu: null, gpus: [] });
      expect(text).toContain('GPU: the NVIDIA driver is not responding (nvidia-smi exited 9)');
    },
  },
  {
    input: 'nvidia-smi printing garbage (junk text and escape sequences)',
    async check() {
      const { json, text } = await gpuOnce(standIn('garbage'));
      expect(json).toMatchObject({ gpu: null, gpus: [] });
      expect(text).toContain('GPU: nvidia-smi listed no GPU');
    },
  },
  {
    input: 'nvidia-smi answering nothing at all (exit 0, no output)',
    async check() {
      const { json, text } = await gpuOnce(standIn('exit-after=0'));
      expect(json).toMatchObject({ gpu: null, gpus: [] });
      expect(text).toContain('GPU: nvidia-smi listed no GPU');
    },
  },
];

// The stand-in on PATH does reach lora-top: without this, "gpu null" above could mean anything.
const NVIDIA_SMI_CONTROL = async () => {
  const { json } = await gpuOnce(standIn('normal'));
  expect(json.gpu).toMatchObject({ index: 0, name: 'NVIDIA GeForce RTX 4090', memoryTotalMiB: 24564 });
};

// ---------------------------------------------------------------------------------------------
// 7. Terminal sizes

function frameFits(frame: string, cols: number, rows: number, where: string): void {
  const lines = stripAnsi(frame).split('\n');
  expect(lines.length, `${where}: ${lines.length} rows`).toBeLessThanOrEqual(rows - 1);
  for (const line of lines) expect([...line].length, `${where}: ${JSON.stringify(line)}`).toBeLessThanOrEqual(cols);
}

function dashboardState(): RunState {
  const text = fixtureText('001-lokr-saving-checkpoints-windows.txt');
  const reader = new LogReader();
  return reduceRun(initialRunState(), [...reader.push(text, NOW - 60_000), ...reader.end(NOW - 60_000)]);
}

/** A seeded generator of whole numbers in [0, n). */
function lcg(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % n;
  };
}

const tooSmall = (plain: string, cols: number, rows: number) => plain.replace(/\s*\n\s*/g, ' ').includes(`terminal too small: need 60×16, have ${cols}×${rows}`);

const SIZES: BadInput[] = [
  {
    input: 'every terminal size from 20×5 up to just below 60×16: "terminal too small", within bounds',
    check() {
      const state = dashboardState();
      let checked = 0;
      for (let cols = 20; cols <= 70; cols += 1) {
        for (let rows = 5; rows <= 18; rows += 1) {
          if (cols >= 60 && rows >= 16) continue;
          if (cols > 24 && cols < 56 && rows > 7 && rows < 14 && (cols + rows) % 3 !== 0) continue;
          const r = renderDashboard(state, cols, rows);
          const frame = r.lastFrame() ?? '';
          frameFits(frame, cols, rows, `${cols}×${rows}`);
          expect(tooSmall(r.plain(), cols, rows), `${cols}×${rows}: ${r.plain()}`).toBe(true);
          r.unmount();
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(150);
    },
  },
  {
    input: 'smaller than 20×5 (down to 0×0): no throw',
    check() {
      const state = dashboardState();
      for (const [cols, rows] of [[19, 5], [20, 4], [10, 3], [1, 1], [0, 0]] as const) {
        const r = renderDashboard(state, cols, rows);
        expect(r.lastFrame(), `${cols}×${rows}`).toBeDefined();
        r.unmount();
      }
    },
  },
  {
    input: 'a resize storm (100 sizes, 1×1 to 250×80, the run moving on meanwhile)',
    async check() {
      const state = dashboardState();
      const watch = fakeWatch(state);
      const options = (cols: number, rows: number): AppOptions => ({ target: 3000, glyphs: 'unicode', theme: 'dark', keys: true, size: { cols, rows }, now: () => NOW });
      const tree = (cols: number, rows: number) => createElement(App, { watch, options: options(cols, rows), onQuit: () => {} });
      const instance = render(tree(100, 30));
      const next = lcg(4242);
      try {
        for (let i = 0; i < 100; i++) {
          const [cols, rows] = [1 + next(250), 1 + next(80)];
          Object.defineProperty(instance.stdout, 'columns', { get: () => cols, configurable: true });
          Object.defineProperty(instance.stdout, 'rows', { get: () => rows, configurable: true });
          if (i % 20 === 10) watch.set({ ...watch.getState(), step: (watch.getState().step ?? 0) + 1 });
          instance.rerender(tree(cols, rows));
          // React refuses more than 50 synchronous renders in a row (a terminal's resizes come apart).
          await new Promise((resolve) => setImmediate(resolve));
          if (cols < 20 || rows < 5) continue;
          const frame = instance.lastFrame() ?? '';
          frameFits(frame, cols, rows, `${cols}×${rows} (#${i})`);
          if (cols < 60 || rows < 16) expect(tooSmall(stripAnsi(frame), cols, rows), `${cols}×${rows}`).toBe(true);
          else expect(stripAnsi(frame)).toContain('q quit');
        }
      } finally {
        instance.unmount();
      }
    },
  },
  {
    input: 'a storm of terminal resize events (the App following the terminal itself)',
    async check() {
      const watch = fakeWatch(dashboardState());
      const options: AppOptions = { target: 3000, glyphs: 'unicode', theme: 'dark', keys: true, now: () => NOW };
      const instance = render(createElement(App, { watch, options, onQuit: () => {} }));
      let size = { cols: 100, rows: 30 };
      Object.defineProperty(instance.stdout, 'columns', { get: () => size.cols, configurable: true });
      Object.defineProperty(instance.stdout, 'rows', { get: () => size.rows, configurable: true });
      const settle = async (cols: number, rows: number) => {
        const started = Date.now();
        while (Date.now() - started < 2000) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          const plain = stripAnsi(instance.lastFrame() ?? '');
          if (cols < 60 || rows < 16 ? tooSmall(plain, cols, rows) : plain.includes('q quit') && plain.split('\n').length <= rows - 1) return;
        }
        throw new Error(`the frame never followed ${cols}×${rows}: ${stripAnsi(instance.lastFrame() ?? '')}`);
      };
      try {
        const next = lcg(7);
        for (let burst = 0; burst < 8; burst++) {
          // Many events with no time to draw in between, then one last size that must win.
          for (let i = 0; i < 40; i++) {
            size = { cols: 20 + next(200), rows: 5 + next(60) };
            instance.stdout.emit('resize');
          }
          await settle(size.cols, size.rows);
          frameFits(instance.lastFrame() ?? '', size.cols, size.rows, `${size.cols}×${size.rows}`);
        }
      } finally {
        instance.unmount();
      }
    },
  },
];

// ---------------------------------------------------------------------------------------------
// 8. Standard input and output that are not a terminal

const NOT_A_TTY: BadInput[] = [
  {
    input: 'standard output a pipe (no --once): the snapshot, not a dashboard',
    async check() {
      const folder = makeRunFolder(scratch('pipe-out'), 'pipe_lora');
      const r = await cli([folder, '--no-gpu']);
      expectQuiet(r);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^pipe_lora {2}\[training\]\nstep 300\/1000 \(30%\)/);
      expect(r.stdout).not.toContain(ENTER_ALT_SCREEN);
      expectNoForeignControls(r.stdout, 'stdout');
    },
  },
  {
    input: 'standard input /dev/null as the run (lora-top -)',
    async check() {
      const r = await cli(['-', '--no-gpu'], { timeoutMs: 10_000 });
      expectQuiet(r);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('(unnamed run)  [starting]\nno ai-toolkit training output recognised yet\n');
    },
  },
  {
    input: 'standard input a pipe carrying a run, standard output a pipe',
    async check() {
      const r = await cli(['-', '--json', '--once', '--no-gpu'], { input: `Running 1 job\n${tqdmLine('stdin_lora', 77)}\r${tqdmLine('stdin_lora', 78)}` });
      expectQuiet(r);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ name: 'stdin_lora', step: 78, totalSteps: 1000 });
    },
  },
  {
    input: 'standard output a full disk (/dev/full)',
    async check(ctx) {
      if (!fs.existsSync('/dev/full')) ctx.skip('no /dev/full here');
      const folder = makeRunFolder(scratch('full'), 'full_lora');
      const fd = fs.openSync('/dev/full', 'w');
      try {
        const r = await cli([folder, '--once', '--no-gpu'], { stdoutFd: fd });
        expect(r.code).toBe(3);
        expectOneLine(r.stderr, /cannot write to standard output: ENOSPC: no space left on device/);
      } finally {
        fs.closeSync(fd);
      }
    },
  },
  {
    input: 'standard output a pipe its reader closed (lora-top … | head -c0)',
    async check() {
      const folder = makeRunFolder(scratch('epipe'), 'epipe_lora');
      const r = await cli([folder, '--once', '--json', '--no-gpu'], { closeStdout: true });
      expectQuiet(r);
      expect(r.code).toBe(0);
    },
  },
];

// ---------------------------------------------------------------------------------------------
// 9. Signals and failures while the dashboard is on a terminal: terminal restored, trainer untouched

interface Terminal {
  pty: PtySession;
  trainer: ReturnType<typeof startFakeTrainer>;
  folder: string;
}

/** The dashboard on a 100×30 terminal for a run whose (stand-in) trainer it has found. */
async function dashboardOnTerminal(nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Terminal> {
  const dir = scratch('tty');
  const folder = makeRunFolder(dir, 'tty_lora');
  const trainer = startFakeTrainer(folder);
  const pty = new PtySession(dir, [process.execPath, ...nodeArgs, fileURLToPath(new URL('../../bin/lora-top.js', import.meta.url)), folder, '--no-gpu'], {
    cwd: dir,
    env: { ...process.env, ...env },
  });
  // Drawn, with the trainer's progress, and the trainer found (its keys are offered).
  await pty.waitFor((out) => out.includes(ENTER_ALT_SCREEN) && out.includes('tty_lora') && /\bfreeze\b/.test(out), 'the dashboard with the trainer found');
  expect(processState(trainer.child.pid!)).toMatch(/^[RSD]$/);
  return { pty, trainer, folder };
}

/** The trainer runs on, was not stopped and got no signal, and goes on writing its log. */
async function expectTrainerUntouched({ trainer, folder }: Terminal): Promise<void> {
  const pid = trainer.child.pid!;
  const size = fs.statSync(path.join(folder, 'log.txt')).size;
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(trainer.child.exitCode).toBeNull();
  expect(trainer.child.signalCode).toBeNull();
  // Neither stopped (T) nor gone.
  expect(processState(pid)).toMatch(/^[RSD]$/);
  expect(fs.existsSync(trainer.signalsFile) ? fs.readFileSync(trainer.signalsFile, 'utf8') : '').toBe('');
  expect(fs.statSync(path.join(folder, 'log.txt')).size).toBeGreaterThan(size);
}

async function onTerminal(use: (t: Terminal) => Promise<void>, nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<void> {
  const t = await dashboardOnTerminal(nodeArgs, env);
  try {
    await use(t);
  } finally {
    t.trainer.stop();
    t.pty.kill();
  }
}

function expectLeftAltScreen(output: string, after: RegExp): void {
  expect(output).toContain(ENTER_ALT_SCREEN);
  const leave = output.lastIndexOf(LEAVE_ALT_SCREEN);
  expect(leave, JSON.stringify(output.slice(-300))).toBeGreaterThan(output.lastIndexOf(ENTER_ALT_SCREEN));
  expect(output.slice(leave + LEAVE_ALT_SCREEN.length)).toMatch(after);
  expect(output).not.toMatch(/^\s+at /m);
}

/** lora-top exited with `code`, or died of the signal that asks for it (Ink's signal-exit re-raises). */
function expectExit(exit: number | null, code: number, signal?: NodeJS.Signals): void {
  expect(exit, 'lora-top did not exit').not.toBeNull();
  const bySignal = signal ? -os.constants.signals[signal] : null;
  expect([code, bySignal]).toContain(exit);
}

const ON_A_TERMINAL: BadInput[] = [
  ...(['SIGHUP', 'SIGTERM'] as const).map(
    (signal): BadInput => ({
      input: `${signal} while the dashboard shows`,
      check: () =>
        onTerminal(async (t) => {
          t.pty.signal(signal);
          expectExit(await t.pty.exited(10_000), signal === 'SIGHUP' ? 129 : 143, signal);
          expectLeftAltScreen(t.pty.output(), /^$/);
          await expectTrainerUntouched(t);
        }),
    }),
  ),
  {
    input: 'the terminal hanging up (the SSH connection drops)',
    check: () =>
      onTerminal(async (t) => {
        t.pty.hangup();
        expectExit(await t.pty.exited(10_000), 129, 'SIGHUP');
        await expectTrainerUntouched(t);
      }),
  },
  ...(['throw', 'reject'] as const).map(
    (how): BadInput => ({
      input: how === 'throw' ? 'an uncaught exception inside lora-top' : 'an unhandled promise rejection inside lora-top',
      check: () =>
        onTerminal(
          async (t) => {
            t.pty.signal('SIGUSR2');
            expectExit(await t.pty.exited(15_000), 70);
            expectLeftAltScreen(t.pty.output(), new RegExp(`^(\\r\\n)?lora-top: internal error: injected ${how === 'throw' ? 'failure' : 'rejection'}\\r\\n$`));
            await expectTrainerUntouched(t);
          },
          ['--import', writeFailurePreload(scratch('preload'))],
          { HARDEN_FAIL: how },
        ),
    }),
  ),
];

// ---------------------------------------------------------------------------------------------
// 10. The trainer's PID

const PIDS: BadInput[] = [
  {
    input: 'a trainer PID that was recycled (another start time): no signal sent',
    async check() {
      const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
      try {
        let id = null;
        for (let i = 0; i < 100 && id === null; i++) {
          id = identify(child.pid!);
          if (id === null) await new Promise((resolve) => setTimeout(resolve, 10));
        }
        expect(id).not.toBeNull();
        const recycled = { pid: child.pid!, startTime: id!.startTime - 1 };
        expect(stillRunning(recycled)).toBe(false);
        for (const signal of ['SIGSTOP', 'SIGINT', 'SIGCONT'] as const) {
          expect(signalTrainer(recycled, signal, true)).toEqual({ ok: false, reason: `pid ${child.pid} is now another process (the trainer exited): nothing sent` });
        }
        // Had SIGSTOP or SIGINT gone out, sleep would be stopped (T) or gone by now.
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(processState(child.pid!)).toMatch(/^[RSD]$/);
        expect(child.exitCode).toBeNull();
        expect(child.signalCode).toBeNull();
      } finally {
        child.kill('SIGKILL');
      }
    },
  },
];

// ---------------------------------------------------------------------------------------------
// The table

const GROUPS: Array<[string, BadInput[], { concurrent?: boolean; skip?: string | false }]> = [
  ['paths on the command line', PATHS, { concurrent: true }],
  ['the log changing while watched', WHILE_WATCHING, { concurrent: true }],
  ['random and mutated input into the parser', PARSER, {}],
  ['control sequences from the run', ESCAPES_IN, {}],
  ['broken databases', DATABASES, { concurrent: true }],
  ['nvidia-smi', NVIDIA_SMI, { concurrent: true }],
  ['terminal sizes', SIZES, {}],
  ['standard input and output that are not a terminal', NOT_A_TTY, { concurrent: true }],
  ['signals and failures on a terminal', ON_A_TERMINAL, { concurrent: true, skip: !hasPty && 'no python3 to drive a pseudo-terminal' }],
  ['the trainer PID', PIDS, {}],
];

const COUNT = GROUPS.reduce((n, [, inputs]) => n + inputs.length, 0);

describe(`hardening: ${COUNT} bad inputs`, () => {
  for (const [group, inputs, { concurrent, skip }] of GROUPS) {
    const describeGroup = skip ? describe.skip : concurrent ? describe.concurrent : describe;
    describeGroup(`${group} (${inputs.length})`, () => {
      inputs.forEach((bad, i) => it(`${i + 1}. ${bad.input}`, (ctx) => bad.check(ctx), bad.timeout ?? 30_000));
      if (group === 'nvidia-smi') it('(not a bad input) the stand-in answering normally does give a GPU', NVIDIA_SMI_CONTROL);
    });
  }

  it('the table holds at least 30 bad inputs', () => {
    expect(COUNT).toBeGreaterThanOrEqual(30);
  });
});
