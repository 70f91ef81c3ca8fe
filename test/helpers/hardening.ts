import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processStartTime } from '../../src/sources/trainerProcess.js';
import { expect } from 'vitest';
import type { NobodyCli } from './nobody.js';
import { CLI, PYTHON } from './sim.js';

/**
 * Helpers for test/e2e/hardening.test.ts: the CLI run as a child (asynchronously, so tests can run
 * side by side), a hostile run folder, a terminal (a pseudo-terminal driven by a small Python
 * program, so the exact bytes lora-top writes to it can be checked) and a stand-in trainer that
 * records every signal it gets.
 */

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Text for standard input (a pipe); without it standard input is /dev/null. */
  input?: string;
  nodeArgs?: string[];
  /** Run as nobody, through this test file's staged copy of the CLI (useNobodyCli): so that file permissions apply. */
  asNobody?: NobodyCli;
  /** Standard output goes to this file descriptor instead of a pipe (e.g. /dev/full). */
  stdoutFd?: number;
  /** Close the reading end of standard output at once: every write lora-top makes gets EPIPE. */
  closeStdout?: boolean;
  /** Killed (SIGKILL) after this long: a hang fails the test instead of the run. Default 20 s. */
  timeoutMs?: number;
}

export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  const [command, argv] = options.asNobody
    ? options.asNobody.command(args, options.nodeArgs)
    : [process.execPath, [...(options.nodeArgs ?? []), CLI, ...args]];
  const started = Date.now();
  const child = spawn(command, argv, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', options.stdoutFd ?? 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  if (options.closeStdout) child.stdout?.destroy();
  else child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  if (options.input !== undefined) child.stdin!.end(options.input);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** stderr is exactly one `lora-top: …` line matching `pattern`, with no stack trace. */
export function expectOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^lora-top: /);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/^\s+at /m);
}

/** Nothing on stderr at all (no warning, no stack trace). */
export function expectQuiet(result: CliResult): void {
  expect(result.stderr, result.stderr).toBe('');
}

// ---------------------------------------------------------------------------------------------
// Control sequences

/** Each kind of sequence a run could carry to the terminal, with a visible word around it. */
export const PAYLOADS = {
  csi: '\x1b[2J\x1b[31m',
  osc0: '\x1b]0;pwned-title\x07',
  osc8: '\x1b]8;;evil.example\x1b\\click\x1b]8;;\x1b\\',
  osc52: '\x1b]52;c;cHduZWQ=\x07',
  dcs: '\x1bP+q544e\x1b\\',
  c1: '\x9b6n\x9d0;pwned\x9c\x85\x90pwned\x9c',
} as const;
/** All of them in one string (no `/`, so it can be part of a file name). */
export const ALL_PAYLOADS = Object.values(PAYLOADS).join('');
/** What is left of ALL_PAYLOADS once the sequences are stripped: the OSC 8 link's text. */
export const PAYLOADS_VISIBLE = 'click';

/**
 * The control sequences and characters in `text` that are not lora-top's own colours: every
 * ESC not starting an SGR sequence (`ESC [ … m`), every C1 control, every C0 control but
 * newline (and `\r` when `allowCr`).
 */
export function foreignControls(text: string, options: { allowCr?: boolean } = {}): string[] {
  // eslint-disable-next-line no-control-regex
  const withoutSgr = text.replace(/\x1b\[[0-9;:]*m/g, '');
  // eslint-disable-next-line no-control-regex
  const found = withoutSgr.match(/\x1b.{0,6}|[\x00-\x09\x0b-\x1f\x7f-\x9f]/gs) ?? [];
  return found.filter((c) => !(options.allowCr && c === '\r'));
}

// ---------------------------------------------------------------------------------------------
// Run folders

export interface RunFolderSpec {
  name?: string;
  /** Extra log text after the standard lines. */
  logExtra?: string;
  prompts?: string[];
  /** File names to create in samples/ (any content). */
  sampleFiles?: string[];
  /** File names to create in the folder (e.g. checkpoints). */
  files?: string[];
  /** The step the log has reached (of 1000). */
  step?: number;
}

export function tqdmLine(name: string, n: number, total = 1000): string {
  const pct = Math.floor((100 * n) / total);
  return `${name}:  ${pct}%|${'#'.repeat(Math.floor(pct / 10)).padEnd(10)}| ${n}/${total} [01:00<09:00,  1.00s/it, lr: 1.0e-04 loss: 2.000e-01]`;
}

/** An ai-toolkit run folder `<root>/output/<folderName>` with a config, a log, samples and files. */
export function makeRunFolder(root: string, folderName: string, spec: RunFolderSpec = {}): string {
  const folder = path.join(root, 'output', folderName);
  fs.mkdirSync(path.join(folder, 'samples'), { recursive: true });
  const name = spec.name ?? folderName;
  const config = {
    job: 'extension',
    config: {
      name,
      process: [
        {
          type: 'sd_trainer',
          training_folder: path.join(root, 'output'),
          network: { type: 'lora', linear: 16, linear_alpha: 16 },
          save: { save_every: 250, max_step_saves_to_keep: 4 },
          train: { steps: 1000, lr: 1e-4 },
          sample: { sample_every: 250, prompts: spec.prompts ?? ['a photo of a cat'] },
        },
      ],
    },
  };
  fs.writeFileSync(path.join(folder, '.job_config.json'), JSON.stringify(config, null, 2));
  const step = spec.step ?? 300;
  const lines = [`Running 1 job`, tqdmLine(name, 249), 'Saving at step 250', tqdmLine(name, step)];
  fs.writeFileSync(path.join(folder, 'log.txt'), `${lines.join('\n')}\n${spec.logExtra ?? ''}`);
  for (const file of spec.sampleFiles ?? []) fs.writeFileSync(path.join(folder, 'samples', file), 'not really an image');
  for (const file of spec.files ?? []) fs.writeFileSync(path.join(folder, file), 'x');
  return folder;
}

// ---------------------------------------------------------------------------------------------
// A terminal

const PTY_DRIVER = String.raw`
import os, pty, sys, select, struct, fcntl, termios
cols, rows, out_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
argv = sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execvp(argv[0], argv)
print('PID', pid, flush=True)
out = open(out_path, 'wb')
master_open, stdin_open = True, True
def drain():
    global master_open
    while master_open:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            return
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data:
            master_open = False
            return
        out.write(data)
        out.flush()
while True:
    watched = ([fd] if master_open else []) + ([0] if stdin_open else [])
    ready, _, _ = select.select(watched, [], [], 0.05)
    if fd in ready and master_open:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if data:
            out.write(data)
            out.flush()
        else:
            master_open = False
    if 0 in ready:
        line = sys.stdin.readline()
        if not line:
            stdin_open = False
        else:
            words = line.split()
            if words[0] == 'signal':
                os.kill(pid, int(words[1]))
            elif words[0] == 'hangup' and master_open:
                os.close(fd)
                master_open = False
            elif words[0] == 'type' and master_open:
                os.write(fd, bytes.fromhex(words[1]))
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        drain()
        print('EXIT', os.waitstatus_to_exitcode(status), flush=True)
        break
`;

export const hasPty = fs.existsSync(PYTHON);

/**
 * A program on a terminal of its own (cols × rows): everything it writes to the terminal is kept
 * byte for byte; signals and a hang-up come from the outside.
 */
export class PtySession {
  /** The program's exit code, or minus the signal that ended it. */
  readonly exit: Promise<number>;
  private readonly driver: ChildProcess;
  private readonly outPath: string;
  private knownPid: number | null = null;
  /** Its start time: the PID is killed only while it is still that program (PIDs wrap at 32768 here). */
  private knownStart: number | null = null;
  private ended = false;

  constructor(dir: string, argv: string[], options: { cols?: number; rows?: number; env?: NodeJS.ProcessEnv; cwd?: string; term?: string } = {}) {
    const driverPath = path.join(dir, 'pty_driver.py');
    if (!fs.existsSync(driverPath)) fs.writeFileSync(driverPath, PTY_DRIVER);
    this.outPath = path.join(dir, `pty-${process.hrtime.bigint()}.out`);
    this.driver = spawn(PYTHON, [driverPath, String(options.cols ?? 100), String(options.rows ?? 30), this.outPath, ...argv], {
      cwd: options.cwd ?? dir,
      env: { ...(options.env ?? process.env), TERM: options.term ?? 'xterm-256color', LANG: 'C.UTF-8' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let said = '';
    let resolveExit!: (code: number) => void;
    this.exit = new Promise((resolve) => (resolveExit = resolve));
    this.driver.stdout!.on('data', (d: Buffer) => {
      said += d.toString('utf8');
      const pid = /^PID (\d+)$/m.exec(said);
      if (pid && this.knownPid === null) {
        this.knownPid = Number(pid[1]);
        this.knownStart = processStartTime(this.knownPid);
      }
      const exit = /^EXIT (-?\d+)$/m.exec(said);
      if (exit && !this.ended) {
        this.ended = true;
        resolveExit(Number(exit[1]));
      }
    });
  }

  /** Everything written to the terminal so far. */
  output(): string {
    try {
      return fs.readFileSync(this.outPath, 'utf8');
    } catch {
      return '';
    }
  }

  /** Resolves once the output passes `test`; rejects with what it was after `timeoutMs`. */
  waitFor(test: (output: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const poll = () => {
        const text = this.output();
        if (test(text)) return resolve(text);
        if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}; the terminal got ${JSON.stringify(text.slice(-600))}`));
        setTimeout(poll, 40);
      };
      poll();
    });
  }

  signal(signal: NodeJS.Signals): void {
    this.driver.stdin!.write(`signal ${os.constants.signals[signal]}\n`);
  }

  /** Types on the terminal's keyboard (keys and escape sequences as the terminal sends them). */
  type(text: string): void {
    this.driver.stdin!.write(`type ${Buffer.from(text, 'utf8').toString('hex')}\n`);
  }

  /** Closes the terminal (like an SSH connection dropping): the kernel sends SIGHUP. */
  hangup(): void {
    this.driver.stdin!.write('hangup\n');
  }

  /** The program's exit, or null when it has not ended within `timeoutMs` (then it is killed). */
  async exited(timeoutMs: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([this.exit, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)))]);
    clearTimeout(timer);
    if (code === null) this.kill();
    return code;
  }

  /** Kills the program (when it said its PID and has not exited) and lets the driver go. */
  kill(): void {
    const pid = this.knownPid;
    if (pid !== null && pid > 1 && !this.ended && this.knownStart !== null && processStartTime(pid) === this.knownStart) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    this.driver.stdin!.end();
  }
}

// ---------------------------------------------------------------------------------------------
// A trainer

const FAKE_TRAINER = String.raw`
import os, signal, sys, time
folder = sys.argv[1]
log = open(os.path.join(folder, 'log.txt'), 'a', buffering=1)
record = os.path.join(folder, 'signals.txt')
def got(sig, frame):
    with open(record, 'a') as f:
        f.write(signal.Signals(sig).name + '\n')
for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGCONT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGPIPE, signal.SIGTSTP):
    signal.signal(sig, got)
n = 300
while True:
    n += 1
    log.write('\r%s:  %d%%|###       | %d/1000 [05:00<10:00,  1.00s/it, lr: 1.0e-04 loss: 2.000e-01]' % (os.path.basename(folder), n // 10, n))
    log.flush()
    time.sleep(0.05)
`;

/**
 * A stand-in trainer for the run in `folder`: `python3 run.py <folder>/.job_config.json` (so lora-top
 * takes it for the run's trainer), in a session of its own, appending a tqdm bar to log.txt every
 * 50 ms and writing the name of every signal it gets (all it can catch) to `signals.txt`.
 */
export function startFakeTrainer(folder: string): { child: ChildProcess; signalsFile: string; stop(): void } {
  const script = path.join(folder, 'run.py');
  fs.writeFileSync(script, FAKE_TRAINER);
  const child = spawn(PYTHON, [script, folder, path.join(folder, '.job_config.json')], { cwd: folder, stdio: 'ignore', detached: true });
  return {
    child,
    signalsFile: path.join(folder, 'signals.txt'),
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Preloads (node --import) for the CLI child

/**
 * Writes `fail-on-sigusr2.mjs`: on SIGUSR2, an error is thrown from a callback (HARDEN_FAIL=throw)
 * or a promise is rejected with nobody to catch it (HARDEN_FAIL=reject): the "uncaught error"
 * lora-top must survive with the terminal restored. lora-top has no switch of its own for this;
 * Node's --import injects it from the outside, and the test chooses the moment.
 */
export function writeFailurePreload(dir: string): string {
  const file = path.join(dir, 'fail-on-sigusr2.mjs');
  fs.writeFileSync(
    file,
    `process.on('SIGUSR2', () => {
  if (process.env.HARDEN_FAIL === 'reject') Promise.reject(new Error('injected rejection'));
  else setImmediate(() => {
    throw new Error('injected failure');
  });
});
`,
  );
  return file;
}

/** Writes `max-rss.mjs`: on exit, the process's peak resident memory (bytes) goes to $HARDEN_RSS_FILE. */
export function writeRssPreload(dir: string): string {
  const file = path.join(dir, 'max-rss.mjs');
  fs.writeFileSync(
    file,
    `import { writeFileSync } from 'node:fs';
process.on('exit', () => writeFileSync(process.env.HARDEN_RSS_FILE, String(process.resourceUsage().maxRSS * 1024)));
`,
  );
  return file;
}
