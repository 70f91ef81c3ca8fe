import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Segment, SegmentSplitter } from '../../src/parse/segmentSplitter.js';

interface Piece {
  text: string;
  truncated: boolean;
}

/** Pushes every chunk, then ends; returns all segments in order (provisional ones included). */
function run(chunks: string[], max?: number): Segment[] {
  const sp = new SegmentSplitter(max);
  const out: Segment[] = [];
  for (const c of chunks) out.push(...sp.push(c));
  out.push(...sp.end());
  return out;
}

function finals(chunks: string[], max?: number): Piece[] {
  return run(chunks, max)
    .filter((s) => s.final)
    .map(({ text, truncated }) => ({ text, truncated }));
}

function texts(chunks: string[], max?: number): string[] {
  return finals(chunks, max).map((p) => p.text);
}

/**
 * Reference model, written the slow and obvious way: one pass over the whole text, one character
 * at a time, with the documented empty-segment rule and the cap.
 */
function model(input: string, max = 64 * 1024): Piece[] {
  const out: Piece[] = [];
  let prevLoneCR = false;
  let cur = '';
  const emit = (text: string): void => {
    let from = 0;
    while (text.length - from > max) {
      let to = from + max;
      const c = text.charCodeAt(to - 1);
      if (c >= 0xd800 && c <= 0xdbff && max > 1) to--;
      out.push({ text: text.slice(from, to), truncated: true });
      from = to;
    }
    out.push({ text: text.slice(from), truncated: false });
  };
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    if (ch === '\n' || ch === '\r') {
      const crlf = ch === '\r' && input[i + 1] === '\n';
      const lineFeed = ch === '\n' || crlf;
      if (cur.length > 0) emit(cur);
      else if (lineFeed && !prevLoneCR) out.push({ text: '', truncated: false });
      cur = '';
      prevLoneCR = !lineFeed;
      if (crlf) i++;
    } else {
      cur += ch;
    }
  }
  if (cur.length > 0) emit(cur);
  return out;
}

/** Every way to cut `s` into chunks at the given cut points. */
function chunk(s: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(s.length, c))))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(s.slice(prev, p));
    prev = p;
  }
  out.push(s.slice(prev));
  return out;
}

describe('SegmentSplitter: terminators', () => {
  const cases: Array<[string, string[]]> = [
    ['', []],
    ['a', ['a']],
    ['a\n', ['a']],
    ['a\r', ['a']],
    ['a\r\n', ['a']],
    ['a\nb', ['a', 'b']],
    ['a\rb', ['a', 'b']],
    ['a\r\nb', ['a', 'b']],
    // blank lines are kept
    ['a\n\nb', ['a', '', 'b']],
    ['a\r\n\r\nb', ['a', '', 'b']],
    ['a\n\r\nb', ['a', '', 'b']],
    ['a\r\n\nb', ['a', '', 'b']],
    ['a\n\n\nb', ['a', '', '', 'b']],
    ['\n', ['']],
    ['\r\n', ['']],
    ['\n\n', ['', '']],
    ['\nb', ['', 'b']],
    // empty segments after a lone CR, or ended by a lone CR, are dropped
    ['a\r\rb', ['a', 'b']],
    ['a\r\r\rb', ['a', 'b']],
    ['a\r\r\nb', ['a', 'b']],
    ['a\r\r\r\nb', ['a', 'b']],
    ['a\n\rb', ['a', 'b']],
    ['a\r\n\rb', ['a', 'b']],
    ['a\r\n\r\rb', ['a', 'b']],
    ['\r', []],
    ['\r\r', []],
    ['\rb', ['b']],
    ['\r\n\r', ['']],
    ['\n\r\n', ['', '']],
    ['a\r\r\r\n\n', ['a', '']],
    ['a\r\r\n\r\nb', ['a', '', 'b']],
    ['\n\r', ['']],
    ['a\n\r\r\n\nb', ['a', '', 'b']],
    // non-empty whitespace segments are kept (tqdm leave=False wipe)
    ['bar 1/2\r       \rnext\n', ['bar 1/2', '       ', 'next']],
    // tqdm: redraws, close with \n, then a message starting with \n, then a new bar
    [
      '\rjob:   0%|          | 0/3\rjob:  33%|###3      | 1/3\n\nSaving at step 1\n\rjob:  67%|######6   | 2/3',
      ['job:   0%|          | 0/3', 'job:  33%|###3      | 1/3', '', 'Saving at step 1', 'job:  67%|######6   | 2/3'],
    ],
    // glued message (old ai-toolkit)
    ['\rbar 4.073e+00]Error running job: CUDA error\n', ['bar 4.073e+00]Error running job: CUDA error']],
  ];
  it.each(cases)('%j', (input, expected) => {
    expect(texts([input])).toEqual(expected);
    expect(model(input).map((p) => p.text)).toEqual(expected);
  });

  it('gives the same segments for every single chunk boundary of every case', () => {
    for (const [input, expected] of cases) {
      for (let i = 0; i <= input.length; i++) {
        expect(texts([input.slice(0, i), input.slice(i)]), `${JSON.stringify(input)} cut at ${i}`).toEqual(expected);
      }
      expect(texts([...input]), `${JSON.stringify(input)} one char at a time`).toEqual(expected);
    }
  });

  it('counts a CRLF split across chunks as one terminator', () => {
    expect(texts(['a\r', '\nb'])).toEqual(['a', 'b']);
    expect(texts(['a\r', '\n', '\nb'])).toEqual(['a', '', 'b']);
    expect(texts(['a\n\r', '\nb'])).toEqual(['a', '', 'b']);
    expect(texts(['a\r\r', '\nb'])).toEqual(['a', 'b']);
    expect(texts(['\r', '\n'])).toEqual(['']);
    expect(texts(['a\r', '', '\nb'])).toEqual(['a', 'b']); // an empty push changes nothing
  });

  it('emits the segment before a chunk-final \\r at once, without waiting for the next chunk', () => {
    const sp = new SegmentSplitter();
    expect(sp.push('state 1\r')).toEqual([{ text: 'state 1', final: true, truncated: false }]);
    expect(sp.push('\n')).toEqual([]);
    expect(sp.push('x')).toEqual([{ text: 'x', final: false, truncated: false }]);
  });

  it('agrees with the reference model on every 1-, 2- and 3-chunk split of a sample', () => {
    const sample = 'ab\r\ncd\r\r\nx\n\n\ry\r\rz é😀\r\n\n\rw';
    const expected = model(sample);
    for (let i = 0; i <= sample.length; i++) {
      for (let j = i; j <= sample.length; j++) {
        expect(finals(chunk(sample, [i, j])), `cuts ${i},${j}`).toEqual(expected);
      }
    }
  });
});

describe('SegmentSplitter: provisional tail', () => {
  it('reports the unterminated tail after the completed segments', () => {
    const sp = new SegmentSplitter();
    expect(sp.push('a\nb\rpart')).toEqual([
      { text: 'a', final: true, truncated: false },
      { text: 'b', final: true, truncated: false },
      { text: 'part', final: false, truncated: false },
    ]);
    expect(sp.push('ial')).toEqual([{ text: 'partial', final: false, truncated: false }]);
    expect(sp.push('\rnext')).toEqual([
      { text: 'partial', final: true, truncated: false },
      { text: 'next', final: false, truncated: false },
    ]);
    expect(sp.end()).toEqual([{ text: 'next', final: true, truncated: false }]);
    expect(sp.end()).toEqual([]);
  });

  it('follows tqdm redraws: each "\\r"-led write shows up as the new provisional tail', () => {
    const sp = new SegmentSplitter();
    expect(sp.push('\rjob:  10%|#         | 1/10  ')).toEqual([
      { text: 'job:  10%|#         | 1/10  ', final: false, truncated: false },
    ]);
    expect(sp.push('\rjob:  20%|##        | 2/10  ')).toEqual([
      { text: 'job:  10%|#         | 1/10  ', final: true, truncated: false },
      { text: 'job:  20%|##        | 2/10  ', final: false, truncated: false },
    ]);
  });

  it('does not repeat an unchanged tail, but reports an equal tail of a new segment', () => {
    const sp = new SegmentSplitter();
    expect(sp.push('abc')).toHaveLength(1);
    expect(sp.push('')).toEqual([]);
    expect(sp.push('\r')).toEqual([{ text: 'abc', final: true, truncated: false }]);
    expect(sp.push('abc')).toEqual([{ text: 'abc', final: false, truncated: false }]);
    expect(sp.push('\r\n')).toEqual([{ text: 'abc', final: true, truncated: false }]);
  });

  it('reports no provisional segment when the chunk ends with a terminator', () => {
    const sp = new SegmentSplitter();
    expect(sp.push('a\n').every((s) => s.final)).toBe(true);
    expect(sp.push('b\r').every((s) => s.final)).toBe(true);
  });

  it('reset() forgets the tail and the pending \\r', () => {
    const sp = new SegmentSplitter();
    sp.push('old tail\r');
    sp.reset();
    expect(sp.push('\nnew')).toEqual([
      { text: '', final: true, truncated: false },
      { text: 'new', final: false, truncated: false },
    ]);
    sp.reset();
    expect(sp.end()).toEqual([]);
    sp.push('abc');
    sp.reset();
    expect(sp.push('abc')).toEqual([{ text: 'abc', final: false, truncated: false }]);
  });

  it('rejects a bad cap', () => {
    expect(() => new SegmentSplitter(0)).toThrow(RangeError);
    expect(() => new SegmentSplitter(1.5)).toThrow(RangeError);
  });
});

describe('SegmentSplitter: cap', () => {
  it('does not cut a segment of exactly the cap', () => {
    expect(finals(['abcd\n'], 4)).toEqual([{ text: 'abcd', truncated: false }]);
    expect(finals(['ab', 'cd', '\n'], 4)).toEqual([{ text: 'abcd', truncated: false }]);
  });

  it('cuts a segment longer than the cap into truncated pieces, in order', () => {
    const expected = [
      { text: 'abcd', truncated: true },
      { text: 'efgh', truncated: true },
      { text: 'ij', truncated: false },
      { text: 'k', truncated: false },
    ];
    expect(finals(['abcdefghij\rk'], 4)).toEqual(expected);
    expect(finals(['abc', 'defghi', 'j', '\r', 'k'], 4)).toEqual(expected);
    expect(finals([...'abcdefghij\rk'], 4)).toEqual(expected);
  });

  it('cuts the tail as soon as it grows past the cap', () => {
    const sp = new SegmentSplitter(4);
    expect(sp.push('abcd')).toEqual([{ text: 'abcd', final: false, truncated: false }]);
    expect(sp.push('e')).toEqual([
      { text: 'abcd', final: true, truncated: true },
      { text: 'e', final: false, truncated: false },
    ]);
  });

  it('never cuts a surrogate pair (unless the cap is 1)', () => {
    const s = 'abc😀def\n';
    const p = finals([s], 4);
    expect(p.map((x) => x.text)).toEqual(['abc', '😀de', 'f']);
    expect(p.map((x) => x.truncated)).toEqual([true, true, false]);
    for (let i = 0; i <= s.length; i++) expect(finals([s.slice(0, i), s.slice(i)], 4)).toEqual(p);
    expect(finals(['😀\n'], 1).map((x) => x.text.length)).toEqual([1, 1]);
  });

  it('uses bounded memory on a huge input with no terminator', () => {
    const max = 1000;
    const sp = new SegmentSplitter(max);
    const block = 'x'.repeat(4096);
    let total = 0;
    for (let i = 0; i < 5000; i++) {
      // 20 MB in all
      for (const seg of sp.push(block)) {
        expect(seg.text.length).toBeLessThanOrEqual(max);
        if (seg.final) {
          expect(seg.truncated).toBe(true);
          total += seg.text.length;
        }
      }
    }
    for (const seg of sp.end()) total += seg.text.length;
    expect(total).toBe(5000 * 4096);
  });

  it('default cap is 64 KiB', () => {
    const p = finals(['y'.repeat(64 * 1024 + 1)]);
    expect(p.map((x) => [x.text.length, x.truncated])).toEqual([
      [64 * 1024, true],
      [1, false],
    ]);
  });
});

describe('SegmentSplitter: properties', () => {
  const unit = fc.constantFrom('a', 'b', ' ', '\r', '\n', '\r', '\n', 'é', '😀', '|');
  const input = fc.string({ unit, maxLength: 80 });
  const cutsArb = fc.array(fc.nat({ max: 160 }), { maxLength: 12 });

  it('final segments are independent of chunking and match the reference model', () => {
    fc.assert(
      fc.property(input, cutsArb, fc.integer({ min: 1, max: 12 }), (s, cuts, max) => {
        const expected = model(s, max);
        expect(finals(chunk(s, cuts), max)).toEqual(expected);
        expect(finals([s], max)).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('joining the final segments gives the input without its terminators', () => {
    fc.assert(
      fc.property(input, cutsArb, (s, cuts) => {
        expect(texts(chunk(s, cuts)).join('')).toBe(s.replace(/[\r\n]/g, ''));
      }),
      { numRuns: 2000 },
    );
  });

  it('provisional segments: at most one per push, last, non-empty, a prefix of the next final', () => {
    fc.assert(
      fc.property(input, cutsArb, fc.integer({ min: 1, max: 12 }), (s, cuts, max) => {
        const sp = new SegmentSplitter(max);
        let pendingProvisional: string | null = null;
        const check = (segs: Segment[], isEnd: boolean): void => {
          segs.forEach((seg, idx) => {
            if (!seg.final) {
              expect(isEnd).toBe(false);
              expect(idx).toBe(segs.length - 1);
              expect(seg.text.length).toBeGreaterThan(0);
              expect(seg.text.length).toBeLessThanOrEqual(max);
              expect(seg.truncated).toBe(false);
              if (pendingProvisional !== null) expect(seg.text).not.toBe(pendingProvisional);
              pendingProvisional = seg.text;
            } else {
              expect(seg.text.length).toBeLessThanOrEqual(max);
              if (pendingProvisional !== null) {
                expect(seg.text.startsWith(pendingProvisional)).toBe(true);
                pendingProvisional = null;
              }
            }
          });
        };
        for (const c of chunk(s, cuts)) check(sp.push(c), false);
        check(sp.end(), true);
        expect(pendingProvisional).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });
});

describe('SegmentSplitter: real tqdm output', () => {
  let out: string | null = null;
  try {
    out = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        [
          'import sys, tqdm',
          'bar = tqdm.tqdm(total=5, desc="my_lora", file=sys.stdout, leave=True, mininterval=0, ascii=True)',
          'for i in range(5):',
          '    bar.set_postfix_str(f"lr: 1.0e-04 loss: {i}.000e-01")',
          '    bar.update(1)',
          '    if i == 2: print("\\nSaving at step 3", flush=True)',
          'bar.close()',
          'w = tqdm.tqdm(total=2, desc="Generating Images", file=sys.stdout, leave=False, mininterval=0)',
          'w.update(2); w.close()',
          'print("done")',
        ].join('\n'),
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
  } catch {
    out = null;
  }

  it.skipIf(out === null)('splits every bar state into its own segment, for any chunking', () => {
    const s = out!;
    const expected = texts([s]);
    const states = expected.filter((t) => /^my_lora: +\d+%\|/.test(t));
    expect(states.length).toBeGreaterThanOrEqual(6);
    expect(states.at(-1)).toMatch(/5\/5/);
    expect(expected).toContain('Saving at step 3');
    expect(expected.at(-1)).toBe('done');
    // the leave=False wipe leaves a line of spaces, never an empty segment from "\r\r"
    expect(expected.some((t) => t.length > 0 && t.trim() === '')).toBe(true);
    for (let size = 1; size < 40; size += 3) {
      const parts: string[] = [];
      for (let i = 0; i < s.length; i += size) parts.push(s.slice(i, i + size));
      expect(texts(parts)).toEqual(expected);
    }
  });
});
