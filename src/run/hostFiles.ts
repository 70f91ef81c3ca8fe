import { watch } from 'node:fs';
import { readdir, readFile, realpath, stat, statfs, open } from 'node:fs/promises';
import { followFile, readFileBytesOnce, type Follower, type FollowHandlers, type FollowOptions } from '../sources/fileFollower.js';

/**
 * How the files of runs are reached (I/O): this machine's file system, or a GPU box's through its
 * SSH agent (remote/remoteFiles.ts). Everything that reads a run folder, locates a run or follows a
 * log goes through this, so a remote run is read by the same code as a local one.
 */

export interface DirEntry {
  name: string;
  type: 'file' | 'dir' | 'other';
  /** A symbolic link (its type is its target's). */
  link: boolean;
  /** Size and times where the listing carries them (a remote listing does); else undefined. */
  size?: number;
  mtimeMs?: number;
  ctimeMs?: number;
}

export interface FileInfo {
  type: 'file' | 'dir' | 'other';
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

export interface HostFiles {
  /** null: this machine; else the host's label (`user@box`). */
  readonly host: string | null;
  /** Whether the files can be reached now (another host's link may be down; what failed meanwhile says nothing). */
  reachable(): boolean;
  /** Another host's link as it changes (told at once, then on each change); absent on this machine. */
  watchLink?(onLink: (link: { link: 'connecting' | 'up' | 'down'; since: number; why: string | null }) => void): () => void;
  /** Throws a Node-style error (`code` ENOENT, EACCES…) when the folder cannot be listed. */
  list(dir: string): Promise<DirEntry[]>;
  stat(path: string): Promise<FileInfo>;
  /** The file's first `maxBytes` bytes (all of it by default). */
  readFile(path: string, maxBytes?: number): Promise<Buffer>;
  realpath(path: string): Promise<string>;
  statfs(path: string): Promise<{ freeBytes: number; totalBytes: number }>;
  /** The whole file, in pieces, in order (a backfill). */
  readChunks(path: string, onBytes: (bytes: Buffer) => void): Promise<void>;
  follow(path: string, handlers: FollowHandlers, options: FollowOptions): Follower;
  /** A read-only SQLite query where the database lies (another host's); absent: open it here. */
  querySqlite?(path: string, sql: string, args: unknown[]): Promise<{ columns: string[]; rows: unknown[][] }>;
  /** Calls `onChange` (with the entry's name where known) when the folder's entries change; null where it cannot be watched. */
  watchDir(path: string, onChange: (name: string | null) => void): { close(): void } | null;
}

const typeOf = (info: { isFile(): boolean; isDirectory(): boolean }): FileInfo['type'] => (info.isFile() ? 'file' : info.isDirectory() ? 'dir' : 'other');

export const localFiles: HostFiles = {
  host: null,
  reachable: () => true,
  async list(dir) {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.map((e) => ({ name: e.name, type: e.isSymbolicLink() ? 'file' : typeOf(e), link: e.isSymbolicLink() }));
  },
  async stat(path) {
    const info = await stat(path);
    return { type: typeOf(info), size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs, ino: info.ino };
  },
  async readFile(path, maxBytes) {
    if (maxBytes === undefined) return readFile(path);
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(maxBytes);
      const { bytesRead } = await handle.read(buffer, 0, maxBytes, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  },
  realpath: (path) => realpath(path),
  async statfs(path) {
    const fs = await statfs(path);
    return { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize };
  },
  readChunks: readFileBytesOnce,
  follow: followFile,
  watchDir(path, onChange) {
    try {
      const watcher = watch(path, { persistent: false }, (_event, name) => onChange(typeof name === 'string' ? name : null));
      watcher.on('error', () => watcher.close());
      return watcher;
    } catch {
      return null;
    }
  },
};

/** Whether the path exists (any type). */
export async function exists(files: HostFiles, path: string): Promise<boolean> {
  try {
    await files.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The folder's entries' names ([] when it cannot be listed). */
export async function namesIn(files: HostFiles, dir: string): Promise<string[]> {
  try {
    return (await files.list(dir)).map((e) => e.name);
  } catch {
    return [];
  }
}

