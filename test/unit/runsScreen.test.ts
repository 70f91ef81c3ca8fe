import { describe, expect, it } from 'vitest';
import { readLog, fixtureText } from '../helpers/readLog.js';
import { estimateFinish } from '../../src/state/eta.js';
import { summarizeRun, lossSeries, LOSS_SERIES_POINTS } from '../../src/state/runSummary.js';
import { joinRunsAndJobs, listStatus, silentFor, visibleEntries, type ListJob, type RunsEntry } from '../../src/state/runsList.js';
import { initialRunsUi, reduceRunsUi, type RunsUi } from '../../src/ui/runs/runsUi.js';
import { dispatchRunsKey, type RunsKeyContext } from '../../src/ui/runs/runsKeymap.js';
import { buildRunsList, fitColumns, uiSecondsPerStep } from '../../src/ui/runs/runsTable.js';
import { buildCompare } from '../../src/ui/runs/runsCompare.js';
import { renderOverlayChart, SERIES_GLYPHS } from '../../src/view/charts/index.js';
import { lineToAnsi } from '../../src/ui/ansi.js';
import { dispatchKey, footerItems, helpRows, type KeyContext } from '../../src/ui/keymap.js';
import { initialUi } from '../../src/ui/uiState.js';
import { initialRunState, type RunState } from '../../src/state/runState.js';
import type { ViewLine } from '../../src/ui/viewLine.js';

// The runs screen's pure parts: the list's statuses, order and filter; its keys; its lines at every
// size; the comparison chart; and the dashboard's keys back to the list.

const NOW = Date.parse('2026-11-28T12:00:00Z');

function stateOf(file: string): RunState {
  return readLog(fixtureText(file), NOW - 60_000).state;
}

function entry(name: string, state: RunState | null, options: { job?: Partial<ListJob>; lastLogAt?: number; live?: boolean } = {}): RunsEntry {
  const folder = `/runs/${name}`;
  return {
    key: folder,
    name,
    folder,
    summary: state ? summarizeRun(state, estimateFinish(state, NOW), { folder, logPath: `${folder}/log.txt`, lastLogAt: options.lastLogAt ?? NOW - 1000 }) : null,
    job: options.job ? { id: `job-${name}`, name, status: 'running', gpuIds: [0], step: null, totalSteps: null, info: null, speedString: null, queuePosition: null, folder, ...options.job } : null,
    live: options.live ?? false,
    problem: null,
  };
}

const training = () => stateOf('003-krea2-177h-eta.txt');
const failed = () => stateOf('011-stabilitymatrix-cuda-error-doubled-traceback.txt');
const stopped = () => ({ ...training(), status: 'stopped' as const });
const completed = () => ({ ...training(), status: 'completed' as const });

function fixtureEntries(): RunsEntry[] {
  return [
    entry('old_completed', completed(), { lastLogAt: NOW - 86_400_000 }),
    entry('new_completed', completed(), { lastLogAt: NOW - 60_000 }),
    entry('broken', failed()),
    entry('halted', stopped()),
    entry('second_in_queue', null, { job: { status: 'queued', queuePosition: 2 } }),
    entry('first_in_queue', null, { job: { status: 'queued', queuePosition: 1 } }),
    entry('training_now', training(), { live: true, job: { status: 'running', gpuIds: [0, 1] } }),
  ];
}

describe('the list of runs', () => {
  it('running first, then the queue in its order, then failed, stopped, completed (newest activity first)', () => {
    expect(visibleEntries(fixtureEntries(), 'status', '').map((e) => e.name)).toEqual([
      'training_now',
      'first_in_queue',
      'second_in_queue',
      'broken',
      'halted',
      'new_completed',
      'old_completed',
    ]);
    expect(visibleEntries(fixtureEntries(), 'name', '').map((e) => e.name)[0]).toBe('broken');
    expect(visibleEntries(fixtureEntries(), 'activity', '').map((e) => e.name).slice(-3)).toEqual(['old_completed', 'first_in_queue', 'second_in_queue']);
  });

  it('/ keeps the runs whose name holds the text, in any case', () => {
    expect(visibleEntries(fixtureEntries(), 'status', 'COMPLETED').map((e) => e.name)).toEqual(['new_completed', 'old_completed']);
    expect(visibleEntries(fixtureEntries(), 'status', 'nothing')).toEqual([]);
  });

  it('the status: the log says, unless the UI says the job ended and nothing follows it; a queued job is queued', () => {
    expect(listStatus(entry('a', null, { job: { status: 'queued' } }))).toBe('queued');
    expect(listStatus(entry('b', training(), { job: { status: 'error' } }))).toBe('failed');
    // The UI saw the process end: followed or not, the run is over.
    expect(listStatus(entry('c', training(), { job: { status: 'error' }, live: true }))).toBe('failed');
    expect(listStatus(entry('d', null, { job: { status: 'running' } }))).toBe('starting');
  });

  it('a run not over whose log has been quiet past a stall is silent: it sorts after the queue, its chip says so, it shows no ETA', () => {
    const quiet = entry('quiet_run', training(), { lastLogAt: NOW - 3 * 3600_000 });
    const entries = [...fixtureEntries(), quiet];
    expect(silentFor(quiet, NOW)).toBeGreaterThan(3 * 3600 - 1);
    expect(silentFor(entries.find((e) => e.name === 'training_now')!, NOW)).toBeNull();
    expect(visibleEntries(entries, 'status', '', NOW).map((e) => e.name).slice(0, 4)).toEqual(['training_now', 'first_in_queue', 'second_in_queue', 'quiet_run']);
    const text = plain(buildRunsList({ ctx: ctxOf(entries, initialRunsUi()), cols: 120, rows: 20, now: NOW, glyphs: 'unicode', title: 'output', queue: { db: null, problem: null } }));
    const row = text.find((line) => line.includes('quiet_run'))!;
    expect(row).toMatch(/quiet_run +silent 3h/);
    expect(row).not.toMatch(/\d+h\d\dm/);
    expect(text[1]).toMatch(/1 silent/);
    expect(uiSecondsPerStep('3.45 iter/sec')).toBeCloseTo(1 / 3.45, 6);
    expect(uiSecondsPerStep('1.20 sec/iter')).toBe(1.2);
  });

  it('folders and jobs are joined by folder; a job elsewhere is a run of its own', () => {
    const job = (id: string, folder: string | null): ListJob => ({ id, name: id, status: 'queued', gpuIds: [], step: null, totalSteps: null, info: null, speedString: null, queuePosition: 1, folder });
    const joined = joinRunsAndJobs([{ folder: '/o/a', name: 'a' }], [job('ja', '/o/a'), job('jb', '/elsewhere/b'), job('jc', null)]);
    expect(joined.map((j) => [j.key, j.job?.id ?? null])).toEqual([
      ['/o/a', 'ja'],
      ['/elsewhere/b', 'jb'],
      ['job:jc', 'jc'],
    ]);
  });

  it('the loss curve is cut to at most a few hundred points and keeps its last', () => {
    const state = training();
    const series = lossSeries(state);
    expect(series.length).toBeLessThanOrEqual(LOSS_SERIES_POINTS);
    expect(series.at(-1)![0]).toBe(state.lossHistory.points.at(-1)!.step);
  });
});

function ctxOf(entries: RunsEntry[], ui: RunsUi): RunsKeyContext {
  const visible = visibleEntries(entries, ui.sort, ui.filter);
  return { visible, ui, selected: visible.find((e) => e.key === ui.selected) ?? visible[0] ?? null, promptCount: 0 };
}

/** Presses keys in order, each against the state the one before left. */
function press(entries: RunsEntry[], keys: Array<Parameters<typeof dispatchRunsKey>[0]>, ui = initialRunsUi()) {
  const opened: string[] = [];
  let quit = false;
  for (const key of keys) {
    dispatchRunsKey(key, ctxOf(entries, ui), { ui: (a) => (ui = reduceRunsUi(ui, a)), quit: () => (quit = true), open: (e) => opened.push(e.name) }, NOW);
  }
  return { ui, opened, quit };
}

describe('the runs screen keys', () => {
  it('↓ and Enter open the second run; a queued one says it has no folder yet', () => {
    const entries = fixtureEntries();
    expect(press(entries, [{ input: '', downArrow: true }, { input: '', downArrow: true }, { input: '', downArrow: true }, { input: '', return: true }]).opened).toEqual(['broken']);
    const queued = press(entries, [{ input: 'j' }, { input: '', return: true }]);
    expect(queued.opened).toEqual([]);
    expect(queued.ui.flash?.text).toBe('Enter: first_in_queue is queued: it has no run folder yet');
  });

  it('Space marks, c compares (and says why not with nothing marked), Esc returns', () => {
    const entries = fixtureEntries();
    expect(press(entries, [{ input: 'c' }]).ui.flash?.text).toBe('c: mark runs with Space first');
    const marked = press(entries, [{ input: ' ' }, { input: 'j' }, { input: 'j' }, { input: 'j' }, { input: ' ' }, { input: 'c' }]);
    expect(marked.ui.marked).toEqual(['/runs/training_now', '/runs/broken']);
    expect(marked.ui.screen).toBe('compare');
    expect(press(entries, [{ input: '', escape: true }], marked.ui).ui.screen).toBe('list');
  });

  it('/ types a filter (Backspace erases, Enter keeps, Esc clears); s cycles the order; q quits', () => {
    const entries = fixtureEntries();
    const typed = press(entries, [{ input: '/' }, { input: 'h' }, { input: 'a' }, { input: 'x' }, { input: '', backspace: true }, { input: 'l' }, { input: '', return: true }]);
    expect(typed.ui.filter).toBe('hal');
    expect(typed.ui.editingFilter).toBe(false);
    expect(ctxOf(entries, typed.ui).visible.map((e) => e.name)).toEqual(['halted']);
    expect(press(entries, [{ input: '', escape: true }], typed.ui).ui.filter).toBe('');
    expect(press(entries, [{ input: 's' }, { input: 's' }]).ui.sort).toBe('name');
    expect(press(entries, [{ input: 'q' }]).quit).toBe(true);
  });
});

function plain(lines: ViewLine[]): string[] {
  // eslint-disable-next-line no-control-regex
  return lines.map((line) => lineToAnsi(line, 'dark').replace(/\x1b\[[0-9;]*m/g, ''));
}

describe('the runs screen lines', () => {
  it('every size from 40×10 to 300×90: exactly rows-1 lines, none wider than the screen; the selected run stays in view', () => {
    const entries = Array.from({ length: 60 }, (_, i) => entry(`run_${String(i).padStart(2, '0')}_${'x'.repeat(i % 40)}`, i % 3 === 0 ? training() : completed(), { lastLogAt: NOW - i * 1000 }));
    const ui = { ...initialRunsUi(), selected: '/runs/run_45_xxxxx' };
    for (let cols = 40; cols <= 300; cols += 13) {
      for (let rows = 10; rows <= 90; rows += 7) {
        const ctx = ctxOf(entries, ui);
        const text = plain(buildRunsList({ ctx, cols, rows, now: NOW, glyphs: 'unicode', title: '/runs', queue: { db: null, problem: null } }));
        expect(text).toHaveLength(rows - 1);
        for (const line of text) expect([...line].length, line).toBeLessThanOrEqual(cols);
        expect(text.some((line) => line.startsWith('▸') && line.includes('run_45_'))).toBe(true);
      }
    }
  });

  it('at 120 columns every column is there; at 80 the least useful ones go first', () => {
    expect(fitColumns(120).columns.map((c) => c.id)).toEqual(['status', 'step', 'bar', 'loss', 'trend', 'speed', 'eta', 'done', 'gpu', 'lora', 'age']);
    expect(fitColumns(80).columns.map((c) => c.id)).toEqual(['status', 'step', 'loss', 'trend', 'speed', 'eta', 'age']);
    const text = plain(buildRunsList({ ctx: ctxOf(fixtureEntries(), initialRunsUi()), cols: 120, rows: 20, now: NOW, glyphs: 'unicode', title: 'output', queue: { db: null, problem: null } }));
    const row = text.find((line) => line.includes('training_now'))!;
    // name, status, step/total, bar, smoothed loss, trend (this excerpt has too few points for one), s/step, ETA, done at, GPUs, lr, log age.
    expect(row).toMatch(/^▸ {2}training_now +training +501\/2600 ██░{6} +0\.0699 {12,}21\.3 12h24m \d\d:\d\d {2}0,1 9e-5 +1s$/);
    expect(text.find((line) => line.includes('first_in_queue'))).toMatch(/queued #1/);
    // A UI job not read yet says what the UI says of it.
    const loading = entry('loading_job', null, { job: { status: 'running', info: 'Loading model' } });
    const withJob = plain(buildRunsList({ ctx: ctxOf([loading], initialRunsUi()), cols: 120, rows: 8, now: NOW, glyphs: 'unicode', title: 'output', queue: { db: null, problem: null } }));
    expect(withJob.find((line) => line.includes('loading_job'))).toMatch(/starting .* Loading m…/);
    expect(text[1]).toMatch(/^7 runs · 1 running · 2 queued · 1 failed · 1 stopped · 2 completed {2}by status/);
  });
});

describe('the comparison', () => {
  it('one glyph a run, each curve in its own glyph, told apart without colour', () => {
    const a: Array<[number, number]> = Array.from({ length: 50 }, (_, i) => [i * 10, 1 - i / 100]);
    const b: Array<[number, number]> = Array.from({ length: 30 }, (_, i) => [i * 10, 0.2 + i / 200]);
    for (const glyphs of ['unicode', 'ascii'] as const) {
      const chart = renderOverlayChart([a, b], 40, 10, glyphs);
      const text = chart.lines.map((line) => line.map((c) => c.text).join(''));
      const [ga, gb] = SERIES_GLYPHS[glyphs];
      // Every column a curve covers has its glyph; b stops where its steps do (290 of 490).
      const columnsOf = (g: string) => new Set(chart.lines.flatMap((line) => line.flatMap((c, x) => (c.text === g ? [x] : []))));
      expect(columnsOf(ga!).size).toBeGreaterThanOrEqual(38);
      expect(Math.max(...columnsOf(gb!))).toBeLessThan(25);
      expect(text.every((line) => line.length === 40)).toBe(true);
      // a falls: its glyph is higher on the left than on the right.
      const rowOf = (g: string, x: number) => chart.lines.findIndex((line) => line[x]!.text === g);
      expect(rowOf(ga!, 0)).toBeLessThan(rowOf(ga!, 39));
    }
  });

  it('a legend line with each run, the chart, and under it the newest sample of the prompt side by side', () => {
    const left = entry('left_run', training());
    const right = entry('right_run', completed());
    const sample = (e: RunsEntry, step: number, index: number) => ({ step, index, path: `${e.folder}/samples/${step}_${index}.jpg`, prompt: null });
    left.summary!.snapshot.samples = [sample(left, 100, 0), sample(left, 200, 0), sample(left, 200, 1)];
    right.summary!.snapshot.samples = [sample(right, 300, 0)];
    const red = { width: 4, height: 4, channels: 3 as const, data: new Uint8Array(48).fill(0).map((_, i) => (i % 3 === 0 ? 255 : 0)) };
    const view = buildCompare({ runs: [left, right], cols: 100, rows: 40, glyphs: 'unicode', imageMode: 'truecolor', prompt: 0, images: new Map([[`${left.folder}/samples/200_0.jpg`, red]]) });
    const text = plain(view.lines);
    expect(text[1]).toMatch(/^● left_run [\d.]+ @\d+ {3}▲ right_run/);
    expect(view.promptCount).toBe(2);
    expect(view.wishes.map((w) => w.path)).toEqual([`${left.folder}/samples/200_0.jpg`, `${right.folder}/samples/300_0.jpg`]);
    expect(text.some((line) => /^▄+ +loading…/.test(line))).toBe(true);
    expect(lineToAnsi(view.lines.find((l) => plain([l])[0]!.startsWith('▄'))!, 'dark')).toContain('\x1b[38;2;255;0;0m');
    expect(text.at(-1)).toMatch(/^● step 200 +▲ step 300/);
    for (const line of text) expect([...line].length).toBeLessThanOrEqual(100);
  });
});

describe('a dashboard opened from the runs screen', () => {
  const run = initialRunState();
  const press = (key: Parameters<typeof dispatchKey>[0], ctx: Partial<KeyContext>) => {
    const went: string[] = [];
    const flashes: string[] = [];
    dispatchKey(key, { run, ui: initialUi(), ...ctx }, { ui: (a) => a.type === 'flash' && flashes.push(a.text), quit: () => {}, control: () => {}, navigate: (to) => went.push(to) }, NOW);
    return { went, flashes };
  };

  it('Esc and Backspace go back to the list; [ and ] to the run above and below, and say why not at either end', () => {
    const nav = { position: 0, count: 3 };
    expect(press({ input: '', escape: true }, { nav }).went).toEqual(['list']);
    expect(press({ input: '', backspace: true }, { nav }).went).toEqual(['list']);
    expect(press({ input: ']' }, { nav }).went).toEqual(['next']);
    expect(press({ input: '[' }, { nav }).flashes).toEqual(['[: this is the first run of the list']);
    expect(press({ input: '[' }, { nav: { position: 2, count: 3 } }).went).toEqual(['previous']);
    expect(footerItems({ run, ui: initialUi(), nav }).map((i) => i.label)).toContain('Esc');
  });

  it('a run frozen from its dashboard is not left (leaving would resume it): Esc, [ and ] say p resumes it first', () => {
    const frozen = { ...run, status: 'training' as const, control: { ...run.control, pid: 42, frozenSince: NOW - 1000 } };
    const nav = { position: 1, count: 3 };
    for (const key of [{ input: '', escape: true }, { input: '[' }, { input: ']' }]) {
      const flashes: string[] = [];
      const went: string[] = [];
      dispatchKey(key, { run: frozen, ui: initialUi(), nav }, { ui: (a) => a.type === 'flash' && flashes.push(a.text), quit: () => {}, control: () => {}, navigate: (to) => went.push(to) }, NOW);
      expect(went).toEqual([]);
      expect(flashes[0]).toMatch(/frozen from here: p resumes it first/);
    }
  });

  it('without a list the keys are not shown, and Esc is the help key as before', () => {
    const ctx = { run, ui: initialUi() };
    expect(footerItems(ctx).map((i) => i.label)).not.toContain('Esc');
    expect(helpRows(ctx).map((r) => r.help).join('\n')).not.toMatch(/list of runs|run above/);
    expect(press({ input: '', escape: true }, {}).went).toEqual([]);
  });
});

describe('the runs of several hosts', () => {
  const gpu = (index: number, used: number, total: number) => ({ index, name: 'NVIDIA GeForce RTX 4090', uuid: null, memoryUsedMiB: used, memoryTotalMiB: total, utilizationPercent: 97, temperatureC: 70, powerW: 300, powerLimitW: 450, clockMHz: 2500 });
  const hosts = [
    { host: 'gpu1', link: 'up' as const, since: NOW - 60_000, why: null, gpus: [gpu(0, 18_000, 24_564)], gpuProblem: null },
    { host: 'ubuntu@gpu2', link: 'down' as const, since: Date.parse('2026-11-28T11:02:00Z'), why: 'connection refused', gpus: [], gpuProblem: null },
    { host: 'gpu3', link: 'up' as const, since: NOW, why: null, gpus: [], gpuProblem: 'nvidia-smi not found on the host: no GPU figures' },
  ];
  const onHosts = (): RunsEntry[] => [
    { ...entry('b_on_gpu2', completed()), key: 'gpu2/b', host: 'ubuntu@gpu2' },
    { ...entry('a_on_gpu1', training(), { live: true }), key: 'gpu1/a', host: 'gpu1' },
    { ...entry('c_on_gpu1', failed()), key: 'gpu1/c', host: 'gpu1' },
  ];

  it('groups runs under their host line, in the hosts order; each line says up (GPU headroom) or unreachable since, and why', () => {
    const entries = onHosts();
    const ui = initialRunsUi();
    const visible = visibleEntries(entries, ui.sort, ui.filter, NOW, hosts.map((h) => h.host));
    expect(visible.map((e) => e.name)).toEqual(['a_on_gpu1', 'c_on_gpu1', 'b_on_gpu2']);
    const ctx = { visible, ui, selected: visible[0] ?? null, promptCount: 0 };
    const text = plain(buildRunsList({ ctx, cols: 120, rows: 20, now: NOW, glyphs: 'unicode', title: '3 hosts', queue: { db: null, problem: null }, hosts }));
    const at = (needle: string) => text.findIndex((l) => l.includes(needle));
    expect(at('── gpu1 · up')).toBeLessThan(at('a_on_gpu1'));
    expect(at('c_on_gpu1')).toBeLessThan(at('── ubuntu@gpu2'));
    expect(at('── ubuntu@gpu2')).toBeLessThan(at('b_on_gpu2'));
    expect(text[at('── gpu1 · up')]).toContain('GPU0 6.4 GiB free of 24 97%');
    expect(text[at('── gpu1 · up')]).toContain('2 runs');
    // Its run stays listed as last seen; the reason comes last, where a narrow screen cuts it.
    expect(text[at('── ubuntu@gpu2')]).toContain('unreachable since 11:02 · 1 run as last seen · connection refused');
    // A host with no run yet still has its line.
    expect(text[at('── gpu3')]).toMatch(/up · nvidia-smi not found on the host: no GPU figures · 0 runs/);
    for (const cols of [40, 80, 200]) for (const line of plain(buildRunsList({ ctx, cols, rows: 24, now: NOW, glyphs: 'unicode', title: 'h', queue: { db: null, problem: null }, hosts }))) expect([...line].length).toBeLessThanOrEqual(cols);
  });

  it('keeps the selected run in view among host lines', () => {
    const many: RunsEntry[] = Array.from({ length: 30 }, (_, i) => ({ ...entry(`run_${String(i).padStart(2, '0')}`, completed()), key: `k${i}`, host: i < 15 ? 'gpu1' : 'gpu3' }));
    const ui = { ...initialRunsUi(), sort: 'name' as const };
    const visible = visibleEntries(many, ui.sort, ui.filter, NOW, hosts.map((h) => h.host));
    const ctx = { visible, ui, selected: visible[29]!, promptCount: 0 };
    const text = plain(buildRunsList({ ctx, cols: 100, rows: 12, now: NOW, glyphs: 'unicode', title: 'h', queue: { db: null, problem: null }, hosts }));
    expect(text.some((l) => l.includes('run_29'))).toBe(true);
  });
});
