import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openFleet } from '../../src/catalog/fleet.js';
import { HostPool, hostAccess } from '../../src/remote/hostPool.js';
import { RemoteRunControl } from '../../src/remote/remoteControl.js';
import { parseTarget, type SshDestination } from '../../src/remote/remoteTarget.js';
import { watchRun, type RunWatch } from '../../src/run/watchRun.js';
import type { RunState } from '../../src/state/runState.js';
import { processStartTime } from '../../src/sources/trainerProcess.js';
import { processState } from '../../src/control/trainerSignals.js';
import { listStatus } from '../../src/state/runsList.js';
import { liveness } from '../../src/state/derive.js';
import { readRunRecord } from '../../src/control/runRecord.js';
import { CLI, hasSimDeps, PYTHON, startSim, TRAINER, waitForState, writeSimConfig } from '../helpers/sim.js';
import { sshUnavailable, startSshd, type PrivateSshd } from '../helpers/sshd.js';
import { until } from '../helpers/until.js';
import { spawnSync } from 'node:child_process';

// Runs on another host, through a real sshd on 127.0.0.1 (keys made by the test, an ssh_config
// naming it) and lora-top's own use of the system's ssh: the simulated trainer runs "on" the host
// (this machine through SSH). Nothing is installed there: the agent goes in ssh's command line.

let dir: string;
let sshd: PrivateSshd | null = null;
let config: string;
const pools: HostPool[] = [];
const watches: RunWatch[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-remote-'));
  if (!sshUnavailable) {
    sshd = await startSshd();
    config = sshd.configFile('box1');
  }
}, 30_000);
afterEach(async () => {
  for (const watch of watches.splice(0)) await watch.close();
  for (const pool of pools.splice(0)) await pool.close();
});
afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function box(label = 'box1'): SshDestination {
  const parsed = parseTarget(`${label}:`);
  if (parsed.kind !== 'remote') throw new Error('not remote');
  return parsed.target.destination;
}

function pool(): HostPool {
  const made = new HostPool(`ssh -F '${config}'`);
  pools.push(made);
  return made;
}

const FAST = ['--step-time', '0.03', '--load-time', '0.05', '--sample-time', '0.01', '--save-time', '0.01'];

describe.skipIf(sshUnavailable !== null || !hasSimDeps)(`a run on another host over SSH${sshUnavailable ? ` (skipped: ${sshUnavailable})` : ''}`, () => {
  it('is followed live to completion, and reads as the same run read locally (a sample decoded from its bytes)', async () => {
    const { configPath, folder } = writeSimConfig(dir, { name: 'remote_live', steps: 60, saveEvery: 20, sampleEvery: 20 });
    const log = path.join(folder, 'log.txt');
    const sim = startSim(configPath, log, FAST);
    const ssh = pool().get(box());
    await ssh.whenUp(20_000);
    const { files, command } = hostAccess(ssh);
    const watch = watchRun({ kind: 'folder', folder, logPath: log }, { files, previews: true, gpu: { enabled: false, command } });
    // The baseline: the same run followed on this machine.
    const here = watchRun({ kind: 'folder', folder, logPath: log });
    watches.push(watch, here);
    await waitForState(watch, (s) => (s.step ?? 0) > 0 && s.status === 'training', 30_000);
    // Completed, and the final checkpoint listed with its size (the listing that follows the save).
    const listed = (s: RunState) => s.status === 'completed' && s.checkpoints.length === 3 && s.checkpoints.every((c) => c.bytes !== null);
    const done = await waitForState(watch, listed, 60_000);
    await sim.done;
    const local = await waitForState(here, listed);
    expect(done.step).toBe(60);
    expect(done.totalSteps).toBe(local.totalSteps);
    expect(done.loss).toBe(local.loss);
    expect(done.lossHistory.points.length).toBe(local.lossHistory.points.length);
    expect(done.checkpoints.map((c) => [c.step, c.bytes])).toEqual(local.checkpoints.map((c) => [c.step, c.bytes]));
    expect(done.samples.map((s) => path.basename(s.path))).toEqual(local.samples.map((s) => path.basename(s.path)));
    expect(done.config?.name).toBe('remote_live');
    expect(done.disk?.totalBytes).toBeGreaterThan(0);
    // The newest sample, fetched from the host and decoded.
    const newest = await waitForState(watch, (s) => s.images.entries.length > 0, 20_000);
    expect(newest.images.entries[0]!.image.width).toBeGreaterThan(0);
  }, 90_000);

  it('a dropped connection (sshd and its sessions killed, then started again) loses nothing: the run state matches the log', async () => {
    const { configPath, folder } = writeSimConfig(dir, { name: 'remote_drop', steps: 150, saveEvery: 50, sampleEvery: 50 });
    const log = path.join(folder, 'log.txt');
    const sim = startSim(configPath, log, ['--step-time', '0.04', '--load-time', '0.05']);
    const ssh = pool().get(box());
    await ssh.whenUp(20_000);
    const watch = watchRun({ kind: 'folder', folder, logPath: log }, { files: hostAccess(ssh).files });
    const here = watchRun({ kind: 'folder', folder, logPath: log });
    watches.push(watch, here);
    await waitForState(watch, (s) => (s.step ?? 0) >= 10, 30_000);
    await sshd!.kill();
    const down = await until(() => (ssh.status().kind === 'down' ? ssh.status() : null), 'the host to read as unreachable', 20_000);
    expect(down.kind === 'down' && down.why.length > 0).toBe(true);
    // The run's own state says so: the dashboard names the host and does not take the silence for a stall.
    const said = await waitForState(watch, (s) => s.host?.link === 'down', 5_000);
    expect(said.host).toMatchObject({ label: 'box1', link: 'down', since: down.since, why: down.kind === 'down' ? down.why : null });
    expect(liveness(said, Date.now() + 3_600_000).unreachable).toMatchObject({ label: 'box1' });
    expect(liveness(said, Date.now() + 3_600_000).stalledS).toBeNull();
    const stepWhenDown = watch.getState().step ?? 0;
    // The run goes on writing while the host cannot be reached.
    await until(() => new RegExp(` ${stepWhenDown + 20}/150 `).test(fs.readFileSync(log, 'latin1')) || null, 'the run to write on');
    await sshd!.restart();
    await until(() => ssh.status().kind === 'up' || null, 'the connection to come back', 40_000);
    await waitForState(watch, (s) => s.host?.link === 'up', 5_000);
    const done = await waitForState(watch, (s) => s.status === 'completed', 60_000);
    await sim.done;
    const local = await waitForState(here, (s) => s.status === 'completed');
    expect(done.step).toBe(150);
    expect(done.lossHistory.points.map((p) => p.step)).toEqual(local.lossHistory.points.map((p) => p.step));
    expect(done.checkpoints.length).toBe(local.checkpoints.length);
  }, 120_000);

  it('two hosts and a host that refuses the key, as one list: each host with its line, the refusing one says so', async () => {
    const other = await startSshd();
    const refusing = await startSshd();
    refusing.refuseKeys();
    try {
      const combined = path.join(dir, 'ssh_config_all');
      fs.writeFileSync(combined, [fs.readFileSync(config, 'utf8'), fs.readFileSync(other.configFile('box2'), 'utf8'), fs.readFileSync(refusing.configFile('box3'), 'utf8')].join('\n'));
      const hosts = new HostPool(`ssh -F '${combined}'`);
      pools.push(hosts);
      fs.mkdirSync(path.join(dir, 'a'));
      fs.mkdirSync(path.join(dir, 'b'));
      const a = writeSimConfig(path.join(dir, 'a'), { name: 'on_box1', steps: 20 });
      const b = writeSimConfig(path.join(dir, 'b'), { name: 'on_box2', steps: 20 });
      const b2 = writeSimConfig(path.join(dir, 'b'), { name: 'on_box2_too', steps: 20 });
      await Promise.all([a, b, b2].map((job) => startSim(job.configPath, path.join(job.folder, 'log.txt'), FAST).done));
      const fleet = openFleet({
        targets: [
          { destination: box('box1'), path: path.dirname(a.folder) },
          { destination: box('box2'), path: path.dirname(b.folder) },
          { destination: box('box3'), path: path.dirname(b.folder) },
        ],
        pool: hosts,
        cacheDir: null,
        target: 3000,
        follow: false,
        version: 'test',
        gpus: false,
        connectWaitMs: 10_000,
        cwd: dir,
      });
      await fleet.loaded;
      const entries = fleet.entries();
      await fleet.close();
      const names = entries.map((e) => `${e.host}/${e.name}/${listStatus(e)}`).sort();
      expect(names).toContain('box1/on_box1/completed');
      expect(names).toContain('box2/on_box2/completed');
      expect(names).toContain('box2/on_box2_too/completed');
      const refused = fleet.hosts().find((h) => h.host === 'box3')!;
      expect(refused.link).toBe('down');
      expect(refused.why).toContain('Permission denied');
      expect(refused.why).toContain('never asks for a password');
      expect(entries.find((e) => e.host === 'box3')?.problem).toContain('Permission denied');
      expect(fleet.hosts().find((h) => h.host === 'box1')?.link).toBe('up');
    } finally {
      await other.stop();
      await refusing.stop();
    }
  }, 90_000);

  it('control through SSH: the trainer is proven on its host, frozen and resumed, saved now; a dropped link lifts the freeze', async () => {
    const tk = fs.mkdtempSync(path.join(dir, 'tk-'));
    fs.symlinkSync(TRAINER, path.join(tk, 'run.py'));
    const { configPath, folder } = writeSimConfig(tk, { name: 'remote_control', steps: 100_000, saveEvery: 100, sampleEvery: 100_000, keep: 100 });
    // `lora-top run` without a terminal starts the trainer detached, with its control channel, and returns.
    const started = spawnSync(process.execPath, [CLI, 'run', '--no-gpu', '--', PYTHON, 'run.py', path.basename(configPath), '--step-time', '0.1', '--load-time', '0.2'], { cwd: tk, encoding: 'utf8' });
    expect(started.status).toBe(0);
    const record = await until(() => readRunRecord(folder), 'the run record');
    const id = { pid: record.pid, startTime: record.startTime };
    try {
      const ssh = pool().get(box());
      await ssh.whenUp(20_000);
      const watch = watchRun({ kind: 'folder', folder, logPath: path.join(folder, 'log.txt') }, {
        files: hostAccess(ssh).files,
        control: { readonly: false, pid: null, db: null },
        startControl: (o) => new RemoteRunControl(ssh, o),
      });
      watches.push(watch);
      const ready = await waitForState(watch, (s) => s.control.pid === record.pid && s.control.db !== null && (s.step ?? 0) > 5, 30_000);
      expect(ready.control.source).toBe('launch');
      watch.act({ type: 'freeze' });
      await until(() => processState(record.pid) === 'T', 'the trainer in state T');
      await waitForState(watch, (s) => s.control.frozenSince !== null);
      watch.act({ type: 'resume' });
      await until(() => processState(record.pid) !== 'T', 'the trainer running again');
      // Save now, off the save grid: a checkpoint lands that the schedule would not have written.
      const step = (await waitForState(watch, (s) => (s.step ?? 0) % 100 >= 5 && (s.step ?? 0) % 100 <= 60)).step!;
      watch.act({ type: 'save' });
      const saved = await waitForState(watch, (s) => s.checkpoints.some((c) => c.step !== null && c.step >= step && c.step % 100 !== 0), 30_000);
      expect(saved.checkpoints.length).toBeGreaterThan(0);
      // Frozen, then the host's sessions die: the agent, its input gone, lets the trainer run again.
      watch.act({ type: 'freeze' });
      await until(() => processState(record.pid) === 'T', 'the trainer in state T again');
      await sshd!.kill();
      await until(() => processState(record.pid) !== 'T' || null, 'the freeze lifted by the agent when its link dropped');
      await sshd!.restart();
    } finally {
      if (processStartTime(id.pid) === id.startTime) process.kill(id.pid, 'SIGKILL');
    }
  }, 120_000);
});
