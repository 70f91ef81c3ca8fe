import { statSync } from 'node:fs';
import { readLossDb, readLossDbOn } from '../sources/lossDb.js';
import type { Follower } from '../sources/fileFollower.js';
import { localFiles, type HostFiles } from './hostFiles.js';
import type { ControlOptions } from '../control/controlSource.js';
import { readStream } from '../sources/stdinSource.js';
import { LogReader } from '../parse/logReader.js';
import { reduceRun } from '../state/reduceRun.js';
import { initialRunState, type RunEvent, type RunState, type StampedRunEvent } from '../state/runState.js';
import type { RunLocation } from './locateRun.js';
import { describeFsError } from '../cli/errors.js';
import { listCheckpoints, listSamples, readDiskSpace, readRunConfig } from './runFolder.js';
import { SampleImages, type ImageRequest } from './sampleImages.js';

import { requestKindOf, type ControlAction } from '../state/controlState.js';

/**
 * The I/O side of reading a run: folder facts, loss_log.db, and the log (or stdin) through the
 * LogReader, all folded into one RunState by the pure reducer.
 */

/** What the run folder holds; `first` adds what is read once (the config, loss_log.db). */
async function folderEvents(folder: string, first: boolean, files: HostFiles): Promise<RunEvent[]> {
  const [config, checkpoints, samples, loss, space] = await Promise.all([
    first ? readRunConfig(folder, files) : Promise.resolve(null),
    listCheckpoints(folder, files),
    listSamples(folder, files),
    // loss_log.db is SQLite: another host's is queried there.
    first ? (files.host === null ? readLossDb(folder) : readLossDbOn(files, folder)) : Promise.resolve(null),
    readDiskSpace(folder, files),
  ]);
  const events: RunEvent[] = [];
  if (config) events.push({ type: 'configLoaded', config });
  events.push({ type: 'checkpointList', checkpoints }, { type: 'sampleList', samples }, { type: 'diskSpace', ...space });
  if (loss?.ok) events.push({ type: 'lossBackfill', points: loss.points });
  return events;
}

/** How often the trainer's process is looked for (a /proc scan). */
const TRAINER_LOOKUP_MS = 5000;

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function stamp(events: readonly RunEvent[], at: number): StampedRunEvent[] {
  return events.map((event) => ({ at, event }));
}

function folderOf(location: RunLocation): string | null {
  return location.kind === 'folder' ? location.folder : location.kind === 'log' ? location.folder : null;
}

/** GPU figures: off unless asked for (the CLI asks; tests of the log side do not). */
export interface GpuOptions {
  enabled: boolean;
  /** `--gpu N`. */
  requested?: number | null;
  /** `--interval MS` for the resident nvidia-smi. */
  intervalMs?: number;
  nvidiaSmi?: string;
  /** Another host's GPUs: how nvidia-smi is started there (through its SSH connection). */
  command?: (file: string, args: string[]) => { file: string; args: string[] };
}

/** What acts on the trainer (control/controlSource.ts here, remote/remoteControl.ts on another host). */
export interface TrainerControl {
  act(action: ControlAction): void;
  close(): void;
}

/** Reads everything there is now and returns the state (for `--once`). */
export async function readRunOnce(
  location: RunLocation,
  stdin: NodeJS.ReadableStream = process.stdin,
  gpu: GpuOptions = { enabled: false },
  files: HostFiles = localFiles,
): Promise<RunState> {
  let state = initialRunState();
  const folder = folderOf(location);
  const gpuEvents = gpu.enabled && files.host === null ? sampleGpus(gpu, folder) : Promise.resolve([]);
  if (folder) state = reduceRun(state, stamp(await folderEvents(folder, true, files), Date.now()));

  const reader = new LogReader();
  const push = (text: string) => {
    state = reduceRun(state, reader.push(text, Date.now(), false));
  };
  if (location.kind === 'stdin') {
    await new Promise<void>((resolve, reject) => {
      readStream(stdin, { onText: push, onEnd: resolve, onError: reject });
    });
  } else {
    const logPath = location.logPath;
    // Read as bytes: training-bar states are read without decoding them (LogReader.pushBytes).
    const pushBytes = (bytes: Buffer) => {
      state = reduceRun(state, reader.pushBytes(bytes, Date.now()));
    };
    // A run folder whose log.txt has not appeared yet reads as a run that is starting.
    await files.readChunks(logPath, pushBytes).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw describeFsError(error, logPath);
    });
  }
  const at = Date.now();
  state = reduceRun(state, [...reader.end(at), { at, event: { type: 'inputEnded' } }, ...stamp(await gpuEvents, at)]);
  return state;
}

/** One look at the GPUs and the trainer's process, for `--once`. */
async function sampleGpus(gpu: GpuOptions, folder: string | null): Promise<RunEvent[]> {
  const [{ sampleGpusOnce }, { findTrainerPid, visibleDevices }] = await Promise.all([
    import('../sources/gpuOnce.js'),
    import('../sources/trainerProcess.js'),
  ]);
  const pid = findTrainerPid({ runFolder: folder });
  const events: RunEvent[] = [
    { type: 'gpuRequested', index: gpu.requested ?? null },
    { type: 'trainerProcess', pid, visibleDevices: pid === null ? null : visibleDevices(pid) },
  ];
  events.push(...(await sampleGpusOnce(gpu.nvidiaSmi ? { nvidiaSmi: gpu.nvidiaSmi } : {})));
  return events;
}

export interface RunWatch {
  getState(): RunState;
  /** Called at most every `notifyMs` with the newest state, and only when it changed. */
  subscribe(listener: (state: RunState) => void): () => void;
  /** The sample images the screen wants drawn, most important first; they arrive as state. */
  wantImages(requests: ImageRequest[]): void;
  /** Acts on the trainer (freeze, resume, save now, sample now, stop); the outcome arrives as state. */
  act(action: ControlAction): void;
  /** A sample file as the picture encoders take it: its path here, its bytes from another host. */
  readSample?: (path: string) => Promise<Buffer | string>;
  /**
   * The screen's first frame is up: the heavy starts (sharp, nvidia-smi, /proc scans) may begin.
   * Without this call they begin after a short while anyway.
   */
  firstFrame(): void;
  close(): Promise<void>;
}

export interface WatchOptions {
  notifyMs?: number;
  /** How often the folder is listed again for new checkpoints and samples. */
  rescanMs?: number;
  stdin?: NodeJS.ReadableStream;
  onWarning?(message: string): void;
  gpu?: GpuOptions;
  /** Decode sample images for the inline preview (the newest at once, others when asked for). */
  previews?: boolean;
  /** Find the trainer and its control channel; null: no control at all (tests of the log side). */
  control?: { readonly?: boolean; pid?: number | null; db?: string | null } | null;
  /** Why nothing can act on this run (the built-in demo), said by the keys that would. */
  noControl?: string;
  /** Hold the heavy starts until `firstFrame()` or this many ms (default 0: at once). */
  heavyAfterMs?: number;
  /** How the log is followed: by fs.watch and a 1 s poll (default), or by a slower poll alone. */
  follow?: { pollMs: number; watch: boolean };
  /** Where the run's files are (default this machine). */
  files?: HostFiles;
  /** Makes the control side (default: this machine's, with /proc and the keeper). */
  startControl?: (options: ControlOptions) => TrainerControl;
}

/** Follows a run live. */
export function watchRun(location: RunLocation, options: WatchOptions = {}): RunWatch {
  const notifyMs = options.notifyMs ?? 100;
  // The folder is listed again now and then (new checkpoints, free space); at once when the log says a
  // save happened. samples/ has a watch of its own.
  const rescanMs = options.rescanMs ?? 5000;
  const files = options.files ?? localFiles;
  let state = initialRunState();
  let notified: RunState | null = null;
  let notifyTimer: NodeJS.Timeout | null = null;
  let rescanTimer: NodeJS.Timeout | null = null;
  const listeners = new Set<(state: RunState) => void>();
  const reader = new LogReader();
  let follower: Follower | null = null;
  let stdinHandle: { close(): void } | null = null;
  let closed = false;

  const notify = () => {
    notifyTimer = null;
    if (closed || notified === state) return;
    notified = state;
    for (const listener of listeners) listener(state);
  };
  let urgentPending = false;
  const apply = (events: StampedRunEvent[], urgent = false) => {
    if (events.length === 0 || closed) return;
    const before = state;
    state = reduceRun(state, events);
    if (state.lastCheckpoint !== before.lastCheckpoint || (before.status === 'saving') !== (state.status === 'saving')) rescanSoon();
    if (urgent && !urgentPending) {
      // A new sample image is drawn at once, not at the next notification.
      urgentPending = true;
      setImmediate(() => {
        urgentPending = false;
        if (notifyTimer) clearTimeout(notifyTimer);
        notify();
      });
    } else if (!notifyTimer) notifyTimer = setTimeout(notify, notifyMs);
  };
  // What the log already held when lora-top started is a backfill, not live progress.
  let backfillBytes = location.kind === 'stdin' || files.host !== null ? 0 : sizeOf(location.logPath);
  const onText = (text: string, at: number) => {
    const live = backfillBytes <= 0;
    if (!live) backfillBytes -= Buffer.byteLength(text);
    apply(reader.push(text, at, live));
  };
  const onBytes = (bytes: Buffer, at: number, nextByte: number) => {
    backfillBytes -= bytes.length;
    apply(reader.pushBytes(bytes, at, nextByte));
  };

  // Heavy starts wait for the first frame: loading sharp, spawning nvidia-smi and scanning /proc
  // take tens of milliseconds that the first frame should not wait for.
  let openGate: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    openGate = resolve;
    const ms = options.heavyAfterMs ?? 0;
    if (ms <= 0) resolve();
    else setTimeout(resolve, ms).unref();
  });

  // Another host's link: while it is down the log's silence is the link's, not the trainer's.
  const hostLabel = files.host;
  const unwatchLink =
    hostLabel !== null && files.watchLink
      ? files.watchLink(({ link, since, why }) => apply([{ at: Date.now(), event: { type: 'hostLink', host: { label: hostLabel, link, since, why } } }], link !== 'connecting'))
      : null;

  const folder = folderOf(location);
  const images = folder
    ? new SampleImages({
        folder,
        getState: () => state,
        apply: (events, urgent) => apply(stamp(events, Date.now()), urgent),
        decode: options.previews === true,
        files,
      })
    : null;
  const rescan = async (first: boolean) => {
    if (!folder || closed) return;
    rescanTimer = null;
    scanning = true;
    const events = await folderEvents(folder, first, files).catch(() => null);
    scanning = false;
    if (closed) return;
    // Another host that could not be reached lists nothing: that is no news about the run.
    if (events && files.reachable()) apply(stamp(events, Date.now()));
    else if (first) {
      rescanTimer = setTimeout(() => void rescan(true), 1000);
      return;
    }
    void gate.then(() => {
      if (!closed) images?.onListed(state.samples);
    });
    rescanTimer = setTimeout(() => void rescan(false), scanAgain ? 200 : rescanMs);
    scanAgain = false;
  };
  let scanning = false;
  let scanAgain = false;
  const rescanSoon = () => {
    if (scanning) scanAgain = true;
    if (!folder || closed || scanning || !rescanTimer) return;
    clearTimeout(rescanTimer);
    rescanTimer = setTimeout(() => void rescan(false), 200);
  };

  // The trainer's process and its control channel (loaded after the first frame, like the GPU side).
  let control: TrainerControl | null = null;
  const pendingActions: ControlAction[] = [];
  if (options.noControl) {
    apply([{ at: Date.now(), event: { type: 'controlChannel', pid: null, source: null, db: null, noChannel: options.noControl, readonly: false } }]);
  }
  if (options.control && location.kind !== 'stdin') {
    const controlOptions = options.control;
    void gate.then(() => (options.startControl ? null : import('../control/controlSource.js'))).then((local) => {
      if (closed) return;
      const start = options.startControl ?? ((o: ControlOptions) => new local!.RunControl(o));
      control = start({
        folder,
        logPath: location.logPath,
        getState: () => state,
        apply: (events) => apply(stamp(events, Date.now()), true),
        readonly: controlOptions.readonly === true,
        pid: controlOptions.pid ?? null,
        db: controlOptions.db ?? null,
      });
      for (const action of pendingActions.splice(0)) control.act(action);
    });
  }

  // GPUs: one resident nvidia-smi for the session, and the trainer's process looked for now and then.
  let gpuMonitor = null as { close(): Promise<void> } | null;
  let trainerTimer: NodeJS.Timeout | null = null;
  if (options.gpu && !options.gpu.enabled) {
    apply([{ at: Date.now(), event: { type: 'gpuProblem', kind: 'missing', message: 'GPU figures are off (--no-gpu)' } }]);
  }
  if (options.gpu?.enabled) {
    const gpu = options.gpu;
    apply([{ at: Date.now(), event: { type: 'gpuRequested', index: gpu.requested ?? null } }]);
    void gate.then(() => Promise.all([import('../sources/gpuMonitor.js'), import('../sources/trainerProcess.js')])).then(
      ([{ startGpuMonitor }, { findTrainerPid, visibleDevices }]) => {
        if (closed) return;
        let trainerPid: number | null = null;
        const announce = (pid: number | null) => {
          if (pid === trainerPid) return;
          trainerPid = pid;
          apply([{ at: Date.now(), event: { type: 'trainerProcess', pid, visibleDevices: pid === null ? null : visibleDevices(pid) } }]);
        };
        if ((options.control && location.kind !== 'stdin') || files.host !== null) {
          // The control side already finds the trainer (and trusts it by its start time): follow it.
          const follow = (next: RunState) => announce(next.control.alive === false ? null : next.control.pid);
          listeners.add(follow);
          follow(state);
        } else {
          // A /proc scan: every 5 s, only where nothing else looks for the trainer.
          const lookForTrainer = () => {
            announce(findTrainerPid({ runFolder: folder }));
            if (!closed) trainerTimer = setTimeout(lookForTrainer, TRAINER_LOOKUP_MS);
          };
          lookForTrainer();
        }
        gpuMonitor = startGpuMonitor({
          ...(gpu.command ? { command: gpu.command, hostReadings: false } : {}),
          ...(gpu.intervalMs ? { intervalMs: gpu.intervalMs } : {}),
          ...(gpu.nvidiaSmi ? { nvidiaSmi: gpu.nvidiaSmi } : {}),
          trainerPid: () => trainerPid,
          onEvent: ({ at, ...event }) => apply([{ at, event }]),
        });
      },
    );
  }

  // The folder's facts (config, loss history) go in before the log so that the log adds to them.
  void rescan(true).then(async () => {
    if (closed) return;
    if (location.kind !== 'stdin' && files.host !== null) {
      // Another host's log: what it holds now is the backfill.
      backfillBytes = await files.stat(location.logPath).then((info) => info.size, () => 0);
      if (closed) return;
    }
    if (location.kind === 'stdin') {
      stdinHandle = readStream(options.stdin ?? process.stdin, {
        onText,
        onEnd: () => apply([...reader.end(Date.now()), { at: Date.now(), event: { type: 'inputEnded' } }]),
        onError: (error) => options.onWarning?.(`standard input: ${error.message}`),
      });
    } else {
      // fs.watch brings each write at once on local disks; the poll is the fallback for network and
      // container mounts, where a second is still prompt for a step that takes seconds (and polling
      // less often keeps lora-top's own CPU use down over hours).
      follower = files.follow(location.logPath, {
        onText,
        // Here, what the log held at the start is read as bytes (training-bar states without decoding them).
        ...(files === localFiles ? { onBytes } : {}),
        onReset: () => {
          reader.reset();
          backfillBytes = 0;
          apply([{ at: Date.now(), event: { type: 'logReset' } }]);
        },
        onError: (error) => options.onWarning?.(`${location.logPath}: ${error.message}`),
      }, { ...(options.follow ?? { pollMs: 1000 }), bytesUpTo: backfillBytes });
    }
  });

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    wantImages(requests) {
      images?.want(requests);
    },
    ...(files.host !== null ? { readSample: (path: string) => files.readFile(path) } : {}),
    firstFrame() {
      openGate();
    },
    act(action) {
      if (control) control.act(action);
      else if (options.control && location.kind !== 'stdin') pendingActions.push(action);
      else apply([{ at: Date.now(), event: { type: 'controlFailed', kind: requestKindOf(action), reason: 'lora-top cannot reach the trainer of a run read from standard input' } }], true);
    },
    async close() {
      closed = true;
      if (notifyTimer) clearTimeout(notifyTimer);
      if (rescanTimer) clearTimeout(rescanTimer);
      if (trainerTimer) clearTimeout(trainerTimer);
      unwatchLink?.();
      images?.close();
      control?.close();
      await gpuMonitor?.close();
      stdinHandle?.close();
      await follower?.close();
    },
  };
}
