import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createControlDb } from '../../src/control/controlDb.js';
import { startSim, writeSimConfig, type SimJob, type SimRun } from './sim.js';
import { until } from './until.js';

/**
 * A toolkit folder with runs in every status, made by the simulated trainer (real tqdm): output/
 * with a completed run, one failed with a CUDA OOM, one stopped with Ctrl-C, one resumed after a
 * crash and then completed, and one live; and aitk_db.db, the UI's database, with the live run's
 * job running, the completed one's finished, and two jobs queued that have no folder yet.
 */

export interface RunsFolder {
  toolkit: string;
  output: string;
  db: string;
  live: SimRun;
  liveName: string;
  names: { completed: string; failed: string; stopped: string; resumed: string; live: string };
}

const FAST = ['--step-time', '0.004', '--load-time', '0.02', '--sample-time', '0.005', '--save-time', '0.005'];

function run(dir: string, job: SimJob, args: string[]): { sim: SimRun; log: string; configPath: string } {
  const { configPath, folder } = writeSimConfig(dir, job);
  const log = path.join(folder, 'log.txt');
  return { sim: startSim(configPath, log, args), log, configPath };
}

export async function makeRunsFolder(dir: string, options: { liveStepTime?: number } = {}): Promise<RunsFolder> {
  const names = { completed: 'alpha_r16', failed: 'beta_oom', stopped: 'gamma_stopped', resumed: 'delta_resumed', live: 'epsilon_live' };
  const completed = run(dir, { name: names.completed, steps: 30, saveEvery: 10, sampleEvery: 10 }, FAST);
  const failed = run(dir, { name: names.failed, steps: 30, saveEvery: 10, sampleEvery: 10 }, [...FAST, '--oom-at', '12']);
  const stopped = run(dir, { name: names.stopped, steps: 400, saveEvery: 10, sampleEvery: 50 }, ['--step-time', '0.02', '--load-time', '0.02']);
  const crashed = run(dir, { name: names.resumed, steps: 30, saveEvery: 5, sampleEvery: 10 }, [...FAST, '--crash-at', '17']);
  await until(() => / 15\/400 /.test(fs.readFileSync(stopped.log, 'latin1')) || null, 'the run to stop to reach step 15');
  stopped.sim.child.kill('SIGINT');
  await Promise.all([completed.sim.done, failed.sim.done, stopped.sim.done, crashed.sim.done]);
  // The crashed run resumed from its last save, to the end, its output appended to the same log.
  await startSim(crashed.configPath, crashed.log, FAST).done;

  const live = run(dir, { name: names.live, steps: 100000, saveEvery: 1000, sampleEvery: 1000 }, ['--step-time', String(options.liveStepTime ?? 0.1), '--load-time', '0.02']);
  await until(() => / 3\/100000 /.test(fs.readFileSync(live.log, 'latin1')) || null, 'the live run to train');

  const db = path.join(dir, 'aitk_db.db');
  const output = path.join(dir, 'output');
  const jobConfig = (name: string) => JSON.stringify({ job: 'extension', config: { name, process: [{ type: 'diffusion_trainer', training_folder: output }] } });
  await createControlDb(db, { id: 'job-live', name: names.live, jobConfig: jobConfig(names.live), totalSteps: 100000, gpuIds: '1' });
  const handle = new Database(db);
  try {
    const insert = handle.prepare('INSERT INTO Job (id, name, gpu_ids, job_config, status, info, step, total_steps, queue_position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    insert.run('job-done', names.completed, '0', jobConfig(names.completed), 'completed', 'Training completed', 30, 30, 0);
    insert.run('job-q2', 'zeta_queued_second', '0', jobConfig('zeta_queued_second'), 'queued', '', 0, 2000, 2);
    insert.run('job-q1', 'eta_queued_first', '0', jobConfig('eta_queued_first'), 'queued', '', 0, 3000, 1);
  } finally {
    handle.close();
  }
  return { toolkit: dir, output, db, live: live.sim, liveName: names.live, names };
}
