import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshHost } from '../../src/remote/sshHost.js';
import { parseTarget } from '../../src/remote/remoteTarget.js';
import { sshUnavailable, startSshd, type PrivateSshd } from '../helpers/sshd.js';

let sshd: PrivateSshd | null = null;
beforeAll(async () => {
  if (!sshUnavailable) sshd = await startSshd();
}, 30_000);
afterAll(async () => {
  await sshd?.stop();
});

describe.skipIf(sshUnavailable !== null)('the SSH connection to a host', () => {
  it('starts the agent and answers', async () => {
    const controlDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lt-'));
    const parsed = parseTarget('box1:/tmp');
    if (parsed.kind !== 'remote') throw new Error('parse');
    const host = new SshHost(parsed.target.destination, { sshCommand: sshd!.sshCommand('box1'), controlDir, socketName: 'h1' });
    await host.whenUp(20_000);
    const { header } = await host.request('list', { path: '/' });
    expect((header.entries as unknown[]).length).toBeGreaterThan(3);
    await host.close();
  }, 30_000);
});
