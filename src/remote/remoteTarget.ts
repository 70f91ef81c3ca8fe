/**
 * What a remote target on the command line or in a hosts file means (pure): `[user@]host:PATH` (the
 * scp form: a colon before any slash) or `ssh://[user@]host[:port]/PATH`. The host part is handed
 * to ssh as the destination, so aliases from `~/.ssh/config` work as in the person's shell.
 */

export interface SshDestination {
  /** What ssh is given as the destination (an alias from ~/.ssh/config is fine). */
  host: string;
  user: string | null;
  port: number | null;
  /** How the host is named on screen and in metrics: `user@host`, `host:2222`. */
  label: string;
}

export interface RemoteTarget {
  destination: SshDestination;
  /** The path on the host; '' means the login folder (as scp reads `host:`). */
  path: string;
}

export type ParsedTarget = { kind: 'remote'; target: RemoteTarget } | { kind: 'local'; path: string } | { kind: 'error'; message: string };

/** A host name ssh takes as a destination and never as an option (no leading '-', no spaces or control characters). */
const HOST = /^[A-Za-z0-9_.%\-[\]:]+$/;
const USER = /^[A-Za-z0-9_.\-+$]+$/;

function destination(host: string, user: string | null, port: number | null): SshDestination | string {
  if (host.length === 0) return 'no host name';
  if (host.startsWith('-') || !HOST.test(host)) return `not a host name: ${JSON.stringify(host)}`;
  if (user !== null && (user.length === 0 || user.startsWith('-') || !USER.test(user))) return `not a user name: ${JSON.stringify(user)}`;
  const label = `${user !== null ? `${user}@` : ''}${host}${port !== null ? `:${port}` : ''}`;
  return { host, user, port, label };
}

/** Whether a command-line PATH names a remote target rather than a local path. */
export function looksRemote(arg: string): boolean {
  if (arg.startsWith('ssh://')) return true;
  const colon = arg.indexOf(':');
  if (colon <= 0) return false;
  const slash = arg.indexOf('/');
  return slash < 0 || colon < slash;
}

export function parseTarget(arg: string): ParsedTarget {
  if (arg.startsWith('ssh://')) {
    const rest = arg.slice('ssh://'.length);
    const slash = rest.indexOf('/');
    const authority = slash < 0 ? rest : rest.slice(0, slash);
    const path = slash < 0 ? '' : decodeURIComponent(rest.slice(slash));
    const at = authority.lastIndexOf('@');
    const user = at >= 0 ? decodeURIComponent(authority.slice(0, at)) : null;
    let hostPort = at >= 0 ? authority.slice(at + 1) : authority;
    let port: number | null = null;
    const portMatch = /^(.*?)(?::(\d*))?$/.exec(hostPort.startsWith('[') ? hostPort.replace(/^\[([^\]]*)\]/, '$1\u0000') : hostPort);
    if (portMatch && portMatch[2] !== undefined) {
      if (!/^\d{1,5}$/.test(portMatch[2]) || Number(portMatch[2]) < 1 || Number(portMatch[2]) > 65535) return { kind: 'error', message: `bad port in ${arg}` };
      port = Number(portMatch[2]);
      hostPort = portMatch[1]!;
    }
    hostPort = hostPort.replace('\u0000', '');
    const d = destination(hostPort, user, port);
    if (typeof d === 'string') return { kind: 'error', message: `${d} in ${arg}` };
    return { kind: 'remote', target: { destination: d, path } };
  }
  if (!looksRemote(arg)) return { kind: 'local', path: arg };
  const colon = arg.indexOf(':');
  const authority = arg.slice(0, colon);
  const path = arg.slice(colon + 1);
  const at = authority.lastIndexOf('@');
  const d = destination(at >= 0 ? authority.slice(at + 1) : authority, at >= 0 ? authority.slice(0, at) : null, null);
  if (typeof d === 'string') return { kind: 'error', message: `${d} in ${arg}` };
  return { kind: 'remote', target: { destination: d, path } };
}

/** A hosts file: one target a line, `#` starts a comment, blank lines ignored. Errors name the line. */
export function parseHostsFile(text: string, file: string): { targets: RemoteTarget[] } | { error: string } {
  const targets: RemoteTarget[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/(^|\s)#.*$/, '').trim();
    if (line.length === 0) continue;
    const parsed = parseTarget(line.includes(':') || line.startsWith('ssh://') ? line : `${line}:`);
    if (parsed.kind === 'error') return { error: `${file}:${i + 1}: ${parsed.message}` };
    if (parsed.kind === 'local') return { error: `${file}:${i + 1}: not a remote target (host:PATH or ssh://host/PATH): ${JSON.stringify(line.slice(0, 80))}` };
    targets.push(parsed.target);
  }
  return { targets };
}

/** A path for the remote shell-free agent: `~` and '' (the login folder) resolved against `home`. */
export function remotePath(path: string, home: string): string {
  if (path === '' || path === '~') return home;
  if (path.startsWith('~/')) return `${home}/${path.slice(2)}`;
  if (path.startsWith('/')) return path;
  return `${home.replace(/\/$/, '')}/${path}`;
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:,@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
