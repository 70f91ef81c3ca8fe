import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A private OpenSSH server on 127.0.0.1 for the tests of what lora-top does over SSH: started by
 * the test on a free port with a host key and a client key it makes, key login only, no PAM (so
 * nothing sets LANG or any other variable for the session), stopped afterwards.
 */

export const SSHD = ['/usr/sbin/sshd', '/usr/bin/sshd'].find((p) => fs.existsSync(p)) ?? null;
const hasClient = spawnSync('ssh', ['-V'], { stdio: 'ignore' }).status === 0;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Why the SSH tests cannot run here, or null when they can. */
export const sshUnavailable: string | null = !SSHD
  ? 'no sshd (Debian package openssh-server)'
  : !hasClient
    ? 'no ssh client (openssh-client)'
    : !isRoot
      ? 'sshd serves only its own user when not root, and needs its privilege-separation folder: run as root (CI does)'
      : null;

export interface PrivateSshd {
  port: number;
  user: string;
  /** `ssh` with the options that reach this server and nothing of the user's own config. */
  sshArgs(): string[];
  /** An ssh_config naming this server `alias` (HostName, Port, User, IdentityFile, its known_hosts). */
  configFile(alias: string): string;
  /** The ssh command (for --ssh-command) that reads only `configFile`'s config. */
  sshCommand(alias: string): string;
  /** Kills the server and its session processes (the link went away); what runs in the sessions sees its input end. */
  kill(): Promise<void>;
  /** Starts the server again on the same port with the same keys (the host came back). */
  restart(): Promise<void>;
  /** Accepts no key from now on (a host that would need a password). */
  refuseKeys(): void;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startSshd(): Promise<PrivateSshd> {
  if (sshUnavailable) throw new Error(sshUnavailable);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-sshd-'));
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file], { stdio: 'ignore' });
  keygen(path.join(dir, 'host_key'));
  keygen(path.join(dir, 'client_key'));
  fs.copyFileSync(path.join(dir, 'client_key.pub'), path.join(dir, 'authorized_keys'));
  // sshd refuses to start without its privilege-separation folder (the package's service makes it).
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_key')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'PermitUserEnvironment no',
      'PrintMotd no',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  let server: ChildProcess;
  let exited: Promise<void>;
  const launch = async () => {
    server = spawn(SSHD!, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    server.stderr!.on('data', (d: Buffer) => (stderr += String(d)));
    exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    for (let i = 0; !(await accepts(port)); i++) {
      if (server.exitCode !== null || i > 200) throw new Error(`sshd did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  await launch();
  /** The server's session processes: its children and theirs. */
  const sessions = (): number[] => {
    const children = new Map<number, number[]>();
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/)[1]);
        children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
      } catch {
        // gone meanwhile
      }
    }
    const out: number[] = [];
    const queue = [server.pid!];
    while (queue.length > 0) for (const child of children.get(queue.shift()!) ?? []) out.push(child), queue.push(child);
    return out;
  };
  const user = os.userInfo().username;
  const knownHosts = path.join(dir, 'known_hosts');
  const configFile = (alias: string): string => {
    const file = path.join(dir, `ssh_config_${alias}`);
    fs.writeFileSync(
      file,
      [
        `Host ${alias}`,
        '  HostName 127.0.0.1',
        `  Port ${port}`,
        `  User ${user}`,
        `  IdentityFile ${path.join(dir, 'client_key')}`,
        '  IdentitiesOnly yes',
        '  StrictHostKeyChecking no',
        `  UserKnownHostsFile ${knownHosts}`,
        '  LogLevel ERROR',
        '',
      ].join('\n'),
    );
    return file;
  };
  return {
    port,
    user,
    sshArgs: () => [
      '-F', '/dev/null',
      '-i', path.join(dir, 'client_key'),
      '-p', String(port),
      '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=no',
      '-o', `UserKnownHostsFile=${path.join(dir, 'known_hosts')}`,
      '-o', 'LogLevel=ERROR',
      `${user}@127.0.0.1`,
    ],
    configFile: (alias: string) => configFile(alias),
    sshCommand(alias) {
      return `ssh -F '${configFile(alias)}'`;
    },
    async kill() {
      // The sshd processes only (the listener and each session's): what runs in a session sees its
      // connection end, as when the network between the two machines goes.
      const isSshd = (pid: number) => {
        try {
          return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('sshd');
        } catch {
          return false;
        }
      };
      const pids = [server.pid!, ...sessions().filter(isSshd)];
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exited;
    },
    async restart() {
      await launch();
    },
    refuseKeys() {
      fs.writeFileSync(path.join(dir, 'authorized_keys'), '');
    },
    async stop() {
      const left = server.exitCode === null ? sessions() : [];
      if (server.exitCode === null) server.kill('SIGTERM');
      await exited;
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
