import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/sim.js';
import { hasTmux, startTmux } from '../helpers/tmux.js';

// GPU figures end to end, with the stand-in nvidia-smi (test/bin) first on PATH, or no nvidia-smi at all.

const STAND_IN_DIR = fileURLToPath(new URL('../bin', import.meta.url));
const LOG = fileURLToPath(new URL('../fixtures/ai-toolkit-logs/003-krea2-177h-eta.txt', import.meta.url));
let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-gpu-'));
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function once(env: Record<string, string>, json = true): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, LOG, '--once', ...(json ? ['--json'] : [])], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const withStandIn = (extra: Record<string, string> = {}) => ({ PATH: `${STAND_IN_DIR}:${process.env.PATH}`, ...extra });

describe('GPU figures', () => {
  it('--once --json fills gpu and gpus from nvidia-smi, unknown values as null', () => {
    const gpus = JSON.stringify([
      { name: 'NVIDIA GeForce RTX 4090', memoryUsedMiB: 23000, memoryTotalMiB: 24564, powerW: '[N/A]' },
      { name: 'NVIDIA RTX A6000', memoryUsedMiB: 1000, memoryTotalMiB: 49140 },
    ]);
    const r = once(withStandIn({ FAKE_NVIDIA_SMI_GPUS: gpus, FAKE_NVIDIA_SMI_DRIFT: '0' }));
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.gpu).toMatchObject({ index: 0, name: 'NVIDIA GeForce RTX 4090', memoryUsedMiB: 23000, memoryTotalMiB: 24564, powerW: null, processMemoryMiB: null });
    expect(Object.keys(json.gpu).sort()).toEqual(
      ['clockMHz', 'index', 'memoryTotalMiB', 'memoryUsedMiB', 'name', 'powerLimitW', 'powerW', 'processMemoryMiB', 'temperatureC', 'utilizationPercent'],
    );
    expect(json.gpus.map((g: { name: string }) => g.name)).toEqual(['NVIDIA GeForce RTX 4090', 'NVIDIA RTX A6000']);
  });

  it('--gpu N picks the GPU to show when the trainer’s cannot be told', () => {
    const gpus = JSON.stringify([{ name: 'A' }, { name: 'B' }]);
    const r = spawnSync(process.execPath, [CLI, LOG, '--once', '--json', '--gpu', '1'], { encoding: 'utf8', env: { ...process.env, ...withStandIn({ FAKE_NVIDIA_SMI_GPUS: gpus }) } });
    expect(JSON.parse(r.stdout).gpu.name).toBe('B');
  });

  it('no nvidia-smi: gpu is null, the snapshot says why once, exit 0', () => {
    const empty = fs.mkdtempSync(path.join(root, 'nopath-'));
    const json = once({ PATH: `${empty}:${path.dirname(process.execPath)}` });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).gpu).toBeNull();
    const text = once({ PATH: `${empty}:${path.dirname(process.execPath)}` }, false);
    expect(text.code).toBe(0);
    expect(text.stdout.match(/nvidia-smi not found on PATH/g)).toHaveLength(1);
    expect(text.stderr).toBe('');
  });

  it('a failing driver: gpu is null, the snapshot says so, exit 0', () => {
    const r = once(withStandIn({ FAKE_NVIDIA_SMI_MODE: 'driver-failure' }), false);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('GPU: the NVIDIA driver is not responding (nvidia-smi exited 9)');
  });

  it.skipIf(!hasTmux)('the dashboard shows live VRAM headroom from one resident nvidia-smi, and quitting leaves none behind', async () => {
    const log = path.join(root, 'spawns.log');
    const t = startTmux(root, 100, 30, {
      PATH: `${STAND_IN_DIR}:${process.env.PATH}`,
      FAKE_NVIDIA_SMI_LOG: log,
      FAKE_NVIDIA_SMI_GPUS: JSON.stringify([{ memoryUsedMiB: 23600, memoryTotalMiB: 24564 }]),
    });
    try {
      await t.waitFor((s) => s.includes('PROMPT$'));
      t.type(`node ${CLI} ${LOG} --interval 200; echo "EXIT=$?"`);
      t.send('Enter');
      const screen = await t.waitFor((s) => /GiB free \(\d+%\)/.test(s));
      expect(screen).toMatch(/2[23]\.\d\/24\.0 GiB/);
      // The figures move on (the stand-in drifts a little each sample) from the same one resident child.
      const util = (s: string) => /util (\d+)%/.exec(s)?.[1];
      const first = util(screen);
      await t.waitFor((s) => util(s) !== undefined && util(s) !== first);
      t.send('q');
      await t.waitFor((s) => s.includes('EXIT=0'));
      const spawns = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { pid: number; argv: string[] });
      const resident = spawns.filter((s) => s.argv.some((a) => a === '-lms'));
      expect(resident).toHaveLength(1);
      expect(spawns.length).toBeLessThanOrEqual(2);
      for (const { pid } of spawns) expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      t.kill();
    }
  });
});

