import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, hasSimDeps, startSim, writeSimConfig, type SimRun } from '../helpers/sim.js';
import { makeRunsFolder } from '../helpers/runsFolder.js';
import { sshUnavailable, startSshd, type PrivateSshd } from '../helpers/sshd.js';
import { hasTmux, startTmux } from '../helpers/tmux.js';
import { until } from '../helpers/until.js';
import { parsePromText } from '../helpers/promText.js';

// lora-top's command line over SSH, end to end: two hosts (two sshd on two ports, named in one
// ssh_config that --ssh-command points at) on one runs screen in tmux, a folder of remote runs as
// JSON beside the same folder read locally, the metrics endpoint scraped and parsed strictly, and
// no ssh process left behind however lora-top ends (q, or SIGKILL).

let dir: string;
let boxA: PrivateSshd | null = null;
let boxB: PrivateSshd | null = null;
let sshCommand: string;
let outputA: string;
let outputB: string;
let live: SimRun | null = null;

const FAST = ['--step-time', '0.004', '--load-time', '0.02', '--sample-time', '0.005', '--save-time', '0.005'];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-remote-cli-'));
  if (sshUnavailable || !hasSimDeps) return;
  [boxA, boxB] = await Promise.all([startSshd(), startSshd()]);
  const config = path.join(dir, 'ssh_config');
  // downbox: a host nothing answers on (a port on 127.0.0.1 that refuses).
  fs.writeFileSync(config, [fs.readFileSync(boxA.configFile('box1'), 'utf8'), fs.readFileSync(boxB.configFile('box2'), 'utf8'), 'Host downbox\n  HostName 127.0.0.1\n  Port 1\n'].join('\n'));
  sshCommand = `ssh -F ${config}`;
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  fs.mkdirSync(a);
  fs.mkdirSync(b);
  const jobs = [writeSimConfig(a, { name: 'alpha_done', steps: 30 }), writeSimConfig(a, { name: 'beta_done', steps: 20 }), writeSimConfig(b, { name: 'gamma_done', steps: 25 })];
  await Promise.all(jobs.map((j) => startSim(j.configPath, path.join(j.folder, 'log.txt'), FAST).done));
  const liveJob = writeSimConfig(b, { name: 'delta_live', steps: 100_000, saveEvery: 1000, sampleEvery: 1000 });
  live = startSim(liveJob.configPath, path.join(liveJob.folder, 'log.txt'), ['--step-time', '0.1', '--load-time', '0.02']);
  outputA = path.join(a, 'output');
  outputB = path.join(b, 'output');
}, 60_000);
afterAll(async () => {
  live?.child.kill('SIGKILL');
  await live?.done;
  await boxA?.stop();
  await boxB?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Processes whose command line names a lora-top ControlMaster folder and this test's ssh_config: ssh clients and masters of ours (not another lora-top's on this machine). */
function oursLeft(): string[] {
  const left: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (argv.includes('lora-top-ssh-') && argv.includes(dir) && !argv.includes('vitest')) left.push(`${entry}: ${argv.replace(/\0/g, ' ').slice(0, 120)}`);
    } catch {
      // gone
    }
  }
  return left;
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LORA_TOP_SSH_COMMAND: sshCommand } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(sshUnavailable !== null || !hasSimDeps)(`lora-top over SSH${sshUnavailable ? ` (skipped: ${sshUnavailable})` : ''}`, () => {
  it('a folder of remote runs as JSON is the same folder read locally, each run with its host', () => {
    const remote = cli([`box1:${outputA}`, '--once', '--json']);
    expect(remote.stderr).toBe('');
    expect(remote.code).toBe(0);
    const local = cli([outputA, '--once', '--json']);
    const strip = (runs: Array<Record<string, unknown>>) => runs.map(({ host: _host, finishAt: _f, ...rest }) => rest);
    const remoteRuns = (JSON.parse(remote.stdout) as { runs: Array<Record<string, unknown>> }).runs;
    expect(remoteRuns.map((r) => r.host)).toEqual(['box1', 'box1']);
    expect(strip(remoteRuns)).toEqual(strip((JSON.parse(local.stdout) as { runs: Array<Record<string, unknown>> }).runs));
  }, 60_000);

  it("the UI's queue on another host (aitk_db.db beside its output/): the same jobs, positions and GPUs as read on that host itself", async () => {
    const toolkit = path.join(dir, 'ui-toolkit');
    fs.mkdirSync(toolkit);
    const made = await makeRunsFolder(toolkit);
    try {
      const before = fs.readFileSync(made.db);
      const strip = (runs: Array<Record<string, unknown>>) => runs.map(({ host: _host, finishAt: _f, ...rest }) => rest);
      const remote = cli([`box1:${made.output}`, '--once', '--json', '--no-gpu']);
      expect(remote.stderr).toBe('');
      expect(remote.code).toBe(0);
      const here = spawnSync(process.execPath, [CLI, made.output, '--once', '--json', '--no-gpu'], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache-ui-here') } });
      const remoteRuns = (JSON.parse(remote.stdout) as { runs: Array<Record<string, unknown>> }).runs.filter((r) => r.host === 'box1');
      const localRuns = (JSON.parse(here.stdout) as { runs: Array<Record<string, unknown>> }).runs;
      const live = (runs: Array<Record<string, unknown>>) => runs.filter((r) => r.status !== 'training');
      // The live run moves on between the two reads: compared apart from it.
      expect(strip(live(remoteRuns))).toEqual(strip(live(localRuns)));
      expect(remoteRuns.filter((r) => r.status === 'queued').map((r) => [r.name, r.queuePosition])).toEqual([['eta_queued_first', 1], ['zeta_queued_second', 2]]);
      expect(remoteRuns.find((r) => r.name === made.names.live)).toMatchObject({ status: 'training', jobId: 'job-live', gpuIds: [1] });
      // Read-only: the UI's database is byte for byte what it was.
      expect(fs.readFileSync(made.db).equals(before)).toBe(true);
    } finally {
      made.live.child.kill('SIGKILL');
      await made.live.done;
    }
  }, 120_000);

  it('--once over hosts: a line a run with its host, grouped; a host that cannot be reached says why and makes the exit status 3', () => {
    const text = cli([`box1:${outputA}`, `box2:${outputB}`, 'downbox:/x', '--once']);
    expect(text.code).toBe(3);
    const lines = text.stdout.trim().split('\n');
    expect(lines.map((l) => l.split('  ')[0])).toEqual(['box1', 'box1', 'box2', 'box2', 'downbox']);
    expect(lines.find((l) => l.startsWith('box2  delta_live  [training]'))).toBeDefined();
    expect(lines.at(-1)).toBe('downbox  /x  [unreadable]  (downbox: connection refused)');
    const json = cli([`box1:${outputA}`, 'downbox:/x', '--once', '--json']);
    expect(json.code).toBe(3);
    const runs = (JSON.parse(json.stdout) as { runs: Array<{ host: string; status: string; problem?: string }> }).runs;
    expect(runs.find((r) => r.host === 'downbox')).toMatchObject({ status: 'unreadable', problem: 'downbox: connection refused' });
    expect(runs.filter((r) => r.host === 'box1').map((r) => r.status)).toEqual(['completed', 'completed']);
  }, 60_000);

  it.skipIf(!hasTmux)('two hosts on one screen, grouped by host; a remote run opens and comes back; q leaves no ssh behind', async () => {
    const t = startTmux(dir, 120, 40, { LORA_TOP_SSH_COMMAND: sshCommand });
    try {
      await t.waitFor((s) => s.includes('PROMPT$'));
      t.type(`node ${CLI} box1:${outputA} box2:${outputB} --no-gpu; echo "EXIT=$?"`);
      t.send('Enter');
      const list = await t.waitFor((s) => /box1 · up/.test(s) && /box2 · up/.test(s) && s.includes('delta_live') && s.includes('gamma_done') && s.includes('alpha_done'), 40_000);
      // Each host's runs under its line.
      const lines = list.split('\n');
      const at = (text: string) => lines.findIndex((l) => l.includes(text));
      expect(at('box1 · up')).toBeLessThan(at('alpha_done'));
      expect(at('alpha_done')).toBeLessThan(at('box2 · up'));
      expect(at('box2 · up')).toBeLessThan(at('delta_live'));
      expect(lines[at('box1 · up')]).toContain('2 runs');
      // Open the live run on box2.
      // One step at a time: each Down waits for the selection to move (keys sent at once overshoot).
      const selected = (s: string) => /▸ +(\S+)/.exec(s)?.[1] ?? null;
      for (let i = 0; i < 6 && selected(t.screen()) !== 'delta_live'; i++) {
        const before = selected(t.screen());
        t.send('Down');
        await t.waitFor((s) => selected(s) !== before);
      }
      await t.waitFor((s) => /▸.*delta_live/.test(s));
      t.send('Enter');
      await t.waitFor((s) => /delta_live +TRAINING/.test(s) && /step \d+\/100000/.test(s), 30_000);
      t.send('Escape');
      await t.waitFor((s) => /box2 · up/.test(s));
      t.send('q');
      await t.waitFor((s) => s.includes('EXIT=0'), 20_000);
      expect(oursLeft()).toEqual([]);
    } finally {
      t.kill();
    }
  }, 120_000);

  it('--metrics serves the remote runs (parsed strictly); killed with SIGKILL, lora-top leaves no ssh behind', async () => {
    const child = spawn(process.execPath, [CLI, `box2:${outputB}`, '--metrics', '127.0.0.1:0', '--no-tui', '--no-gpu'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LORA_TOP_SSH_COMMAND: sshCommand } });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += String(d)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const url = await until(() => /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(stderr)?.[1], 'the metrics address', 30_000);
      let parsed = parsePromText(await (await fetch(url)).text());
      for (let i = 0; i < 200 && !(parsed.families.get('lora_top_run_step')?.samples.length === 2); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        parsed = parsePromText(await (await fetch(url)).text());
      }
      const steps = parsed.families.get('lora_top_run_step')!.samples;
      expect(steps.map((s) => `${s.labels.host}/${s.labels.run}`).sort()).toEqual(['box2/delta_live', 'box2/gamma_done']);
      expect(steps.find((s) => s.labels.run === 'gamma_done')!.value).toBe(25);
      const status = parsed.families.get('lora_top_run_status')!.samples.filter((s) => s.labels.run === 'gamma_done' && s.value === 1);
      expect(status.map((s) => s.labels.status)).toEqual(['completed']);
      expect(parsed.families.get('lora_top_host_up')!.samples).toEqual([expect.objectContaining({ labels: { host: 'box2' }, value: 1 })]);
      // Read-only: nothing but GET and HEAD.
      expect((await fetch(url, { method: 'POST' })).status).toBe(405);
      expect(oursLeft().length).toBeGreaterThan(0);
      child.kill('SIGKILL');
      await exited;
      await until(() => oursLeft().length === 0, 'no ssh left after SIGKILL', 20_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 90_000);
  it('--metrics over a folder of runs on this machine serves them too (host "local"), and SIGTERM ends it cleanly', async () => {
    const child = spawn(process.execPath, [CLI, outputA, '--metrics', '127.0.0.1:0', '--no-tui', '--no-gpu'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += String(d)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await until(() => /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(stderr)?.[1], 'the metrics address', 30_000);
      const scrape = async () => parsePromText(await (await fetch(url)).text()).families.get('lora_top_run_step')?.samples ?? [];
      let steps = await scrape();
      for (let i = 0; i < 200 && steps.length < 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        steps = await scrape();
      }
      expect(steps.map((s) => `${s.labels.host}/${s.labels.run}=${s.value}`).sort()).toEqual(['local/alpha_done=30', 'local/beta_done=20']);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
