import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { windowStart } from '../../src/state/speed.js';

// The speed estimate's window: the newest mark (neither the last nor the oldest) that is at least
// 50 steps and 20 s of elapsed behind the last one, else the oldest. windowStart finds it without
// walking back over every mark; it must find exactly the mark a walk back finds.

function walkBack(ns: Float64Array, elapsed: Float64Array, count: number): number {
  let first = count - 2;
  while (first > 0) {
    if (ns[count - 1]! - ns[first]! >= 50 && elapsed[count - 1]! - elapsed[first]! >= 20) break;
    first--;
  }
  return first;
}

describe('the speed window', () => {
  it('is the mark a walk back from the newest finds, for marks one step apart or more, elapsed that may step back under a second, any count', () => {
    const mark = fc.record({
      steps: fc.oneof(fc.constant(1), fc.constant(1), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 200 })),
      seconds: fc.oneof(fc.double({ min: -0.99, max: 10, noNaN: true }), fc.constantFrom(0, 1, 2, 4, 30)),
    });
    fc.assert(
      fc.property(fc.array(mark, { minLength: 2, maxLength: 700 }), fc.integer({ min: 0, max: 100 }), (marks, startN) => {
        const ns = new Float64Array(marks.length);
        const elapsed = new Float64Array(marks.length);
        let n = startN;
        let e = 0;
        marks.forEach((m, i) => {
          n += m.steps;
          e = Math.max(0, e + m.seconds);
          ns[i] = n;
          elapsed[i] = e;
        });
        for (let count = 2; count <= marks.length; count++) expect(windowStart(ns, elapsed, count), `count ${count}`).toBe(walkBack(ns, elapsed, count));
      }),
      { numRuns: 300 },
    );
  });
});
