import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundleForChild } from '../helpers/bundle.js';
import { type FollowHandlers, type Follower, followFile, readFileOnce } from '../../src/sources/fileFollower.js';

/**
 * Records everything a follower reports into one transcript string (text, plus markers for the
 * other events) and lets a test await a condition on it: no sleeps, the promise settles on the
 * event that makes the condition true, or fails after a generous timeout.
 */
class Recorder {
  log = '';
  ats: number[] = [];
  errors: NodeJS.ErrnoException[] = [];
  waitingCalls = 0;
  private waiters = new Set<() => void>();

  readonly handlers: FollowHandlers = {
    onText: (text, at) => {
      this.log += text;
      this.ats.push(at);
      this.notify();
    },
    onReset: (reason) => {
      this.log += `⟨${reason}⟩`;
      this.notify();
    },
    onWaiting: () => {
      this.waitingCalls++;
      this.log += '⟨waiting⟩';
      this.notify();
    },
    onError: (error) => {
      this.errors.push(error);
      this.log += `⟨error ${(error as NodeJS.ErrnoException).code}⟩`;
      this.notify();
    },
  };

  /** The transcript without `⟨waiting⟩` markers (they may show up in a rename/create race). */
  get logNoWaiting(): string {
    return this.log.replaceAll('⟨waiting⟩', '');
  }

  until(pred: (log: string) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (pred(this.log)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (pred(this.log)) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; transcript: ${JSON.stringify(this.log)}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  untilIncludes(s: string, timeoutMs?: number): Promise<void> {
    return this.until((log) => log.includes(s), JSON.stringify(s), timeoutMs);
  }

  untilEndsWith(s: string, timeoutMs?: number): Promise<void> {
    return this.until((log) => log.endsWith(s), `end ${JSON.stringify(s)}`, timeoutMs);
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

let dir: string;
let followers: Follower[] = [];

function follow(p: string, rec: Recorder, pollMs?: number): Follower {
  const f = followFile(p, rec.handlers, pollMs === undefined ? undefined : { pollMs });
  followers.push(f);
  return f;
}

beforeEach(async () => {
  dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'lora-top-follow-'));
  followers = [];
});

afterEach(async () => {
  await Promise.all(followers.map((f) => f.close()));
  await fs.promises.rm(dir, { recursive: true, force: true });
});

/** Paths of files under the temp dir that this process has open (Linux only). */
function openFilesUnderDir(): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      // fd closed meanwhile
    }
  }
  return out;
}

const RESOURCE_KINDS = ['Timeout', 'FSEventWrap', 'FSReqPromise', 'FSReqCallback', 'StatWatcher'];
/** Asserts that no kind of resource is more numerous than in `baseline` (the runner has its own). */
function expectNoMoreResourcesThan(baseline: Record<string, number>): void {
  const now = countResources();
  for (const k of RESOURCE_KINDS) expect(now[k], k).toBeLessThanOrEqual(baseline[k]!);
}

function countResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const k of RESOURCE_KINDS) counts[k] = 0;
  for (const r of process.getActiveResourcesInfo()) if (r in counts) counts[r]!++;
  return counts;
}

describe('followFile: reading', () => {
  it('reads an existing file from byte 0; ready resolves once its content was delivered', async () => {
    const p = path.join(dir, 'log.txt');
    fs.writeFileSync(p, 'first line\nsecond\rbar 1/10');
    const rec = new Recorder();
    const before = Date.now();
    await follow(p, rec).ready;
    expect(rec.log).toBe('first line\nsecond\rbar 1/10');
    expect(rec.waitingCalls).toBe(0);
    expect(rec.ats[0]).toBeGreaterThanOrEqual(before);
    expect(rec.ats[0]).toBeLessThanOrEqual(Date.now());
  });

  it('delivers a large existing file completely before ready resolves', async () => {
    const p = path.join(dir, 'big.txt');
    const line = 'step 123/3000 [05:23<39:38,  1.11it/s, lr: 1.0e-04 loss: 4.123e-01] █▏é😀\n';
    const content = line.repeat(Math.ceil((5 * 1024 * 1024) / line.length));
    fs.writeFileSync(p, content);
    const rec = new Recorder();
    await follow(p, rec).ready;
    expect(rec.log.length).toBe(content.length);
    expect(rec.log).toBe(content);
  });

  it('delivers appended bare "\\r" tqdm redraws before any newline arrives', async () => {
    const p = path.join(dir, 'log.txt');
    fs.writeFileSync(p, '');
    const rec = new Recorder();
    await follow(p, rec).ready;
    const fd = fs.openSync(p, 'a');
    try {
      const latencies: number[] = [];
      for (let i = 1; i <= 20; i++) {
        const state = `\rmy_lora:  ${String(i * 5).padStart(2)}%|#         | ${i}/20 [00:0${i % 10}<00:10,  1.11it/s, lr: 1.0e-04 loss: 4.123e-01]  `;
        const t0 = Date.now();
        fs.writeSync(fd, state);
        await rec.untilEndsWith(state);
        latencies.push(rec.ats.at(-1)! - t0);
      }
      expect(rec.log).not.toContain('\n');
      // generous bounds for a loaded CI machine; the design target is ~100 ms worst case
      expect(Math.max(...latencies)).toBeLessThan(2000);
      fs.writeSync(fd, '\n');
      await rec.untilEndsWith('  \n');
    } finally {
      fs.closeSync(fd);
    }
  });

  it('is woken by fs.watch, not only by polling (pollMs = 1 h)', async () => {
    const p = path.join(dir, 'log.txt');
    fs.writeFileSync(p, 'a');
    const rec = new Recorder();
    await follow(p, rec, 3_600_000).ready;
    fs.appendFileSync(p, '\rb');
    await rec.untilEndsWith('a\rb');
    fs.appendFileSync(p, '\rc');
    await rec.untilEndsWith('a\rb\rc');
  });

  it('shows each state of a real tqdm bar while it runs (skipped without python3-tqdm)', async (ctx) => {
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import tqdm'], { encoding: 'utf8' });
    if (probe.status !== 0) ctx.skip();
    const p = path.join(dir, 'log.txt');
    const rec = new Recorder();
    await follow(p, rec).ready;
    // The script writes one state, then waits for a line on stdin before the next, so the test
    // can check that each state arrived while no newline had been written yet.
    const script = [
      'import sys, tqdm',
      'f = open(sys.argv[1], "a", buffering=1)',
      'bar = tqdm.tqdm(total=4, desc="my_lora", file=f, mininterval=0, ascii=True)',
      'for i in range(4):',
      '    sys.stdin.readline()',
      '    bar.set_postfix_str(f"lr: 1.0e-04 loss: {i}.000e-01")',
      '    bar.update(1)',
      'sys.stdin.readline()',
      'bar.close()',
    ].join('\n');
    const py = spawn('/usr/bin/python3', ['-c', script, p], { stdio: ['pipe', 'ignore', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => py.on('exit', resolve));
    try {
      await rec.until((log) => /my_lora: +0%/.test(log), 'the initial bar state');
      for (let i = 1; i <= 4; i++) {
        py.stdin.write('\n');
        await rec.until((log) => new RegExp(`\\| ${i}/4 \\[[^\\r\\n]*loss: ${i - 1}\\.000e-01\\][ ]*$`).test(log), `state ${i}/4`);
        expect(rec.log).not.toContain('\n');
      }
      py.stdin.write('\n');
      await rec.untilEndsWith('\n');
      expect(await exited).toBe(0);
    } finally {
      py.kill();
    }
  });
});

describe('followFile: the start as bytes (onBytes)', () => {
  /** Follows with onBytes: the bytes (and each call's nextByte) and the text after them, as one transcript. */
  function followBytes(p: string) {
    const rec = new Recorder();
    const chunks: Buffer[] = [];
    const nextBytes: number[] = [];
    const handlers: FollowHandlers = {
      ...rec.handlers,
      onBytes: (bytes, _at, nextByte) => {
        // The buffer is reused after the call.
        chunks.push(Buffer.from(bytes));
        nextBytes.push(nextByte);
      },
    };
    const f = followFile(p, handlers);
    followers.push(f);
    return { rec, f, bytes: () => Buffer.concat(chunks).toString('utf8'), nextBytes };
  }

  it('hands the content up to its last line end as bytes, the rest as text; nextByte with the last bytes only', async () => {
    const cases: Array<[string, string, number]> = [
      // content, what comes as bytes, the last call's nextByte (the byte after them, -1: none)
      ['a\nb\n', 'a\nb\n', -1],
      ['a\nbar 1/9\rbar 2/9', 'a\nbar 1/9\r', 'b'.charCodeAt(0)],
      ['a\r\nbar 1/9\r', 'a\r\n', 'b'.charCodeAt(0)],
      ['a\rb\r', 'a\r', 'b'.charCodeAt(0)],
      ['no line end at all', '', 0],
      ['é\n😀 bar\r█', 'é\n😀 bar\r', 0xe2],
    ];
    for (const [content, bytes, next] of cases) {
      const p = path.join(dir, `log-${cases.findIndex((c) => c[0] === content)}.txt`);
      fs.writeFileSync(p, content);
      const r = followBytes(p);
      await r.f.ready;
      expect(r.bytes(), JSON.stringify(content)).toBe(bytes);
      expect(r.bytes() + r.rec.log, JSON.stringify(content)).toBe(content);
      if (bytes.length > 0) expect(r.nextBytes[r.nextBytes.length - 1], JSON.stringify(content)).toBe(next);
      expect(r.nextBytes.slice(0, -1).every((b) => b === -1)).toBe(true);
      // What is appended later is text.
      fs.appendFileSync(p, 'later\n');
      await r.rec.untilEndsWith('later\n');
      expect(r.bytes()).toBe(bytes);
    }
  });

  it('bytesUpTo: what was written after the caller looked comes as text', async () => {
    const p = path.join(dir, 'upto.txt');
    fs.writeFileSync(p, 'seen\nseen too\rwritten since\n');
    const rec = new Recorder();
    const chunks: Buffer[] = [];
    const f = followFile(p, { ...rec.handlers, onBytes: (bytes) => chunks.push(Buffer.from(bytes)) }, { bytesUpTo: 'seen\nseen too\r'.length + 3 });
    followers.push(f);
    await f.ready;
    expect(Buffer.concat(chunks).toString()).toBe('seen\nseen too\r');
    expect(rec.log).toBe('written since\n');
  });

  it('a start larger than a read comes in 1 MiB reads; a file created after the start, truncated or rotated comes as text', async () => {
    const p = path.join(dir, 'big.txt');
    const line = 'step 123/3000 [05:23<39:38,  1.11it/s, lr: 1.0e-04 loss: 4.123e-01] █▏é\r';
    const content = line.repeat(Math.ceil((3 * 1024 * 1024) / line.length));
    fs.writeFileSync(p, `${content}tail`);
    const r = followBytes(p);
    await r.f.ready;
    expect(r.bytes()).toBe(content);
    expect(r.rec.log).toBe('tail');
    expect(r.nextBytes.length).toBeGreaterThanOrEqual(3);
    fs.writeFileSync(p, 'x\n');
    await r.rec.untilEndsWith('⟨truncated⟩x\n');
    expect(r.bytes()).toBe(content);

    const q = path.join(dir, 'later.txt');
    const s = followBytes(q);
    await s.f.ready;
    fs.writeFileSync(q, 'made later\n');
    await s.rec.untilEndsWith('made later\n');
    expect(s.bytes()).toBe('');
  });
});

describe('followFile: waiting for the file', () => {
  it('waits for a missing file (onWaiting once), then reads it from 0 after onReset("created")', async () => {
    const p = path.join(dir, 'log.txt');
    const rec = new Recorder();
    await follow(p, rec).ready;
    expect(rec.log).toBe('⟨waiting⟩');
    fs.writeFileSync(p, 'hello\n');
    await rec.untilIncludes('hello\n');
    fs.appendFileSync(p, '\rbar');
    await rec.untilEndsWith('\rbar');
    expect(rec.log).toBe('⟨waiting⟩⟨created⟩hello\n\rbar');
    expect(rec.waitingCalls).toBe(1);
  });

  it('waits for a missing directory too', async () => {
    const sub = path.join(dir, 'training', 'my_lora');
    const p = path.join(sub, 'log.txt');
    const rec = new Recorder();
    await follow(p, rec).ready;
    expect(rec.log).toBe('⟨waiting⟩');
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(p, 'started\r');
    await rec.untilEndsWith('started\r');
    fs.appendFileSync(p, 'bar 1');
    await rec.untilEndsWith('started\rbar 1');
    expect(rec.log).toBe('⟨waiting⟩⟨created⟩started\rbar 1');
  });
});

describe('followFile: truncation, rotation, deletion', () => {
  it('survives truncation: onReset("truncated"), then reads from 0', async () => {
    const p = path.join(dir, 'log.txt');
    fs.writeFileSync(p, 'first run line 1\nfirst run line 2\n');
    const rec = new Recorder();
    await follow(p, rec).ready;
    fs.truncateSync(p, 0);
    await rec.untilIncludes('⟨truncated⟩');
    fs.appendFileSync(p, 'second run\n');
    await rec.untilEndsWith('second run\n');
    // truncated and rewritten shorter in one go
    fs.writeFileSync(p, 'x\r');
    await rec.untilEndsWith('⟨truncated⟩x\r');
    expect(rec.log).toBe('first run line 1\nfirst run line 2\n⟨truncated⟩second run\n⟨truncated⟩x\r');
  });

  it('handles rotation exactly as the ai-toolkit UI does it, twice', async () => {
    const p = path.join(dir, 'log.txt');
    fs.writeFileSync(p, 'run 0 line\n');
    const rec = new Recorder();
    await follow(p, rec).ready;
    fs.appendFileSync(p, '\rrun 0 bar 5/10');
    await rec.untilEndsWith('\rrun 0 bar 5/10');

    // The UI: rename log.txt to logs/<N>_log.txt (first free N), open a fresh log.txt for append.
    fs.mkdirSync(path.join(dir, 'logs'));
    fs.renameSync(p, path.join(dir, 'logs', '0_log.txt'));
    // a last write that reached the old file after the rename is not lost
    fs.appendFileSync(path.join(dir, 'logs', '0_log.txt'), '\nJob process terminated with signal SIGKILL.\n');
    const fd = fs.openSync(p, 'a');
    fs.writeSync(fd, 'run 1 starts\n');
    await rec.untilEndsWith('run 1 starts\n');
    fs.writeSync(fd, '\rrun 1 bar 6/10');
    await rec.untilEndsWith('\rrun 1 bar 6/10');
    fs.closeSync(fd);

    fs.renameSync(p, path.join(dir, 'logs', '1_log.txt'));
    fs.writeFileSync(p, 'run 2 starts\n');
    await rec.untilEndsWith('run 2 starts\n');

    expect(rec.logNoWaiting).toBe(
      'run 0 line\n\rrun 0 bar 5/10\nJob process terminated with signal SIGKILL.\n' +
        '⟨rotated⟩run 1 starts\n\rrun 1 bar 6/10' +
        '⟨rotated⟩run 2 starts\n',
    );
  });

  it('rotation to an empty new file, written later', async () => {
    const p = path.join(dir, 'log.txt');
    fs.writeFileSync(p, 'old\n');
    const rec = new Recorder();
    await follow(p, rec).ready;
    fs.renameSync(p, path.join(dir, '0_log.txt'));
    fs.closeSync(fs.openSync(p, 'a'));
    await rec.untilIncludes('⟨rotated⟩');
    fs.appendFileSync(p, 'new\n');
    await rec.untilEndsWith('new\n');
    expect(rec.logNoWaiting).toBe('old\n⟨rotated⟩new\n');
  });

  it('deletion: onWaiting, keeps reading what a writer still appends, then the new file', async () => {
    const p = path.join(dir, 'log.txt');
    const fd = fs.openSync(p, 'a');
    fs.writeSync(fd, 'before delete\n');
    const rec = new Recorder();
    await follow(p, rec).ready;
    expect(rec.log).toBe('before delete\n');
    fs.unlinkSync(p);
    await rec.untilIncludes('⟨waiting⟩');
    fs.writeSync(fd, 'written after unlink\r');
    await rec.untilEndsWith('written after unlink\r');
    fs.closeSync(fd);
    fs.writeFileSync(p, 'recreated\n');
    await rec.untilEndsWith('recreated\n');
    expect(rec.log).toBe('before delete\n⟨waiting⟩written after unlink\r⟨rotated⟩recreated\n');
    expect(rec.waitingCalls).toBe(1);
    // deleted again: onWaiting again (once per missing period)
    fs.unlinkSync(p);
    await rec.until(() => rec.waitingCalls === 2, 'second onWaiting');
  });
});

describe('followFile: UTF-8', () => {
  it('decodes a multi-byte character split across writes, at every byte position', async () => {
    const p = path.join(dir, 'log.txt');
    fs.writeFileSync(p, '');
    const rec = new Recorder();
    await follow(p, rec).ready;
    let expected = '';
    for (const ch of ['é', '█', '▏', '😀']) {
      const bytes = Buffer.from(ch);
      for (let cut = 1; cut < bytes.length; cut++) {
        // write a marker plus the first part; once the marker is out, the follower holds the
        // partial bytes in its decoder; then the rest
        const marker = `[${ch}${cut}]`;
        fs.appendFileSync(p, Buffer.concat([Buffer.from(marker), bytes.subarray(0, cut)]));
        expected += marker;
        await rec.untilEndsWith(marker);
        fs.appendFileSync(p, Buffer.concat([bytes.subarray(cut), Buffer.from('\r')]));
        expected += `${ch}\r`;
        await rec.untilEndsWith(`${ch}\r`);
      }
    }
    expect(rec.log).toBe(expected);
    expect(rec.log).not.toContain('\uFFFD');
  });

  it('resets the decoder on truncation (a dangling partial character is dropped)', async () => {
    const p = path.join(dir, 'log.txt');
    fs.writeFileSync(p, Buffer.concat([Buffer.from('abc'), Buffer.from('😀').subarray(0, 2)]));
    const rec = new Recorder();
    await follow(p, rec).ready;
    expect(rec.log).toBe('abc');
    fs.truncateSync(p, 0);
    await rec.untilIncludes('⟨truncated⟩');
    fs.appendFileSync(p, 'xyz');
    await rec.untilEndsWith('xyz');
    expect(rec.log).toBe('abc⟨truncated⟩xyz');
  });

  it('resets the decoder on rotation', async () => {
    const p = path.join(dir, 'log.txt');
    fs.writeFileSync(p, Buffer.concat([Buffer.from('old'), Buffer.from('█').subarray(0, 1)]));
    const rec = new Recorder();
    await follow(p, rec).ready;
    fs.renameSync(p, path.join(dir, 'old.txt'));
    fs.writeFileSync(p, Buffer.from('█').subarray(1)); // would complete the char if not reset
    fs.appendFileSync(p, 'new');
    await rec.untilEndsWith('new');
    expect(rec.logNoWaiting).toMatch(/^old⟨rotated⟩\uFFFD+new$/);
  });
});

describe('followFile: errors', () => {
  it('EISDIR: ready rejects with the code, onError gets it, the follower stops', async () => {
    const rec = new Recorder();
    const f = follow(dir, rec);
    await expect(f.ready).rejects.toMatchObject({ code: 'EISDIR' });
    expect(rec.errors.map((e) => e.code)).toEqual(['EISDIR']);
    await f.close();
  });

  it('ENOTDIR: a path below a regular file', async () => {
    const file = path.join(dir, 'file');
    fs.writeFileSync(file, '');
    const rec = new Recorder();
    const f = follow(path.join(file, 'log.txt'), rec);
    await expect(f.ready).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it.skipIf(process.getuid?.() === 0)('EACCES keeps its code', async () => {
    const p = path.join(dir, 'secret.txt');
    fs.writeFileSync(p, 'x');
    fs.chmodSync(p, 0o000);
    const rec = new Recorder();
    await expect(follow(p, rec).ready).rejects.toMatchObject({ code: 'EACCES' });
    await expect(readFileOnce(p, () => {})).rejects.toMatchObject({ code: 'EACCES' });
  });

  it('a throwing onText handler is reported to onError and following goes on', async () => {
    const p = path.join(dir, 'log.txt');
    fs.writeFileSync(p, '');
    const rec = new Recorder();
    let throwOnce = true;
    const f = followFile(p, {
      ...rec.handlers,
      onText(text, at) {
        rec.handlers.onText(text, at);
        if (throwOnce) {
          throwOnce = false;
          throw new Error('boom');
        }
      },
    });
    followers.push(f);
    await f.ready;
    fs.appendFileSync(p, 'one\n');
    await rec.untilIncludes('one\n');
    await rec.until(() => rec.errors.length === 1, 'the error');
    fs.appendFileSync(p, 'two\n');
    await rec.untilEndsWith('two\n');
    expect(rec.errors[0]!.message).toBe('boom');
    expect(rec.log.replace(/⟨error [^⟩]*⟩/, '')).toBe('one\ntwo\n');
  });
});

describe('followFile: close()', () => {
  it.skipIf(process.platform !== 'linux')('leaves no timers, watchers, requests or open files behind', async () => {
    const baseline = countResources();
    const p = path.join(dir, 'log.txt');
    fs.writeFileSync(p, 'abc\r');
    const rec = new Recorder();
    const f = followFile(p, rec.handlers);
    await f.ready;
    fs.appendFileSync(p, 'def');
    await rec.untilEndsWith('def');
    expect(openFilesUnderDir()).toEqual([p]);
    expect(countResources().Timeout).toBeGreaterThan(baseline.Timeout!);
    await f.close();
    expect(openFilesUnderDir()).toEqual([]);
    expectNoMoreResourcesThan(baseline);
    // nothing is delivered after close
    const n = rec.log.length;
    fs.appendFileSync(p, 'after close');
    await new Promise((r) => setImmediate(r));
    expect(rec.log.length).toBe(n);
    await f.close(); // idempotent
  });

  it.skipIf(process.platform !== 'linux')('close() while waiting for a missing file, and right after start', async () => {
    const baseline = countResources();
    const rec = new Recorder();
    const f1 = followFile(path.join(dir, 'missing.txt'), rec.handlers);
    await f1.ready;
    await f1.close();
    const p = path.join(dir, 'big.txt');
    fs.writeFileSync(p, 'x'.repeat(8 * 1024 * 1024));
    const f2 = followFile(p, rec.handlers);
    await f2.close(); // in the middle of the first read
    await f2.ready; // settles (resolves) on close
    expect(openFilesUnderDir()).toEqual([]);
    expectNoMoreResourcesThan(baseline);
  });
});

describe('followFile: close() lets the process exit', () => {
  it('a node process that follows, rotates, waits and closes exits by itself', async () => {
    const bundle = await bundleForChild(new URL('../../src/sources/fileFollower.ts', import.meta.url), path.join(dir, 'fileFollower.mjs'));
    const script = path.join(dir, 'child.mjs');
    fs.writeFileSync(
      script,
      `
import * as fs from 'node:fs';
import { followFile } from ${JSON.stringify(bundle)};
const p = ${JSON.stringify(path.join(dir, 'log.txt'))};
let log = '';
let wake = () => {};
const until = (s) => new Promise((r) => { wake = () => { if (log.includes(s)) r(); }; wake(); });
const f = followFile(p, {
  onText(t) { log += t; wake(); },
  onReset(r) { log += '<' + r + '>'; wake(); },
  onWaiting() { log += '<waiting>'; wake(); },
});
await f.ready;
fs.writeFileSync(p, 'one\\r');
await until('one\\r');
fs.renameSync(p, p + '.0');
fs.writeFileSync(p, 'two\\n');
await until('two\\n');
fs.unlinkSync(p);
await until('two\\n<waiting>');
const g = followFile(${JSON.stringify(path.join(dir, 'never.txt'))}, { onText() {} });
await g.ready;
await f.close();
await g.close();
console.log(JSON.stringify(log));
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    );
    clearTimeout(killer);
    expect(err).toBe('');
    expect(signal).toBeNull(); // not killed: it exited on its own, nothing was left open
    expect(code).toBe(0);
    expect(JSON.parse(out).replaceAll('<waiting>', '')).toBe('<created>one\r<rotated>two\n');
  });
});

describe('readFileOnce', () => {
  it('reads a whole multi-MiB file, multi-byte characters intact across 1 MiB reads', async () => {
    const p = path.join(dir, 'big.txt');
    const unit = 'ab█😀é\r\n';
    const content = `${unit.repeat(300_000)}tail without newline █`;
    fs.writeFileSync(p, content);
    const parts: string[] = [];
    await readFileOnce(p, (t) => parts.push(t));
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((t) => t.length > 0)).toBe(true);
    expect(parts.join('')).toBe(content);
  });

  it('flushes a truncated trailing character as U+FFFD', async () => {
    const p = path.join(dir, 'f.txt');
    fs.writeFileSync(p, Buffer.concat([Buffer.from('ok'), Buffer.from('█').subarray(0, 2)]));
    let s = '';
    await readFileOnce(p, (t) => (s += t));
    expect(s).toBe('ok\uFFFD');
  });

  it('an empty file gives no text', async () => {
    const p = path.join(dir, 'empty.txt');
    fs.writeFileSync(p, '');
    const parts: string[] = [];
    await readFileOnce(p, (t) => parts.push(t));
    expect(parts).toEqual([]);
  });

  it('rejects with the original code: ENOENT, EISDIR', async () => {
    await expect(readFileOnce(path.join(dir, 'nope.txt'), () => {})).rejects.toMatchObject({
      code: 'ENOENT',
      path: path.join(dir, 'nope.txt'),
    });
    await expect(readFileOnce(dir, () => {})).rejects.toMatchObject({ code: 'EISDIR' });
    expect(openFilesUnderDir()).toEqual([]);
  });

  it.skipIf(process.platform === 'win32')('reads a FIFO', async () => {
    const p = path.join(dir, 'fifo');
    if (spawnSync('mkfifo', [p]).status !== 0) return;
    const writer = spawn('/bin/sh', ['-c', `printf 'a\\rb\\n' > '${p}'`]);
    const exited = new Promise((r) => writer.on('exit', r));
    let s = '';
    await readFileOnce(p, (t) => (s += t));
    await exited;
    expect(s).toBe('a\rb\n');
  });
});
