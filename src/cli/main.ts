import { mkdtemp, rm } from 'node:fs/promises';
import { fstatSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCli, USAGE, type CliOptions } from './args.js';
import { describeFsError, EXIT, UserError } from './errors.js';
import { locateTarget, type RunLocation } from '../run/locateRun.js';
import type { HostFiles } from '../run/hostFiles.js';
import type { ControlOptions } from '../control/controlSource.js';
import type { FleetTarget } from '../catalog/fleet.js';
import { looksRemote, parseHostsFile, parseTarget } from '../remote/remoteTarget.js';
import { readRunOnce, watchRun, type GpuOptions, type RunWatch } from '../run/watchRun.js';
import { estimateFinish } from '../state/eta.js';
import type { RunState } from '../state/runState.js';
import { jsonSnapshot, textSnapshot } from '../view/snapshot.js';
import { stripControlSequences } from '../parse/sanitize.js';
import { chooseGlyphs, chooseImageMode, chooseTheme } from '../ui/theme.js';

/** The command line. Returns the exit code; prints one clear line for any user-facing problem. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await run(parseCli(argv));
  } catch (error) {
    // A message can quote a path from the run (a folder named after its job): nothing in it may
    // act on the terminal.
    if (error instanceof UserError) {
      process.stderr.write(`lora-top: ${stripControlSequences(error.message)}\n`);
      return error.exitCode;
    }
    process.stderr.write(`lora-top: internal error: ${stripControlSequences((error as Error)?.message ?? String(error))}\n`);
    return EXIT.internal;
  }
}

async function run(options: CliOptions): Promise<number> {
  if (options.help) return writeOut(USAGE);
  if (options.version) return writeOut(`${version()}\n`);
  if (options.json && !options.once) throw new UserError('--json goes with --once (lora-top PATH --once --json)');
  // The dashboard's code (Ink, React, yoga) is the slowest thing to load: start on it at once.
  if (!options.once && process.stdout.isTTY) void loadDashboard().catch(() => {});
  if (options.demo) return runDemo(options);
  if (options.runCommand) return launchAndWatch(options, options.runCommand);
  if (options.hostsFile !== null || options.paths.length > 1 || options.paths.some(looksRemote)) return runHosts(options);

  const location = await locateTarget(options.path ?? (stdinIsPiped() ? '-' : undefined), process.cwd(), options.db);
  // A folder of runs served as metrics goes the way several targets go (the fleet collects them).
  if (location.kind === 'runs' && options.metrics && location.root !== null && options.db === null) return runHosts(options);
  if (location.kind === 'runs') return showRuns(location, options);
  if (options.once || !process.stdout.isTTY) return printSnapshot(await readRunOnce(location, process.stdin, gpuOptions(options)), options);
  const watch = watchRun(location, { gpu: gpuOptions(options), previews: true, control: controlOptions(options), heavyAfterMs: 1000 });
  let code: number;
  try {
    code = await showRunWithMetrics(watch, options, null, location.kind === 'stdin' ? null : (location.folder ?? location.logPath));
  } finally {
    await watch.close();
  }
  if (location.kind === 'stdin' && code === EXIT.ok) await passThroughRest();
  return code;
}

/** The dashboard of one run, and `--metrics` serving it (or, with --no-tui, only that). */
async function showRunWithMetrics(watch: RunWatch, options: CliOptions, host: string | null, path: string | null): Promise<number> {
  const metrics = options.metrics
    ? await serveMetrics(options.metrics, () => {
        const state = watch.getState();
        const snapshot = jsonSnapshot(state, estimateFinish(state, Date.now(), options.target));
        const label = host ?? 'local';
        return { runs: [{ host: label, path: path ?? '-', snapshot }], hosts: [{ host: label, up: true, gpus: snapshot.gpus }] };
      })
    : null;
  try {
    if (metrics && (options.noTui || !process.stdout.isTTY)) return await untilStopped();
    return await showDashboard(watch, options);
  } finally {
    await metrics?.close();
  }
}

/** `--metrics [ADDR:]PORT`: the read-only Prometheus endpoint; its address goes to standard error. */
async function serveMetrics(spec: string, collect: () => import('../metrics/prometheusText.js').MetricsInput): Promise<{ close(): Promise<void> }> {
  const { parseListenAddress, startMetricsServer } = await import('../metrics/metricsServer.js');
  const listen = parseListenAddress(spec);
  if ('error' in listen) throw new UserError(`--metrics: ${listen.error}`);
  let server;
  try {
    server = await startMetricsServer({ listen, collect });
  } catch (error) {
    throw new UserError(`--metrics: ${(error as Error).message}`, EXIT.usage);
  }
  if (!process.stdout.isTTY) process.stderr.write(`lora-top: metrics on ${server.url}\n`);
  return server;
}

/** Serves until SIGINT, SIGTERM or SIGHUP. */
function untilStopped(): Promise<number> {
  return new Promise<number>((resolve) => {
    const done = () => resolve(EXIT.ok);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, done);
  });
}

/** Every target of the command line and of --hosts, each on this machine or on a host over SSH. */
async function collectTargets(options: CliOptions): Promise<FleetTarget[]> {
  const targets: FleetTarget[] = [];
  const add = (arg: string, where: string) => {
    const parsed = parseTarget(arg);
    if (parsed.kind === 'error') throw new UserError(`${where}${parsed.message}`);
    if (parsed.kind === 'local') {
      // A local target that is not there is a usage error now, not a line in a list.
      try {
        statSync(parsed.path);
      } catch (error) {
        throw describeFsError(error, parsed.path);
      }
    }
    targets.push(parsed.kind === 'remote' ? { destination: parsed.target.destination, path: parsed.target.path } : { destination: null, path: parsed.path });
  };
  for (const path of options.paths) add(path, '');
  if (options.hostsFile !== null) {
    let text: string;
    try {
      text = readFileSync(options.hostsFile, 'utf8');
    } catch (error) {
      throw describeFsError(error, options.hostsFile);
    }
    const parsed = parseHostsFile(text, options.hostsFile);
    if ('error' in parsed) throw new UserError(parsed.error);
    for (const t of parsed.targets) targets.push({ destination: t.destination, path: t.path });
  }
  if (targets.length === 0) throw new UserError(`${options.hostsFile} names no target (one host:PATH a line)`);
  return targets;
}

/**
 * Runs on other hosts (and several targets): one remote run opens its dashboard; anything more
 * opens the runs screen over every host, grouped by host.
 */
async function runHosts(options: CliOptions): Promise<number> {
  const targets = await collectTargets(options);
  if (options.metrics) {
    // A bad address is said before any host is reached.
    const { parseListenAddress } = await import('../metrics/metricsServer.js');
    const listen = parseListenAddress(options.metrics);
    if ('error' in listen) throw new UserError(`--metrics: ${listen.error}`);
  }
  const [{ HostPool, hostAccess }, { openFleet }, { remotePath }] = await Promise.all([
    import('../remote/hostPool.js'),
    import('../catalog/fleet.js'),
    import('../remote/remoteTarget.js'),
  ]);
  const pool = new HostPool(options.sshCommand);
  const once = options.once || (!process.stdout.isTTY && !options.metrics);
  const remoteControl = async () => (await import('../remote/remoteControl.js')).RemoteRunControl;
  const RemoteRunControl = await remoteControl();
  const watchOn = (host: string | null, location: RunLocation, files: HostFiles, db: string | null = null) => {
    const ssh = host === null ? null : pool.byLabel(host);
    const access = ssh ? hostAccess(ssh) : null;
    return watchRun(location, {
      files,
      gpu: { ...gpuOptions(options), ...(access ? { command: access.command } : {}) },
      previews: true,
      // A UI job's dashboard acts through the UI's database where the job lies (on its host).
      control: { ...controlOptions(options), db: options.db ?? db },
      ...(ssh ? { startControl: (o: ControlOptions) => new RemoteRunControl(ssh, o) } : {}),
      heavyAfterMs: 500,
    });
  };
  try {
    const only = targets.length === 1 ? targets[0]! : null;
    if (only?.destination) {
      const ssh = pool.get(only.destination);
      try {
        await ssh.whenUp(30_000);
      } catch (error) {
        throw new UserError((error as Error).message, EXIT.unreadable);
      }
      const files = hostAccess(ssh).files;
      const located = await locateTarget(remotePath(only.path, String(ssh.hello?.home ?? '/')), '/', null, files);
      if (located.kind !== 'runs') {
        if (once) return await printSnapshot(await readRunOnce(located, process.stdin, { enabled: false }, files), options);
        const watch = watchOn(ssh.label, located, files);
        try {
          return await showRunWithMetrics(watch, options, ssh.label, located.kind === 'stdin' ? null : (located.folder ?? located.logPath));
        } finally {
          await watch.close();
        }
      }
    }
    const { defaultCacheDir } = await import('../catalog/summaryCache.js');
    const fleet = openFleet({
      targets,
      pool,
      cacheDir: defaultCacheDir(),
      target: options.target,
      follow: !once,
      version: version(),
      gpus: !options.noGpu,
      gpuIntervalMs: Math.max(options.intervalMs, 2000),
      cwd: process.cwd(),
    });
    try {
      if (once) {
        await fleet.loaded;
        const { isUnreadable, runsJson, runsText } = await import('../view/runsSnapshot.js');
        const written = await writeOut(options.json ? `${jsonText(runsJson(fleet.entries(), options.target))}\n` : runsText(fleet.entries(), Date.now()));
        // What could be read is printed; a target that could not be read at all (a host down) is an exit status too, as `ls a b` does.
        return written === EXIT.ok && fleet.entries().some(isUnreadable) ? EXIT.unreadable : written;
      }
      const metrics = options.metrics
        ? await serveMetrics(options.metrics, () => ({
            runs: fleet.entries().flatMap((e) => (e.summary ? [{ host: e.host ?? 'local', path: e.folder ?? e.name, snapshot: e.summary.snapshot }] : [])),
            hosts: fleet.hosts().map((h) => ({ host: h.host, up: h.link === 'up', gpus: h.gpus.map(({ uuid: _uuid, ...g }) => ({ ...g, processMemoryMiB: null })) })),
          }))
        : null;
      try {
        if (metrics && (options.noTui || !process.stdout.isTTY)) return await untilStopped();
        const { startRunsScreen } = await loadDashboard();
        const hostsShown = [...new Set(targets.map((t) => t.destination?.label ?? 'local'))];
        return await startRunsScreen(fleet, {
          ...dashboardOptions(options),
          title: targets.length === 1 && !targets[0]!.destination ? targets[0]!.path : hostsShown.length === 1 ? `${hostsShown[0]}:${targets[0]!.path || '~'}` : `${hostsShown.length} hosts`,
          openRun: (folder, logPath, db, host) => watchOn(host === 'local' ? null : host, { kind: 'folder', folder, logPath }, fleet.filesOf(host), db),
        });
      } finally {
        await metrics?.close();
      }
    } finally {
      await fleet.close();
    }
  } finally {
    await pool.close();
  }
}

/**
 * After `q` on a run piped into lora-top, closing the pipe would kill the trainer (SIGPIPE). So
 * lora-top steps aside instead: the rest of the run's output goes to the terminal as it comes.
 */
async function passThroughRest(): Promise<void> {
  if (process.stdin.readableEnded) return;
  process.stderr.write('lora-top: dashboard closed; the run goes on and its output follows (Ctrl-C stops the run)\n');
  await new Promise<void>((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('error', () => resolve());
    process.stdout.on('error', () => resolve());
    // The stdin source let go of the handle (unref) when the watch closed: hold on to it again.
    (process.stdin as { ref?: () => void }).ref?.();
    process.stdin.pipe(process.stdout);
    process.stdin.resume();
  });
}

let dashboardModule: Promise<typeof import('../ui/startDashboard.js')> | null = null;

function loadDashboard(): Promise<typeof import('../ui/startDashboard.js')> {
  // Ink draws nothing until exit when it believes it runs in CI (the CI variable is set). On a
  // terminal a person is watching, so the variable must not apply to it.
  if (process.env.CI !== undefined) process.env.CI = 'false';
  dashboardModule ??= withoutFetch(() => import('../ui/startDashboard.js'));
  return dashboardModule;
}

/**
 * yoga-layout (Ink's layout engine) looks at `typeof fetch` while it loads, and on Node 20 that
 * first look loads the whole HTTP client (~30 ms of start-up). lora-top fetches nothing: hide the
 * global while the dashboard's code loads, then put it back as it was.
 */
async function withoutFetch<T>(load: () => Promise<T>): Promise<T> {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
  if (!descriptor?.configurable) return load();
  Object.defineProperty(globalThis, 'fetch', { value: undefined, configurable: true, writable: true });
  try {
    return await load();
  } finally {
    Object.defineProperty(globalThis, 'fetch', descriptor);
  }
}

async function showDashboard(watch: RunWatch, options: CliOptions): Promise<number> {
  const { startDashboard } = await loadDashboard();
  return startDashboard(watch, dashboardOptions(options));
}

function dashboardOptions(options: CliOptions) {
  return {
    target: options.target,
    glyphs: chooseGlyphs(options.ascii, process.env),
    theme: chooseTheme(options.theme, process.env),
    imageMode: chooseImageMode(process.env),
    images: options.images,
    notify: options.notify,
    ...(options.stallAfterS !== null ? { stallFloorS: options.stallAfterS } : {}),
  };
}

/** A folder of runs, or the UI's queue: the runs screen, or `--once` a line (or a JSON entry) a run. */
async function showRuns(target: { root: string | null; db: string | null }, options: CliOptions): Promise<number> {
  const { openRunCatalog } = await import('../catalog/runCatalog.js');
  const { defaultCacheDir } = await import('../catalog/summaryCache.js');
  const once = options.once || !process.stdout.isTTY;
  const catalog = openRunCatalog({ root: target.root, db: target.db, cacheDir: defaultCacheDir(), target: options.target, follow: !once, version: version() });
  try {
    if (once) {
      await catalog.loaded;
      const { runsJson, runsText } = await import('../view/runsSnapshot.js');
      return await writeOut(options.json ? `${jsonText(runsJson(catalog.entries(), options.target))}\n` : runsText(catalog.entries(), Date.now()));
    }
    const { startRunsScreen } = await loadDashboard();
    return await startRunsScreen(catalog, {
      ...dashboardOptions(options),
      title: target.root ?? target.db ?? 'runs',
      // A UI job's dashboard acts through the UI's own database (its Job row), with the same proof of the trainer.
      openRun: (folder, logPath, db) => watchRun({ kind: 'folder', folder, logPath }, { gpu: gpuOptions(options), previews: true, control: { ...controlOptions(options), db: options.db ?? db }, heavyAfterMs: 0 }),
    });
  } finally {
    await catalog.close();
  }
}

function controlOptions(options: CliOptions) {
  return { readonly: options.readonly, pid: options.pid, db: options.db };
}

/**
 * `lora-top run`: starts the trainer detached, then shows its dashboard. Quitting leaves the
 * trainer running; `lora-top <folder>` re-attaches with control.
 */
async function launchAndWatch(options: CliOptions, command: string[]): Promise<number> {
  const { launchTrainer } = await import('../control/launch.js');
  const launched = await launchTrainer(command, { cwd: process.cwd(), control: !options.noControl });
  const said = `lora-top: started pid ${launched.pid}${launched.control ? ' with control' : ''}; output goes to ${launched.logPath}`;
  if (launched.note) process.stderr.write(`lora-top: ${launched.note}\n`);
  if (!process.stdout.isTTY || options.once) {
    process.stdout.write(`${said}\n`);
    return EXIT.ok;
  }
  const location: RunLocation = { kind: 'folder', folder: launched.folder, logPath: launched.logPath };
  const watch = watchRun(location, { gpu: gpuOptions(options), previews: true, control: controlOptions(options), heavyAfterMs: 1000 });
  try {
    const code = await showDashboard(watch, options);
    process.stderr.write(`${said}\nlora-top: the run goes on; lora-top ${launched.folder} shows it again\n`);
    return code;
  } finally {
    await watch.close();
  }
}

function gpuOptions(options: CliOptions): GpuOptions {
  return { enabled: !options.noGpu, requested: options.gpu, intervalMs: options.intervalMs };
}

function printSnapshot(state: RunState, options: CliOptions): Promise<number> {
  const now = Date.now();
  const eta = estimateFinish(state, now, options.target);
  return writeOut(options.json ? `${jsonText(jsonSnapshot(state, eta))}\n` : textSnapshot(state, eta, now));
}

/**
 * JSON.stringify escapes C0 controls but writes C1 controls (U+0080–U+009F, e.g. U+009B, the
 * 8-bit CSI) and DEL as they are; a file name from the run can hold them. Escaped, the JSON means
 * the same and nothing in it can act on a terminal it is printed to.
 */
function jsonText(value: unknown): string {
  // eslint-disable-next-line no-control-regex
  return JSON.stringify(value).replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Writes to standard output and waits until it is written. A reader that went away (`| head -c1`)
 * ends lora-top quietly; a full disk or another write error is one line, not a crash.
 */
function writeOut(text: string): Promise<number> {
  // The error also comes as an 'error' event, after the callback: without a listener it would crash.
  if (!process.stdout.listeners('error').includes(ignoreError)) process.stdout.on('error', ignoreError);
  return new Promise<number>((resolve, reject) => {
    process.stdout.write(text, (error) => {
      if (!error) return resolve(EXIT.ok);
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') return resolve(EXIT.ok);
      reject(new UserError(`cannot write to standard output: ${error.message}`, EXIT.unreadable));
    });
  });
}

function ignoreError(): void {}

/** The built-in demo: a simulated run in a temporary folder, watched like any real run. */
async function runDemo(options: CliOptions): Promise<number> {
  const { startDemoRun } = await import('../demo/demoRun.js');
  const dir = await mkdtemp(join(tmpdir(), 'lora-top-demo-'));
  const once = options.once || !process.stdout.isTTY;
  const demo = await startDemoRun({ dir, stepsPerSecond: options.demoSpeed ?? (once ? 400 : 25) });
  const location: RunLocation = { kind: 'folder', folder: demo.folder, logPath: demo.logPath };
  const watch = watchRun(location, { gpu: gpuOptions(options), previews: !once, noControl: 'the built-in demo has no trainer process to act on', heavyAfterMs: once ? 0 : 1000 });
  try {
    if (once) {
      // Let the simulated run get a third of the way, then show what lora-top reads of it.
      await untilState(watch, (state) => (state.step ?? 0) >= 1000 || state.status === 'completed', demo.done);
      return await printSnapshot(watch.getState(), options);
    } else {
      return await showDashboard(watch, options);
    }
  } finally {
    await watch.close();
    await demo.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return EXIT.ok;
}

function untilState(watch: RunWatch, done: (state: RunState) => boolean, end: Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    if (done(watch.getState())) return resolve();
    const unsubscribe = watch.subscribe((state) => {
      if (done(state)) {
        unsubscribe();
        resolve();
      }
    });
    void end.then(() => setTimeout(() => {
      unsubscribe();
      resolve();
    }, 300));
  });
}

/** Standard input carries a run (a pipe or a redirected file), rather than a terminal or /dev/null. */
function stdinIsPiped(): boolean {
  try {
    const info = fstatSync(0);
    return info.isFIFO() || info.isFile() || info.isSocket();
  } catch {
    return false;
  }
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
