import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleForChild } from '../helpers/bundle.js';
import { readStream } from '../../src/sources/stdinSource.js';

/** Collects what readStream reports; `until` resolves on the event that makes a condition true. */
class Recorder {
  log = '';
  texts: string[] = [];
  ats: number[] = [];
  ends = 0;
  errors: Error[] = [];
  private waiters = new Set<() => void>();

  readonly handlers = {
    onText: (text: string, at: number) => {
      this.texts.push(text);
      this.log += text;
      this.ats.push(at);
      this.notify();
    },
    onEnd: () => {
      this.ends++;
      this.log += '⟨end⟩';
      this.notify();
    },
    onError: (e: Error) => {
      this.errors.push(e);
      this.log += `⟨error ${e.message}⟩`;
      this.notify();
    },
  };

  until(pred: (log: string) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (pred(this.log)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!pred(this.log)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.log)}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  untilEndsWith(s: string): Promise<void> {
    return this.until((log) => log.endsWith(s), JSON.stringify(s));
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

describe('readStream', () => {
  it('delivers each chunk as it arrives, "\\r" bar states included, then onEnd once', async () => {
    const input = new PassThrough();
    const rec = new Recorder();
    readStream(input, rec.handlers);
    const before = Date.now();
    input.write('\rbar 1/3');
    await rec.untilEndsWith('\rbar 1/3');
    input.write('\rbar 2/3');
    await rec.untilEndsWith('\rbar 1/3\rbar 2/3');
    input.end('\rbar 3/3\n');
    await rec.untilEndsWith('⟨end⟩');
    expect(rec.log).toBe('\rbar 1/3\rbar 2/3\rbar 3/3\n⟨end⟩');
    expect(rec.texts).toEqual(['\rbar 1/3', '\rbar 2/3', '\rbar 3/3\n']);
    expect(rec.ends).toBe(1);
    for (const at of rec.ats) {
      expect(at).toBeGreaterThanOrEqual(before);
      expect(at).toBeLessThanOrEqual(Date.now());
    }
    // 'close' after 'end' does not call onEnd again
    input.destroy();
    if (!input.closed) await new Promise((r) => input.once('close', r));
    expect(rec.ends).toBe(1);
  });

  it('decodes a multi-byte character split across chunks at every byte position', async () => {
    for (const ch of ['é', '█', '😀']) {
      const bytes = Buffer.from(`a${ch}b`);
      for (let cut = 1; cut < bytes.length; cut++) {
        const input = new PassThrough();
        const rec = new Recorder();
        readStream(input, rec.handlers);
        input.write(bytes.subarray(0, cut));
        input.end(bytes.subarray(cut));
        await rec.untilEndsWith('⟨end⟩');
        expect(rec.log, `${ch} cut at ${cut}`).toBe(`a${ch}b⟨end⟩`);
        expect(rec.texts.every((t) => t.length > 0)).toBe(true);
      }
    }
  });

  it('flushes an incomplete character at the end as U+FFFD before onEnd', async () => {
    const input = new PassThrough();
    const rec = new Recorder();
    readStream(input, rec.handlers);
    input.end(Buffer.concat([Buffer.from('x'), Buffer.from('😀').subarray(0, 3)]));
    await rec.untilEndsWith('⟨end⟩');
    expect(rec.log).toBe('x\uFFFD⟨end⟩');
  });

  it('passes string chunks through (a stream with an encoding set)', async () => {
    const input = new PassThrough();
    input.setEncoding('utf8');
    const rec = new Recorder();
    readStream(input, rec.handlers);
    input.end(Buffer.from('█ é'));
    await rec.untilEndsWith('⟨end⟩');
    expect(rec.log).toBe('█ é⟨end⟩');
  });

  it('an error: onError, then onEnd once', async () => {
    const input = new PassThrough();
    const rec = new Recorder();
    readStream(input, rec.handlers);
    input.write('partial');
    await rec.untilEndsWith('partial');
    const err = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    input.destroy(err);
    await rec.untilEndsWith('⟨end⟩');
    expect(rec.log).toBe('partial⟨error EIO: i/o error, read⟩⟨end⟩');
    expect(rec.errors[0]).toBe(err);
    expect(rec.ends).toBe(1);
  });

  it('a stream that closes without ending still gives onEnd', async () => {
    const input = new PassThrough();
    const rec = new Recorder();
    readStream(input, rec.handlers);
    input.write('x');
    await rec.untilEndsWith('x');
    input.destroy();
    await rec.untilEndsWith('⟨end⟩');
    expect(rec.errors).toEqual([]);
  });

  it('an already-ended stream gives onEnd', async () => {
    const input = Readable.from([]);
    await new Promise((r) => input.on('end', r).resume());
    const rec = new Recorder();
    readStream(input, rec.handlers);
    await rec.untilEndsWith('⟨end⟩');
    expect(rec.ends).toBe(1);
  });

  it('close(): no more text, no onEnd, listeners gone, stream paused', async () => {
    const input = new PassThrough();
    const rec = new Recorder();
    const dataListeners = input.listenerCount('data');
    const handle = readStream(input, rec.handlers);
    input.write('one');
    await rec.untilEndsWith('one');
    handle.close();
    handle.close(); // idempotent
    expect(input.listenerCount('data')).toBe(dataListeners);
    expect(input.listenerCount('end')).toBe(0);
    expect(input.isPaused()).toBe(true);
    input.write('two');
    input.end();
    input.destroy(new Error('late error')); // must not be unhandled
    await new Promise((r) => setImmediate(r));
    expect(rec.log).toBe('one');
  });

  it('reads a real pipe: tqdm bar states arrive before the bar closes (skipped without python3-tqdm)', async (ctx) => {
    if (spawnSync('/usr/bin/python3', ['-c', 'import tqdm']).status !== 0) ctx.skip();
    // like `python run.py cfg.yaml 2>&1 | lora-top`: bars on stderr, messages on stdout, one pipe
    const script = [
      'import sys, tqdm',
      'print("Running 1 job", flush=True)',
      'bar = tqdm.tqdm(total=3, desc="my_lora", mininterval=0, ascii=True)',
      'for i in range(3):',
      '    sys.stdin.readline()',
      '    bar.update(1)',
      'sys.stdin.readline()',
      'bar.close()',
      'print("done", flush=True)',
    ].join('\n');
    const child = spawn('/bin/sh', ['-c', `/usr/bin/python3 -c '${script}' 2>&1`], { stdio: ['pipe', 'pipe', 'inherit'] });
    const rec = new Recorder();
    readStream(child.stdout, rec.handlers);
    try {
      await rec.until((log) => /my_lora: +0%/.test(log), 'the first bar state');
      for (let i = 1; i <= 3; i++) {
        child.stdin.write('\n');
        await rec.until((log) => new RegExp(`\\r[^\\r\\n]*\\| ${i}/3 \\[[^\\r\\n]*\\][ ]*$`).test(log), `state ${i}/3`);
        expect(rec.log.split('\n')).toHaveLength(2); // only the "Running 1 job" line is terminated
      }
      child.stdin.end('\n');
      await rec.untilEndsWith('done\n⟨end⟩');
      expect(rec.ends).toBe(1);
    } finally {
      child.kill();
    }
  });

  it('close() on process.stdin lets a process exit although its stdin stays open', async () => {
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'lora-top-stdin-'));
    try {
      const bundle = await bundleForChild(new URL('../../src/sources/stdinSource.ts', import.meta.url), path.join(dir, 'stdinSource.mjs'));
      const script = path.join(dir, 'child.mjs');
      fs.writeFileSync(
        script,
        `import { readStream } from ${JSON.stringify(bundle)};
let got = '';
const h = readStream(process.stdin, {
  onText(t) { got += t; if (got.includes('stop')) { h.close(); console.log(JSON.stringify(got)); } },
  onEnd() { console.log('unexpected end'); },
});
`,
      );
      const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.on('exit', (c, s) => resolve([c, s])),
      );
      child.stdin.write('\rbar é█ stop');
      const [code, signal] = await exited;
      clearTimeout(killer);
      child.stdin.destroy();
      expect(err).toBe('');
      expect(signal).toBeNull(); // it exited by itself while its stdin was still open
      expect(code).toBe(0);
      expect(JSON.parse(out)).toBe('\rbar é█ stop');
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  });
});
