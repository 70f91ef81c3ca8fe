import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, type TestContext } from 'vitest';

/*
 * The CLI run as nobody (uid and gid 65534, through setpriv), so that file permissions apply when
 * the tests run as root (root reads a chmod 000 file all the same).
 *
 * nobody cannot be counted on to reach the checkout: a clone in a private folder (mode 700, as
 * `mktemp -d` or a home directory makes) keeps it out of bin/ and dist/. So the CLI it runs is a
 * copy, staged once per test file in a fresh folder under os.tmpdir() that anyone may read: what
 * `node bin/lora-top.js` loads — bin/lora-top.js, dist/bundle/ and a package.json (`"type":
 * "module"`, and the version `--version` reads). Not node_modules: the bundle holds all but
 * better-sqlite3 and sharp, which it imports lazily and which the runs made as nobody (a path
 * that cannot be read) never reach. Node itself is copied too when nobody cannot run the one
 * running the tests (installed under a private home, say).
 */

const SETPRIV = '/usr/bin/setpriv';
const AS_NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));

export interface NobodyCli {
  /**
   * Whether a test whose file permissions must apply runs the CLI as nobody: yes as root, no
   * otherwise (permissions already apply). As root, the test is skipped, saying why, when that
   * cannot be done (no setpriv; nobody cannot reach os.tmpdir()).
   */
  needed(ctx: TestContext): boolean;
  /** The command and arguments that run `node [nodeArgs] lora-top [args]` as nobody. */
  command(args: string[], nodeArgs?: string[]): [string, string[]];
}

interface Staged {
  dir: string;
  node: string;
  cli: string;
}

/**
 * For the calling test file (call it at its top level): a CLI that nobody can run, staged when
 * first needed and removed after the file's tests.
 */
export function useNobodyCli(): NobodyCli {
  let staged: Staged | undefined;
  let unavailable: string | undefined;
  afterAll(() => {
    if (staged) fs.rmSync(staged.dir, { recursive: true, force: true });
  });

  function stage(): Staged | string {
    if (staged) return staged;
    if (unavailable !== undefined) return unavailable;
    if (!fs.existsSync(SETPRIV)) return (unavailable = `running as root without ${SETPRIV}: chmod 000 does not keep root out`);
    const result = stageCli();
    if (typeof result === 'string') unavailable = result;
    else staged = result;
    return result;
  }

  return {
    needed(ctx) {
      if (process.getuid?.() !== 0) return false;
      const result = stage();
      if (typeof result === 'string') ctx.skip(result);
      return true;
    },
    command(args, nodeArgs = []) {
      const result = stage();
      if (typeof result === 'string') throw new Error(`cannot run the CLI as nobody: ${result}`);
      return [SETPRIV, [...AS_NOBODY, result.node, ...nodeArgs, result.cli, ...args]];
    },
  };
}

/** Runs `argv` as nobody; its exit status and what it said. */
function asNobody(argv: string[]): { ok: boolean; said: string } {
  const r = spawnSync(SETPRIV, [...AS_NOBODY, ...argv], { cwd: '/', encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { ok: r.status === 0, said: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
}

/** The staged copy, checked by running `--version` as nobody; or why it cannot be run. */
function stageCli(): Staged | string {
  const bundle = path.join(CHECKOUT, 'dist', 'bundle', 'main.mjs');
  if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run \`npm run build\` first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-nobody-'));
  try {
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.copyFileSync(path.join(CHECKOUT, 'bin', 'lora-top.js'), path.join(dir, 'bin', 'lora-top.js'));
    fs.cpSync(path.join(CHECKOUT, 'dist', 'bundle'), path.join(dir, 'dist', 'bundle'), { recursive: true });
    const { name, version } = JSON.parse(fs.readFileSync(path.join(CHECKOUT, 'package.json'), 'utf8')) as { name: string; version: string };
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version, type: 'module' }));
    // Readable by anyone whatever the umask (a clone made under umask 077 holds 0600 files).
    openUp(dir);
    let node = process.execPath;
    if (!asNobody([node, '-e', '']).ok) {
      node = path.join(dir, 'node');
      fs.copyFileSync(process.execPath, node);
      fs.chmodSync(node, 0o755);
    }
    const cli = path.join(dir, 'bin', 'lora-top.js');
    const probe = asNobody([node, cli, '--version']);
    if (!probe.ok || probe.said !== version) {
      fs.rmSync(dir, { recursive: true, force: true });
      return `nobody cannot run the CLI staged in ${dir} (is ${os.tmpdir()} open to other users?): ${probe.said}`;
    }
    return { dir, node, cli };
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Folders 0755 and files 0644, all the way down. */
function openUp(p: string): void {
  if (fs.statSync(p).isDirectory()) {
    fs.chmodSync(p, 0o755);
    for (const entry of fs.readdirSync(p)) openUp(path.join(p, entry));
  } else {
    fs.chmodSync(p, 0o644);
  }
}
