import { StringDecoder } from 'node:string_decoder';
import type { DirEntry, FileInfo, HostFiles } from '../run/hostFiles.js';
import type { Follower, FollowHandlers, FollowOptions } from '../sources/fileFollower.js';
import type { HostLinkState, SshHost } from './sshHost.js';
import { AgentError } from './agentLink.js';

/**
 * Another host's files, through its agent (I/O): the same HostFiles the local reading code uses, so
 * a remote run folder is listed, located and followed by that code. What crosses the link: folder
 * listings (with sizes and times in the same answer), the log from where lora-top last read it, and
 * a file's bytes only when asked (a sample when it is shown, a config once).
 */

const KIND: Record<string, FileInfo['type']> = { f: 'file', d: 'dir', o: 'other' };
const READ_CHUNK = 8 << 20;
/** Most a single file read asks for (a sample image, a config). */
const READ_MAX = 64 << 20;

export function remoteFiles(host: SshHost): HostFiles {
  const request = (op: string, args: Record<string, unknown>) => host.request(op, args);
  const stats = new StatBatcher(request);
  return {
    host: host.label,
    reachable: () => host.status().kind === 'up',
    watchLink(onLink) {
      const tell = (state: HostLinkState) => onLink({ link: state.kind, since: state.since, why: state.kind === 'down' ? state.why : null });
      tell(host.status());
      return host.subscribe(tell);
    },
    async list(dir) {
      const { header } = await request('list', { path: dir });
      const rows = header.entries as Array<[string, string, number, number, number, boolean]>;
      return rows.map(([name, kind, size, mtimeMs, ctimeMs, link]): DirEntry => ({ name, type: KIND[kind] ?? 'other', link, size, mtimeMs, ctimeMs }));
    },
    stat: (path) => stats.stat(path),
    async readFile(path, maxBytes) {
      const { data } = await request('read', { path, offset: 0, max: maxBytes ?? READ_MAX });
      return data ?? Buffer.alloc(0);
    },
    async realpath(path) {
      return String((await request('realpath', { path })).header.path);
    },
    async statfs(path) {
      const { header } = await request('statvfs', { path });
      return { freeBytes: Number(header.free), totalBytes: Number(header.total) };
    },
    async readChunks(path, onBytes) {
      for (let offset = 0; ; ) {
        const { data } = await request('read', { path, offset, max: READ_CHUNK });
        if (!data || data.length === 0) return;
        onBytes(data);
        offset += data.length;
        if (data.length < READ_CHUNK) return;
      }
    },
    follow(path: string, handlers: FollowHandlers, _options: FollowOptions): Follower {
      // The agent looks at the file every quarter second and sends what it grew by.
      let decoder = new StringDecoder('utf8');
      const following = host.follow(path, 0, {
        onData(bytes) {
          const text = decoder.write(bytes);
          if (text.length > 0) handlers.onText(text, Date.now());
        },
        onReset(why) {
          decoder = new StringDecoder('utf8');
          handlers.onReset?.(why);
        },
        onWaiting: () => handlers.onWaiting?.(),
        onError: (message) => handlers.onError?.(new Error(message)),
      });
      return {
        ready: Promise.resolve(),
        close: async () => following.close(),
      };
    },
    async querySqlite(path, sql, args) {
      const { header } = await request('query', { db: path, sql, args });
      return { columns: header.columns as string[], rows: header.rows as unknown[][] };
    },
    watchDir(path, onChange) {
      return host.watchDir(path, () => onChange(null));
    },
  };
}

type Request = (op: string, args: Record<string, unknown>) => Promise<{ header: Record<string, unknown> }>;

/**
 * Stats asked for in one turn of the event loop go to the host as one request (a scan of a folder
 * of runs asks for ten a run at once): one round trip and one answer instead of one each. A path
 * asked for twice in the turn is stat'ed once.
 */
class StatBatcher {
  private pending: Map<string, Array<{ resolve(info: FileInfo): void; reject(error: Error): void }>> | null = null;

  constructor(private readonly request: Request) {}

  stat(path: string): Promise<FileInfo> {
    return new Promise((resolve, reject) => {
      if (!this.pending) {
        this.pending = new Map();
        setImmediate(() => this.flush());
      }
      const waiting = this.pending.get(path);
      if (waiting) waiting.push({ resolve, reject });
      else this.pending.set(path, [{ resolve, reject }]);
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = null;
    if (!batch) return;
    const paths = [...batch.keys()];
    if (paths.length === 1) {
      const path = paths[0]!;
      this.request('stat', { path }).then(
        ({ header }) => settle(batch.get(path)!, { type: KIND[String(header.type)] ?? 'other', size: Number(header.size), mtimeMs: Number(header.mtimeMs), ctimeMs: Number(header.ctimeMs), ino: Number(header.ino) }),
        (error: Error) => fail(batch.get(path)!, error),
      );
      return;
    }
    this.request('stats', { paths }).then(
      ({ header }) => {
        const entries = header.entries as Array<[string | null, number | string, number | string, number, number]>;
        paths.forEach((path, k) => {
          const entry = entries[k];
          const waiting = batch.get(path)!;
          if (!entry) fail(waiting, new AgentError('no answer', undefined));
          else if (entry[0] === null) fail(waiting, new AgentError(String(entry[1]), entry[2] ? String(entry[2]) : undefined));
          else settle(waiting, { type: KIND[entry[0]] ?? 'other', size: Number(entry[1]), mtimeMs: Number(entry[2]), ctimeMs: Number(entry[3]), ino: Number(entry[4]) });
        });
      },
      (error: Error) => {
        for (const waiting of batch.values()) fail(waiting, error);
      },
    );
  }
}

function settle(waiting: Array<{ resolve(info: FileInfo): void }>, info: FileInfo): void {
  for (const w of waiting) w.resolve({ ...info });
}

function fail(waiting: Array<{ reject(error: Error): void }>, error: Error): void {
  for (const w of waiting) w.reject(error);
}
