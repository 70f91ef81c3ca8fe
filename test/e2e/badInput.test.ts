import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNobodyCli, type NobodyCli } from '../helpers/nobody.js';
import { CLI } from '../helpers/sim.js';

// Bad input gets one clear line on stderr and a meaningful exit code: never a stack trace, never
// unbounded memory.

let root: string;
const nobody = useNobodyCli();
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-bad-'));
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function cli(args: string[], options: { cwd?: string; input?: string; nodeArgs?: string[]; asNobody?: NobodyCli; env?: Record<string, string> } = {}) {
  const [command, argv] = options.asNobody
    ? options.asNobody.command(args, options.nodeArgs)
    : [process.execPath, [...(options.nodeArgs ?? []), CLI, ...args]];
  // Standard input is /dev/null unless the test gives some (a pipe would be read as a run).
  const result = spawnSync(command, argv as string[], {
    cwd: options.cwd ?? root,
    encoding: 'utf8',
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    ...(options.input === undefined ? { stdio: ['ignore', 'pipe', 'pipe'] as const } : { input: options.input }),
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^lora-top: /);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('bad input', () => {
  it('a missing path', () => {
    const r = cli([path.join(root, 'nope', 'log.txt'), '--once']);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, /no such file or directory: .*nope/);
  });

  it('a directory that holds no run', () => {
    const empty = fs.mkdtempSync(path.join(root, 'empty-'));
    fs.writeFileSync(path.join(empty, 'notes.md'), 'hello');
    const r = cli([empty, '--once']);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, /no ai-toolkit run in .*expected log\.txt/);
  });

  it('no path and no ./output', () => {
    const r = cli(['--once'], { cwd: fs.mkdtempSync(path.join(root, 'cwd-')) });
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, /no run found: looked for \.\/output\/<name>\/log\.txt/);
  });

  it('no path: ./output with several runs is the list of them, each read from its newest rotated log when log.txt is gone; with one run, that run', () => {
    const cwd = fs.mkdtempSync(path.join(root, 'runs-'));
    const fixtures = new URL('../fixtures/ai-toolkit-logs/', import.meta.url);
    for (const [name, fixture, age] of [['older', '001-lokr-saving-checkpoints-windows.txt', 600], ['newer', '003-krea2-177h-eta.txt', 0]] as const) {
      const folder = path.join(cwd, 'output', name, 'logs');
      fs.mkdirSync(folder, { recursive: true });
      const log = path.join(folder, '0_log.txt');
      fs.copyFileSync(new URL(fixture, fixtures), log);
      const when = new Date(Date.now() - age * 1000);
      fs.utimesSync(log, when, when);
      fs.utimesSync(folder, when, when);
    }
    const env = { XDG_CACHE_HOME: path.join(cwd, 'cache') };
    const r = cli(['--once', '--json', '--no-gpu'], { cwd, env });
    expect(r.code).toBe(0);
    const runs = (JSON.parse(r.stdout) as { runs: Array<{ name: string; path: string }> }).runs;
    expect(runs.map((run) => path.basename(run.path)).sort()).toEqual(['newer', 'older']);
    expect(runs.find((run) => path.basename(run.path) === 'newer')?.name).toBe('HR_Krea2');
    fs.rmSync(path.join(cwd, 'output', 'older'), { recursive: true });
    const one = cli(['--once', '--json', '--no-gpu'], { cwd, env });
    expect(JSON.parse(one.stdout).name).toBe('HR_Krea2');
  });

  it('a file the user may not read', (ctx) => {
    // As root, run as nobody: root reads a chmod 000 file all the same.
    const asNobody = nobody.needed(ctx) ? nobody : undefined;
    const file = path.join(fs.mkdtempSync(path.join(root, 'perm-')), 'log.txt');
    fs.writeFileSync(file, 'Running 1 job\n');
    fs.chmodSync(file, 0o000);
    fs.chmodSync(path.dirname(file), 0o755);
    fs.chmodSync(root, 0o755);
    const r = cli([file, '--once'], { asNobody, cwd: '/' });
    expect(r.code).toBe(3);
    expectOneLine(r.stderr, /permission denied: /);
  });

  it('a binary file', () => {
    const file = path.join(root, 'model.safetensors');
    fs.writeFileSync(file, Buffer.from([0x08, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 0, 1, 2, 3]));
    const r = cli([file, '--once']);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr, /is a binary file, not a training log/);
  });

  it('a 500 MB file with no newline, read in bounded memory', () => {
    const file = path.join(root, 'huge.txt');
    const block = Buffer.alloc(8 * 1024 * 1024, 'x');
    const fd = fs.openSync(file, 'w');
    for (let written = 0; written < 500 * 1024 * 1024; written += block.length) fs.writeSync(fd, block);
    fs.closeSync(fd);
    try {
      // With a 64 MB heap, reading the file into one string would crash instead of answering.
      const r = cli([file, '--once'], { nodeArgs: ['--max-old-space-size=64'] });
      expect(r.code).toBe(2);
      expectOneLine(r.stderr, /has no line breaks in its first MiB: not a training log/);
    } finally {
      fs.rmSync(file);
    }
  });

  it('usage errors', () => {
    for (const [args, pattern] of [
      [['--bogus'], /unknown option '--bogus' \(see lora-top --help\)/],
      [['--target', 'abc'], /--target needs a whole number above 0, got "abc"/],
      [['--json'], /--json goes with --once/],
      [['a', 'b'], /no such file or directory: a/],
      [['a b:/x'], /not a host name: "a b" in a b:\/x/],
      [['ssh://box:99999/x'], /bad port in ssh:\/\/box:99999\/x/],
      [['--no-tui'], /--no-tui goes with --metrics/],
      [['-', 'box:/x'], /standard input \(-\) is one PATH on its own/],
      [['--demo', 'x'], /--demo takes no PATH/],
    ] as Array<[string[], RegExp]>) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expectOneLine(r.stderr, pattern);
    }
  });

  it('--help and --version', () => {
    const help = cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^lora-top — /);
    for (const flag of ['--once', '--json', '--target', '--demo']) expect(help.stdout).toContain(flag);
    const version = cli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  });

  it('a log that is not ai-toolkit output says so in the snapshot', () => {
    const file = path.join(root, 'other.log');
    fs.writeFileSync(file, 'GET / 200\nGET /favicon.ico 404\n');
    const r = cli([file, '--once']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no ai-toolkit training output recognised yet');
  });
});
