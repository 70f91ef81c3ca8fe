import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentCommand } from '../../src/remote/agentCommand.js';
import { AgentLink, type AgentMessage } from '../../src/remote/agentLink.js';
import { remoteFiles } from '../../src/remote/remoteFiles.js';
import type { SshHost } from '../../src/remote/sshHost.js';
import { processState } from '../../src/control/trainerSignals.js';
import { processStartTime } from '../../src/sources/trainerProcess.js';
import { until } from '../helpers/until.js';

// The agent lora-top sends to a GPU box, run here through `sh -c` exactly as ssh's remote shell
// runs it: the follow protocol (growth, truncation, rotation, a file that comes later), the start
// time checked before a signal, and a freeze it holds lifted when its input ends.

const hasPython = spawnSyncOk('python3');
function spawnSyncOk(cmd: string): boolean {
  try {
    return spawnSync(cmd, ['-c', 'pass']).status === 0;
  } catch {
    return false;
  }
}

let dir: string;
const agents: ChildProcess[] = [];
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-agent-'));
});
afterEach(() => {
  for (const a of agents.splice(0)) a.kill('SIGKILL');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function startAgent(): Promise<{ link: AgentLink; proc: ChildProcess; pushes: AgentMessage[]; exited: Promise<void> }> {
  const proc = spawn('/bin/sh', ['-c', agentCommand()], { stdio: ['pipe', 'pipe', 'inherit'] });
  agents.push(proc);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const link = new AgentLink(proc.stdin!, proc.stdout!);
  await new Promise<void>((resolve) => (link.onReady = resolve));
  const pushes: AgentMessage[] = [];
  link.onPush('k', (m) => pushes.push(m));
  return { link, proc, pushes, exited };
}

const texts = (pushes: AgentMessage[]) => pushes.map((m) => (m.header.t === 'data' ? `data:${m.data!.toString('latin1')}` : `${m.header.t}:${m.header.why ?? ''}`)).join('|');

describe.skipIf(!hasPython)('the agent', () => {
  it('follows a file from an offset: growth, truncation, rotation; a file that comes later; a stale inode is a rotation', async () => {
    const { link, pushes } = await startAgent();
    const file = path.join(dir, 'log.txt');
    fs.writeFileSync(file, 'abcdef');
    await link.request('follow', { key: 'k', path: file, offset: 2 });
    await until(() => texts(pushes) === 'data:cdef' || null, 'the rest from the offset');
    fs.appendFileSync(file, 'g\rh\n');
    await until(() => texts(pushes).endsWith('data:g\rh\n') || null, 'the growth');
    fs.writeFileSync(file, 'XY');
    await until(() => texts(pushes).endsWith('reset:truncated|data:XY') || null, 'a truncation');
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, 'new');
    await until(() => texts(pushes).endsWith('reset:rotated|data:new') || null, 'a rotation');
    const ino = fs.statSync(file).ino;
    pushes.length = 0;
    // Followed again after a reconnection, with an inode that is no longer the file's: from 0.
    await link.request('follow', { key: 'k', path: file, offset: 3, ino: ino + 1 });
    await until(() => texts(pushes) === 'reset:rotated|data:new' || null, 'a stale inode read as a rotation');
    pushes.length = 0;
    const later = path.join(dir, 'later.txt');
    await link.request('follow', { key: 'k', path: later, offset: 0 });
    await until(() => texts(pushes) === 'waiting:' || null, 'waiting');
    fs.writeFileSync(later, 'hi');
    await until(() => texts(pushes) === 'waiting:|reset:created|data:hi' || null, 'the file created');
  });

  it('answers errors in one line with errno, and refuses a signal to a pid whose start time differs', async () => {
    const { link } = await startAgent();
    await expect(link.request('list', { path: path.join(dir, 'nope') })).rejects.toMatchObject({ code: 'ENOENT' });
    const sleeper = spawn('sleep', ['60']);
    agents.push(sleeper);
    const start = await until(() => processStartTime(sleeper.pid!), 'the start time');
    await expect(link.request('signal', { pid: sleeper.pid, start: start + 1, signal: 'SIGSTOP', tree: true })).rejects.toThrow(/now another process .*nothing sent/);
    expect(processState(sleeper.pid!)).not.toBe('T');
  });

  it("stats asked for in one turn go as one request and answer as `stat` would, each path's error its own", async () => {
    const { link } = await startAgent();
    const file = path.join(dir, 'stat-me.txt');
    fs.writeFileSync(file, 'twelve bytes');
    const sent: string[] = [];
    const request = link.request.bind(link);
    link.request = (op, args) => (sent.push(op), request(op, args));
    const files = remoteFiles({ label: 'here', request: (op: string, args: Record<string, unknown>) => link.request(op, args) } as unknown as SshHost);
    const [a, b, c, d] = await Promise.allSettled([files.stat(file), files.stat(dir), files.stat(path.join(dir, 'missing')), files.stat(file)]);
    expect(sent).toEqual(['stats']);
    const real = fs.statSync(file);
    expect(a).toMatchObject({ status: 'fulfilled', value: { type: 'file', size: 12, mtimeMs: expect.closeTo(real.mtimeMs, 3), ino: real.ino } });
    expect(d).toEqual(a);
    expect(b).toMatchObject({ status: 'fulfilled', value: { type: 'dir' } });
    expect(c).toMatchObject({ status: 'rejected', reason: { code: 'ENOENT' } });
    // One alone is a plain stat, with the same answer.
    expect(await files.stat(file)).toEqual((a as PromiseFulfilledResult<unknown>).value);
    expect(sent).toEqual(['stats', 'stat']);
    await expect(files.stat(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a freeze it holds is lifted when its input ends (lora-top gone, the link dropped)', async () => {
    const { link, proc, exited } = await startAgent();
    const sleeper = spawn('sleep', ['60']);
    agents.push(sleeper);
    const start = await until(() => processStartTime(sleeper.pid!), 'the start time');
    await link.request('signal', { pid: sleeper.pid, start, signal: 'SIGSTOP', tree: true, hold: true });
    await until(() => processState(sleeper.pid!) === 'T', 'stopped');
    proc.stdin!.end();
    await exited;
    expect(processState(sleeper.pid!)).not.toBe('T');
  });
});
