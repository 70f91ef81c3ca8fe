import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, PYTHON, TRAINER, hasSimDeps, startSim, writeSimConfig } from '../helpers/sim.js';
import { hasTmux, startTmux, type Tmux } from '../helpers/tmux.js';

// lora-top in a real terminal (tmux, 100×30): the dashboard draws, moves on, answers keys, quits
// cleanly and leaves the shell usable. Every wait is for something on the screen.

let root: string;
const sessions: Tmux[] = [];
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-tmux-'));
});
afterEach(() => {
  for (const t of sessions.splice(0)) t.kill();
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function open(cwd = root, env: Record<string, string> = {}): Tmux {
  const t = startTmux(cwd, 100, 30, env);
  sessions.push(t);
  return t;
}

const stepOf = (screen: string): number => Number(/step (\d+)\/\d+/.exec(screen)?.[1] ?? -1);

describe.skipIf(!hasTmux)('lora-top in tmux', () => {
  it('runs the demo: the step advances with an ETA, ? shows the keys, q exits 0 and restores the shell', async () => {
    const t = open();
    await t.waitFor((s) => s.includes('PROMPT$'));
    t.type(`echo before-lora-top; node ${CLI} --demo --demo-speed 60; echo "EXIT=$?"`);
    t.send('Enter');
    const first = await t.waitFor((s) => /TRAINING/.test(s) && stepOf(s) > 0, 30_000);
    expect(first).toMatch(/ETA \S+ \(\d\d:\d\d\)/);
    expect(first).toMatch(/q quit +\? help +l log/);
    const start = stepOf(first);
    await t.waitFor((s) => stepOf(s) >= start + 30);
    // The demo's samples (real JPEGs) show inline once the first one is written.
    await t.waitFor((s) => s.includes('── Samples') && s.includes('▄'), 30_000);

    t.send('?');
    const help = await t.waitFor((s) => s.includes('── Keys'));
    expect(help).toContain('Quit lora-top. The training run is not touched');
    t.send('Escape');
    await t.waitFor((s) => !s.includes('── Keys') && s.includes('── Loss'));

    t.send('q');
    const after = await t.waitFor((s) => s.includes('EXIT=0'));
    // The alternate screen is gone: what the shell printed before is back, and no frame is left over.
    expect(after).toContain('before-lora-top');
    expect(after).not.toContain('── Loss');
    t.type('echo still-alive');
    t.send('Enter');
    await t.waitFor((s) => /^still-alive$/m.test(s));
  });

  it.skipIf(!hasSimDeps)('follows the simulated trainer to completion, and quitting leaves the trainer alone', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'sim-'));
    const { configPath, folder } = writeSimConfig(dir, { steps: 120, saveEvery: 40, sampleEvery: 40 });
    const t = open(dir);
    await t.waitFor((s) => s.includes('PROMPT$'));
    t.type(`node ${CLI} ${folder}; echo "EXIT=$?"`);
    t.send('Enter');
    await t.waitFor((s) => s.includes('STARTING') || s.includes('PREPARING'));
    const sim = startSim(configPath, path.join(folder, 'log.txt'), ['--step-time', '0.05', '--load-time', '0.3', '--sample-time', '0.05']);
    const training = await t.waitFor((s) => /TRAINING/.test(s) && stepOf(s) > 0);
    expect(training).toMatch(/\d+(\.\d+)? (s\/step|steps\/s)/);
    await t.waitFor((s) => s.includes('COMPLETED') && /step 120\/120/.test(s), 30_000);
    expect((await sim.done).code).toBe(0);
    t.send('q');
    await t.waitFor((s) => s.includes('EXIT=0'));
  });

  it.skipIf(!hasSimDeps)('q while the trainer runs leaves it running', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'alive-'));
    const { configPath, folder } = writeSimConfig(dir, { steps: 400 });
    const sim = startSim(configPath, path.join(folder, 'log.txt'), ['--step-time', '0.05', '--load-time', '0.2']);
    try {
      const t = open(dir);
      await t.waitFor((s) => s.includes('PROMPT$'));
      t.type(`node ${CLI} ${folder}; echo "EXIT=$?"`);
      t.send('Enter');
      await t.waitFor((s) => /TRAINING/.test(s) && stepOf(s) > 0);
      t.send('q');
      await t.waitFor((s) => s.includes('EXIT=0'));
      expect(sim.child.exitCode).toBeNull();
      expect(sim.child.signalCode).toBeNull();
    } finally {
      sim.child.kill('SIGKILL');
      await sim.done;
    }
  });

  it.skipIf(!hasSimDeps)('a run piped in: keys come from the terminal, and q hands the output back without stopping the run', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'pipe-'));
    const { configPath } = writeSimConfig(dir, { name: 'pipe_lora', steps: 120, saveEvery: 1000, sampleEvery: 1000 });
    const t = open(dir);
    await t.waitFor((s) => s.includes('PROMPT$'));
    t.type(`${PYTHON} ${TRAINER} ${configPath} --step-time 0.05 --load-time 0.2 2>&1 | node ${CLI} -; echo "EXIT=$?"`);
    t.send('Enter');
    await t.waitFor((s) => /pipe_lora +TRAINING/.test(s) && stepOf(s) > 0);
    t.send('q');
    await t.waitFor((s) => s.includes('dashboard closed; the run goes on'));
    // The trainer was not killed by a broken pipe: it finishes and its last lines reach the terminal.
    const end = await t.waitFor((s) => s.includes('EXIT=0'), 30_000);
    expect(end).toMatch(/Saved checkpoint to .*pipe_lora\.safetensors/);
  });

  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    it(`${signal} restores the terminal and exits ${code}`, async () => {
      const t = open();
      await t.waitFor((s) => s.includes('PROMPT$'));
      const marker = String(40 + code);
      t.type(`echo before-${signal}; node ${CLI} --demo --demo-speed ${marker}; echo "EXIT=$?"`);
      t.send('Enter');
      await t.waitFor((s) => s.includes('── Loss'), 30_000);
      const pid = Number(execFileSync('pgrep', ['-f', `lora-top.js --demo --demo-speed ${marker}`], { encoding: 'utf8' }).trim().split('\n')[0]);
      process.kill(pid, signal);
      const after = await t.waitFor((s) => s.includes(`EXIT=${code}`));
      expect(after).toContain(`before-${signal}`);
      expect(after).not.toContain('── Loss');
    });
  }

  it('a terminal too small says so, and a resize lays out again at once', async () => {
    const t = open();
    await t.waitFor((s) => s.includes('PROMPT$'));
    t.type(`node ${CLI} --demo; echo "EXIT=$?"`);
    t.send('Enter');
    await t.waitFor((s) => s.includes('── Loss'), 30_000);
    t.resize(50, 12);
    await t.waitFor((s) => s.replace(/\s*\n\s*/g, ' ').includes('terminal too small: need 60×16, have 50×12'));
    t.resize(100, 30);
    await t.waitFor((s) => s.includes('── Loss'));
    t.send('q');
    await t.waitFor((s) => s.includes('EXIT=0'));
  });
});

