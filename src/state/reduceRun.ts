import type { TqdmBar } from '../parse/events.js';
import { classifyError } from '../parse/errorKind.js';
import { readRunConfig, type RunConfig } from '../parse/runConfig.js';
import { baseName, checkpointJobName } from '../parse/checkpointName.js';
import { stripControlSequences } from '../parse/sanitize.js';
import { parsePostfix, postfixNumber } from '../parse/tqdmBar.js';
import { packedPostfix, TRAINING_STEP_FIELDS } from '../parse/trainingState.js';
import { copyLossHistory, emptyLossHistory, recordLoss } from './lossHistory.js';
import { beginPause, copyPauses, endPause, notePauseBar } from './pauses.js';
import { applyGpuEvent, copyGpu, isGpuEvent, type GpuEvent } from './gpuState.js';
import type { ControlEvent } from './controlState.js';
import { addBarSample, copySpeed, notePause, printedSecondsPerStep } from './speed.js';
import { isFinished, MAX_RECENT_LINES, type RunEvent, type RunState, type StampedRunEvent } from './runState.js';
import { addImage, keepImages } from './imageCache.js';
import { applyControlEvent, copyControl, isControlEvent, progressRequests } from './controlState.js';

/**
 * The run model: folds stamped events into one run state. Pure: the input state is never changed;
 * a batch of events is applied to one private copy (so a 50 MB backfill does not copy the loss
 * history once per bar state).
 */
export function reduceRun(state: RunState, events: readonly StampedRunEvent[]): RunState {
  if (events.length === 0) return state;
  // Copy only what the batch can change: a GPU reading each second need not copy the loss history.
  let gpu = false;
  let control = false;
  let log = false;
  for (const { event } of events) {
    if (isGpuEvent(event)) gpu = true;
    else if (isControlEvent(event)) control = true;
    else log = true;
  }
  const draft: Draft = {
    ...state,
    lossHistory: log ? copyLossHistory(state.lossHistory) : state.lossHistory,
    speed: log || control ? copySpeed(state.speed) : state.speed,
    pauses: log || control ? copyPauses(state.pauses) : state.pauses,
    recentLines: log ? [...state.recentLines] : state.recentLines,
    gpu: gpu ? copyGpu(state.gpu) : state.gpu,
    control: control || (log && state.control.requests.length > 0) ? copyControl(state.control) : state.control,
  };
  let last = 0;
  for (const { at, event, live } of events) {
    last = at;
    // GPU and host readings have a reducer of their own; they say nothing about the log's progress.
    if (isGpuEvent(event)) applyGpuEvent(draft.gpu, event, at);
    else if (isControlEvent(event)) applyControlEvent(draft, event, at, () => notePause(draft.speed));
    else applyEvent(draft, event, at, live !== false);
  }
  if (draft.control.requests.length > 0 && (log || control)) progressRequests(draft, last);
  if (draft.recentLines.length > MAX_RECENT_LINES) draft.recentLines.splice(0, draft.recentLines.length - MAX_RECENT_LINES);
  return draft;
}

type Draft = RunState;

/** `Generating Images` (older models) and `Generating Samples` (newer ones): sample bars. */
function isSampleBar(desc: string | null): boolean {
  return desc !== null && desc.startsWith('Generating ') && (desc.startsWith('Images', 11) || desc.startsWith('Samples', 11));
}

/** Two paths of one checkpoint: the same file name, once control characters are set aside. */
function sameFile(a: string, b: string): boolean {
  return a === b || stripControlSequences(baseName(a)) === stripControlSequences(baseName(b));
}

function hasKeys(record: Record<string, string>): boolean {
  for (const _ in record) return true;
  return false;
}

/** Events that come from looking at the run folder, not from the trainer writing its log. */
const FOLDER_EVENTS = new Set(['configLoaded', 'checkpointList', 'sampleList', 'lossBackfill', 'logReset', 'inputEnded', 'sampleImage', 'diskSpace']);

function applyEvent(d: Draft, event: Exclude<RunEvent, GpuEvent | ControlEvent>, at: number, live: boolean): void {
  if (!FOLDER_EVENTS.has(event.type)) d.lastEventAt = at;
  switch (event.type) {
    case 'bar':
      applyBar(d, event.bar, at, live);
      return;
    case 'trainingSteps':
      applyTrainingSteps(d, event, at, live);
      return;
    case 'counter':
      d.recognised = true;
      if (!isFinished(d.status) && d.status !== 'sampling') {
        d.phase = { text: event.counter.desc ?? 'Downloading', n: null, total: null, detail: event.counter.text };
        if (!trainingStarted(d)) d.status = 'preparing';
      }
      return;
    case 'barCleared':
      // The final sample is the last thing a successful run does.
      if (d.status === 'sampling' && d.finalSaved) {
        d.status = 'completed';
        d.phase = null;
      }
      return;
    case 'jobsStart':
      newSession(d);
      d.recognised = true;
      return;
    case 'config': {
      // A dump cut short still tells what it got to; a later (or longer) one tells more.
      const partial = !event.complete;
      const read = readRunConfig(event.data, { partial });
      if (read) takeConfig(d, 'dump', overlayConfig(d.configParts.dump, read, partial), partial);
      return;
    }
    case 'sqliteDb':
      d.sqliteDbPath = event.path;
      d.recognised = true;
      return;
    case 'jobId':
      d.jobId = event.id;
      d.recognised = true;
      return;
    case 'jobName':
      d.name = event.name;
      d.recognised = true;
      return;
    case 'processStart':
      d.recognised = true;
      setStatus(d, 'preparing');
      return;
    case 'phase':
      d.recognised = true;
      if (d.status === 'sampling' && d.phase) {
        d.phase = { ...d.phase, detail: event.text };
        return;
      }
      d.phase = { text: event.text, n: null, total: null, detail: null };
      if (!trainingStarted(d)) setStatus(d, 'preparing');
      return;
    case 'network':
      d.recognised = true;
      // The last network before the dataset block is the trained LoRA; earlier ones can be
      // accuracy-recovery adapters.
      if (d.dataset === null) d.lora = { rank: event.rank, alpha: event.alpha };
      return;
    case 'networkModules':
      if (event.target === 'unet' && d.dataset === null) d.loraModules = event.count;
      return;
    case 'dataset':
      d.recognised = true;
      d.dataset = { path: event.path, images: null };
      d.phase = { text: 'Preparing dataset', n: null, total: null, detail: null };
      if (!trainingStarted(d)) setStatus(d, 'preparing');
      return;
    case 'datasetImages':
      if (d.dataset) d.dataset = { ...d.dataset, images: event.count };
      return;
    case 'buckets':
      return;
    case 'baseline':
      d.recognised = true;
      d.baselineReached = true;
      if (!event.skipped) {
        setStatus(d, 'sampling');
        d.phase = { text: 'Generating baseline samples', n: null, total: null, detail: null };
        beginPause(d.pauses, 'sample', at);
      }
      return;
    case 'saveStart':
      d.recognised = true;
      d.step = Math.max(d.step ?? 0, event.step);
      d.lastSaveStep = event.step;
      setStatus(d, 'saving');
      d.phase = { text: `Saving checkpoint at step ${event.step}`, n: null, total: null, detail: null };
      beginPause(d.pauses, 'save', at);
      notePause(d.speed);
      return;
    case 'checkpointSaved': {
      d.recognised = true;
      d.lastCheckpoint = { step: event.step, path: event.path };
      // The log may name it relative to the trainer's folder (and stripped of control codes) where the
      // listing has the path on disk: the same file is the same file name.
      if (!d.checkpoints.some((c) => sameFile(c.path, event.path))) {
        d.checkpoints = [...d.checkpoints, { step: event.step, path: event.path, bytes: null, mtimeMs: null }];
      }
      if (d.name === null) d.name = checkpointJobName(event.path);
      if (event.step === null) {
        d.finalSaved = true;
        if (d.totalSteps !== null) d.step = Math.max(d.step ?? 0, d.totalSteps);
        if (!isFinished(d.status) && (d.config?.disableSampling ?? false)) d.status = 'completed';
      }
      return;
    }
    case 'optimizerSaved':
      return;
    case 'saveRemoved':
      d.checkpoints = d.checkpoints.filter((c) => !sameFile(c.path, event.path));
      return;
    case 'samplingStart':
      d.recognised = true;
      setStatus(d, 'sampling');
      d.lastSampleStep = event.step;
      d.phase = { text: `Sampling at step ${event.step}`, n: null, total: null, detail: null };
      beginPause(d.pauses, 'sample', at);
      notePause(d.speed);
      return;
    case 'oomSkip':
      d.oomSkips += 1;
      d.warnings += 1;
      return;
    case 'resume': {
      d.recognised = true;
      newSession(d);
      d.resume = { path: event.path, step: event.step };
      if (d.name === null) d.name = checkpointJobName(event.path);
      return;
    }
    case 'resumeStep':
      d.recognised = true;
      d.resume = { path: d.resume?.path ?? null, step: event.step };
      return;
    case 'error':
      d.recognised = true;
      if (isStopMessage(event.message)) {
        // The UI's stop flag raises Exception("Job stopped") (its queue button "Job returning to queue"): a stop, not a failure.
        d.status = 'stopped';
        return;
      }
      fail(d, event.kind, event.message, true);
      return;
    case 'errorSecondary':
      return;
    case 'result':
      d.recognised = true;
      if (event.failures > 0) {
        if (d.status !== 'stopped') fail(d, 'error', 'the job failed (no error message in the log)', true);
      } else if (event.completed > 0 && !isFinished(d.status)) {
        d.status = 'completed';
      }
      return;
    case 'traceback':
      d.recognised = true;
      return;
    case 'uncaughtTraceback':
      d.recognised = true;
      // A stop (the UI's flag raises Exception("Job stopped") up through run.py) and a finished run stay as they are.
      if (d.status === 'stopped' || d.status === 'completed') return;
      // The trainer's own `Error running job: …` came first and says more.
      if (d.error !== null && d.errorFatal) return;
      fail(d, 'error', 'the trainer raised an exception nothing caught (traceback through run.py)', true);
      d.errorAwaitsException = true;
      return;
    case 'exception':
      if (event.name === 'KeyboardInterrupt') {
        d.status = 'stopped';
        // What a traceback only suggested (through run.py, its exception line not yet read; or none of its frames in view) was this stop.
        if (d.errorAwaitsException || !d.errorFatal) {
          d.error = null;
          d.errorFatal = false;
          d.errorAwaitsException = false;
        }
        return;
      }
      if (event.name === 'Exception' && isStopMessage(event.message)) {
        // The stop flag's exception at the end of its traceback: the failure the Result block
        // reported (` - 1 failure`), when its `Error running job: Job stopped` was not in view, was this stop.
        d.status = 'stopped';
        d.error = null;
        d.errorFatal = false;
        d.errorAwaitsException = false;
        return;
      }
      if (d.status === 'stopped' || d.status === 'completed') return;
      // A traceback printed by code that caught it (a worker, a warning): the run goes on.
      if (event.uncaught === false) {
        d.warnings += 1;
        return;
      }
      if (event.uncaught === null) {
        // None of its frames in view: failed for now, unless training goes on.
        const message = event.message ? `${event.name}: ${event.message}` : event.name;
        fail(d, classifyError(message), message, false);
        return;
      }
      {
        const message = event.message ? `${event.name}: ${event.message}` : event.name;
        if (d.errorAwaitsException || d.error === null) fail(d, classifyError(message), message, true);
        if (d.errorAwaitsException) d.error = { kind: classifyError(message), message };
        d.errorAwaitsException = false;
      }
      return;
    case 'jobStopped':
      d.recognised = true;
      d.status = 'stopped';
      return;
    case 'processExit':
      if (isFinished(d.status)) return;
      if (event.code === 0) {
        d.status = d.finalSaved ? 'completed' : 'stopped';
      } else {
        const how = event.signal ? `the trainer was killed (${event.signal})` : event.code !== null ? `the trainer exited with code ${event.code}` : event.text;
        fail(d, 'error', how, true);
      }
      return;
    case 'oomKill':
      return;
    case 'warning':
      d.warnings += 1;
      return;
    case 'text':
      return;
    case 'line': {
      const lines = d.recentLines;
      const last = lines[lines.length - 1];
      // A bar's redraws replace each other, as they do on a terminal.
      if (last && event.bar !== null && last.bar === event.bar) lines[lines.length - 1] = { text: event.text, bar: event.bar };
      else lines.push({ text: event.text, bar: event.bar });
      if (lines.length > MAX_RECENT_LINES * 2) lines.splice(0, lines.length - MAX_RECENT_LINES);
      return;
    }
    case 'configLoaded':
      takeConfig(d, 'folder', event.config);
      return;
    case 'checkpointList':
      d.checkpoints = event.checkpoints;
      if (d.lastCheckpoint === null) {
        const numbered = event.checkpoints.filter((c) => c.step !== null);
        const newest = numbered[numbered.length - 1];
        if (newest) d.lastCheckpoint = { step: newest.step, path: newest.path };
      }
      return;
    case 'sampleList':
      d.samples = event.samples;
      d.images = keepImages(d.images, new Set(event.samples.map((s) => s.path)));
      return;
    case 'lossBackfill': {
      if (event.points.length === 0) return;
      const history = emptyLossHistory();
      let smoothed = null as number | null;
      for (const point of event.points) smoothed = recordLoss(history, point.step, point.loss);
      d.lossHistory = history;
      d.lossFromDbUntil = event.points[event.points.length - 1]!.step;
      if (d.loss === null) {
        d.loss = event.points[event.points.length - 1]!.loss;
        d.lossSmoothed = smoothed;
      }
      return;
    }
    case 'logReset':
      newSession(d);
      return;
    case 'sampleImage':
      d.images = addImage(d.images, event.entry);
      return;
    case 'diskSpace':
      d.disk = event.disk;
      d.optimizerBytes = event.optimizerBytes;
      return;
    case 'hostLink':
      d.host = event.host;
      return;
    case 'inputEnded':
      d.inputEnded = true;
      if (d.finalSaved && !isFinished(d.status)) d.status = 'completed';
      return;
  }
}

function applyBar(d: Draft, bar: TqdmBar, at: number, live: boolean): void {
  d.recognised = true;
  if (isTrainingBar(d, bar)) {
    applyTrainingBar(d, bar, at, live);
    return;
  }
  if (isFinished(d.status)) return;
  notePause(d.speed);
  if (isSampleBar(bar.desc)) {
    if (d.status !== 'sampling') {
      beginPause(d.pauses, 'sample', at);
      // A scheduled sample prints no step of its own: it belongs to the step under way.
      if (trainingStarted(d)) d.lastSampleStep = d.step;
    }
    notePauseBar(d.pauses, bar.elapsedS);
    d.status = 'sampling';
    d.phase = { text: 'Generating samples', n: bar.n, total: bar.total, detail: null };
    if (d.finalSaved && bar.n >= bar.total) {
      d.status = 'completed';
      d.phase = null;
    }
    return;
  }
  if (d.status === 'sampling') {
    // A model pipeline's own denoising bar inside a sample.
    notePauseBar(d.pauses, bar.elapsedS);
    if (d.phase) d.phase = { ...d.phase, detail: `${bar.n}/${bar.total}` };
    return;
  }
  const label = bar.desc ?? d.phase?.text ?? 'Working';
  d.phase = { text: label, n: bar.n, total: bar.total, detail: null };
  if (!trainingStarted(d)) d.status = 'preparing';
}

/**
 * Descriptions of the bars a run draws besides the training bar (reference §3): model loading,
 * quantizing, caching, downloads, prompt encoding, sampling. A job name that begins like one of
 * them is still told by the config or by its `lr:` postfix.
 */
const PHASE_BAR = /^(?:Generating |Caching |Loading |Fetching |Downloading|Quantizing|Attaching quantization|Encoding |Building |Preprocessing|Unloading|Moving |Compiling|Saving )/;

/**
 * The training bar: the bar with an `lr:` postfix, or the bar named after the job. Its first draw
 * has no postfix yet (`My Job:   0%|          | 0/4000 [00:00<?, ?it/s]`) and the name may not have
 * been printed: then a named bar that is no known phase bar is the training bar when its total is
 * the run's, or when it is drawn where training starts, before any training state of the session:
 * after the baseline sample (made or skipped), or, in a resumed session (which prints neither),
 * at the step it resumes from (the bar's `initial`).
 */
function isTrainingBar(d: Draft, bar: TqdmBar): boolean {
  if (isSampleBar(bar.desc)) return false;
  if ('lr' in bar.postfix) return true;
  if (bar.desc === null) return false;
  if (d.name !== null && bar.desc === d.name) return true;
  if (PHASE_BAR.test(bar.desc)) return false;
  if (d.totalSteps !== null && bar.total === d.totalSteps) return true;
  if (d.lastTrainingN !== null) return false;
  if (d.baselineReached) return true;
  const resumed = d.resume?.step ?? null;
  return resumed !== null && resumed > 0 && bar.n === resumed;
}

function applyTrainingBar(d: Draft, bar: TqdmBar, at: number, live: boolean): void {
  const applied = trainingState(d, bar.desc, bar.n, bar.total, bar.elapsedS, bar.rate, bar.unit, postfixNumber(bar.postfix.loss), postfixNumber(bar.postfix.lr), at, live);
  if (applied && hasKeys(bar.postfix)) d.postfix = bar.postfix;
}

/**
 * Training-bar states read back by the fast path, packed: each applied exactly as its bar event
 * would be (`trainingState`), and the postfix record made once, for the last state that sets it.
 */
function applyTrainingSteps(d: Draft, event: Extract<RunEvent, { type: 'trainingSteps' }>, at: number, live: boolean): void {
  d.recognised = true;
  const v = event.values;
  let postfixFrom = -1;
  let k = 0;
  // One at a time until the run is plainly training; from then on only the figures change.
  for (let i = 0; k < event.count && !plainlyTraining(d); k++, i += TRAINING_STEP_FIELDS) {
    const loss = v[i + 6] === 1 ? v[i + 5]! : null;
    const lr = v[i + 8] === 1 ? v[i + 7]! : null;
    const rate = Number.isNaN(v[i + 3]!) ? null : v[i + 3]!;
    if (trainingState(d, event.desc, v[i]!, v[i + 1]!, v[i + 2]!, rate, v[i + 4] === 1 ? 's/it' : 'it/s', loss, lr, at, live)) postfixFrom = k;
  }
  if (k < event.count) {
    plainTrainingStates(d, event, k, at, live);
    postfixFrom = event.count - 1;
  }
  if (postfixFrom >= 0) d.postfix = parsePostfix(packedPostfix(event, postfixFrom), true);
}

/** Training, and no pause under way: a training state then changes the figures and nothing else (see trainingState). */
function plainlyTraining(d: Draft): boolean {
  return d.status === 'training' && d.pauses.current === null;
}

/**
 * Packed states `from` on, applied while the run is plainly training: what trainingState does with
 * each of them then (the status stays `training`, no pause begins or ends), with the figures kept
 * here and set on the run once (a 50 MB backfill applies 200 000 states).
 */
function plainTrainingStates(d: Draft, event: Extract<RunEvent, { type: 'trainingSteps' }>, from: number, at: number, live: boolean): void {
  const v = event.values;
  const history = d.lossHistory;
  const speed = d.speed;
  const lossFromDbUntil = d.lossFromDbUntil;
  const frozenS = d.control.frozenMs / 1000;
  let step = d.step;
  let loss = d.loss;
  let lossSmoothed = d.lossSmoothed;
  let lr = d.lr;
  let n = 0;
  let total = 0;
  let elapsedS = 0;
  for (let k = from, i = from * TRAINING_STEP_FIELDS; k < event.count; k++, i += TRAINING_STEP_FIELDS) {
    n = v[i]!;
    total = v[i + 1]!;
    step = nextStep(step, n);
    if (v[i + 6] === 1) {
      loss = v[i + 5]!;
      if (lossFromDbUntil === null || n > lossFromDbUntil) lossSmoothed = recordLoss(history, n, loss);
    }
    if (v[i + 8] === 1 && Number.isFinite(v[i + 7]!)) lr = v[i + 7]!;
    elapsedS = Math.max(0, v[i + 2]! - frozenS);
    const rate = v[i + 3]!;
    addBarSample(speed, n, elapsedS, at, printedSecondsPerStep(Number.isNaN(rate) ? null : rate, v[i + 4] === 1 ? 's/it' : 'it/s'), live);
  }
  if (d.name === null) d.name = event.desc;
  d.totalSteps = total;
  d.step = step;
  d.loss = loss;
  d.lossSmoothed = lossSmoothed;
  d.lr = lr;
  d.lastTrainingN = n;
  d.lastTrainingAt = at;
  d.sessionElapsedS = elapsedS;
  d.phase = null;
}

/** The step a training state at `n` leaves: before 2026-08 the bar showed one less than the `Saving at step N` that followed it. */
function nextStep(step: number | null, n: number): number {
  return step === null || n >= step || step - n > 1 ? n : step;
}

/** One state of the training bar; false when the run is over and the state changes nothing. */
function trainingState(
  d: Draft,
  desc: string | null,
  n: number,
  total: number,
  barElapsedS: number,
  rate: number | null,
  unit: 'it/s' | 's/it',
  loss: number | null,
  lr: number | null,
  at: number,
  live: boolean,
): boolean {
  if (isFinished(d.status)) {
    // Training bars after a failure that only a printed exception suggested: the run went on, once
    // the bar moves (tqdm draws the bar once more, unchanged, as the interpreter exits).
    if (d.status !== 'failed' || d.errorFatal) return false;
    if (d.lastTrainingN !== null && n <= d.lastTrainingN) return false;
    d.error = null;
  }
  if (d.name === null && desc !== null) d.name = desc;
  d.totalSteps = total;

  const previousN = d.lastTrainingN;
  d.step = nextStep(d.step, n);

  if (loss !== null) {
    d.loss = loss;
    if (d.lossFromDbUntil === null || n > d.lossFromDbUntil) {
      d.lossSmoothed = recordLoss(d.lossHistory, n, loss);
    }
  }
  if (lr !== null && Number.isFinite(lr)) d.lr = lr;

  // tqdm's clock ran on while the trainer was frozen (SIGSTOP); lora-top's leaves that time out.
  const elapsedS = Math.max(0, barElapsedS - d.control.frozenMs / 1000);
  addBarSample(d.speed, n, elapsedS, at, printedSecondsPerStep(rate, unit), live);
  d.lastTrainingN = n;
  d.lastTrainingAt = at;
  d.sessionElapsedS = elapsedS;

  // A pause ends when the bar moves again (a refresh of the same step can come while paused).
  if (d.pauses.current && (previousN === null || n > previousN)) endPause(d.pauses, at);
  if (!d.pauses.current) {
    d.status = d.finalSaved && n >= total ? d.status : 'training';
    d.phase = null;
  }
  return true;
}

/** The stop flag's exception (`Job stopped`) and the queue button's (`Job returning to queue`): the job was stopped, it did not fail. */
function isStopMessage(message: string): boolean {
  return message === 'Job stopped' || message === 'Job returning to queue';
}

function trainingStarted(d: Draft): boolean {
  return d.lastTrainingN !== null;
}

function setStatus(d: Draft, status: RunState['status']): void {
  if (!isFinished(d.status)) d.status = status;
}

/** Marks the run failed. A fatal failure (the trainer's own `Error running job`, the `Result:` block,
 * an exit) outranks one that only a printed exception suggested, which a later training bar may undo. */
function fail(d: Draft, kind: 'oom' | 'cuda' | 'error', message: string, fatal: boolean): void {
  if (d.error === null || (fatal && !d.errorFatal)) d.error = { kind, message };
  d.status = 'failed';
  if (fatal) d.errorFatal = true;
}

/** A new trainer process (or a resume) begins: what described the previous one no longer holds. */
function newSession(d: Draft): void {
  if (d.lastTrainingN === null && !isFinished(d.status) && d.error === null) return;
  d.status = 'starting';
  d.error = null;
  d.errorFatal = false;
  d.errorAwaitsException = false;
  d.finalSaved = false;
  d.lastSaveStep = null;
  d.lastSampleStep = null;
  d.phase = null;
  d.pauses.current = null;
  d.lastTrainingN = null;
  d.baselineReached = false;
  // A new trainer process: its tqdm clock starts afresh.
  if (d.control.frozenMs !== 0) d.control = { ...d.control, frozenMs: 0 };
}

/**
 * `over`'s known values on top of `base`'s. In a partial config a missing value is unknown: null, an
 * empty list, false and the default start step say nothing there.
 */
export function overlayConfig(base: RunConfig | null, over: RunConfig, overPartial: boolean): RunConfig {
  if (!base) return over;
  const merged = { ...base } as Record<string, unknown>;
  for (const [key, value] of Object.entries(over)) {
    const known =
      value !== null &&
      value !== undefined &&
      !(Array.isArray(value) && value.length === 0) &&
      !(overPartial && (value === false || (key === 'sampleStartStep' && value === 0)));
    if (known) merged[key] = value;
  }
  return merged as unknown as RunConfig;
}

/** The config from one source; the folder's file outranks the log's dump. */
function takeConfig(d: Draft, source: 'folder' | 'dump', config: RunConfig, partial = false): void {
  d.configParts = { ...d.configParts, [source]: config };
  const { folder, dump } = d.configParts;
  const merged = folder && dump ? overlayConfig(dump, folder, false) : (folder ?? dump)!;
  d.config = merged;
  if (d.name === null && merged.name) d.name = merged.name;
  if (d.totalSteps === null && merged.steps !== null) d.totalSteps = merged.steps;
  // A dump cut between the rank and the alpha: the alpha is not known yet to be the rank.
  if (d.lora === null && merged.rank !== null && (merged.alpha !== null || !partial)) d.lora = { rank: merged.rank, alpha: merged.alpha ?? merged.rank };
  if (d.sqliteDbPath === null && merged.sqliteDbPath) d.sqliteDbPath = merged.sqliteDbPath;
}
