import { describe, expect, it } from 'vitest';
import { LogReader } from '../../src/parse/logReader.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState } from '../../src/state/runState.js';
import { estimateFinish } from '../../src/state/eta.js';
import { jsonSnapshot, textSnapshot } from '../../src/view/snapshot.js';

// Inputs the benchmark's long fuzz run (bench/fuzz.js, seed 20260007) found, shrunk to a line each.
function read(text: string) {
  const reader = new LogReader();
  const now = Date.parse('2026-11-28T12:00:00Z');
  const state = reduceRun(initialRunState(), [...reader.push(text, now, false), ...reader.end(now)]);
  const eta = estimateFinish(state, now, 3000);
  return { state, eta, json: jsonSnapshot(state, eta), text: textSnapshot(state, eta, now) };
}

describe('numbers no run can print', () => {
  it('a rate of 4294496729 s/it gives no ETA rather than a date past the calendar (it threw in --json)', () => {
    const { eta, json, text } = read('1%||5/2600[2<0,4294496729s/it,lr: 9.2e-05\n');
    expect(eta.etaSeconds).toBeNull();
    expect(json.finishAt).toBeNull();
    expect(text).not.toMatch(/NaN/);
  });

  it('a rate of 10^300 is not a bar state', () => {
    const { state, json } = read(`0%||9/300[9<4,${'9'.repeat(300)}s/it,lr: 2\n`);
    expect(state.step).toBeNull();
    expect(json.etaSeconds).toBeNull();
  });

  it('lr: inf and nan are not a learning rate', () => {
    for (const lr of ['inf', '-1e309', 'nan']) {
      const { state, json } = read(`run:   0%|          | 9/100 [00:09<01:31,  1.00s/it, lr: ${lr} loss: 1.0e-01]\n`);
      expect(state.step).toBe(9);
      expect(state.lr).toBeNull();
      expect(json.lr).toBeNull();
    }
  });

  it('a rank of 10^300 and a step past 2^53 are dropped, not carried on as Infinity', () => {
    const rank = read(`create LoRA network. base dim (rank): ${'9'.repeat(300)}, alpha: 6\n`);
    expect(rank.state.lora).toBeNull();
    expect(rank.text).not.toMatch(/Infinity|e\+/);
    const step = read('Saving at step 30000000000000000\n');
    expect(step.state.step).toBeNull();
    expect(step.state.phase).toBeNull();
  });
});
