import { isFinished, type RunState } from './runState.js';

/**
 * What lora-top knows about controlling the trainer, and the requests it made: freeze/resume, save
 * now, sample now, stop. Pure: events from the control source (run/control) and the run's own
 * progress (a checkpoint appears, a sample begins, the run stops) move requests along.
 */

export type ControlSource = 'launch' | 'ui' | 'flag' | 'scan';
export type RequestKind = 'save' | 'sample' | 'stop' | 'freeze';

export interface ControlRequest {
  kind: RequestKind;
  at: number;
  /** The step when it was made. */
  step: number | null;
  phase: 'sent' | 'working' | 'done' | 'failed';
  /** What happened: the saved step, the reason it failed. */
  detail: string | null;
  doneAt: number | null;
  /** What was there before, to tell the trainer's answer from what had happened already. */
  baseline: { checkpoint: string | null; saveStep: number | null; sampleStep: number | null };
}

export interface ControlState {
  pid: number | null;
  source: ControlSource | null;
  /** The Job row whose flags the trainer polls (a UI job, or a `lora-top run` job). */
  db: { path: string; jobId: string } | null;
  /** Why save/sample-now cannot work, for the keys to say. */
  noChannel: string;
  readonly: boolean;
  /** Whether the trainer's process is there (null: unknown, none found). */
  alive: boolean | null;
  /** The trainer's process is stopped (SIGSTOP), since when. */
  frozenSince: number | null;
  /** Time frozen so far in this session (ms), left out of elapsed time and the speed. */
  frozenMs: number;
  requests: ControlRequest[];
  /** `x` with "save, then stop": the stop goes once the save lands. */
  stopAfterSave: boolean;
  /** When the process was seen gone although the log never said the run ended. */
  exitedAt: number | null;
}

/** What a key asks of the trainer. */
export type ControlAction = { type: 'freeze' } | { type: 'resume' } | { type: 'save' } | { type: 'sample' } | { type: 'stop'; saveFirst: boolean };

/** The request an action makes (a failure is reported under it): "save, then stop" is first a save. */
export function requestKindOf(action: ControlAction): RequestKind {
  switch (action.type) {
    case 'freeze':
    case 'resume':
      return 'freeze';
    case 'stop':
      return action.saveFirst ? 'save' : 'stop';
    default:
      return action.type;
  }
}

export type ControlEvent =
  | { type: 'controlChannel'; pid: number | null; source: ControlSource | null; db: { path: string; jobId: string } | null; noChannel: string; readonly: boolean }
  | { type: 'trainerProcessState'; alive: boolean; stopped: boolean }
  | { type: 'controlRequest'; kind: RequestKind; stopAfterSave?: boolean }
  | { type: 'controlFailed'; kind: RequestKind; reason: string };

const CONTROL_EVENTS = new Set(['controlChannel', 'trainerProcessState', 'controlRequest', 'controlFailed']);

export function isControlEvent(event: { type: string }): event is ControlEvent {
  return CONTROL_EVENTS.has(event.type);
}

export function initialControl(): ControlState {
  return { pid: null, source: null, db: null, noChannel: 'no trainer process found for this run', readonly: false, alive: null, frozenSince: null, frozenMs: 0, requests: [], stopAfterSave: false, exitedAt: null };
}

export function copyControl(control: ControlState): ControlState {
  return { ...control, requests: control.requests.map((r) => ({ ...r })) };
}

const MAX_REQUESTS = 8;

/** Applies a control event. Changes `d.control` (a private copy) and, for a freeze, the speed marks via `onThaw`. */
export function applyControlEvent(d: RunState, event: ControlEvent, at: number, onThaw: () => void): void {
  const c = d.control;
  switch (event.type) {
    case 'controlChannel':
      if (c.pid !== event.pid) {
        c.alive = event.pid === null ? null : true;
        c.exitedAt = null;
      }
      c.pid = event.pid;
      c.source = event.source;
      c.db = event.db;
      c.noChannel = event.noChannel;
      c.readonly = event.readonly;
      return;
    case 'trainerProcessState':
      if (!event.alive) {
        if (c.alive !== false && !isFinished(d.status)) c.exitedAt = at;
        c.alive = false;
        thaw(d, at, onThaw);
        return;
      }
      c.alive = true;
      if (event.stopped && c.frozenSince === null) c.frozenSince = at;
      if (!event.stopped) thaw(d, at, onThaw);
      return;
    case 'controlRequest': {
      const request: ControlRequest = {
        kind: event.kind,
        at,
        step: d.step,
        phase: 'sent',
        detail: null,
        doneAt: null,
        baseline: { checkpoint: d.lastCheckpoint?.path ?? null, saveStep: d.lastSaveStep, sampleStep: d.lastSampleStep },
      };
      c.requests = [...c.requests.filter((r) => r.kind !== event.kind || r.phase === 'done' || r.phase === 'failed'), request].slice(-MAX_REQUESTS);
      if (event.kind === 'save') c.stopAfterSave = event.stopAfterSave === true;
      if (event.kind === 'stop') c.stopAfterSave = false;
      return;
    }
    case 'controlFailed': {
      const request = [...c.requests].reverse().find((r) => r.kind === event.kind && (r.phase === 'sent' || r.phase === 'working'));
      if (request) {
        request.phase = 'failed';
        request.detail = event.reason;
        request.doneAt = at;
      } else {
        c.requests = [...c.requests, { kind: event.kind, at, step: d.step, phase: 'failed' as const, detail: event.reason, doneAt: at, baseline: { checkpoint: null, saveStep: null, sampleStep: null } }].slice(-MAX_REQUESTS);
      }
      if (event.kind === 'save') c.stopAfterSave = false;
      return;
    }
  }
}

function thaw(d: RunState, at: number, onThaw: () => void): void {
  const c = d.control;
  if (c.frozenSince === null) return;
  const frozen = Math.max(0, at - c.frozenSince);
  c.frozenMs += frozen;
  c.frozenSince = null;
  // The clock that stood still: the step and the pause under way did not take this long.
  if (d.lastTrainingAt !== null) d.lastTrainingAt += frozen;
  if (d.pauses.current) d.pauses.current.since += frozen;
  onThaw();
}

/** Moves open requests along from what the run itself shows. Changes `d.control`. */
export function progressRequests(d: RunState, at: number): void {
  for (const r of d.control.requests) {
    if (r.phase === 'done' || r.phase === 'failed' || r.kind === 'freeze') continue;
    if (r.kind === 'save') {
      if (d.lastCheckpoint !== null && d.lastCheckpoint.path !== r.baseline.checkpoint) {
        r.phase = 'done';
        r.detail = d.lastCheckpoint.step === null ? 'final' : `${d.lastCheckpoint.step}`;
        r.doneAt = at;
      } else if (d.lastSaveStep !== r.baseline.saveStep && d.status === 'saving') r.phase = 'working';
    } else if (r.kind === 'sample') {
      if (d.lastSampleStep !== r.baseline.sampleStep) {
        r.phase = d.status === 'sampling' ? 'working' : 'done';
        if (r.phase === 'done') {
          r.detail = `${d.lastSampleStep}`;
          r.doneAt = at;
        }
      }
    } else if (isFinished(d.status)) {
      r.phase = 'done';
      r.detail = d.status;
      r.doneAt = at;
    }
    if ((r.phase === 'sent' || r.phase === 'working') && isFinished(d.status) && r.kind !== 'stop') {
      r.phase = 'failed';
      r.detail = `the run ${d.status === 'completed' ? 'finished' : d.status === 'failed' ? 'failed' : 'stopped'} first`;
      r.doneAt = at;
    }
  }
  if (isFinished(d.status)) d.control.exitedAt = null;
}

/** The open request of a kind, if any. */
export function openRequest(control: ControlState, kind: RequestKind): ControlRequest | null {
  return [...control.requests].reverse().find((r) => r.kind === kind && (r.phase === 'sent' || r.phase === 'working')) ?? null;
}
