import { parseArgs } from 'node:util';
import { EXIT, UserError } from './errors.js';
import { DEFAULT_TARGET_STEP } from '../state/eta.js';
import type { ThemeName } from '../ui/theme.js';

/** `--images`: how the full-screen view draws a sample. */
export type ImagesFlag = 'auto' | 'kitty' | 'iterm2' | 'sixel' | 'blocks';

export interface CliOptions {
  path: string | undefined;
  /** Every PATH given (several: the runs screen over all of them, grouped by host). */
  paths: string[];
  /** `--hosts FILE`: more targets, one a line. */
  hostsFile: string | null;
  /** `--ssh-command CMD` (or LORA_TOP_SSH_COMMAND): what runs instead of `ssh`. */
  sshCommand: string | null;
  /** `--metrics [ADDR:]PORT`: serve Prometheus metrics there. */
  metrics: string | null;
  /** `--no-tui`: no screen (with --metrics: serve until stopped). */
  noTui: boolean;
  once: boolean;
  json: boolean;
  target: number;
  demo: boolean;
  demoSpeed: number | null;
  help: boolean;
  version: boolean;
  theme: ThemeName | undefined;
  ascii: boolean;
  /** `--gpu N`: the GPU to show when the trainer's cannot be told. */
  gpu: number | null;
  /** `--interval MS`: how often nvidia-smi reports. */
  intervalMs: number;
  /** `--no-gpu`: no nvidia-smi at all. */
  noGpu: boolean;
  images: ImagesFlag;
  /** `--readonly`: no key acts on the trainer. */
  readonly: boolean;
  /** `--pid N`: the trainer's process, when lora-top cannot find it. */
  pid: number | null;
  /** `--db PATH`: the ai-toolkit UI's aitk_db.db. */
  db: string | null;
  /** `--notify`: how the end of a run (and a stall) is announced. */
  notify: NotifyFlag;
  /** `lora-top run [--] COMMAND…`: the trainer command to start, or null. */
  runCommand: string[] | null;
  /** `--no-control` (with run): start the config untouched. */
  noControl: boolean;
  /** `--stall-after S`: the least log silence (seconds) that reads as a stall; null: two minutes. */
  stallAfterS: number | null;
}

/** `--notify`: bell, desktop (OSC 9 and OSC 777, which pass through SSH), both, or none. */
export type NotifyFlag = 'all' | 'bell' | 'desktop' | 'off';

export const USAGE = `lora-top — htop for a LoRA training run (Ostris's ai-toolkit)

Usage:
  lora-top [PATH|-] [options]
  lora-top [user@]host:PATH | ssh://[user@]host[:port]/PATH …  [options]
  lora-top run [options] [--] python run.py CONFIG [args…]

PATH is a training folder (output/<name>), a log file (log.txt, logs/<N>_log.txt),
or - for standard input (python run.py cfg.yaml 2>&1 | lora-top -).
A folder of several runs (ai-toolkit's output/) opens the runs screen: every run in it and the
ai-toolkit UI's queue (aitk_db.db beside it, or --db); Enter opens a run, Esc comes back.
With no PATH: ./output (its run, or its runs).

host:PATH reads a run (or a folder of runs) on a GPU box over your own ssh (~/.ssh/config,
keys, agent, ProxyJump), one multiplexed connection per host; nothing is installed there
(it needs python3, which every ai-toolkit box has). Several targets, or --hosts FILE, open the
runs screen over all of them, grouped by host. lora-top never asks for a password.

lora-top run starts the trainer detached (it survives lora-top and a dropped SSH connection),
its output appended to <training_folder>/<name>/log.txt, with a control channel so that save now,
sample now and stop work; then shows the dashboard. lora-top <folder> re-attaches later.
--no-control runs the config untouched.

Options:
  --once            print a snapshot of the run and exit
  --json            with --once: print exactly one JSON object
  --target N        the step to show an ETA for (default ${DEFAULT_TARGET_STEP})
  --demo            watch a built-in simulated run (no GPU or trainer needed)
  --demo-speed N    demo steps per second (default 25: 3000 steps in about two minutes)
  --theme NAME      dark (default), light or mono; NO_COLOR also gives mono
  --ascii           ASCII only (automatic when the locale is not UTF-8)
  --gpu N           the GPU to show when the trainer's cannot be told (default: its own, else 0)
  --interval MS     how often nvidia-smi reports (default 1000)
  --no-gpu          do not run nvidia-smi at all
  --images KIND     full-screen samples: auto (default), kitty, iterm2, sixel or blocks
  --readonly        no key acts on the trainer (freeze, save, sample, stop are off)
  --pid N           the trainer's process id, when lora-top cannot find it
  --db PATH         the ai-toolkit UI's aitk_db.db (its queue, and a UI job's control), when
                    the log does not name it
  --notify KIND     when the run completes, fails or stalls: all (default: bell and a
                    desktop notification), bell, desktop or off
  --stall-after S   a training log silent this long (and five steps) reads as stalled (default 120)
  --hosts FILE      more targets, one a line (host:PATH, ssh://…; # starts a comment)
  --ssh-command CMD what runs instead of ssh, e.g. "ssh -F ~/.ssh/gpu_config" (also the
                    environment variable LORA_TOP_SSH_COMMAND)
  --metrics [ADDR:]PORT  serve the runs' figures in Prometheus format on /metrics (read-only;
                    ADDR defaults to 127.0.0.1)
  --no-tui          with --metrics: no screen, serve until stopped
  -h, --help        show this help
  -v, --version     show the version

Keys: q or Ctrl-C quits (the training run is never affected), ? lists every key,
l shows the log, + and - change the loss smoothing, ←/→ older/newer sample,
↑/↓ prompt, c compares two steps side by side, v shows a sample full-screen,
p freezes/resumes the trainer, s saves a checkpoint now, S samples now, x stops the run.

Exit codes: 0 ok, 2 usage or path error, 3 unreadable input, 70 internal error.
Environment: NO_COLOR turns colour off; LORA_TOP_SSH_COMMAND as --ssh-command.
`;

export function parseCli(argv: string[]): CliOptions {
  // `lora-top run [options] [--] command…`: lora-top's options end where the command begins.
  if (argv[0] === 'run') {
    const rest = argv.slice(1);
    const ours: string[] = [];
    let i = 0;
    const takesValue = new Set(['--target', '--theme', '--gpu', '--interval', '--images', '--notify', '--pid', '--db', '--demo-speed', '--stall-after', '--hosts', '--ssh-command', '--metrics']);
    while (i < rest.length) {
      const arg = rest[i]!;
      if (arg === '--') {
        i++;
        break;
      }
      if (!arg.startsWith('-')) break;
      ours.push(arg);
      if (takesValue.has(arg) && i + 1 < rest.length) ours.push(rest[++i]!);
      i++;
    }
    const command = rest.slice(i);
    const noControl = ours.includes('--no-control');
    const options = parseCli(ours.filter((a) => a !== '--no-control'));
    if (options.path !== undefined || options.demo) throw new UserError('lora-top run takes the trainer command, not a PATH (see lora-top --help)');
    return { ...options, runCommand: command, noControl };
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        once: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        target: { type: 'string' },
        demo: { type: 'boolean', default: false },
        'demo-speed': { type: 'string' },
        theme: { type: 'string' },
        ascii: { type: 'boolean', default: false },
        gpu: { type: 'string' },
        interval: { type: 'string' },
        'no-gpu': { type: 'boolean', default: false },
        images: { type: 'string' },
        readonly: { type: 'boolean', default: false },
        pid: { type: 'string' },
        db: { type: 'string' },
        notify: { type: 'string' },
        'stall-after': { type: 'string' },
        hosts: { type: 'string' },
        'ssh-command': { type: 'string' },
        metrics: { type: 'string' },
        'no-tui': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
  } catch (error) {
    // node's messages run on ("… To specify a positional argument …"): keep the first sentence.
    const message = (error as Error).message.split(/\.\s|\n/)[0]!.replace(/\.$/, '').replace(/^Unknown/, 'unknown');
    throw new UserError(`${message} (see lora-top --help)`, EXIT.usage);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1 && positionals.includes('-')) throw new UserError('standard input (-) is one PATH on its own (see lora-top --help)');
  if (values.demo && positionals.length > 0) throw new UserError('--demo takes no PATH (see lora-top --help)');
  if (values['no-tui'] && values.metrics === undefined) throw new UserError('--no-tui goes with --metrics (lora-top TARGETS --metrics 9100 --no-tui)');
  const sshCommand = values['ssh-command'] ?? (process.env.LORA_TOP_SSH_COMMAND?.trim() || null);
  return {
    path: positionals[0],
    paths: positionals,
    hostsFile: values.hosts ?? null,
    sshCommand: sshCommand && sshCommand.trim() ? sshCommand : null,
    metrics: values.metrics ?? null,
    noTui: values['no-tui'] ?? false,
    once: values.once ?? false,
    json: values.json ?? false,
    target: values.target === undefined ? DEFAULT_TARGET_STEP : positiveInt('--target', values.target),
    demo: values.demo ?? false,
    demoSpeed: values['demo-speed'] === undefined ? null : positiveNumber('--demo-speed', values['demo-speed']),
    help: values.help ?? false,
    version: values.version ?? false,
    theme: values.theme === undefined ? undefined : themeName(values.theme),
    ascii: values.ascii ?? false,
    gpu: values.gpu === undefined ? null : nonNegativeInt('--gpu', values.gpu),
    intervalMs: values.interval === undefined ? 1000 : Math.max(100, positiveInt('--interval', values.interval)),
    noGpu: values['no-gpu'] ?? false,
    images: values.images === undefined ? 'auto' : imagesFlag(values.images),
    readonly: values.readonly ?? false,
    pid: values.pid === undefined ? null : positiveInt('--pid', values.pid),
    db: values.db ?? null,
    notify: values.notify === undefined ? 'all' : notifyFlag(values.notify),
    runCommand: null,
    noControl: false,
    stallAfterS: values['stall-after'] === undefined ? null : positiveInt('--stall-after', values['stall-after']),
  };
}

function notifyFlag(text: string): NotifyFlag {
  if (text === 'all' || text === 'bell' || text === 'desktop' || text === 'off') return text;
  throw new UserError(`--notify is all, bell, desktop or off, got "${text}"`);
}

function imagesFlag(text: string): ImagesFlag {
  if (text === 'auto' || text === 'kitty' || text === 'iterm2' || text === 'sixel' || text === 'blocks') return text;
  throw new UserError(`--images is auto, kitty, iterm2, sixel or blocks, got "${text}"`);
}

function themeName(text: string): ThemeName {
  if (text === 'dark' || text === 'light' || text === 'mono') return text;
  throw new UserError(`--theme is dark, light or mono, got "${text}"`);
}

function nonNegativeInt(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UserError(`${flag} needs a GPU index (0, 1, …), got "${text}"`);
  return value;
}

function positiveInt(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new UserError(`${flag} needs a whole number above 0, got "${text}"`);
  return value;
}

function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UserError(`${flag} needs a number above 0, got "${text}"`);
  return value;
}
