import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/readLog.js';
import { LogReader } from '../../src/parse/logReader.js';
import { parseTqdmBar, postfixNumber } from '../../src/parse/tqdmBar.js';
import { readTrainingStateBytes } from '../../src/parse/barStateScan.js';
import { decimalAt, trainingScratch } from '../../src/parse/trainingState.js';
import { stripControlSequences } from '../../src/parse/sanitize.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState, type RunState, type StampedRunEvent } from '../../src/state/runState.js';
import { buildDemoLog } from '../helpers/demoLog.js';

// The backfill's fast path for training-bar states must read exactly what the general parser reads:
// line by line on every real and generated bar line (and on mutations of them), and state by state
// on whole logs read back in chunks of every size.

const MADE = join(import.meta.dirname, '..', 'fixtures', 'made');

const generated = await buildDemoLog();

function logs(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const name of readdirSync(FIXTURES).filter((n) => n.endsWith('.txt'))) out.push([name, readFileSync(join(FIXTURES, name), 'utf8').split('\n').slice(2).join('\n')]);
  for (const name of readdirSync(MADE).filter((n) => n.endsWith('.txt'))) out.push([`made/${name}`, readFileSync(join(MADE, name), 'utf8')]);
  out.push(['generated (resumed sessions, saves, samples)', generated]);
  return out;
}

function segments(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/** What the general path reads of a line, in the fast path's terms; null when it would not take it. */
function general(line: string) {
  const segment = stripControlSequences(line.length > 16 * 1024 ? line.slice(0, 16 * 1024) : line);
  const bar = parseTqdmBar(segment.trimStart());
  if (!bar || !('lr' in bar.postfix) || bar.desc === null || /^Generating (Images|Samples)/.test(bar.desc) || bar.trailing.trim() !== '') return null;
  return { desc: bar.desc, n: bar.n, total: bar.total, elapsedS: bar.elapsedS, rate: bar.rate, unit: bar.unit, loss: postfixNumber(bar.postfix.loss), lr: postfixNumber(bar.postfix.lr) };
}

/** The byte reader, on the line's UTF-8 bytes (placed inside other bytes, as in a real chunk). */
function fastBytes(line: string) {
  const s = trainingScratch();
  const bytes = Buffer.concat([Buffer.from('xx\n'), Buffer.from(line, 'utf8'), Buffer.from('\ryy')]);
  const start = 3;
  const end = bytes.length - 3;
  if (!readTrainingStateBytes(bytes, start, end, s)) return null;
  return { desc: bytes.toString('utf8', start, s.descEnd), n: s.n, total: s.total, elapsedS: s.elapsedS, rate: s.rate, unit: s.unit, loss: s.loss, lr: s.lr };
}

function agree(line: string): void {
  // Whatever the fast reader takes, the general path takes the same way (it may leave some to it).
  const b = fastBytes(line);
  if (b !== null) expect(b, JSON.stringify(line)).toEqual(general(line));
}

/** A log read back (backfill) as text in chunks of characters: the final state. */
function backfill(text: string, chunk: number): RunState {
  const reader = new LogReader();
  const events: StampedRunEvent[] = [];
  for (let i = 0; i < text.length; i += chunk) events.push(...reader.push(text.slice(i, i + chunk), 1000, false));
  events.push(...reader.end(1000));
  return reduceRun(initialRunState(), events);
}

/** The same log read back as bytes in chunks of bytes (the byte path, or with it off: every line decoded). */
function backfillBytes(text: string, chunk: number, fastPath: boolean): RunState {
  const reader = new LogReader({ fastPath });
  const bytes = Buffer.from(text, 'utf8');
  const events: StampedRunEvent[] = [];
  for (let i = 0; i < bytes.length; i += chunk) events.push(...reader.pushBytes(bytes.subarray(i, i + chunk), 1000));
  events.push(...reader.end(1000));
  return reduceRun(initialRunState(), events);
}

describe('the training-bar fast path', () => {
  it('every bar line of every fixture and of a generated log: the fast path reads it as the general parser does, and takes the plain ones', () => {
    let taken = 0;
    let bars = 0;
    for (const [, text] of logs()) {
      for (const line of segments(text)) {
        if (!line.includes('%|')) continue;
        bars++;
        agree(line);
        if (fastBytes(line)) taken++;
      }
    }
    // It is a fast path only if it takes the common line.
    expect(taken / bars).toBeGreaterThan(0.8);
  });

  it('numbers read from bytes are exactly what Number() reads from their text', () => {
    const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
    const decimal = fc.tuple(fc.constantFrom('', '-', '+'), digits(0, 17), fc.option(digits(0, 17), { nil: undefined }), fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '-', '+'), digits(0, 4)), { nil: undefined }))
      .map(([sign, int, frac, exp]) => `${sign}${int}${frac === undefined ? '' : `.${frac}`}${exp === undefined ? '' : exp.join('')}`);
    fc.assert(
      fc.property(fc.oneof(decimal, fc.constantFrom('1.0e-04', '3.707e-01', '9.2e-05', '0.5', '-0', '1e22', '123456789012345e7', '1.37', '0x10', 'nan', '1.')), (text) => {
        const bytes = Buffer.from(`[${text}]`, 'latin1');
        expect(Object.is(decimalAt(bytes, 1, bytes.length - 1), Number(text)), text).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('mutated bar lines (a character changed, inserted or removed anywhere): never a different reading', () => {
    const lines = logs().flatMap(([, text]) => segments(text).filter((l) => general(l) !== null)).slice(0, 400);
    const chars = fc.constantFrom(' ', ':', '|', '/', '[', ']', '<', ',', '?', '.', 'e', '-', '0', '9', 'lr: ', 'loss: ', '\x1b', '\x9b', '\u00a0', '%', 's/it', 'it/s');
    fc.assert(
      fc.property(fc.nat(lines.length - 1), fc.nat(300), fc.nat(2), chars, (which, at, how, ch) => {
        const line = lines[which]!;
        const k = Math.min(at, line.length);
        const mutated = how === 0 ? line.slice(0, k) + ch + line.slice(k + 1) : how === 1 ? line.slice(0, k) + ch + line.slice(k) : line.slice(0, k) + line.slice(k + 1);
        agree(mutated);
      }),
      { numRuns: 3000 },
    );
  });

  it('whole logs read back as bytes in chunks of 1 byte to 1 MiB: the same final state with the fast path as with every line decoded; read whole, the same as the text path', () => {
    for (const [name, text] of logs()) {
      for (const chunk of [1, 7, 64, 1000, 65536, 1 << 20]) {
        if (chunk === 1 && text.length > 200_000) continue;
        const decoded = JSON.stringify(backfillBytes(text, chunk, false));
        expect(JSON.stringify(backfillBytes(text, chunk, true)), `${name} in chunks of ${chunk} bytes`).toBe(decoded);
      }
      // In one piece the byte path and the text path read the very same segments.
      const whole = Buffer.byteLength(text) + 1;
      expect(JSON.stringify(backfillBytes(text, whole, true)), `${name} whole`).toBe(JSON.stringify(backfill(text, text.length + 1)));
    }
  });

  it('same-step redraws passed over unread: most of them on a generated log, and the same state as reading every one, in any chunks', () => {
    const reader = new LogReader();
    reader.pushBytes(Buffer.from(generated, 'utf8'), 1000);
    reader.end(1000);
    // ai-toolkit draws each step twice: every state whose very next segment draws it again at the
    // same step (the same text up to ` [`) is passed over, and no other.
    const key = (line: string) => {
      const open = line.indexOf(' [', line.indexOf('%|'));
      return line.includes('%|') && open >= 0 && !line.includes('\x1b') && line.trimEnd().endsWith(']') ? line.slice(0, open) : null;
    };
    const lines = segments(generated);
    let redrawn = 0;
    for (let i = 0; i + 1 < lines.length; i++) if (key(lines[i]!) !== null && key(lines[i]!) === key(lines[i + 1]!)) redrawn++;
    expect(redrawn).toBeGreaterThan(500);
    expect(reader.redrawsPassed).toBe(redrawn);

    // Redraws with and without what makes a state plain (no escape, `]` last), with and without
    // the `lr` the fast reader wants, other lines between them, every terminator, random chunks.
    const postfix = fc.constantFrom('lr: 1.0e-04 loss: 4.0e-01', 'lr: 1.0e-04 loss: 3.5e-01', 'loss: 4.0e-01', 'lr: 1.0e-04 loss: \x1b[1m4.0e-01\x1b[0m', '');
    const state = fc.record({
      desc: fc.constantFrom('my job', 'other', 'my job\x1b[0m'),
      n: fc.integer({ min: 1, max: 3 }),
      elapsed: fc.integer({ min: 0, max: 9 }),
      postfix,
      tail: fc.constantFrom('', '  ', ' x', ']'),
      end: fc.constantFrom('\r', '\r', '\r', '\n', '\r\n', '\r\r', ''),
      line: fc.constantFrom(null, null, null, null, 'Saving at step 2\n', '\n', 'Generating Images:  50%|█████     | 1/2 [00:01<00:01,  1.00it/s]\r'),
    });
    const draw = (s: { desc: string; n: number; elapsed: number; postfix: string; tail: string; end: string; line: string | null }) =>
      `${s.line ?? ''}${s.desc}:  10%|█         | ${s.n}/100 [00:0${s.elapsed}<00:10,  1.00it/s${s.postfix ? `, ${s.postfix}` : ''}]${s.tail}${s.end}`;
    fc.assert(
      fc.property(fc.array(state, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 400 }), (states, chunk) => {
        const text = states.map(draw).join('');
        expect(JSON.stringify(backfillBytes(text, chunk, true)), JSON.stringify(text)).toBe(JSON.stringify(backfillBytes(text, chunk, false)));
      }),
      { numRuns: 1500 },
    );
  });

  it('edge lines: a sample bar with an lr is not the training bar; a redraw that only begins like one is not passed over', () => {
    const sample = 'Generating Images:  50%|█████     | 1/2 [00:01<00:01,  1.00it/s, lr: 1.0e-04 loss: 2.0e-01]';
    expect(general(sample)).toBeNull();
    expect(fastBytes(sample)).toBeNull();
    expect(fastBytes(sample.replace('Generating Images', 'Generating Samples'))).toBeNull();
    // The same desc and step, then not the ` [` a redraw has: both states are read.
    const state = (tail: string) => `job:  50%|█████     | 1/2${tail}[00:01<00:01,  1.00it/s, lr: 1.0e-04 loss: 2.0e-01]`;
    for (const next of [state(' x'), state('  '), state(' '), state('x ')]) {
      const log = `${state(' ')}\r${next}\r${state(' ').replace('1/2', '2/2')}\n`;
      for (const chunk of [1, 5, 1000]) {
        expect(JSON.stringify(backfillBytes(log, chunk, true)), JSON.stringify(next)).toBe(JSON.stringify(backfillBytes(log, chunk, false)));
      }
      const reader = new LogReader();
      reader.pushBytes(Buffer.from(log), 1000);
      expect(reader.redrawsPassed, JSON.stringify(next)).toBe(next === state(' ') ? 1 : 0);
    }
  });

  it('a piece with more states than a pack holds (by count, and by postfix bytes): handed on in parts, the same final state', () => {
    const state = (n: number, postfix: string) => `job:  50%|█████     | ${n}/40000 [00:${String(n % 60).padStart(2, '0')}<00:01,  1.00it/s, lr: 1.0e-04 loss: ${(n % 97) / 100}${postfix}]`;
    const many = Array.from({ length: 20_000 }, (_, n) => `${state(n + 1, '')}\r${state(n + 1, '')}`).join('\r') + '\n';
    const long = Array.from({ length: 300 }, (_, n) => state(n + 1, ` note: ${'x'.repeat(5000 + n)}`)).join('\r') + '\n';
    for (const log of [many, long]) {
      const decoded = JSON.stringify(backfillBytes(log, log.length * 4, false));
      expect(JSON.stringify(backfillBytes(log, log.length * 4, true))).toBe(decoded);
      const reader = new LogReader();
      const packs = reader.pushBytes(Buffer.from(log), 1000).filter((e) => e.event.type === 'trainingSteps');
      expect(packs.length).toBeGreaterThan(1);
    }
  });

  it('packed states apply as the bar states they stand for from any run state: a loss history from loss_log.db, a frozen clock, a phase bar while training, an lr that is no number', () => {
    const state = (n: number, elapsed: string, lr: string) => `job:  50%|█████     | ${n}/20 [${elapsed}<00:01,  1.00it/s, lr: ${lr} loss: ${(n % 7) / 10}]`;
    const lines = [];
    for (let n = 1; n <= 12; n++) {
      lines.push(state(n, n < 4 ? '00:00' : `00:${String(n * 2).padStart(2, '0')}`, n === 6 ? 'inf' : n === 7 || n === 12 ? '1e999' : '1.0e-04'));
      if (n === 8) lines.push('Caching latents to disk:  50%|█████     | 1/2 [00:01<00:01,  1.00it/s]\n');
    }
    const log = lines.join('\r') + '\n';
    const prefixes: Array<[string, StampedRunEvent[]]> = [
      ['nothing', []],
      ['loss_log.db up to step 3', [{ at: 500, event: { type: 'lossBackfill', points: [1, 2, 3].map((step) => ({ step, loss: step / 10 + 0.05 })) } }]],
      ['a frozen clock', [
        { at: 500, event: { type: 'trainerProcessState', alive: true, stopped: true } },
        { at: 3000, event: { type: 'trainerProcessState', alive: true, stopped: false } },
      ]],
    ];
    for (const [what, prefix] of prefixes) {
      const read = (fastPath: boolean) => {
        const reader = new LogReader({ fastPath });
        return JSON.stringify(reduceRun(initialRunState(), [...prefix, ...reader.pushBytes(Buffer.from(log), 1000), ...reader.end(1000)]));
      };
      expect(read(true), what).toBe(read(false));
    }
  });

  it('text after bytes: what the bytes left unterminated is read first, as read back', () => {
    const log = `a line\njob:  50%|█████     | 1/9 [00:01<00:08,  1.00it/s, lr: 1.0e-04 loss: 2.5e-01]\rjob:  50%|█████     | 2/9 [00:02<00:07,  1.00it/s, lr: 1.0e-04 loss: 2.4e-01]`;
    for (let cut = 1; cut < log.length; cut += 7) {
      const reader = new LogReader();
      const bytes = Buffer.from(log.slice(0, cut), 'utf8');
      const events = [...reader.pushBytes(bytes, 1000), ...reader.push(`${log.slice(cut)}\n`, 1000, false)];
      expect(JSON.stringify(reduceRun(initialRunState(), events)), `cut at ${cut}`).toBe(JSON.stringify(backfill(`${log}\n`, log.length + 2)));
    }
  });

  it('odd bytes: CRLF and lone CRs across chunk ends, blank lines, a line longer than the cap, invalid UTF-8, NBSP and escapes in a desc', () => {
    const redraw = (n: number, elapsed: string) => `my job:  10%|█         | ${n}/100 [${elapsed}<00:10,  1.00it/s, lr: 1.0e-04 loss: 4.0e-01]`;
    const bar = (desc: string, n: number, tail = '') => `${desc}:  10%|█         | ${n}/100 [00:0${n % 10}<00:10,  1.00it/s, lr: 1.0e-04 loss: ${(0.5 - n / 1000).toExponential(3)}]${tail}`;
    const parts = [
      'Running 1 job\r\n\r\n',
      bar('my job', 1), '\r', bar('my job', 1), '\r', bar('my job', 2), '\r\n',
      'x'.repeat(70_000), '\n',
      '\n\n', bar('my job', 3), '\r', bar('my\u00a0job', 4), '\r', bar('my \x1b[1mjob', 5), '\r',
      Buffer.from([0xff, 0xfe, 0x41]).toString('latin1'), '\n',
      // Redraws of one step with terminators between them that make no segment (or an empty one).
      redraw(9, '00:09'), '\r\r', redraw(9, '00:13'), '\n\r', redraw(9, '00:17'), '\r\r\n', redraw(10, '00:18'), '\r\n\r', redraw(10, '00:25'), '\n',
      // A redraw the fast reader refuses (same key), and the same step with other cells (another key).
      redraw(11, '00:26'), '\r', 'my job:  10%|█         | 11/100 [garbage]', '\n',
      redraw(12, '00:27'), '\r', redraw(12, '00:31').replace('█         ', '█▏        '), '\n',
      // A redraw longer than a state can be (the text path cuts it into parts): the state before it counts.
      redraw(13, '00:32'), '\r', redraw(13, '00:33').replace('lr: ', `pad: ${'y'.repeat(70_000)} lr: `), '\n',
      bar('my job', 6), '\r', bar('my job', 7), '\r\r\n', bar('my job', 8),
    ];
    const text = parts.join('');
    for (const chunk of [1, 2, 3, 5, 13, 100, 4096]) {
      expect(JSON.stringify(backfillBytes(text, chunk, true)), `chunks of ${chunk}`).toBe(JSON.stringify(backfillBytes(text, chunk, false)));
    }
    expect(JSON.stringify(backfillBytes(text, 1 << 20, true))).toBe(JSON.stringify(backfill(text, text.length + 1)));
  });
});
