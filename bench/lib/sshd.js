// A private OpenSSH server on 127.0.0.1 for the remote measurements (as test/helpers/sshd.ts for
// the tests): a free port, a host key and a client key made here, key login only; an ssh_config
// naming it `alias`. Needs root (sshd serves only its own user otherwise) and openssh-server.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';

export const SSHD = ['/usr/sbin/sshd', '/usr/bin/sshd'].find((p) => existsSync(p)) ?? null;

export function sshdUnavailable() {
  if (!SSHD) return 'no sshd (openssh-server)';
  if (process.getuid?.() !== 0) return 'sshd needs root here';
  return null;
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const accepts = (port) =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

export async function startSshd(parent, alias) {
  const dir = mkdtempSync(join(parent, 'sshd-'));
  for (const key of ['host_key', 'client_key']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, key)], { stdio: 'ignore' });
  copyFileSync(join(dir, 'client_key.pub'), join(dir, 'authorized_keys'));
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(config, [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `PidFile ${join(dir, 'sshd.pid')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'StrictModes no', 'UsePAM no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PermitRootLogin prohibit-password', 'PrintMotd no', 'LogLevel ERROR', ''].join('\n'));
  const server = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise((resolve) => server.once('exit', resolve));
  for (let i = 0; !(await accepts(port)); i++) {
    if (server.exitCode !== null || i > 200) throw new Error('sshd did not start');
    await new Promise((r) => setTimeout(r, 25));
  }
  const sshConfig = join(dir, 'ssh_config');
  writeFileSync(sshConfig, [`Host ${alias}`, '  HostName 127.0.0.1', `  Port ${port}`, `  User ${os.userInfo().username}`, `  IdentityFile ${join(dir, 'client_key')}`, '  IdentitiesOnly yes', '  StrictHostKeyChecking no', `  UserKnownHostsFile ${join(dir, 'known_hosts')}`, '  LogLevel ERROR', ''].join('\n'));
  return {
    port,
    sshCommand: `ssh -F ${sshConfig}`,
    async stop() {
      if (server.exitCode === null) server.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Bytes both ways on the TCP connections to `port` (`ss -tin`): what crossed the wire, encrypted, keep-alives and all. */
export function wireBytes(port) {
  const text = execFileSync('ss', ['-tinH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  let sent = 0;
  let received = 0;
  for (const m of text.matchAll(/bytes_acked:(\d+)/g)) sent += Number(m[1]);
  for (const m of text.matchAll(/bytes_received:(\d+)/g)) received += Number(m[1]);
  return { sent, received, total: sent + received };
}
