import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteFiles } from './remoteFiles.js';
import { shellQuote, type SshDestination } from './remoteTarget.js';
import { SshHost } from './sshHost.js';
import type { HostFiles } from '../run/hostFiles.js';

/**
 * The SSH hosts of a session (I/O): one connection per host however many targets name it, their
 * ControlMaster sockets in one private folder (mode 700, made by mkdtemp) removed at the end.
 */
export class HostPool {
  private readonly hosts = new Map<string, SshHost>();
  private controlDir: string | null = null;

  constructor(private readonly sshCommand: string | null) {}

  /** The host's connection (made on first use). */
  get(destination: SshDestination): SshHost {
    let host = this.hosts.get(destination.label);
    if (!host) {
      // Short: a socket's path must fit in 104 bytes.
      this.controlDir ??= mkdtempSync(join(tmpdir(), 'lora-top-ssh-'));
      host = new SshHost(destination, { sshCommand: this.sshCommand, controlDir: this.controlDir, socketName: `h${this.hosts.size + 1}` });
      this.hosts.set(destination.label, host);
    }
    return host;
  }

  byLabel(label: string): SshHost | null {
    return this.hosts.get(label) ?? null;
  }

  all(): SshHost[] {
    return [...this.hosts.values()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((h) => h.close()));
    if (this.controlDir) rmSync(this.controlDir, { recursive: true, force: true });
  }
}

/** The files of a host, and how its nvidia-smi is started. */
export function hostAccess(host: SshHost): { files: HostFiles; command: (file: string, args: string[]) => { file: string; args: string[] } } {
  return {
    files: remoteFiles(host),
    command: (file, args) => host.remote([file, ...args].map(shellQuote).join(' ')),
  };
}
