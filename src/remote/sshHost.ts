import { spawn, type ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { stripControlSequences } from '../parse/sanitize.js';
import { agentCommand } from './agentCommand.js';
import { AgentError, AgentLink, type AgentMessage } from './agentLink.js';
import type { SshDestination } from './remoteTarget.js';

/**
 * One GPU box reached over the person's own `ssh` (I/O). The agent's session is the connection's
 * ControlMaster (a socket in lora-top's private folder): every other remote command (the resident
 * nvidia-smi) goes through it, and it ends when lora-top ends, however it ends — its standard input
 * is lora-top's pipe, so the agent reads end-of-input and exits, and the master with it. `BatchMode`
 * means ssh never asks for a password; a host that needs one says so in its row.
 *
 * A dropped connection is noticed by ssh's keep-alives (or at once when the host closes it), said as
 * "unreachable since", and made again with a growing wait; follows and folder watches are taken up
 * again where they stopped, so nothing the log wrote meanwhile is lost.
 */

export type HostLinkState =
  | { kind: 'connecting'; since: number; attempts: number }
  | { kind: 'up'; since: number }
  | { kind: 'down'; since: number; why: string; retryAt: number | null };

export interface SshOptions {
  /** `--ssh-command` / `LORA_TOP_SSH_COMMAND`: run through `sh -c`, like git's GIT_SSH_COMMAND. */
  sshCommand: string | null;
  /** The private folder (mode 700) that holds the ControlMaster sockets. */
  controlDir: string;
  /** A short unique name of this host's socket in controlDir. */
  socketName: string;
  /** Keep-alive: seconds between probes, probes missed before the link counts as gone. */
  aliveIntervalS?: number;
  aliveCountMax?: number;
  connectTimeoutS?: number;
}

export class HostDown extends Error {
  readonly code = 'EHOSTDOWN';
}

const BACKOFF_MS = [1000, 2000, 4000, 8000, 15_000, 30_000];
const STDERR_KEEP = 4096;

export interface FollowHandlers {
  onData(bytes: Buffer): void;
  onReset(why: 'truncated' | 'rotated' | 'created'): void;
  onWaiting?(): void;
  onError?(message: string): void;
}

interface FollowSlot {
  path: string;
  offset: number;
  ino: number | null;
  handlers: FollowHandlers;
}

let nextKey = 1;

/** Why ssh (or the agent) ended, in one line for the host's row. */
export function describeSshFailure(stderr: string, code: number | null, signal: NodeJS.Signals | null): string {
  const lines = stripControlSequences(stderr)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !/^Warning: Permanently added/.test(l));
  const has = (re: RegExp) => lines.find((l) => re.test(l));
  const denied = has(/Permission denied/i);
  if (denied) return `refused: ${denied.replace(/^.*?Permission denied/i, 'Permission denied')} (lora-top never asks for a password: use a key or the agent)`;
  const hostKey = has(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i);
  if (hostKey) return `host key not trusted: ${hostKey} (connect once with ssh to accept it)`;
  if (code === 127 && has(/python3/)) return 'python3 is not on the host\'s PATH (lora-top needs it there; nothing else)';
  const last = lines[lines.length - 1];
  if (last) {
    // ssh names the address and port it tried; the row already names the host.
    const connect = /^ssh: connect to host \S+ port \d+: (.+)$/.exec(last);
    if (connect) return connect[1]!.toLowerCase();
    const resolve = /^ssh: Could not resolve hostname (\S+?):\s*(.+)$/.exec(last);
    if (resolve) return `unknown host name ${resolve[1]} (${resolve[2]!.toLowerCase()})`;
    return last.slice(0, 160);
  }
  if (signal) return `ssh ended by ${signal}`;
  return code === 255 ? 'ssh could not connect' : `the connection ended (exit ${code ?? '?'})`;
}

export class SshHost {
  private proc: ChildProcess | null = null;
  private link: AgentLink | null = null;
  private state: HostLinkState;
  private readonly listeners = new Set<(state: HostLinkState) => void>();
  private readonly follows = new Map<string, FollowSlot>();
  private readonly dirWatches = new Map<string, { path: string; onChange(): void }>();
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private exited: Promise<void> = Promise.resolve();
  private readyWaiters: Array<() => void> = [];
  /** Bytes that crossed the link (agent traffic) since lora-top started. */
  private bytesBefore = { in: 0, out: 0 };
  /** What the agent said about the host when it started (home, hostname…). */
  hello: Record<string, unknown> | null = null;

  constructor(readonly destination: SshDestination, private readonly options: SshOptions) {
    this.state = { kind: 'connecting', since: Date.now(), attempts: 0 };
    this.connect();
  }

  get label(): string {
    return this.destination.label;
  }

  status(): HostLinkState {
    return this.state;
  }

  subscribe(listener: (state: HostLinkState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  bytes(): { in: number; out: number } {
    return { in: this.bytesBefore.in + (this.link?.bytesIn ?? 0), out: this.bytesBefore.out + (this.link?.bytesOut ?? 0) };
  }

  private setState(state: HostLinkState): void {
    this.state = state;
    for (const listener of this.listeners) listener(state);
  }

  /** ssh's own options that every command of this host shares. */
  private commonArgs(): string[] {
    const d = this.destination;
    return [
      '-o', 'BatchMode=yes',
      '-o', `ControlPath=${this.options.controlDir}/${this.options.socketName}`,
      '-o', `ServerAliveInterval=${this.options.aliveIntervalS ?? 5}`,
      '-o', `ServerAliveCountMax=${this.options.aliveCountMax ?? 3}`,
      '-o', `ConnectTimeout=${this.options.connectTimeoutS ?? 10}`,
      ...(d.port !== null ? ['-p', String(d.port)] : []),
      ...(d.user !== null ? ['-l', d.user] : []),
    ];
  }

  /** The program and arguments that run `args` through ssh (or the person's --ssh-command). */
  sshInvocation(args: string[]): { file: string; args: string[] } {
    if (this.options.sshCommand) return { file: '/bin/sh', args: ['-c', `${this.options.sshCommand} "$@"`, 'ssh', ...args] };
    return { file: 'ssh', args };
  }

  /** How a remote command is started through this host's connection (for spawn). */
  remote(command: string): { file: string; args: string[] } {
    return this.sshInvocation([...this.commonArgs(), '-o', 'ControlMaster=no', '-T', '--', this.destination.host, command]);
  }

  private connect(): void {
    if (this.closed) return;
    this.attempt++;
    if (this.state.kind !== 'down') this.setState({ kind: 'connecting', since: this.state.since, attempts: this.attempt });
    const how = this.sshInvocation([...this.commonArgs(), '-o', 'ControlMaster=yes', '-o', 'ControlPersist=no', '-T', '--', this.destination.host, agentCommand()]);
    const proc = spawn(how.file, how.args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    this.proc = proc;
    const link = new AgentLink(proc.stdin!, proc.stdout!);
    this.link = link;
    let stderr = '';
    const decoder = new StringDecoder('utf8');
    proc.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + decoder.write(chunk)).slice(-STDERR_KEEP);
    });
    proc.on('error', () => {});
    link.onReady = () => void this.ready(link);
    this.exited = new Promise<void>((resolve) => {
      proc.once('close', (code, signal) => {
        link.end(new HostDown(`${this.label} is unreachable`));
        this.bytesBefore = { in: this.bytesBefore.in + link.bytesIn, out: this.bytesBefore.out + link.bytesOut };
        if (this.link === link) this.link = null;
        if (this.proc === proc) this.proc = null;
        resolve();
        if (this.closed) return;
        const why = describeSshFailure(stderr, code, signal);
        const since = this.state.kind === 'down' ? this.state.since : Date.now();
        const wait = BACKOFF_MS[Math.min(this.attempt - 1, BACKOFF_MS.length - 1)]!;
        this.setState({ kind: 'down', since, why, retryAt: Date.now() + wait });
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.connect();
        }, wait);
      });
    });
  }

  private async ready(link: AgentLink): Promise<void> {
    try {
      this.hello = (await link.request('hello')).header;
    } catch {
      return;
    }
    if (link !== this.link || this.closed) return;
    this.attempt = 0;
    // Take up every follow and folder watch again, from where it stopped.
    for (const [key, slot] of this.follows) this.startFollow(link, key, slot);
    for (const [key, watch] of this.dirWatches) {
      link.onPush(key, () => watch.onChange());
      void link.request('watchdir', { key, path: watch.path }).catch(() => {});
      // Whatever changed while the link was down is looked at now.
      watch.onChange();
    }
    this.setState({ kind: 'up', since: Date.now() });
    for (const waiter of this.readyWaiters.splice(0)) waiter();
  }

  /** Resolves once the agent answers (or rejects with HostDown when `waitMs` passes first). */
  whenUp(waitMs: number): Promise<void> {
    if (this.state.kind === 'up') return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== done);
        reject(new HostDown(this.downMessage()));
      }, waitMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.readyWaiters.push(done);
    });
  }

  private downMessage(): string {
    return this.state.kind === 'down' ? `${this.label}: ${this.state.why}` : `${this.label} is not connected yet`;
  }

  /** One request to the agent; rejects with HostDown while the host cannot be reached. */
  request(op: string, args: Record<string, unknown> = {}): Promise<AgentMessage> {
    if (this.state.kind !== 'up' || !this.link) return Promise.reject(new HostDown(this.downMessage()));
    return this.link.request(op, args);
  }

  private startFollow(link: AgentLink, key: string, slot: FollowSlot): void {
    link.onPush(key, ({ header, data }) => {
      if (header.t === 'data' && data) {
        slot.offset += data.length;
        if (typeof header.ino === 'number') slot.ino = header.ino;
        slot.handlers.onData(data);
      } else if (header.t === 'reset') {
        slot.offset = 0;
        slot.handlers.onReset(header.why === 'truncated' || header.why === 'created' ? header.why : 'rotated');
      } else if (header.t === 'waiting') slot.handlers.onWaiting?.();
      else if (header.t === 'error') slot.handlers.onError?.(String(header.error ?? 'read failed'));
    });
    void link.request('follow', { key, path: slot.path, offset: slot.offset, ino: slot.ino }).catch((error: Error) => slot.handlers.onError?.(error.message));
  }

  /** Follows a file's growth from `offset`; continues across reconnections. */
  follow(path: string, offset: number, handlers: FollowHandlers): { close(): void } {
    const key = `f${nextKey++}`;
    const slot: FollowSlot = { path, offset, ino: null, handlers };
    this.follows.set(key, slot);
    if (this.state.kind === 'up' && this.link) this.startFollow(this.link, key, slot);
    return {
      close: () => {
        this.follows.delete(key);
        this.link?.onPush(key, null);
        if (this.state.kind === 'up') void this.link?.request('unfollow', { key }).catch(() => {});
      },
    };
  }

  /** Calls `onChange` when the folder changes (the agent compares its times every quarter second). */
  watchDir(path: string, onChange: () => void): { close(): void } {
    const key = `d${nextKey++}`;
    this.dirWatches.set(key, { path, onChange });
    if (this.state.kind === 'up' && this.link) {
      this.link.onPush(key, () => onChange());
      void this.link.request('watchdir', { key, path }).catch(() => {});
    }
    return {
      close: () => {
        this.dirWatches.delete(key);
        this.link?.onPush(key, null);
        if (this.state.kind === 'up') void this.link?.request('unfollow', { key }).catch(() => {});
      },
    };
  }

  /** Ends the connection: the agent reads end-of-input (lifting any freeze it holds) and exits. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const proc = this.proc;
    if (proc) {
      proc.stdin?.end();
      const killer = setTimeout(() => proc.kill('SIGTERM'), 3000);
      await this.exited;
      clearTimeout(killer);
    }
  }
}

export { AgentError };
