// Measurement: fuzz. The long run of the parser fuzz (issue 7); the short one is in
// test/unit/parserFuzz.test.ts and test/e2e/hardening.test.ts (a few hundred cases each), this one
// runs for `--seconds` (default 20 here, whatever the other sections' default) from a fixed seed.
//
// Every case is a list of text pieces fed through the built code (dist/) the way lora-top reads a
// log: LogReader.push(text, at, live) piece by piece (live, read back, or read back then live),
// reduceRun on each batch of events, reader.end (and sometimes `inputEnded`), then estimateFinish,
// jsonSnapshot, JSON.stringify and textSnapshot (once midway too). The cases:
//   bytes    random byte strings: uniform bytes, printable text, invalid UTF-8 (lone continuation
//            bytes, cut sequences, surrogates, overlongs), ESC/CSI/OSC/DCS/C1 sequences, \r, \n,
//            NUL, tqdm and ai-toolkit fragments; decoded with a StringDecoder in random byte pieces
//            (split UTF-8 sequences) as the file follower does, or sliced as text (split surrogates)
//   lines    real lines from test/fixtures/ai-toolkit-logs/*.txt (tqdm bars weighted up), each
//            mutated 1-5 times: cut, duplicated, truncated, digits swapped, numbers made huge /
//            negative / NaN / inf / 1e309 / full-width, units changed (it/s, s/it, ?it/s, B/s …),
//            times made 99:99 or -1:00, delimiters (| [ ] < , % /) swapped, control codes inserted;
//            joined by \r, \n, \r\n or nothing
//   block    a run of consecutive lines of a real log (a fixture, or the bench's ai-toolkit log
//            generator, lib/aitkLog.js, so that a whole run with its config is recognised) with a
//            few lines mutated as above
//   long     one very long line (64 KiB – 1 MiB, no newline: repeated bar fragments, an unterminated
//            OSC, random text), then a little more
// Each case gets its own PRNG, derived from (seed, case number), so any case can be replayed alone:
//   BENCH_FUZZ_SEED=<seed> BENCH_FUZZ_CASE=<n> node bench/run.js fuzz
//
// Invariants, checked on every case: nothing throws; no string in any event holds a control
// character (C0 but TAB, DEL, C1), but file paths and the config event's JSON text (parsed, never
// drawn); state.step and state.totalSteps are null or safe integers >= 0
// (step <= totalSteps is NOT required: logs can lie); the ETA's seconds are null or finite and >= 0;
// every number in the JSON snapshot is finite (before JSON.stringify turns NaN into null); every
// string in it but file paths (kept byte for byte; the CLI escapes C1 when it prints them) is free of
// control characters; JSON.stringify's text holds no raw C0 character (no ESC) and parses back; the
// text snapshot holds no control character but \n.
//
// Memory: every case is also fed to one long-lived reader and run state (the "marathon", as a
// dashboard left open on a log for days would see it: pieces of every case one after another,
// sometimes a truncation, reset()), whose snapshot is checked every 64 cases; heapUsed is sampled
// throughout and its peak must stay under 200 MB (garbage included); the heap left after a forced
// full GC every 5 s is reported beside it (what the readers and states really hold). The fuzz runs
// in a process of its own (bench/children/isolated.js): in the harness, after the measurements
// before it had grown V8's heap limits, the same run peaked at 208 MB against 113-137 alone.
//
// Figures: cases run, MB fed (the text given to LogReader.push by the per-case readers; the
// marathon reader reads the same text again and its time is included), MB/s (the case generator's
// time included), beside the same pipeline reading the unmutated source logs (clean logs, 4 KiB
// chunks, median of --runs). Failures: 0 expected; fuzzFailures counts the failing cases (and 1 for
// the marathon reader if it failed). For each kind of failure (up to 6) the seed, the case number,
// a replay command and the smallest input found that still fails (greedy shrinking, at most 20 s
// each) are printed after the table; run.js marks the goal fuzzFailures <= 0 MISSED (as for every
// missed goal, run.js's exit code stays 0; only a section that throws makes it 1).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildAitkLog } from './lib/aitkLog.js';
import { runIsolated } from './lib/child.js';
import { median, nowMs, round } from './lib/stats.js';
// The demo's seeded generator (mulberry32), from the built code (sections load after the build).
import { mulberry32 } from '../dist/demo/demoConfig.js';

export const name = 'fuzz';
export const description =
  'parser fuzz, the long run: random bytes and mutated real tqdm lines through LogReader → reduceRun → snapshots (dist/), fixed seed, invariants checked on every case';

const DEFAULT_SEED = 20_260_007;
const DEFAULT_SECONDS = 20;
const GOAL_PEAK_HEAP_MB = 200;
const MARATHON_CHECK_EVERY = 64;
const SHRINK_BUDGET_MS = 20_000;
/** At most this many failures are shrunk and printed (one per distinct message). */
const SHRINK_MAX = 6;
const MB = 1e6;
/** The most pieces a case is cut into (see chunked). */
const MAX_PIECES = 1000;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_NEWLINE = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
// eslint-disable-next-line no-control-regex
const RAW_C0 = /[\x00-\x1f]/;

// ---------------------------------------------------------------------------------------------
// PRNG

/** The PRNG of case `n` under `seed` (a hash of both, so neighbouring cases are unrelated). */
function caseRandom(seed, n) {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(n + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  const r = mulberry32(h);
  const int = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1)); // inclusive
  return {
    next: r,
    int,
    chance: (p) => r() < p,
    pick: (list) => list[Math.floor(r() * list.length)],
    /** Mostly small, sometimes large: lo..hi on a log scale. */
    size: (lo, hi) => Math.floor(Math.exp(Math.log(lo) + r() * (Math.log(hi + 1) - Math.log(lo)))),
  };
}

// ---------------------------------------------------------------------------------------------
// Material

const ESCAPES = [
  '\x1b[2J\x1b[31m',
  '\x1b[0m',
  '\x1b[?1049h',
  '\x1b[?25l',
  '\x1b[1;31;4m',
  '\x1b[38;2;255;0;0m',
  '\x1b]0;pwned-title\x07',
  '\x1b]8;;evil.example\x1b\\click\x1b]8;;\x1b\\',
  '\x1b]52;c;cHduZWQ=\x07',
  '\x1bP+q544e\x1b\\',
  '\x1b_apc\x1b\\',
  '\x1b^pm\x1b\\',
  '\x1bX sos \x1b\\',
  '\x9b6n',
  '\x9d0;pwned\x9c',
  '\x85',
  '\x90pwned\x9c',
  '\x1bc',
  '\x1b7',
  '\x1b(0',
  '\x1b',
  '\x1b[',
  '\x1b]',
  '\x07',
  '\x00',
  '\x08',
  '\x7f',
  '\t',
  '\x0b',
  '\x0c',
  '\ufffd',
  '\ufeff',
  '\ud800',
  '\udc00',
  '\u2028',
  '\u200b',
];
const TERMINATORS = ['\r', '\n', '\r\n', '\r\r\n', '\n\r', ''];
const FRAGMENTS = [
  '%|',
  '|',
  '| 12/100 [',
  '100%|██████████| 3000/3000 [',
  ' 50%|#####     | 1500/3000 [00:31<00:31, 47.62it/s, lr: 1.0e-04 loss: 2.013e-01]',
  '00:01<00:02',
  '12:34:56<177:04:17',
  ', 1.23it/s',
  ', 21.27s/it',
  ', ?it/s',
  ', 0.00B/s',
  'lr: 1.0e-04 loss: ',
  'loss: nan',
  ']',
  '[',
  'Running 1 job',
  'Running  1 process',
  '# Running job: ',
  '#############################################',
  'Saving at step ',
  'Saved checkpoint to /workspace/out/x/x_000000250.safetensors',
  'Saved optimizer to /workspace/out/x/optimizer.pt',
  'Removing old save: /workspace/out/x/x_000000000.safetensors',
  '#### IMPORTANT RESUMING FROM /w/x_000000500.safetensors ####',
  'Found step 500 in metadata, starting from there',
  'create LoRA network. base dim (rank): 16, alpha: 16',
  'create LoRA for U-Net: 494 modules.',
  'Generating Images',
  'Generating baseline samples before training',
  'Dataset: /workspace/datasets/p3r5on',
  '  -  Found 24 images',
  '3 buckets made',
  'Error running job: ',
  'Traceback (most recent call last):',
  'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB',
  'RuntimeError: CUDA error: an illegal memory access was encountered',
  'Result:',
  ' - 0 completed jobs',
  ' - 1 failure',
  'Killed',
  'Out of memory: Killed process 1234 (python) total-vm:1kB',
  '{',
  '}',
  '"steps": 1e309,',
  '"save_every": -250,',
  '"name": "\\u001b[31mevil",',
  '    "config": {',
];
const NASTY_NUMBERS = [
  '9'.repeat(400),
  '1e309',
  '-1e309',
  '1e-400',
  'NaN',
  'nan',
  'inf',
  '-inf',
  'Infinity',
  '-1',
  '-0',
  '0',
  '0000000000000000000007',
  '1.2.3',
  '１２',
  '٣',
  '4294967296',
  '9007199254740993',
  '-99999999999',
  '0x1f',
  '1e',
  '.',
  '',
];
const UNITS = ['it/s', 's/it', '?it/s', 'it/s/it', 'ms/it', 'B/s', 'kB/s', 'MB/s', 'its', '/s', ''];
const TIMES = ['99:99', '-1:00', '1:2:3:4', '??:??', '00:00:00:00', '999999:00:00', ':', '1e309:00', 'NaN:NaN'];
const DELIMITERS = ['|', '[', ']', '<', ',', '%', '/', ':', ' '];
/** Invalid or awkward UTF-8: lone continuation bytes, cut sequences, surrogates, overlongs, BOM, C1 as UTF-8. */
const BAD_UTF8 = [
  [0x80],
  [0x9b],
  [0xbf],
  [0xc2],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xfe],
  [0xff],
  [0xef, 0xbb, 0xbf],
  [0xc2, 0x9b],
  [0xc2, 0x9d],
  [0xc2, 0x85],
  [0xe2, 0x96, 0x88], // █, as tqdm draws
  [0xf0, 0x9f, 0x98, 0x80],
];

/** Splits text into lines, keeping each line's terminator with it. */
function linesWithEnds(text) {
  const out = [];
  const re = /\r\n|\r|\n/g;
  let from = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push(text.slice(from, m.index + m[0].length));
    from = m.index + m[0].length;
  }
  if (from < text.length) out.push(text.slice(from));
  return out;
}

function loadCorpus(root) {
  const dir = join(root, 'test', 'fixtures', 'ai-toolkit-logs');
  const fixtures = readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8').split('\n').slice(2).join('\n') }));
  // A whole run as ai-toolkit writes it (config, datasets, bars, saves, samples, a resume): two sessions.
  const generated = buildAitkLog({ totalSteps: 600, sessionSteps: 400, seed: 7 }).text;
  const logs = [...fixtures.map((f) => f.text), generated];
  const lines = fixtures.flatMap((f) => f.text.split(/\r\n|\r|\n/)).filter((l) => l.length > 0);
  const bars = lines.filter((l) => /\d+%\|.*\|\s*\d+\/\d+ \[/.test(l));
  const blocks = logs.map(linesWithEnds);
  if (bars.length < 20) throw new Error(`only ${bars.length} tqdm bar lines in the fixtures`);
  return { fixtures, generated, logs, lines, bars, blocks };
}

// ---------------------------------------------------------------------------------------------
// Generators

function randomBytes(r, target) {
  const parts = [];
  let n = 0;
  const add = (buf) => {
    parts.push(buf);
    n += buf.length;
  };
  while (n < target) {
    const mode = r.int(0, 9);
    if (mode <= 1) {
      const b = Buffer.allocUnsafe(r.int(1, 64));
      for (let i = 0; i < b.length; i++) b[i] = r.int(0, 255);
      add(b);
    } else if (mode === 2) {
      const b = Buffer.allocUnsafe(r.int(1, 80));
      for (let i = 0; i < b.length; i++) b[i] = r.int(0x20, 0x7e);
      add(b);
    } else if (mode === 3) {
      add(Buffer.from(r.pick(BAD_UTF8)));
    } else if (mode === 4) {
      add(Buffer.from(r.pick(ESCAPES), 'utf8'));
    } else if (mode === 5) {
      add(Buffer.from(r.pick(['\r', '\n', '\r\n', '\x00', '\x1b', '\r\r', '\n\n']), 'latin1'));
    } else if (mode <= 7) {
      add(Buffer.from(r.pick(FRAGMENTS), 'utf8'));
    } else {
      add(Buffer.from(r.pick(r.chance(0.5) ? CORPUS.bars : CORPUS.lines) + r.pick(TERMINATORS), 'utf8'));
    }
  }
  return Buffer.concat(parts);
}

function mutateLine(r, line) {
  switch (r.int(0, 9)) {
    case 0: {
      // a number made huge, negative, NaN …
      const runs = [...line.matchAll(/\d+(?:\.\d+)?(?:e[-+]?\d+)?/g)];
      if (runs.length === 0) return line + r.pick(NASTY_NUMBERS);
      const m = r.pick(runs);
      return line.slice(0, m.index) + r.pick(NASTY_NUMBERS) + line.slice(m.index + m[0].length);
    }
    case 1: {
      // two digits swapped (or one changed)
      const at = [...line.matchAll(/\d/g)].map((m) => m.index);
      if (at.length === 0) return line;
      const i = r.pick(at);
      const j = r.chance(0.5) ? r.pick(at) : -1;
      const chars = [...line];
      if (j < 0 || chars.length !== line.length) return line.slice(0, i) + String(r.int(0, 9)) + line.slice(i + 1);
      [chars[i], chars[j]] = [chars[j], chars[i]];
      return chars.join('');
    }
    case 2: {
      // cut
      const at = r.int(0, line.length);
      return line.slice(0, at) + line.slice(at + r.size(1, 40));
    }
    case 3: {
      // duplicate a stretch
      const at = r.int(0, line.length);
      const len = r.size(1, 60);
      return line.slice(0, at + len) + line.slice(at, at + len).repeat(r.chance(0.1) ? r.int(2, 200) : 1) + line.slice(at + len);
    }
    case 4:
      // truncated
      return line.slice(0, r.int(0, line.length));
    case 5: {
      // a control code inserted
      const at = r.int(0, line.length);
      const code = r.chance(0.8) ? r.pick(ESCAPES) : String.fromCharCode(r.int(0, 0x9f));
      return line.slice(0, at) + code + line.slice(at);
    }
    case 6: {
      // the unit changed
      const m = /\?it\/s|it\/s|s\/it|B\/s/.exec(line);
      if (!m) return line + ', ' + r.pick(UNITS);
      return line.slice(0, m.index) + r.pick(UNITS) + line.slice(m.index + m[0].length);
    }
    case 7: {
      // a time field broken
      const runs = [...line.matchAll(/\d+(?::\d+)+/g)];
      if (runs.length === 0) return line;
      const m = r.pick(runs);
      return line.slice(0, m.index) + r.pick(TIMES) + line.slice(m.index + m[0].length);
    }
    case 8: {
      // a delimiter swapped or dropped
      const at = [...line.matchAll(/[|[\]<,%/:]/g)].map((m) => m.index);
      if (at.length === 0) return line;
      const i = r.pick(at);
      return line.slice(0, i) + (r.chance(0.3) ? '' : r.pick(DELIMITERS)) + line.slice(i + 1);
    }
    default: {
      // something glued in: a fragment, a few random characters, a line terminator
      const at = r.int(0, line.length);
      const what = r.pick([r.pick(FRAGMENTS), r.pick(['\r', '\n', '\r\n']), String.fromCharCode(r.int(0, 0xffff)), r.pick(FRAGMENTS) + r.pick(TERMINATORS)]);
      return line.slice(0, at) + what + line.slice(at);
    }
  }
}

function mutated(r, line, min = 1, max = 5) {
  const k = r.int(min, max);
  for (let i = 0; i < k; i++) line = mutateLine(r, line);
  return line;
}

function mutatedLines(r) {
  const count = r.size(1, 60);
  let text = r.chance(0.5) ? 'Running 1 job\n' : '';
  for (let i = 0; i < count; i++) {
    const line = r.chance(0.7) ? r.pick(CORPUS.bars) : r.pick(CORPUS.lines);
    text += (r.chance(0.9) ? mutated(r, line) : line) + r.pick(TERMINATORS);
  }
  return text;
}

function mutatedBlock(r) {
  const lines = r.pick(CORPUS.blocks);
  const len = Math.min(lines.length, r.size(5, 3000));
  const from = r.int(0, lines.length - len);
  const block = lines.slice(from, from + len);
  const k = r.size(1, Math.max(1, len >> 2));
  for (let i = 0; i < k; i++) {
    const j = r.int(0, block.length - 1);
    const m = /(\r\n|\r|\n)$/.exec(block[j]);
    const body = m ? block[j].slice(0, m.index) : block[j];
    block[j] = mutated(r, body, 1, 3) + (r.chance(0.8) && m ? m[0] : r.pick(TERMINATORS));
  }
  return block.join('');
}

function longLine(r) {
  const len = r.size(65_536, 1_048_576);
  const kind = r.int(0, 4);
  let body;
  if (kind === 0) body = 'lr: 1.0e-04 %|'.repeat(Math.ceil(len / 14));
  else if (kind === 1) body = `\x1b]0;${'x'.repeat(len)}`; // an OSC never terminated
  else if (kind === 2) body = `${r.pick(CORPUS.bars)}${'\x1b['.repeat(len >> 1)}`;
  else if (kind === 3) body = (r.pick(CORPUS.bars) + ' ').repeat(Math.ceil(len / 80));
  else body = randomBytes(r, len).toString('utf8').replace(/[\r\n]/g, ' ');
  return `${r.chance(0.5) ? 'Running 1 job\n' : ''}${body.slice(0, len)}${r.pick(TERMINATORS)}${r.chance(0.5) ? mutatedLines(r) : ''}`;
}

/** Chops text (or bytes, through a StringDecoder as the file follower reads) into pieces with their `live` flag. */
function chunked(r, input) {
  const pattern = r.int(0, 3); // all live, all read back, random, read back then live
  const switchAt = r.next();
  const liveAt = (i, count) => (pattern === 0 ? true : pattern === 1 ? false : pattern === 2 ? r.chance(0.5) : i >= Math.floor(switchAt * count));
  const sizing = r.int(0, 3);
  // At most MAX_PIECES pieces: each push re-reads the unterminated tail (up to the parser's 16 Ki
  // characters), so a 1 MiB line fed one character at a time would take minutes, not test more.
  const minPiece = Math.max(1, Math.ceil(input.length / MAX_PIECES));
  const maxPiece = Math.max(minPiece, r.size(1, 8192));
  const nextSize = (total) => (sizing === 0 ? total : sizing === 1 ? maxPiece : r.int(minPiece, maxPiece));
  const texts = [];
  if (Buffer.isBuffer(input)) {
    const decoder = new StringDecoder('utf8');
    for (let i = 0; i < input.length; ) {
      const n = Math.max(1, nextSize(input.length));
      texts.push(decoder.write(input.subarray(i, i + n)));
      i += n;
    }
    texts.push(decoder.end());
  } else if (sizing === 3 && r.chance(0.5) && linesWithEnds(input).length <= MAX_PIECES) {
    // one piece per line, terminator included (a line-buffered writer)
    texts.push(...linesWithEnds(input));
  } else {
    for (let i = 0; i < input.length; ) {
      const n = Math.max(1, nextSize(input.length));
      texts.push(input.slice(i, i + n)); // may split a surrogate pair: random text can
      i += n;
    }
  }
  return texts.map((text, i) => ({ text, live: liveAt(i, texts.length) }));
}

/** Case `n`: { kind, pieces, clock: { start, steps }, endInput, midway, target }. */
function makeCase(seed, n) {
  const r = caseRandom(seed, n);
  const roll = r.next();
  let kind;
  let input;
  if (roll < 0.3) {
    kind = 'bytes';
    input = randomBytes(r, r.size(1, 6000));
    if (r.chance(0.3)) input = input.toString('latin1'); // as if read with the wrong encoding: C1 as characters
  } else if (roll < 0.65) {
    kind = 'lines';
    input = mutatedLines(r);
    if (r.chance(0.5)) input = Buffer.from(input, 'utf8');
  } else if (roll < 0.98) {
    kind = 'block';
    input = mutatedBlock(r);
    if (r.chance(0.5)) input = Buffer.from(input, 'utf8');
  } else {
    kind = 'long';
    input = longLine(r);
    if (r.chance(0.5)) input = Buffer.from(input, 'utf8');
  }
  const pieces = chunked(r, input);
  const steps = pieces.map(() => (r.chance(0.2) ? 0 : r.size(1, 120_000)));
  return {
    kind,
    pieces,
    steps,
    start: 1_754_000_000_000 + r.int(0, 1e9),
    endInput: r.chance(0.3),
    midway: r.int(0, pieces.length - 1),
    target: r.chance(0.8) ? 3000 : r.pick([1, 250, 10_000, 1_000_000]),
    now: r.size(1, 86_400_000),
  };
}

// ---------------------------------------------------------------------------------------------
// Checks

let API;

/** Every string under `value`, with where it is. */
function* stringsIn(value, where = '') {
  if (typeof value === 'string') yield [where, value];
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) yield* stringsIn(v, `${where}.${k}`);
}

function* numbersIn(value, where = '') {
  if (typeof value === 'number') yield [where, value];
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) yield* numbersIn(v, `${where}.${k}`);
}

const show = (s, max = 80) => {
  const j = JSON.stringify(s);
  return j.length > max ? `${j.slice(0, max)}…(${s.length} chars)` : j;
};

/** Throws an Error naming the first invariant the state breaks. */
function checkState(state, now, target) {
  for (const [key, n] of [['step', state.step], ['totalSteps', state.totalSteps]]) {
    if (n !== null && !(Number.isSafeInteger(n) && n >= 0)) throw new Error(`state.${key} is ${n}`);
  }
  if (state.loss !== null && typeof state.loss !== 'number') throw new Error(`state.loss is a ${typeof state.loss}`);
  const eta = API.estimateFinish(state, now, target);
  for (const key of ['etaSeconds', 'etaTargetSeconds']) {
    const s = eta[key];
    if (s !== null && !(Number.isFinite(s) && s >= 0)) throw new Error(`eta.${key} is ${s}`);
  }
  const json = API.jsonSnapshot(state, eta);
  for (const [where, n] of numbersIn(json)) if (!Number.isFinite(n)) throw new Error(`json${where} is ${n}`);
  for (const [where, s] of stringsIn(json)) {
    if (/\.path$/.test(where)) continue; // paths are kept byte for byte (the CLI escapes C1 when it prints)
    if (CONTROL.test(s)) throw new Error(`json${where} holds a control character: ${show(s)}`);
  }
  const text = JSON.stringify(json);
  if (RAW_C0.test(text)) throw new Error('JSON.stringify of the snapshot holds a raw C0 character');
  JSON.parse(text);
  const snapshot = API.textSnapshot(state, eta, now);
  const bad = CONTROL_BUT_NEWLINE.exec(snapshot);
  if (bad) throw new Error(`the text snapshot holds U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')}: ${show(snapshot.slice(Math.max(0, bad.index - 30), bad.index + 30))}`);
}

function checkEvents(stamped) {
  for (const { event } of stamped) {
    for (const [where, s] of stringsIn(event)) {
      // the config dump's values are read through readRunConfig (which strips text), never drawn; paths are kept byte for byte (see checkState)
      if ((event.type === 'config' && where.startsWith('.data')) || /\.path$/.test(where)) continue;
      if (CONTROL.test(s)) throw new Error(`a ${event.type} event's ${where.slice(1)} holds a control character: ${show(s)}`);
    }
  }
}

/** Runs one case on a fresh reader. Returns null, or the message of the first broken invariant. */
function runCase(c) {
  try {
    const reader = new API.LogReader();
    let state = API.initialRunState();
    let at = c.start;
    for (let i = 0; i < c.pieces.length; i++) {
      at += c.steps[i] ?? 0;
      const events = reader.push(c.pieces[i].text, at, c.pieces[i].live);
      checkEvents(events);
      state = API.reduceRun(state, events);
      if (i === c.midway) checkState(state, at + c.now, c.target);
    }
    const last = reader.end(at);
    checkEvents(last);
    if (c.endInput) last.push({ at, event: { type: 'inputEnded' } });
    state = API.reduceRun(state, last);
    checkState(state, at + c.now, c.target);
    return null;
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${error.message}` : `thrown: ${String(error)}`;
  }
}

function caseBytes(c) {
  let n = 0;
  for (const p of c.pieces) n += p.text.length; // UTF-16 units ≈ bytes for this mostly-ASCII input
  return n;
}

/** The message class (numbers and quoted text dropped), to group failures. */
const messageKind = (m) => m.replace(/"(?:[^"\\]|\\.)*"…?(\(\d+ chars\))?/g, '"…"').replace(/-?(?:Infinity|NaN|\d+(?:\.\d+)?(?:e[-+]?\d+)?)/g, 'N');

/**
 * Greedy shrinking: fewer pieces, pieces merged, then chunks of text cut out (halving the chunk
 * size), keeping each change that still fails with a message of the same kind.
 */
function shrink(c, message) {
  const deadline = nowMs() + SHRINK_BUDGET_MS;
  const kind = messageKind(message);
  let best = { ...c, pieces: c.pieces.map((p) => ({ ...p })), steps: [...c.steps] };
  let bestMessage = message;
  const fails = (cand) => {
    if (nowMs() > deadline) return false;
    cand.midway = Math.min(cand.midway, cand.pieces.length - 1);
    const m = runCase(cand);
    if (m !== null && messageKind(m) === kind) {
      bestMessage = m;
      return true;
    }
    return false;
  };
  // 1. drop pieces
  for (let i = best.pieces.length - 1; i >= 0 && best.pieces.length > 1; i--) {
    const cand = { ...best, pieces: best.pieces.filter((_, k) => k !== i), steps: best.steps.filter((_, k) => k !== i) };
    if (fails(cand)) best = cand;
  }
  // 2. merge neighbours
  for (let i = best.pieces.length - 2; i >= 0; i--) {
    const pieces = [...best.pieces];
    pieces.splice(i, 2, { text: pieces[i].text + pieces[i + 1].text, live: pieces[i + 1].live });
    const steps = [...best.steps];
    steps.splice(i + 1, 1);
    const cand = { ...best, pieces, steps };
    if (fails(cand)) best = cand;
  }
  // 3. cut text out of each piece
  for (let p = 0; p < best.pieces.length; p++) {
    for (let size = best.pieces[p].text.length >> 1; size >= 1; size >>= 1) {
      for (let at = 0; at < best.pieces[p].text.length; ) {
        const t = best.pieces[p].text;
        const pieces = [...best.pieces];
        pieces[p] = { ...pieces[p], text: t.slice(0, at) + t.slice(at + size) };
        const cand = { ...best, pieces };
        if (fails(cand)) best = cand;
        else at += size;
        if (nowMs() > deadline) break;
      }
    }
  }
  // 4. the simplest flags that still fail
  for (const change of [{ endInput: false }, { target: 3000 }, { midway: best.pieces.length - 1 }]) {
    const cand = { ...best, ...change };
    if (fails(cand)) best = cand;
  }
  return { case: best, message: bestMessage, timedOut: nowMs() > deadline };
}

function describeCase(seed, n, original, shrunk) {
  const c = shrunk.case;
  const lines = [
    `fuzz failure: seed ${seed}, case ${n} (${original.kind}, ${original.pieces.length} pieces, ${caseBytes(original)} chars)`,
    `  replay: BENCH_FUZZ_SEED=${seed} BENCH_FUZZ_CASE=${n} node bench/run.js fuzz`,
    `  ${shrunk.message}`,
    `  smallest failing input${shrunk.timedOut ? ' found in the shrinking time' : ''}: ${c.pieces.length} piece(s), then reader.end()${c.endInput ? ' and inputEnded' : ''}; estimateFinish target ${c.target}, now = last at + ${c.now} ms`,
  ];
  let at = c.start;
  for (let i = 0; i < c.pieces.length; i++) {
    at += c.steps[i] ?? 0;
    const t = c.pieces[i].text;
    lines.push(`    push(${t.length > 2000 ? `${JSON.stringify(t.slice(0, 2000))} …(${t.length} chars)` : JSON.stringify(t)}, ${at}, ${c.pieces[i].live})${i === c.midway ? '  ← snapshot checked here too' : ''}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The clean baseline: the same pipeline on the unmutated logs

function cleanPass() {
  let bytes = 0;
  for (const text of CORPUS.logs) {
    const reader = new API.LogReader();
    let state = API.initialRunState();
    let at = 1_754_000_000_000;
    for (let i = 0; i < text.length; i += 4096) {
      at += 250;
      const events = reader.push(text.slice(i, i + 4096), at, true);
      checkEvents(events);
      state = API.reduceRun(state, events);
    }
    state = API.reduceRun(state, reader.end(at));
    checkState(state, at + 1000, 3000);
    bytes += text.length;
  }
  return bytes;
}

function cleanMBps(runs) {
  const rates = [];
  for (let k = 0; k < runs + 1; k++) {
    let bytes = 0;
    const t0 = nowMs();
    while (nowMs() - t0 < 300) bytes += cleanPass();
    if (k > 0) rates.push(bytes / MB / ((nowMs() - t0) / 1000)); // the first one warms up
  }
  return median(rates);
}

// ---------------------------------------------------------------------------------------------

let CORPUS;

/** --seconds as given on the command line (run.js's own default, 60, is the dashboard's; ours is 20). */
function secondsGiven() {
  return process.argv.some((a) => a === '--seconds' || a.startsWith('--seconds='));
}

export async function run(ctx) {
  // Its own process: the heap it measures is its own, not grown by the measurements before it.
  if (process.env.BENCH_ISOLATED !== '1') return runIsolated(name, ctx);
  API = {
    LogReader: (await import(join(ctx.root, 'dist/parse/logReader.js'))).LogReader,
    reduceRun: (await import(join(ctx.root, 'dist/state/reduceRun.js'))).reduceRun,
    initialRunState: (await import(join(ctx.root, 'dist/state/runState.js'))).initialRunState,
    estimateFinish: (await import(join(ctx.root, 'dist/state/eta.js'))).estimateFinish,
    ...(await import(join(ctx.root, 'dist/view/snapshot.js'))),
  };
  // (dist/parse/sanitize.js is what the snapshots and the reader strip with; the checks above test its result.)
  CORPUS = loadCorpus(ctx.root);
  const seed = process.env.BENCH_FUZZ_SEED !== undefined ? Number(process.env.BENCH_FUZZ_SEED) >>> 0 : DEFAULT_SEED;
  const seconds = secondsGiven() ? ctx.seconds : DEFAULT_SECONDS;
  const notes = [];

  if (process.env.BENCH_FUZZ_CASE !== undefined) {
    const n = Number(process.env.BENCH_FUZZ_CASE);
    const c = makeCase(seed, n);
    const message = runCase(c);
    const line = message === null ? `fuzz: seed ${seed}, case ${n} (${c.kind}, ${caseBytes(c)} chars) passes` : describeCase(seed, n, c, shrink(c, message));
    process.stdout.write(`${line}\n`);
    return { rows: [{ figure: 'fuzz replay failures', value: message === null ? 0 : 1, unit: '', goal: { op: '<=', target: 0 } }], results: {}, notes: [] };
  }

  process.stdout.write(`fuzz: seed ${seed} (BENCH_FUZZ_SEED to change it), ${seconds} s\n`);
  ctx.log(`corpus: ${CORPUS.fixtures.length} fixtures (${CORPUS.lines.length} lines, ${CORPUS.bars.length} tqdm bar states) and a generated ${(CORPUS.generated.length / 1e6).toFixed(2)} MB ai-toolkit log`);

  const clean = cleanMBps(ctx.runs);
  ctx.log(`clean logs through the same pipeline: ${clean.toFixed(1)} MB/s`);

  // the marathon: one reader and state for the whole run
  const marathon = { reader: new API.LogReader(), state: API.initialRunState(), at: 1_754_000_000_000, resets: 0, failed: null, maxRecent: 0 };
  const feedMarathon = (c, n) => {
    try {
      const r = caseRandom(seed ^ 0x5bd1e995, n);
      if (r.chance(0.002)) {
        marathon.reader.reset(); // the log was truncated or replaced
        marathon.resets++;
      }
      for (let i = 0; i < c.pieces.length; i++) {
        marathon.at += Math.min(c.steps[i] ?? 0, 5000);
        const events = marathon.reader.push(c.pieces[i].text, marathon.at, c.pieces[i].live);
        marathon.state = API.reduceRun(marathon.state, events);
      }
      if (n % MARATHON_CHECK_EVERY === 0 && !marathon.failed) checkState(marathon.state, marathon.at + 1000, 3000);
    } catch (error) {
      // the first failure is kept; the marathon goes on (its memory is still measured)
      marathon.failed ??= { n, message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  };

  // heapUsed counts garbage not yet collected too; what stays after a full collection is what the
  // readers and states really hold: taken every 5 s (a handful of full GCs, off the per-case clock).
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  const retained = () => {
    gc();
    return process.memoryUsage().heapUsed;
  };
  const retainedByWindow = [retained()];
  let peakHeap = process.memoryUsage().heapUsed;
  const heapByWindow = [];
  const failures = [];
  const kinds = new Map();
  const byKind = Object.fromEntries(['bytes', 'lines', 'block', 'long'].map((k) => [k, { cases: 0, chars: 0, ms: 0 }]));
  let generateMs = 0;
  let marathonMs = 0;
  let bytes = 0;
  let n = 0;
  let slowest = { ms: 0, n: -1, kind: '', bytes: 0 };
  const t0 = nowMs();
  const end = t0 + seconds * 1000;
  let nextSample = t0;
  for (; ; n++) {
    const now = nowMs();
    if (now >= end) break;
    const c = makeCase(seed, n);
    const size = caseBytes(c);
    const c0 = nowMs();
    generateMs += c0 - now;
    const message = runCase(c);
    const ms = nowMs() - c0;
    if (ms > slowest.ms) slowest = { ms, n, kind: c.kind, bytes: size };
    bytes += size;
    const k = byKind[c.kind];
    k.cases++;
    k.chars += size;
    k.ms += ms;
    if (message !== null) {
      failures.push({ n, message });
      const k = messageKind(message);
      if (!kinds.has(k)) kinds.set(k, { n, message, c });
    }
    const m0 = nowMs();
    feedMarathon(c, n);
    marathonMs += nowMs() - m0;
    if (c.kind === 'long' || n % 16 === 0) {
      const heap = process.memoryUsage().heapUsed;
      if (heap > peakHeap) peakHeap = heap;
      const w = Math.floor((now - t0) / 5000);
      heapByWindow[w] = Math.max(heapByWindow[w] ?? 0, heap);
    }
    if (now >= nextSample) {
      nextSample = now + 5000;
      if (now > t0) retainedByWindow.push(retained());
      if (now > t0) ctx.log(`${((now - t0) / 1000).toFixed(0)} s: ${n} cases, ${(bytes / MB).toFixed(1)} MB, ${failures.length} failures, heap ${(process.memoryUsage().heapUsed / MB).toFixed(0)} MB`);
    }
  }
  const elapsedS = (nowMs() - t0) / 1000;

  // the marathon's end
  try {
    marathon.state = API.reduceRun(marathon.state, [...marathon.reader.end(marathon.at), { at: marathon.at, event: { type: 'inputEnded' } }]);
    if (!marathon.failed) checkState(marathon.state, marathon.at + 1000, 3000);
  } catch (error) {
    marathon.failed ??= { n, message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  const heapEnd = process.memoryUsage().heapUsed;
  if (heapEnd > peakHeap) peakHeap = heapEnd;
  retainedByWindow.push(retained());
  const retainedMax = Math.max(...retainedByWindow);
  const ms = marathon.state;
  const marathonSizes = `checkpoints ${ms.checkpoints.length}, samples ${ms.samples.length}, recentLines ${ms.recentLines.length}, postfix keys ${Object.keys(ms.postfix).length}, lossHistory ${JSON.stringify(ms.lossHistory).length} chars of JSON`;
  ctx.log(`marathon reader: ${marathon.resets} resets; its state holds ${marathonSizes}`);
  if (marathon.failed) failures.push({ n: marathon.failed.n, message: `marathon: ${marathon.failed.message}` });

  // failures: print, shrunk
  for (const [, f] of [...kinds].slice(0, SHRINK_MAX)) {
    ctx.log(`shrinking case ${f.n}: ${f.message}`);
    notes.push(describeCase(seed, f.n, f.c, shrink(f.c, f.message))); // printed by run.js after the table
  }
  if (kinds.size > SHRINK_MAX) notes.push(`fuzz: ${kinds.size - SHRINK_MAX} more kinds of failure not shown: ${[...kinds.values()].slice(SHRINK_MAX).map((f) => `case ${f.n}: ${f.message}`).join('; ')}`);
  if (marathon.failed) {
    notes.push(
      `fuzz failure in the marathon reader (fed every case in turn) at or before case ${marathon.failed.n} (the snapshot is checked every ${MARATHON_CHECK_EVERY} cases): ${marathon.failed.message}\n` +
        `  reproduce: seed ${seed}, feed cases 0..${marathon.failed.n} to one LogReader (see feedMarathon in bench/fuzz.js)`,
    );
  }

  const fuzzMB = bytes / MB;
  const mbps = fuzzMB / elapsedS;
  notes.push(
    `fuzz: seed ${seed}; ${n} cases in ${elapsedS.toFixed(1)} s (${Object.entries(byKind).map(([k, v]) => `${k} ${v.cases}: ${(v.chars / MB).toFixed(1)} MB at ${(v.chars / MB / (v.ms / 1000 || 1)).toFixed(1)} MB/s`).join('; ')}; fresh readers ${(byKind.bytes.ms + byKind.lines.ms + byKind.block.ms + byKind.long.ms) / 1000 | 0} s, marathon reader ${(marathonMs / 1000).toFixed(1)} s, generating ${(generateMs / 1000).toFixed(1)} s), ` +
      `${fuzzMB.toFixed(1)} MB fed (each case through a fresh reader and again through the marathon reader); ` +
      `slowest case ${slowest.n} (${slowest.kind}, ${slowest.bytes} chars) ${slowest.ms.toFixed(1)} ms; heapUsed peak by 5 s window: ${heapByWindow.map((h) => (h / MB).toFixed(0)).join(', ')} MB, after a full GC at 0, 5, 10 … s and at the end: ${retainedByWindow.map((h) => (h / MB).toFixed(1)).join(', ')} MB; marathon state: ${marathonSizes}`,
  );

  const rows = [
    { figure: 'fuzz cases', value: n, unit: '' },
    { figure: 'fuzz input fed', value: fuzzMB, unit: 'MB' },
    { figure: 'fuzz throughput', value: mbps, unit: 'MB/s', baseline: { label: 'clean logs, same pipeline', value: clean, unit: 'MB/s' } },
    { figure: 'fuzz failures', value: failures.length, unit: '', goal: { op: '<=', target: 0 } },
    { figure: 'fuzz peak heapUsed', value: peakHeap / MB, unit: 'MB', goal: { op: '<=', target: GOAL_PEAK_HEAP_MB } },
    { figure: 'fuzz heap after GC (max)', value: retainedMax / MB, unit: 'MB' },
    { figure: 'fuzz slowest case', value: slowest.ms, unit: 'ms' },
  ];
  return {
    rows,
    results: {
      fuzzSeed: seed,
      fuzzSeconds: round(elapsedS, 1),
      fuzzIterations: n,
      fuzzMB: round(fuzzMB, 1),
      fuzzMBps: round(mbps, 1),
      fuzzCleanMBps: round(clean, 1),
      fuzzFailures: failures.length,
      fuzzPeakHeapMB: round(peakHeap / MB, 1),
      fuzzRetainedHeapMB: round(retainedMax / MB, 1),
      fuzzSlowestCaseMs: round(slowest.ms, 1),
    },
    notes,
  };
}
