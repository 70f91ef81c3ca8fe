import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRunCatalog, type RunCatalog } from '../../src/catalog/runCatalog.js';
import { listStatus, type RunsEntry } from '../../src/state/runsList.js';
import { CLI, hasSimDeps } from '../helpers/sim.js';
import { makeRunsFolder, type RunsFolder } from '../helpers/runsFolder.js';

// Many runs: a folder of runs in every status, made by the simulated trainer, and the UI's queue
// beside it, read as one list; finished runs cached between sessions; live ones followed; the JSON.

let dir: string;
let made: RunsFolder;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-runs-'));
  made = await makeRunsFolder(dir);
}, 60_000);
afterAll(async () => {
  made?.live.child.kill('SIGKILL');
  await made?.live.done;
  if (!process.env.KEEP_RUNS) fs.rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
});

function byName(entries: readonly RunsEntry[], name: string): RunsEntry {
  const found = entries.find((e) => e.name === name);
  if (!found) throw new Error(`no ${name} among ${entries.map((e) => e.name).join(', ')}`);
  return found;
}

async function loaded(options: Partial<Parameters<typeof openRunCatalog>[0]> = {}): Promise<{ catalog: RunCatalog; entries: RunsEntry[] }> {
  const catalog = openRunCatalog({ root: made.output, db: null, cacheDir: null, target: 3000, follow: false, ...options });
  await catalog.loaded;
  return { catalog, entries: catalog.entries() };
}

function cli(args: string[], cwd: string, env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(!hasSimDeps)('a folder of runs and the UI queue', () => {
  it('every run with its status, and the queue (found beside output/) with its positions and GPUs', async () => {
    const { catalog, entries } = await loaded();
    await catalog.close();
    const n = made.names;
    expect(listStatus(byName(entries, n.completed))).toBe('completed');
    expect(byName(entries, n.completed).job?.id).toBe('job-done');
    const failed = byName(entries, n.failed);
    expect(listStatus(failed)).toBe('failed');
    expect(failed.summary?.snapshot.error?.kind).toBe('oom');
    expect(listStatus(byName(entries, n.stopped))).toBe('stopped');
    const resumed = byName(entries, n.resumed);
    expect(listStatus(resumed)).toBe('completed');
    expect(resumed.summary?.snapshot.resume?.step).toBe(15);
    expect(resumed.summary?.snapshot.step).toBe(30);
    const live = byName(entries, n.live);
    expect(listStatus(live)).toBe('training');
    expect(live.job?.gpuIds).toEqual([1]);
    const q1 = byName(entries, 'eta_queued_first');
    const q2 = byName(entries, 'zeta_queued_second');
    expect([listStatus(q1), listStatus(q2)]).toEqual(['queued', 'queued']);
    expect([q1.job?.queuePosition, q2.job?.queuePosition]).toEqual([1, 2]);
    expect(q1.summary).toBeNull();
    expect(entries).toHaveLength(7);
    // Each finished run's loss curve, for the trend and the comparison.
    expect(byName(entries, n.completed).summary!.lossSeries.length).toBeGreaterThan(10);
  });

  it('lora-top DIR --once --json: {"runs": [...]}, each the single-run object plus path, and jobId, queuePosition, gpuIds for UI jobs; running first, then the queue in order', () => {
    const r = cli([made.output, '--once', '--json', '--no-gpu'], dir, { XDG_CACHE_HOME: path.join(dir, 'cache-json') });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout) as { runs: Array<Record<string, unknown>> };
    const names = parsed.runs.map((run) => run.name);
    expect(names.slice(0, 3)).toEqual([made.names.live, 'eta_queued_first', 'zeta_queued_second']);
    const live = parsed.runs[0]!;
    expect(live).toMatchObject({ status: 'training', path: path.join(made.output, made.names.live), jobId: 'job-live', gpuIds: [1], queuePosition: null });
    for (const key of ['step', 'totalSteps', 'loss', 'lossSmoothed', 'secondsPerStep', 'checkpoints', 'samples', 'lora']) expect(live).toHaveProperty(key);
    const single = JSON.parse(cli([path.join(made.output, made.names.completed), '--once', '--json', '--no-gpu'], dir).stdout) as Record<string, unknown>;
    const listed = parsed.runs.find((run) => run.name === made.names.completed)!;
    // The same object as the run's own JSON, plus where it is and its job.
    expect(Object.keys(listed).sort()).toEqual([...Object.keys(single), 'path', 'jobId', 'queuePosition', 'gpuIds', 'jobInfo', 'jobSpeed'].sort());
    expect(listed).toMatchObject({ jobInfo: 'Training completed' });
    expect(listed.step).toBe(single.step);
    expect(listed.lossSmoothed).toBe(single.lossSmoothed);
    expect(parsed.runs.find((run) => run.name === made.names.stopped)).not.toHaveProperty('jobId');
    // No PATH, in the toolkit folder: ./output holds several runs, so it is the list too.
    const here = JSON.parse(cli(['--once', '--json', '--no-gpu'], dir, { XDG_CACHE_HOME: path.join(dir, 'cache-json') }).stdout) as { runs: unknown[] };
    expect(here.runs).toHaveLength(7);
  });

  it('a folder with the UI database and no runs: its queue, each job read from the folder it writes to; the database is only read', () => {
    const elsewhere = fs.mkdtempSync(path.join(dir, 'ui-only-'));
    fs.copyFileSync(made.db, path.join(elsewhere, 'aitk_db.db'));
    const before = fs.readFileSync(path.join(elsewhere, 'aitk_db.db'));
    const r = cli(['--once', '--json', '--no-gpu'], elsewhere, { XDG_CACHE_HOME: path.join(dir, 'cache-ui') });
    expect(r.stderr).toBe('');
    const runs = (JSON.parse(r.stdout) as { runs: Array<{ name: string; status: string; jobId: string }> }).runs;
    expect(runs.map((run) => [run.name, run.status, run.jobId])).toEqual([
      [made.names.live, 'training', 'job-live'],
      ['eta_queued_first', 'queued', 'job-q1'],
      ['zeta_queued_second', 'queued', 'job-q2'],
      [made.names.completed, 'completed', 'job-done'],
    ]);
    expect(fs.readFileSync(path.join(elsewhere, 'aitk_db.db')).equals(before)).toBe(true);
    // --db names it from anywhere, beside a folder of runs.
    const named = JSON.parse(cli([made.output, '--once', '--json', '--no-gpu', '--db', path.join(elsewhere, 'aitk_db.db')], '/', { XDG_CACHE_HOME: path.join(dir, 'cache-ui') }).stdout) as { runs: unknown[] };
    expect(named.runs).toHaveLength(7);
  });

  it('finished runs are cached by their files: a second session reads no log until one changes', async () => {
    const cacheDir = path.join(dir, 'cache');
    const first = await loaded({ cacheDir });
    await first.catalog.close();
    const log = path.join(made.output, made.names.completed, 'log.txt');
    const original = fs.readFileSync(log);
    const stat = fs.statSync(log);
    // The same size and mtime, other bytes: a cached summary is not read again.
    fs.writeFileSync(log, Buffer.alloc(original.length, 0x20));
    fs.utimesSync(log, stat.atime, stat.mtime);
    try {
      const second = await loaded({ cacheDir });
      await second.catalog.close();
      expect(byName(second.entries, made.names.completed).summary?.snapshot.step).toBe(30);
      expect(fs.statSync(cacheDir).mode & 0o777).toBe(0o700);
      // The log changed (its mtime): read again, and what it says now is what the list says.
      fs.utimesSync(log, stat.atime, new Date(stat.mtimeMs + 5000));
      const third = await loaded({ cacheDir });
      await third.catalog.close();
      expect(byName(third.entries, made.names.completed).summary?.snapshot.step).toBeNull();
    } finally {
      fs.writeFileSync(log, original);
      fs.utimesSync(log, stat.atime, stat.mtime);
    }
  });

  it('a live run is followed: its step moves in the list without the list being read again', async () => {
    const catalog = openRunCatalog({ root: made.output, db: null, cacheDir: null, target: 3000, follow: true, rescanMs: 60_000 });
    try {
      await catalog.loaded;
      expect(byName(catalog.entries(), made.names.live).live).toBe(true);
      let start: number | null = null;
      const moved = await new Promise<RunsEntry>((resolve) => {
        const off = catalog.subscribe((entries) => {
          const e = byName(entries, made.names.live);
          const step = e.summary?.snapshot.step ?? null;
          start ??= step;
          if (start !== null && step !== null && step >= start + 3) {
            off();
            resolve(e);
          }
        });
      });
      expect(moved.summary!.snapshot.secondsPerStep).toBeGreaterThan(0);
      expect(byName(catalog.entries(), made.names.completed).live).toBe(false);
    } finally {
      await catalog.close();
    }
  });
});
