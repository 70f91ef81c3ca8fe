import type { ErrorKind, LogEvent } from '../parse/events.js';
import type { RunConfig } from '../parse/runConfig.js';
import type { SampleKind } from '../parse/sampleName.js';
import { emptyImageCache, type CachedImage, type ImageCache } from './imageCache.js';
import { emptyLossHistory, type LossHistory } from './lossHistory.js';
import { initialSpeed, type SpeedState } from './speed.js';
import { initialPauses, type PauseState } from './pauses.js';
import { initialGpu, type GpuEvent, type GpuState } from './gpuState.js';
import { initialControl, type ControlEvent, type ControlState } from './controlState.js';

export type RunStatus = 'starting' | 'preparing' | 'sampling' | 'training' | 'saving' | 'stopped' | 'failed' | 'completed';

export interface CheckpointFile {
  /** null for the final `<name>.safetensors`. */
  step: number | null;
  path: string;
  bytes: number | null;
  mtimeMs: number | null;
  /** When the file was created (ai-toolkit deletes the oldest saves by this). */
  ctimeMs?: number | null;
}

export interface SampleFile {
  step: number;
  index: number;
  path: string;
  /** The unix-ms prefix of the file name. */
  createdMs: number;
  /** Images are drawn; videos (an .mp4) and audio are listed with a note. */
  kind: SampleKind;
}

/** Free space on the filesystem that holds the run's output. */
export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
}

export interface Phase {
  /** What the run is doing, e.g. "Caching latents to disk", "Loading transformer". */
  text: string;
  /** Progress of the phase's own bar, when it has one. */
  n: number | null;
  total: number | null;
  /** An inner bar's progress (a sample's denoising steps), e.g. "15/30". */
  detail: string | null;
}

/** Events that come from the run folder rather than from the log. */
export type FolderEvent =
  | { type: 'configLoaded'; config: RunConfig }
  | { type: 'checkpointList'; checkpoints: CheckpointFile[] }
  | { type: 'sampleList'; samples: SampleFile[] }
  | { type: 'lossBackfill'; points: Array<{ step: number; loss: number }> }
  /** The log was truncated or replaced (the UI starts a new log.txt on every resume). */
  | { type: 'logReset' }
  /** The input ended (stdin closed, or a one-shot read finished). */
  | { type: 'inputEnded' }
  /** A sample image, decoded small for drawing. */
  | { type: 'sampleImage'; entry: CachedImage }
  /** Free space on the output's filesystem, and the size of optimizer.pt (null when there is none). */
  | { type: 'diskSpace'; disk: DiskSpace | null; optimizerBytes: number | null }
  /** The link to the host the run is on (another host's run only). */
  | { type: 'hostLink'; host: HostLink };

/** The link to another host the run's files come from: while it is down the log is silent, not the trainer. */
export interface HostLink {
  /** The host as the person named it (`user@box`). */
  label: string;
  link: 'connecting' | 'up' | 'down';
  since: number;
  why: string | null;
}

export type RunEvent = LogEvent | FolderEvent | GpuEvent | ControlEvent;

export interface StampedRunEvent {
  at: number;
  event: RunEvent;
  /** false for what was read back from a log already written (a backfill); true by default. */
  live?: boolean;
}

export interface RunState {
  name: string | null;
  jobId: string | null;
  sqliteDbPath: string | null;
  status: RunStatus;
  phase: Phase | null;
  /** Completed steps. */
  step: number | null;
  totalSteps: number | null;
  loss: number | null;
  lossSmoothed: number | null;
  lossHistory: LossHistory;
  lr: number | null;
  /** Every key of the training bar's postfix, as printed. */
  postfix: Record<string, string>;
  lora: { rank: number; alpha: number } | null;
  loraModules: number | null;
  dataset: { path: string; images: number | null } | null;
  config: RunConfig | null;
  /** Where `config` comes from: the folder's config file, and the dump(s) the log printed (perhaps cut short). */
  configParts: { folder: RunConfig | null; dump: RunConfig | null };
  lastCheckpoint: { step: number | null; path: string } | null;
  checkpoints: CheckpointFile[];
  samples: SampleFile[];
  resume: { path: string | null; step: number | null } | null;
  error: { kind: ErrorKind; message: string } | null;
  warnings: number;
  oomSkips: number;
  speed: SpeedState;
  pauses: PauseState;
  /** When the newest training bar state arrived (ms). */
  lastTrainingAt: number | null;
  /** When the log last said anything (ms): a silent log is how a hung trainer shows. */
  lastEventAt: number | null;
  /** The training bar's tqdm elapsed in this session, seconds. */
  sessionElapsedS: number | null;
  /** The final `<name>.safetensors` was written. */
  finalSaved: boolean;
  /** The step of the newest save and sample that began (their pauses are behind, not ahead). */
  lastSaveStep: number | null;
  lastSampleStep: number | null;
  /** Whether any ai-toolkit output was recognised at all. */
  recognised: boolean;
  inputEnded: boolean;
  /** The n of the newest training bar state in this session. */
  lastTrainingN: number | null;
  /** This session reached its baseline sample (made or skipped): the next new bar is the training bar. */
  baselineReached: boolean;
  /** The error came from the trainer's own failure report, not just a printed exception. */
  errorFatal: boolean;
  /** The failure is known from a traceback through run.py; its exception line, which names it, has not come yet. */
  errorAwaitsException: boolean;
  /** Loss history came from loss_log.db up to this step; the log adds only later steps. */
  lossFromDbUntil: number | null;
  /** The last lines of the log, newest last, with each bar's redraws collapsed into its newest state. */
  recentLines: LogLine[];
  /** GPUs and host, from nvidia-smi and systeminformation. */
  gpu: GpuState;
  /** Sample images decoded small, by file and size. */
  images: ImageCache;
  disk: DiskSpace | null;
  optimizerBytes: number | null;
  /** The trainer's process and lora-top's requests to it (freeze, save, sample, stop). */
  control: ControlState;
  /** The host the run is on, and its link; null: this machine. */
  host: HostLink | null;
}

export interface LogLine {
  text: string;
  /** The bar this line is a state of, or null for a plain line. */
  bar: string | null;
}

export { MAX_RECENT_LINES } from '../parse/events.js';

export function initialRunState(): RunState {
  return {
    name: null,
    jobId: null,
    sqliteDbPath: null,
    status: 'starting',
    phase: null,
    step: null,
    totalSteps: null,
    loss: null,
    lossSmoothed: null,
    lossHistory: emptyLossHistory(),
    lr: null,
    postfix: {},
    lora: null,
    loraModules: null,
    dataset: null,
    config: null,
    configParts: { folder: null, dump: null },
    lastCheckpoint: null,
    checkpoints: [],
    samples: [],
    resume: null,
    error: null,
    warnings: 0,
    oomSkips: 0,
    speed: initialSpeed(),
    pauses: initialPauses(),
    lastTrainingAt: null,
    lastEventAt: null,
    sessionElapsedS: null,
    finalSaved: false,
    lastSaveStep: null,
    lastSampleStep: null,
    recognised: false,
    inputEnded: false,
    lastTrainingN: null,
    baselineReached: false,
    errorFatal: false,
    errorAwaitsException: false,
    lossFromDbUntil: null,
    recentLines: [],
    gpu: initialGpu(),
    images: emptyImageCache(),
    disk: null,
    optimizerBytes: null,
    control: initialControl(),
    host: null,
  };
}

/** Terminal states: the run is over, whatever the log does next. */
export function isFinished(status: RunStatus): boolean {
  return status === 'stopped' || status === 'failed' || status === 'completed';
}
