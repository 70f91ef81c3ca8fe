import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, hasSimDeps } from '../helpers/sim.js';
import { hasTmux, startTmux, type Tmux } from '../helpers/tmux.js';
import { makeRunsFolder, type RunsFolder } from '../helpers/runsFolder.js';

// The runs screen in a real terminal (tmux, 120×40) over a toolkit folder made by the simulated
// trainer: the list in its order, sorting, the filter, a run opened and left, the next and previous
// runs, the comparison (one curve a marked run), and q, which leaves the live run training.

let dir: string;
let made: RunsFolder;
let t: Tmux | null = null;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-runs-tmux-'));
  made = await makeRunsFolder(dir);
}, 60_000);
afterAll(async () => {
  t?.kill();
  made?.live.child.kill('SIGKILL');
  await made?.live.done;
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The names of the runs in the list, top to bottom. */
function listed(screen: string): string[] {
  return screen.split('\n').flatMap((line) => {
    const match = /^[▸ ][● ] (\S+)/.exec(line);
    return match && !line.startsWith('   run ') ? [match[1]!] : [];
  });
}

describe.skipIf(!hasTmux || !hasSimDeps)('the runs screen in tmux', () => {
  it('lists, sorts, filters, opens a run and comes back, steps to the next run, compares marked runs, and quits leaving the runs alone', async () => {
    t = startTmux(dir, 120, 40, { XDG_CACHE_HOME: path.join(dir, 'cache') });
    await t.waitFor((s) => s.includes('PROMPT$'));
    t.type(`node ${CLI} --no-gpu; echo "EXIT=$?"`);
    t.send('Enter');
    const n = made.names;
    const first = await t.waitFor((s) => listed(s).length === 7 && /epsilon_live +training/.test(s) && !s.includes('reading…'));
    expect(listed(first)).toEqual([n.live, 'eta_queued_first', 'zeta_queued_second', n.failed, n.stopped, n.resumed, n.completed]);
    expect(first).toMatch(/7 runs · 1 running · 2 queued · 1 failed · 1 stopped · 2 completed {2}by status/);
    expect(first).toMatch(/eta_queued_first +queued #1/);
    expect(first).toMatch(/beta_oom +failed +11\/30/);

    // s: by activity, then by name.
    t.send('s');
    await t.waitFor((s) => s.includes('by activity'));
    t.send('s');
    const byName = await t.waitFor((s) => s.includes('by name'));
    expect(listed(byName)).toEqual([n.completed, n.failed, n.resumed, n.live, 'eta_queued_first', n.stopped, 'zeta_queued_second']);

    // /: only the runs whose name holds the text; Esc shows them all again.
    t.send('/');
    await t.waitFor((s) => s.includes('filter: ▏'));
    t.type('gam');
    await t.waitFor((s) => s.includes('filter: gam'));
    t.send('Enter');
    const filtered = await t.waitFor((s) => listed(s).length === 1);
    expect(listed(filtered)).toEqual([n.stopped]);
    t.send('Escape');
    await t.waitFor((s) => listed(s).length === 7);

    // Enter opens the selected run (by name, the first: alpha_r16); ] goes on to the next one; Backspace comes back.
    t.send('Enter');
    const opened = await t.waitFor((s) => /1\/5 +alpha_r16 +COMPLETED/.test(s));
    expect(opened).toMatch(/Esc runs/);
    t.send(']');
    await t.waitFor((s) => /2\/5 +beta_oom +FAILED/.test(s));
    t.send('[');
    await t.waitFor((s) => /1\/5 +alpha_r16 +COMPLETED/.test(s));
    t.send('BSpace');
    await t.waitFor((s) => listed(s).length === 7 && s.includes('by name'));

    // Space marks the selected run; ↓ moves; c compares: a legend and a curve for each marked run.
    t.send(' ');
    await t.waitFor((s) => /^▸● alpha_r16/m.test(s));
    t.send('Down');
    await t.waitFor((s) => /^▸  beta_oom/m.test(s));
    t.send(' ');
    await t.waitFor((s) => s.includes('2 marked'));
    t.send('c');
    const compare = await t.waitFor((s) => s.includes('── Compare · 2 runs'));
    expect(compare).toMatch(/● alpha_r16 [\d.]+ @30 +▲ beta_oom [\d.]+ @1\d/);
    const chart = compare.split('\n').filter((line) => /┤/.test(line));
    expect(chart.length).toBeGreaterThan(5);
    expect(chart.some((line) => line.includes('●'))).toBe(true);
    expect(chart.some((line) => line.includes('▲'))).toBe(true);
    expect(compare).toMatch(/newest sample of prompt 1 of 2/);
    t.send('Escape');
    await t.waitFor((s) => listed(s).length === 7);

    t.send('q');
    await t.waitFor((s) => s.includes('EXIT=0'));
    // Quitting touches no run: the live trainer still writes its log.
    const size = fs.statSync(path.join(made.output, n.live, 'log.txt')).size;
    expect(made.live.child.exitCode).toBeNull();
    await new Promise<void>((resolve) => {
      const watcher = fs.watch(path.join(made.output, n.live, 'log.txt'), () => {
        if (fs.statSync(path.join(made.output, n.live, 'log.txt')).size > size) {
          watcher.close();
          resolve();
        }
      });
    });
  }, 90_000);
});
