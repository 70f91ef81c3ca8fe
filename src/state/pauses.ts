/**
 * Sampling and saving pauses: when one is under way, and how long past ones took, so that the
 * ETA can count the pauses still ahead. Durations come from the wall clock while live, or from the
 * sample bar's own elapsed when a finished log is read in one go.
 */

export type PauseKind = 'save' | 'sample';

export interface Pause {
  kind: PauseKind;
  since: number;
  /** The longest elapsed a bar inside the pause printed (seconds). */
  barElapsedS: number;
}

export interface PauseState {
  current: Pause | null;
  saveSeconds: number[];
  sampleSeconds: number[];
}

const KEEP = 8;

export function initialPauses(): PauseState {
  return { current: null, saveSeconds: [], sampleSeconds: [] };
}

export function copyPauses(pauses: PauseState): PauseState {
  return { current: pauses.current && { ...pauses.current }, saveSeconds: [...pauses.saveSeconds], sampleSeconds: [...pauses.sampleSeconds] };
}

/** Starts a pause of `kind` (ending one of another kind first). Changes `pauses`. */
export function beginPause(pauses: PauseState, kind: PauseKind, at: number): void {
  if (pauses.current?.kind === kind) return;
  endPause(pauses, at);
  pauses.current = { kind, since: at, barElapsedS: 0 };
}

/** A bar inside the pause printed this elapsed (seconds). */
export function notePauseBar(pauses: PauseState, elapsedS: number): void {
  if (pauses.current && elapsedS > pauses.current.barElapsedS) pauses.current.barElapsedS = elapsedS;
}

/** Ends the pause under way, if any, and records how long it took. Changes `pauses`. */
export function endPause(pauses: PauseState, at: number): void {
  const current = pauses.current;
  if (!current) return;
  pauses.current = null;
  const wall = (at - current.since) / 1000;
  const seconds = Math.max(wall, current.barElapsedS);
  if (!(seconds >= 0.05)) return;
  const list = current.kind === 'save' ? pauses.saveSeconds : pauses.sampleSeconds;
  list.push(seconds);
  if (list.length > KEEP) list.splice(0, list.length - KEEP);
}
