/**
 * Follows a log file like `tail -F`, but from byte 0, and hands out decoded text as soon as it is
 * written, including a bare `"\r" + bar state` with no newline (the live tqdm bar).
 *
 * Why not `@logdna/tail-file`: it only polls (no fs.watch), `start()` rejects when the file does not
 * exist yet, it gives up and errors ~2 s after the file disappears (`maxPollFailures`), and it reads
 * changes through the *path* after a `stat`, so a rename landing between the two reads the new file
 * at the old file's offset. This follower reads through its own open descriptor with positional
 * reads, so bytes always come from the file whose identity (dev, ino) it checked.
 *
 * How it works: one "step" at a time (never two concurrently) does
 *   1. if no file is open: open the path (missing: call `onWaiting` once and try again later);
 *   2. fstat the open file; smaller than what was read: `onReset('truncated')`, read from 0;
 *   3. read from the current position to EOF (1 MiB reads), decode, `onText`;
 *   4. stat the path: gone: `onWaiting` once, keep reading the old file (a writer may still hold
 *      it); another file: read the rest of the old one, close it, `onReset('rotated')`, open the
 *      new one and read it from 0.
 * A step runs on every `fs.watch` event on the file's directory for the file's name (instant on
 * Linux/macOS/Windows local disks), and every `pollMs` (default 100 ms) regardless, so that network
 * drives, WSL `/mnt/c`, Docker bind mounts and other places where watching fails still stay within
 * about 100 ms.
 *
 * Reset reasons:
 *   - `'created'`: the path was missing when following started (`onWaiting` was called) and a file
 *     has now appeared there. Nothing was delivered before, so there is nothing to throw away.
 *   - `'rotated'`: a different file (dev/ino) now sits at the path than the one that was being read,
 *     whether or not the path was seen missing in between (the ai-toolkit UI renames `log.txt` to
 *     `logs/<N>_log.txt` and creates a fresh `log.txt`; a deleted and re-created file looks the
 *     same). The rest of the old file has been delivered before this call.
 *   - `'truncated'`: the same file got shorter than what was read; it is read again from 0.
 * After any reset the UTF-8 decoder starts afresh (an incomplete character of the old text is
 * dropped). Limitation: a truncation immediately followed by writes that make the file longer than
 * before, all between two steps, cannot be told from an append (as with `tail -f`).
 *
 * Errors: opening fails with anything but ENOENT (EACCES, EISDIR, ENOTDIR...) before `ready`
 * settled: the error (a Node system error, `code` kept) goes to `onError`, `ready` rejects with it
 * and the follower stops by itself. Later errors go to `onError` (once per distinct code in a row,
 * not every poll) and the follower keeps trying. A throwing handler is reported to `onError` too.
 */
import { type FSWatcher, type Stats, fstatSync, promises as fsp, readSync, statSync, statfsSync, watch } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';

export interface FollowHandlers {
  /**
   * Decoded text, in file order; `at` is Date.now() when its bytes were read. Never empty; one read
   * of up to 1 MiB is handed out in pieces of at most 32 KiB worth of bytes.
   */
  onText(text: string, at: number): void;
  /**
   * When given: what a local file held when it was first opened, up to its last line end (a LF, or a
   * CR that no LF follows), comes here as its bytes (in reads of up to 1 MiB, the buffer reused after
   * the call) instead of as text, for a reader that reads a backfill from bytes; what follows comes
   * as text. `nextByte`: with the last of them, the byte that follows then, unless it is a LF (or
   * there is none, or the file changed under the read: -1).
   */
  onBytes?(bytes: Buffer, at: number, nextByte: number): void;
  /** Throw away what came before: the next text starts at byte 0 of a file. */
  onReset?(reason: 'truncated' | 'rotated' | 'created'): void;
  /** The path does not exist (called once each time it goes missing). */
  onWaiting?(): void;
  onError?(error: Error): void;
}

export interface Follower {
  /**
   * Resolves once the file's current content has been delivered (or, when it is missing, once
   * `onWaiting` was called). Rejects on an error that stopped the follower before that.
   */
  ready: Promise<void>;
  /** Stops watching and polling and closes the file; resolves when nothing is left open. */
  close(): Promise<void>;
}

export interface FollowOptions {
  /** Poll interval in ms, used even when fs.watch works. Default 100. */
  pollMs?: number;
  /**
   * false: no fs.watch, the poll alone (a list of many runs that redraws every two seconds needs no
   * read per write). Default true.
   */
  watch?: boolean;
  /** With onBytes: what it gets ends at or before this offset (the size the caller saw; what was written since is live). */
  bytesUpTo?: number;
}

const READ_BUFFER_BYTES = 1 << 20;
/**
 * Bytes are read 1 MiB at a time but decoded in slices of this size: V8 allocates a string over
 * ~128 KB in large-object space, which made decoding 5-7x slower (measured on Node 20: 1 MiB slices
 * ~125 MB/s for log text with bar characters, 32 KiB slices ~840 MB/s, ASCII ~7 GB/s).
 */
const DECODE_SLICE_BYTES = 32 * 1024;

/** Decodes `buf[0, n)` in slices and hands out each non-empty piece of text. */
function decodeInSlices(decoder: StringDecoder, buf: Buffer, n: number, emit: (text: string) => void): void {
  for (let from = 0; from < n; from += DECODE_SLICE_BYTES) {
    const text = decoder.write(buf.subarray(from, Math.min(n, from + DECODE_SLICE_BYTES)));
    if (text.length > 0) emit(text);
  }
}
const WATCH_RETRY_MS = 1000;

/**
 * Filesystems whose reads can wait on a network (statfs f_type): NFS, SMB/CIFS, FUSE (sshfs,
 * rclone, s3fs), 9p (WSL's /mnt/c), Ceph, Lustre, GPFS, AFS, GFS2, OCFS2. A read there may block
 * for as long as the network does, so it goes through libuv's pool, never on the main thread.
 */
const NETWORK_FILESYSTEMS = new Set([0x6969, 0x517b, 0xff534d42, 0xfe534d42, 0x65735546, 0x01021997, 0x00c36400, 0x0bd00bd0, 0x47504653, 0x5346414f, 0x01161970, 0x7461636f]);

/** Whether reads of `path` are local (never wait on a network); false when it cannot be told. */
function onLocalDisk(path: string): boolean {
  try {
    return !NETWORK_FILESYSTEMS.has(Number(statfsSync(path).type));
  } catch {
    return false;
  }
}

type ErrnoError = NodeJS.ErrnoException;

function isErrno(e: unknown): e is ErrnoError {
  return e instanceof Error && typeof (e as ErrnoError).code === 'string';
}

function eisdir(filePath: string): ErrnoError {
  const e: ErrnoError = new Error(`EISDIR: illegal operation on a directory, read '${filePath}'`);
  e.code = 'EISDIR';
  e.errno = -21;
  e.syscall = 'read';
  e.path = filePath;
  return e;
}

/** How far back from a file's end a line end is looked for (a longer last line: no bytes path). */
const LINE_END_SEARCH_BYTES = 1 << 20;

/**
 * Just after the last line end in the first `size` bytes of `fd` (looked for in the last MiB): a LF,
 * or a CR followed by a byte other than LF; null when there is none.
 */
function lastLineEnd(fd: number, size: number): number | null {
  const block = Buffer.allocUnsafe(64 * 1024);
  let after = -1;
  for (let end = size; end > 0 && size - end < LINE_END_SEARCH_BYTES; ) {
    const from = Math.max(0, end - block.length);
    const n = readSync(fd, block, 0, end - from, from);
    for (let i = n - 1; i >= 0; i--) {
      const c = block[i]!;
      if (c === 10) return from + i + 1;
      // A CR at the very end may yet be followed by a LF.
      if (c === 13 && after >= 0) return from + i + 1;
      after = c;
    }
    end = from;
  }
  return null;
}

/** The byte at `offset` of `fd` when it is there and is not a LF (what follows the bytes handed over), else -1. */
function byteAt(fd: number, offset: number): number {
  const one = Buffer.allocUnsafe(1);
  const c = readSync(fd, one, 0, 1, offset) === 1 ? one[0]! : -1;
  return c === 10 ? -1 : c;
}

export function followFile(filePath: string, handlers: FollowHandlers, options: FollowOptions = {}): Follower {
  const pollMs = Math.max(1, options.pollMs ?? 100);
  const dir = path.dirname(path.resolve(filePath));
  const base = path.basename(filePath);

  let fh: FileHandle | null = null;
  /** The open file is a regular file on a local disk (read synchronously; anything else through libuv's pool). */
  let regular = true;
  let isFile = true;
  let dev = 0;
  let ino = 0;
  let pos = 0;
  let decoder = new StringDecoder('utf8');
  const buf = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  /** Bytes before this offset go to onBytes (the first open's content up to its last line end). */
  let bytesUntil = 0;

  let hadFile = false; // a file was opened at some point
  let waitedInitially = false; // onWaiting was called before any file was opened
  let missing = false; // the path is currently known to be missing (onWaiting already called)
  let lastErrorKey: string | null = null;

  let closed = false;
  let running = false;
  let again = false;
  /** Whether the next step also checks the path for another file (rotation): not for a plain append. */
  let checkPath = true;
  let loopDone: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher | null = null;
  let lastWatchAttempt = -Infinity;
  let watchedDirIno = 0;
  let watchedDirDev = 0;

  let readySettled = false;
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => {}); // callers that never await `ready` must not get an unhandled rejection

  const settleReady = (error?: Error): void => {
    if (readySettled) return;
    readySettled = true;
    if (error) rejectReady(error);
    else resolveReady();
  };

  const report = (e: unknown, dedupe: boolean): void => {
    const error = e instanceof Error ? e : new Error(String(e));
    if (dedupe) {
      const key = (error as ErrnoError).code ?? error.message;
      if (key === lastErrorKey) return;
      lastErrorKey = key;
    }
    try {
      handlers.onError?.(error);
    } catch {
      // nothing sensible left to do with an error thrown by the error handler
    }
  };

  const markMissing = (): void => {
    if (missing) return;
    missing = true;
    if (!hadFile) waitedInitially = true;
    handlers.onWaiting?.();
  };

  /** While the file is missing, its directory may have been removed or replaced: re-watch then. */
  const checkWatchedDir = async (): Promise<void> => {
    if (!watcher) return;
    try {
      const st = await fsp.stat(dir);
      if (st.ino === watchedDirIno && st.dev === watchedDirDev) return;
    } catch {
      // gone
    }
    dropWatcher();
  };

  const dropWatcher = (): void => {
    if (!watcher) return;
    watcher.close();
    watcher = null;
    lastWatchAttempt = -Infinity;
  };

  const ensureWatcher = (): void => {
    if (watcher || closed || options.watch === false) return;
    const now = Date.now();
    if (now - lastWatchAttempt < WATCH_RETRY_MS) return;
    lastWatchAttempt = now;
    try {
      const st = statSync(dir);
      const w = watch(dir, { persistent: true }, (event, name) => {
        // An append ('change') cannot have put another file at the path; a rename or a new file can.
        if (name === null || name === undefined || name.toString() === base) kick(event !== 'change');
      });
      w.on('error', () => {
        if (watcher === w) dropWatcher();
        else w.close();
      });
      watcher = w;
      watchedDirIno = st.ino;
      watchedDirDev = st.dev;
    } catch {
      watcher = null; // directory missing or not watchable: polling still works
    }
  };

  const closeFile = async (): Promise<void> => {
    const h = fh;
    fh = null;
    if (h) await h.close().catch(() => {});
  };

  /**
   * Reads the open file from `pos` to its end. One read a wake-up in the common case (a short read
   * is the end for now), done synchronously on the descriptor: a local log's append is a few
   * hundred bytes, and a read through libuv's pool cost more than the read itself. The size is
   * looked at only when a read finds nothing (a truncated file reads as empty at the old offset).
   */
  const drain = async (h: FileHandle): Promise<void> => {
    let first = true;
    while (!closed && fh === h) {
      // Not a regular file on a local disk (a FIFO, a device, NFS, sshfs): a read could wait, so it goes through the pool.
      const asBytes = pos < bytesUntil;
      const want = asBytes ? Math.min(buf.length, bytesUntil - pos) : buf.length;
      const bytesRead = regular ? readSync(h.fd, buf, 0, want, pos) : (await h.read(buf, 0, want, pos)).bytesRead;
      if (bytesRead === 0) {
        if (first && isFile && (regular ? fstatSync(h.fd).size : (await h.stat()).size) < pos) {
          pos = 0;
          bytesUntil = 0;
          decoder = new StringDecoder('utf8');
          handlers.onReset?.('truncated');
          first = false;
          continue;
        }
        return;
      }
      first = false;
      const at = Date.now();
      pos += bytesRead;
      lastErrorKey = null;
      if (asBytes) {
        handlers.onBytes!(buf.subarray(0, bytesRead), at, pos === bytesUntil ? byteAt(h.fd, pos) : -1);
        if (bytesRead < want) return;
        continue;
      }
      decodeInSlices(decoder, buf, bytesRead, (text) => handlers.onText(text, at));
      if (bytesRead < buf.length) return;
    }
  };

  /** Opens the path; false when it is missing. Throws other errors. */
  const open = async (): Promise<boolean> => {
    let h: FileHandle;
    try {
      h = await fsp.open(filePath, 'r');
    } catch (e) {
      if (isErrno(e) && e.code === 'ENOENT') {
        markMissing();
        return false;
      }
      throw e;
    }
    let st: Stats;
    try {
      st = await h.stat();
    } catch (e) {
      await h.close().catch(() => {});
      throw e;
    }
    if (st.isDirectory()) {
      await h.close().catch(() => {});
      throw eisdir(filePath);
    }
    if (closed) {
      await h.close().catch(() => {});
      return false;
    }
    const reason = hadFile ? 'rotated' : waitedInitially ? 'created' : null;
    fh = h;
    isFile = st.isFile();
    regular = isFile && onLocalDisk(filePath);
    dev = st.dev;
    ino = st.ino;
    pos = 0;
    decoder = new StringDecoder('utf8');
    // A file there from the start: its content so far is a backfill, read as bytes where wanted.
    const lineEnd = reason === null && handlers.onBytes && isFile && regular ? lastLineEnd(h.fd, Math.min(st.size, options.bytesUpTo ?? st.size)) : null;
    bytesUntil = lineEnd ?? 0;
    hadFile = true;
    missing = false;
    lastErrorKey = null;
    if (reason) handlers.onReset?.(reason);
    return true;
  };

  const step = async (): Promise<void> => {
    ensureWatcher();
    if (!fh) {
      if (!(await open())) {
        await checkWatchedDir();
        return;
      }
    }
    const h = fh!;
    await drain(h);
    if (closed) return;
    if (!checkPath) return;
    checkPath = false;

    let st: Stats;
    try {
      st = await fsp.stat(filePath);
    } catch (e) {
      if (isErrno(e) && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) {
        markMissing(); // keep reading the old file until something replaces it
        await checkWatchedDir();
        return;
      }
      throw e;
    }
    if (st.dev === dev && st.ino === ino) {
      missing = false;
      return;
    }
    // Another file sits at the path now: finish the old one, then switch.
    await drain(h);
    if (closed) return;
    await closeFile();
    if (await open()) await drain(fh!);
  };

  const loop = async (): Promise<void> => {
    try {
      do {
        again = false;
        try {
          await step();
          lastErrorKey = null;
          settleReady();
        } catch (e) {
          if (!readySettled && !hadFile) {
            // Could not even open the file: nothing will get better by retrying every 100 ms.
            report(e, false);
            settleReady(e instanceof Error ? e : new Error(String(e)));
            shutdown();
          } else {
            settleReady();
            report(e, true);
          }
        }
      } while (again && !closed);
    } finally {
      running = false;
      if (closed) await closeFile();
      else schedule();
    }
  };

  function kick(full = true): void {
    if (closed) return;
    if (full) checkPath = true;
    if (running) {
      again = true;
      return;
    }
    running = true;
    loopDone = loop();
  }

  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = closed ? null : setTimeout(onTimer, pollMs);
  };

  const onTimer = (): void => {
    timer = null;
    kick();
  };

  const shutdown = (): void => {
    closed = true;
    if (timer) clearTimeout(timer);
    timer = null;
    dropWatcher();
  };

  kick();

  return {
    ready,
    async close(): Promise<void> {
      shutdown();
      await loopDone;
      await closeFile();
      settleReady();
    },
  };
}

/**
 * Reads a whole file once, in 1 MiB reads, and hands out the decoded text (in pieces of at most
 * 32 KiB worth of bytes, see DECODE_SLICE_BYTES). Resolves at its end;
 * rejects with the original Node system error (`code` kept: ENOENT, EACCES, EISDIR...).
 * Also works on a FIFO or `/dev/stdin` (reads sequentially, not by position).
 */
export async function readFileOnce(filePath: string, onText: (text: string) => void): Promise<void> {
  const h = await fsp.open(filePath, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const decoder = new StringDecoder('utf8');
    for (;;) {
      const { bytesRead } = await h.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      decodeInSlices(decoder, buf, bytesRead, onText);
    }
    const rest = decoder.end();
    if (rest.length > 0) onText(rest);
  } finally {
    await h.close();
  }
}

/**
 * Reads a whole file once, in 1 MiB reads, and hands out the bytes as they are read (the same
 * buffer each time: `onBytes` must be done with it when it returns). For the backfill's byte path.
 * Rejects with the original Node system error, like readFileOnce.
 */
export async function readFileBytesOnce(filePath: string, onBytes: (bytes: Buffer) => void): Promise<void> {
  const h = await fsp.open(filePath, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    for (;;) {
      const { bytesRead } = await h.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      onBytes(buf.subarray(0, bytesRead));
    }
  } finally {
    await h.close();
  }
}
