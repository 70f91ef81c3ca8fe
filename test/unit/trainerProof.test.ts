import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findProvenTrainers, judgeTrainer, proveTrainer, type ConfigFiles, type ProcessFacts, type TrainerExpectation } from '../../src/control/trainerProof.js';
import { fakeToolkit, killStandIns, startStandIn, startTrainer, type FakeToolkit } from '../helpers/standIn.js';
import { PYTHON } from '../helpers/sim.js';

// The proof that a process is this run's trainer: the judgement on what /proc shows (with config
// files from a table), then on real processes — the stand-in trainer, and processes that are not it.

const TK = '/srv/ai-toolkit';
const FOLDER = `${TK}/output/my_lora`;
const JOB = '6f1c2a8e-3b7d-4c1e-9a55-0d2b7e4f9a10';

const config = (name: string, trainingFolder = 'output') => `job: extension\nconfig:\n  name: ${name}\n  process:\n    - type: diffusion_trainer\n      training_folder: ${trainingFolder}\n`;

/** Config files as a table: path → text. */
function files(table: Record<string, string>): ConfigFiles {
  return { isFile: (f) => f in table, read: (f) => table[f] ?? null, canonical: (f) => path.resolve(f) };
}

const FILES = files({
  [`${TK}/config/my_lora.yaml`]: config('my_lora'),
  [`${TK}/config/other_lora.yaml`]: config('other_lora'),
  [`${TK}/config/shared.yaml`]: config('[name]', 'output'),
  [`${TK}/config/elsewhere.json`]: JSON.stringify({ job: 'extension', config: { name: 'my_lora', process: [{ type: 'sd_trainer', training_folder: '/mnt/runs' }] } }),
  [`${TK}/config/env.yaml`]: config('my_lora', '${RUNS}'),
  [`${FOLDER}/.job_config.json`]: JSON.stringify({ job: 'extension', config: { name: 'my_lora', process: [{ type: 'diffusion_trainer' }] } }),
  [`${FOLDER}/lora-top.yaml`]: config('my_lora'),
  [`${FOLDER}/log.txt`]: 'not a config',
});

const expectFolder: TrainerExpectation = { runFolder: FOLDER, name: 'my_lora', jobId: null };

function facts(argv: string[] | null, over: Partial<ProcessFacts> = {}): ProcessFacts {
  return { pid: 4242, startTime: 777, argv, cwd: TK, env: new Map(), ...over };
}

function judge(argv: string[] | null, over: Partial<ProcessFacts> = {}, expect: TrainerExpectation = expectFolder) {
  return judgeTrainer(facts(argv, over), expect, FILES);
}

describe('the proof, judged on what /proc shows', () => {
  it('python run.py with a config of this run is the trainer, however the config is named', () => {
    const ok = { ok: true, id: { pid: 4242, startTime: 777 } };
    expect(judge(['python', 'run.py', 'config/my_lora.yaml'])).toEqual(ok);
    // As run.py finds it: config/<ARG> with an extension.
    expect(judge(['/srv/ai-toolkit/venv/bin/python3.11', '-u', 'run.py', 'my_lora'])).toEqual(ok);
    expect(judge(['python3', `${TK}/run.py`, `${TK}/config/my_lora.yaml`])).toEqual(ok);
    // training_folder is relative to the trainer's working directory: from / it is another run.
    expect(judge(['python3', `${TK}/run.py`, `${TK}/config/my_lora.yaml`], { cwd: '/' })).toEqual({ ok: false, why: 'run.py of another run: /output/my_lora' });
    // The UI's .job_config.json and lora-top run's derived config lie in the run folder.
    expect(judge(['python', 'run.py', `${FOLDER}/.job_config.json`])).toEqual(ok);
    expect(judge(['python', 'run.py', `${FOLDER}/lora-top.yaml`, '--step-time', '0.1'])).toEqual(ok);
    // `-n NAME` fills `[name]`.
    expect(judge(['python', 'run.py', 'shared', '-n', 'my_lora'])).toEqual(ok);
    expect(judge(['python', 'run.py', '--name=my_lora', 'shared'])).toEqual(ok);
    // ${VAR} from the environment it was started with.
    expect(judge(['python', 'run.py', 'env'], { env: new Map([['RUNS', `${TK}/output`]]) })).toEqual(ok);
  });

  it('anything else is not, and says what it is', () => {
    expect(judge(['sleep', '300'])).toEqual({ ok: false, why: 'sleep' });
    expect(judge(['/bin/bash', '-c', 'python run.py my_lora'])).toEqual({ ok: false, why: 'bash' });
    expect(judge(['python3', 'other.py', 'config/my_lora.yaml'])).toEqual({ ok: false, why: 'python3 other.py' });
    expect(judge(null)).toEqual({ ok: false, why: 'no command line: a kernel thread or a zombie' });
    expect(judge(['python', 'run.py', 'config/other_lora.yaml'])).toEqual({ ok: false, why: `run.py of another run: ${TK}/output/other_lora` });
    expect(judge(['python', 'run.py', 'shared', '-n', 'other_lora'])).toEqual({ ok: false, why: `run.py of another run: ${TK}/output/other_lora` });
    // The same name in another training folder is another run.
    expect(judge(['python', 'run.py', 'elsewhere'])).toEqual({ ok: false, why: 'run.py of another run: /mnt/runs/my_lora' });
    // A log file of this run is not its config.
    expect(judge(['python', 'run.py', 'config/other_lora.yaml', '--log', `${FOLDER}/log.txt`])).toMatchObject({ ok: false });
    expect(judge(['python', 'run.py', 'missing.yaml'])).toEqual({ ok: false, why: 'run.py with no config of this run' });
    // A relative config and a working directory lora-top may not read: nothing can be proven.
    expect(judge(['python', 'run.py', 'config/my_lora.yaml'], { cwd: null })).toEqual({ ok: false, why: 'run.py; its working directory cannot be read to find its config' });
  });

  it("where the environment is readable and the job is known, AITK_JOB_ID must be this job's", () => {
    const withJob = { ...expectFolder, jobId: JOB };
    const argv = ['python', 'run.py', `${FOLDER}/.job_config.json`];
    expect(judge(argv, { env: new Map([['AITK_JOB_ID', JOB]]) }, withJob)).toMatchObject({ ok: true });
    expect(judge(argv, { env: new Map([['AITK_JOB_ID', 'another-job']]) }, withJob)).toEqual({
      ok: false,
      why: 'run.py of this run, but started for another job (AITK_JOB_ID another-job)',
    });
    expect(judge(argv, { env: new Map() }, withJob)).toEqual({ ok: false, why: 'run.py of this run, but not started for this job: no AITK_JOB_ID' });
    // Another user's process: the environment cannot be read, the command line is the proof.
    expect(judge(argv, { env: null }, withJob)).toMatchObject({ ok: true });
  });

  it('following a log alone (no run folder), the config must name the job', () => {
    const byName: TrainerExpectation = { runFolder: null, name: 'my_lora', jobId: null };
    expect(judge(['python', 'run.py', 'my_lora'], {}, byName)).toMatchObject({ ok: true });
    expect(judge(['python', 'run.py', 'other_lora'], {}, byName)).toEqual({ ok: false, why: `run.py of another run: ${TK}/output/other_lora` });
    expect(judge(['python', 'run.py', 'my_lora'], {}, { runFolder: null, name: null, jobId: null })).toEqual({ ok: false, why: 'lora-top cannot tell which run it trains' });
  });

  it('text from the command line is stripped of terminal escapes', () => {
    const why = judge(['\x1b]0;pwned\x07evil\x1b[2J', 'x']);
    expect(why).toEqual({ ok: false, why: 'evil' });
  });
});

describe('the proof, on real processes', () => {
  let dir: string;
  let tk: FakeToolkit;
  beforeAll(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-proof-')));
    tk = fakeToolkit(path.join(dir, 'ai-toolkit'), ['my_lora', 'other_lora']);
  });
  afterEach(() => killStandIns());
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the stand-in trainer is proven; sleep, another script and the trainer of another run are not', async () => {
    const expect_ = { runFolder: tk.folder('my_lora'), name: 'my_lora', jobId: null };
    const trainer = await startTrainer(tk, 'my_lora');
    const sleep = await startStandIn('sleep', ['300'], { cwd: tk.root, ready: false });
    const other = await startStandIn(PYTHON, ['other.py', 'config/my_lora.yaml'], { cwd: tk.root });
    const otherRun = await startTrainer(tk, 'other_lora');

    expect(proveTrainer(trainer.id.pid, expect_)).toEqual({ ok: true, id: trainer.id });
    expect(proveTrainer(sleep.id.pid, expect_)).toEqual({ ok: false, why: 'sleep' });
    expect(proveTrainer(other.id.pid, expect_)).toEqual({ ok: false, why: 'python3 other.py' });
    expect(proveTrainer(otherRun.id.pid, expect_)).toEqual({ ok: false, why: `run.py of another run: ${tk.folder('other_lora')}` });
    // The scan finds this run's trainer and nothing else.
    expect(findProvenTrainers(expect_)).toEqual([trainer.id]);
    expect(findProvenTrainers({ ...expect_, runFolder: tk.folder('other_lora'), name: 'other_lora' })).toEqual([otherRun.id]);
  });

  it("a trainer started for another job (AITK_JOB_ID) is not this job's", async () => {
    const trainer = await startTrainer(tk, 'my_lora', { env: { AITK_JOB_ID: 'job-b' } });
    const base = { runFolder: tk.folder('my_lora'), name: 'my_lora' };
    expect(proveTrainer(trainer.id.pid, { ...base, jobId: 'job-b' })).toEqual({ ok: true, id: trainer.id });
    expect(proveTrainer(trainer.id.pid, { ...base, jobId: 'job-a' })).toMatchObject({ ok: false, why: expect.stringContaining('another job') });
  });

  it('a PID that is not running proves nothing', () => {
    expect(proveTrainer(2 ** 22 + 1, { runFolder: tk.folder('my_lora'), name: 'my_lora', jobId: null })).toEqual({ ok: false, why: 'no such process' });
  });
});
