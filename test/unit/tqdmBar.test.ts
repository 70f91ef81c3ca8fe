import { describe, expect, it } from 'vitest';
import { parsePostfix, parseTqdmBar, parseTqdmCounter, postfixNumber } from '../../src/parse/tqdmBar.js';
import { parseInterval } from '../../src/parse/timeFields.js';
import { hasTqdm, runPythonJson } from '../helpers/python.js';

// Bar lines made by the real tqdm (Debian's python3-tqdm), never typed by hand.
const FORMAT_CASES = `
import json, sys
from tqdm import tqdm
cases = json.load(sys.stdin)
out = []
for c in cases:
    line = tqdm.format_meter(c['n'], c['total'], c['elapsed'], ncols=c.get('ncols'), prefix=c.get('desc') or '',
                             ascii=c.get('ascii', False), rate=c.get('rate'), postfix=c.get('postfix'), initial=c.get('initial', 0),
                             bar_format=c.get('barFormat'))
    rate = c.get('rate')
    if rate is None and c['elapsed'] and c['n'] - c.get('initial', 0) > 0:
        rate = (c['n'] - c.get('initial', 0)) / c['elapsed']
    inv = 1 / rate if rate else None
    unit = 's/it' if inv and inv > 1 else 'it/s'
    shown = None if not rate else float('{0:5.2f}'.format(inv if unit == 's/it' else rate))
    remaining = int((c['total'] - c['n']) / rate) if rate else None
    out.append({'line': line, 'rate': shown, 'unit': unit, 'remaining': remaining})
print(json.dumps(out))
`;

interface Case {
  n: number;
  total: number;
  elapsed: number;
  desc?: string;
  ascii?: boolean;
  ncols?: number;
  rate?: number;
  postfix?: string;
  initial?: number;
  barFormat?: string;
}

const descs = ['my_first_lora_v1', 'lokr-test-2', 'HR_Krea2', 'job with spaces v1.2', 'name: with colon', 'Caching latents to disk', ''];
const cases: Case[] = [];
for (const desc of descs) {
  for (const ascii of [false, true]) {
    for (const [n, total, elapsed, rate] of [
      [0, 3000, 0, undefined],
      [360, 3000, 323, undefined],
      [299, 3000, 644, 1 / 2.16],
      [501, 2600, 21, 1 / 303.7],
      [1199, 3000, 10144, 1 / 28.13],
      [2999, 3000, 9000, 0.99],
      [3000, 3000, 7262, 1.0],
      [20, 26, 360_000, 1 / 134.77],
      [5, 6, 1, 2566.52],
    ] as Array<[number, number, number, number | undefined]>) {
      cases.push({ n, total, elapsed, rate, desc, ascii, postfix: desc.startsWith('Caching') ? undefined : 'lr: 1.0e-04 loss: 4.123e-01' });
    }
  }
}
// Narrow terminals: 1-cell and 0-cell bars, and a postfix cut at the width.
for (const ncols of [200, 90, 80, 75, 72, 70, 66, 60]) {
  cases.push({ n: 3, total: 6, elapsed: 1, rate: 6.64, desc: 'my_job', ncols, postfix: 'lr: 1.0e-04 loss: 4.123e-01' });
}
cases.push({ n: 250, total: 3000, elapsed: 0, desc: 'resumed_run', initial: 250, postfix: undefined });
// A 0-cell bar, as a very narrow terminal (or a newer tqdm) gives.
cases.push({ n: 3, total: 6, elapsed: 1, rate: 6.64, desc: 'my_job', postfix: 'lr: 1.0e-04 loss: 4.123e-01', barFormat: '{l_bar}{bar:0}{r_bar}' });

describe.skipIf(!hasTqdm())('tqdm bar lines from the real tqdm', () => {
  const made = runPythonJson<Array<{ line: string; rate: number | null; unit: string; remaining: number | null }>>(FORMAT_CASES, cases);

  it('reads every field of every generated line', () => {
    made.forEach((out, i) => {
      const c = cases[i]!;
      const bar = parseTqdmBar(out.line);
      expect(bar, out.line).not.toBeNull();
      expect(bar!.desc, out.line).toBe(c.desc ? c.desc : null);
      expect(bar!.n, out.line).toBe(c.n);
      expect(bar!.total, out.line).toBe(c.total);
      expect(bar!.percent, out.line).toBe(Math.round((100 * c.n) / c.total));
      expect(bar!.elapsedS, out.line).toBe(Math.floor(c.elapsed));
      expect(bar!.remainingS, out.line).toBe(out.remaining);
      expect(bar!.rate, out.line).toBe(out.rate);
      expect(bar!.unit, out.line).toBe(out.unit);
      const cut = c.ncols !== undefined && !out.line.endsWith(']');
      if (c.postfix && !cut) expect(bar!.postfix, out.line).toEqual({ lr: '1.0e-04', loss: '4.123e-01' });
      if (cut) {
        // Whatever is left of a value cut at the edge is never read as a smaller number.
        if (bar!.postfix.loss !== undefined) expect(bar!.postfix.loss).toBe('4.123e-01');
        if (bar!.postfix.lr !== undefined) expect(bar!.postfix.lr).toBe('1.0e-04');
      }
    });
  });

  it('covers ASCII bars, 0- and 1-cell bars, cut postfixes and the two-space rate padding', () => {
    const lines = made.map((m) => m.line);
    expect(lines.some((l) => /\|#+\d? *\|/.test(l))).toBe(true);
    expect(lines.some((l) => /%\|.\|/.test(l))).toBe(true);
    expect(lines.some((l) => /%\|\|/.test(l))).toBe(true);
    expect(lines.some((l) => /loss: 4\.1\d*$/.test(l) || /lr: 1\.0e-0$/.test(l) || /loss: \S*$/.test(l))).toBe(true);
    expect(lines.some((l) => /,  \d\.\d\d(?:it\/s|s\/it)/.test(l))).toBe(true);
    expect(lines.some((l) => /\[100:00:00</.test(l))).toBe(true);
  });

  it('reads text glued after the closing bracket as trailing text', () => {
    const line = made[2]!.line;
    const bar = parseTqdmBar(`${line}Error running job: CUDA error: out of memory`);
    expect(bar?.trailing).toBe('Error running job: CUDA error: out of memory');
    expect(bar?.postfix.loss).toBe('4.123e-01');
  });
});

describe('tqdm bar edge cases', () => {
  it('rejects lines that only look like bars', () => {
    for (const text of ['', '%|', '100%', 'abc 12%|###| 1/2', 'x12%|##| 1/2 [00:01<00:01, 1.00it/s]', '50%|##| a/b [00:01<00:01, 1.00it/s]', '50%|##| 1/2 [garbage]']) {
      expect(parseTqdmBar(text), text).toBeNull();
    }
  });

  it('reads intervals with unbounded hours', () => {
    expect(parseInterval('00:21')).toBe(21);
    expect(parseInterval('1:37:05')).toBe(5825);
    expect(parseInterval('177:04:17')).toBe(177 * 3600 + 4 * 60 + 17);
    expect(parseInterval('1:2:3:4')).toBeNull();
    expect(parseInterval('?')).toBeNull();
  });

  it('keeps generic postfix keys and values as printed', () => {
    expect(parsePostfix('lr: 1.0e-04 loss: 4.123e-01 loss/normal: 2.000e-01 val/loss: nan', true)).toEqual({
      lr: '1.0e-04',
      loss: '4.123e-01',
      'loss/normal': '2.000e-01',
      'val/loss': 'nan',
    });
    expect(postfixNumber('nan')).toBeNaN();
    expect(postfixNumber('inf')).toBe(Infinity);
    expect(postfixNumber('9.2e-05')).toBeCloseTo(9.2e-5, 12);
    expect(postfixNumber('abc')).toBeNull();
  });

  it('reads byte and item counters without a total as counters', () => {
    expect(parseTqdmCounter('Downloading (incomplete total...): 0.00B [00:00, ?B/s]')).toEqual({
      desc: 'Downloading (incomplete total...)',
      text: '0.00B',
    });
    expect(parseTqdmCounter('Fetching 3 files [00:01, 2.50it/s]')).toBeNull();
  });
});
