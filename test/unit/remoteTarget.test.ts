import { describe, expect, it } from 'vitest';
import { AgentFrames } from '../../src/remote/agentLink.js';
import { looksRemote, parseHostsFile, parseTarget, remotePath, shellQuote } from '../../src/remote/remoteTarget.js';
import { describeSshFailure } from '../../src/remote/sshHost.js';

describe('remote targets', () => {
  it('reads the scp form and ssh:// URLs; a local path stays local', () => {
    expect(parseTarget('gpu1:/workspace/out')).toEqual({ kind: 'remote', target: { destination: { host: 'gpu1', user: null, port: null, label: 'gpu1' }, path: '/workspace/out' } });
    expect(parseTarget('ubuntu@gpu1:output')).toMatchObject({ kind: 'remote', target: { destination: { host: 'gpu1', user: 'ubuntu', label: 'ubuntu@gpu1' }, path: 'output' } });
    expect(parseTarget('gpu1:')).toMatchObject({ kind: 'remote', target: { path: '' } });
    expect(parseTarget('ssh://root@203.0.113.7:22011/workspace/ai-toolkit/output')).toMatchObject({
      kind: 'remote',
      target: { destination: { host: '203.0.113.7', user: 'root', port: 22011, label: 'root@203.0.113.7:22011' }, path: '/workspace/ai-toolkit/output' },
    });
    expect(parseTarget('ssh://[::1]:2222/x')).toMatchObject({ kind: 'remote', target: { destination: { host: '::1', port: 2222 } } });
    for (const local of ['output/my_lora', './a:b', '/abs/with:colon', 'plain', '-']) expect(parseTarget(local)).toEqual({ kind: 'local', path: local });
    expect(looksRemote('C')).toBe(false);
  });

  it('refuses a host that ssh could take for an option, and odd names, in one line', () => {
    expect(parseTarget('-oProxyCommand=evil:x')).toMatchObject({ kind: 'error', message: expect.stringContaining('not a host name') });
    expect(parseTarget('a b:/x')).toMatchObject({ kind: 'error' });
    expect(parseTarget('-l@host:/x')).toMatchObject({ kind: 'error', message: expect.stringContaining('not a user name') });
    expect(parseTarget('ssh://box:0/x')).toMatchObject({ kind: 'error', message: 'bad port in ssh://box:0/x' });
  });

  it('a hosts file: one target a line, comments, a bare host means its login folder; errors name the line', () => {
    const parsed = parseHostsFile('# my boxes\ngpu1:/w/output   # the 4090\n\nubuntu@gpu2\nssh://gpu3:2200/o\n', 'hosts');
    expect('targets' in parsed && parsed.targets.map((t) => `${t.destination.label}|${t.path}`)).toEqual(['gpu1|/w/output', 'ubuntu@gpu2|', 'gpu3:2200|/o']);
    expect(parseHostsFile('gpu1:/x\n-bad:/y\n', 'hosts')).toEqual({ error: expect.stringMatching(/^hosts:2: not a host name/) });
  });

  it('paths on the host, and shell words', () => {
    expect(remotePath('', '/root')).toBe('/root');
    expect(remotePath('~/out', '/home/u')).toBe('/home/u/out');
    expect(remotePath('out', '/home/u/')).toBe('/home/u/out');
    expect(remotePath('/abs', '/home/u')).toBe('/abs');
    expect(shellQuote('nvidia-smi')).toBe('nvidia-smi');
    expect(shellQuote("it's here")).toBe(`'it'\\''s here'`);
  });

  it("ssh's failures in one line for the host's row", () => {
    expect(describeSshFailure('root@box: Permission denied (publickey,password).\r\n', 255, null)).toMatch(/^refused: Permission denied \(publickey,password\)\. \(lora-top never asks for a password/);
    expect(describeSshFailure('Host key verification failed.\n', 255, null)).toMatch(/^host key not trusted/);
    expect(describeSshFailure('sh: 1: python3: not found\n', 127, null)).toMatch(/python3 is not on the host's PATH/);
    expect(describeSshFailure('ssh: connect to host 127.0.0.1 port 1: Connection refused\n', 255, null)).toBe('connection refused');
    expect(describeSshFailure('ssh: connect to host 10.0.0.9 port 22: Connection timed out\n', 255, null)).toBe('connection timed out');
    expect(describeSshFailure('ssh: Could not resolve hostname nobox: Name or service not known\n', 255, null)).toBe('unknown host name nobox (name or service not known)');
    expect(describeSshFailure('kex_exchange_identification: read: Connection reset by peer\n', 255, null)).toBe('kex_exchange_identification: read: Connection reset by peer');
    expect(describeSshFailure('\u001b[31mevil\u001b[0m\n', 1, null)).toBe('evil');
  });
});

describe("the agent's framing", () => {
  it('JSON headers, raw bytes after a header with n, in any split', () => {
    const wire = Buffer.concat([Buffer.from('{"t":"ready","v":1}\n{"w":"f1","t":"data","n":5}\n'), Buffer.from([0, 10, 255, 13, 10]), Buffer.from('{"id":3,"ok":true}\n')]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const frames = new AgentFrames();
      const messages = [...frames.push(wire.subarray(0, cut)), ...frames.push(wire.subarray(cut))];
      expect(messages.map((m) => m.header.t ?? m.header.id)).toEqual(['ready', 'data', 3]);
      expect([...messages[1]!.data!]).toEqual([0, 10, 255, 13, 10]);
      expect(messages[2]!.data).toBeNull();
    }
  });
});
