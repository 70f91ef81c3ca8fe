import { execFileSync, spawnSync } from 'node:child_process';

/** Debian's python3 with python3-tqdm, which the tests use to make real tqdm output. */
export const PYTHON = '/usr/bin/python3';

export function hasTqdm(): boolean {
  return spawnSync(PYTHON, ['-c', 'import tqdm'], { stdio: 'ignore' }).status === 0;
}

/** Runs a python program with JSON on stdin and returns its JSON answer. */
export function runPythonJson<T>(program: string, input: unknown): T {
  const out = execFileSync(PYTHON, ['-c', program], { input: JSON.stringify(input), maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out.toString('utf8')) as T;
}
