import type { SamplePick } from '../state/sampleIndex.js';

/** What the dashboard itself remembers, apart from the run: toggles, smoothing, a passing message. Pure. */

/** The dashboard, two samples side by side, one sample on the whole screen, or every sample as a grid. */
export type Screen = 'dashboard' | 'compare' | 'view' | 'grid';

export interface UiState {
  showHelp: boolean;
  showLog: boolean;
  /** Weight of the past in the loss chart's moving average. */
  smoothing: number;
  /** A one-line message (a key that cannot work now says why), shown until `until` (ms). */
  flash: { text: string; until: number } | null;
  /** The sample shown: a step (null follows the newest) and a prompt. */
  sample: SamplePick;
  screen: Screen;
  /** Where the full-screen view returns to (the grid opens it too). */
  viewFrom: Screen;
  /** In the comparison, the step on the left (the right one is `sample`). */
  compareLeft: number | null;
  /** The stop question (`x`) while it is asked: which answer is chosen. */
  confirmStop: { choice: StopChoice; choices: StopChoice[] } | null;
}

/** The answers to "stop the run?". */
export type StopChoice = 'saveThenStop' | 'stopNow' | 'cancel';

/** Smoothing strengths the `+`/`-` keys step through. */
export const SMOOTHING_STEPS = [0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99] as const;
export const FLASH_MS = 4000;

export function initialUi(): UiState {
  return { showHelp: false, showLog: false, smoothing: 0.9, flash: null, sample: { step: null, index: 0 }, screen: 'dashboard', viewFrom: 'dashboard', compareLeft: null, confirmStop: null };
}

export type UiAction =
  | { type: 'toggleHelp' }
  | { type: 'closeHelp' }
  | { type: 'toggleLog' }
  | { type: 'smoothMore' }
  | { type: 'smoothLess' }
  | { type: 'flash'; text: string; now: number }
  | { type: 'clearFlash' }
  | { type: 'pickSample'; pick: SamplePick }
  | { type: 'openCompare'; left: number; right: SamplePick }
  | { type: 'compareLeft'; step: number }
  | { type: 'openView' }
  | { type: 'openGrid' }
  | { type: 'closeScreen' }
  | { type: 'askStop'; choices: StopChoice[] }
  | { type: 'moveStopChoice'; direction: -1 | 1 }
  | { type: 'closeStop' };

export function reduceUi(ui: UiState, action: UiAction): UiState {
  switch (action.type) {
    case 'toggleHelp':
      return { ...ui, showHelp: !ui.showHelp };
    case 'closeHelp':
      return ui.showHelp ? { ...ui, showHelp: false } : ui;
    case 'toggleLog':
      return { ...ui, showLog: !ui.showLog };
    case 'smoothMore':
      return { ...ui, smoothing: stepSmoothing(ui.smoothing, 1) };
    case 'smoothLess':
      return { ...ui, smoothing: stepSmoothing(ui.smoothing, -1) };
    case 'flash':
      return { ...ui, flash: { text: action.text, until: action.now + FLASH_MS } };
    case 'clearFlash':
      return ui.flash ? { ...ui, flash: null } : ui;
    case 'pickSample':
      return { ...ui, sample: action.pick };
    case 'openCompare':
      return { ...ui, screen: 'compare', compareLeft: action.left, sample: action.right, showHelp: false };
    case 'compareLeft':
      return { ...ui, compareLeft: action.step };
    case 'openView':
      return { ...ui, screen: 'view', viewFrom: ui.screen === 'grid' ? 'grid' : 'dashboard', showHelp: false };
    case 'openGrid':
      return { ...ui, screen: 'grid', showHelp: false };
    case 'askStop':
      return { ...ui, showHelp: false, confirmStop: { choice: action.choices[0]!, choices: action.choices } };
    case 'moveStopChoice': {
      if (!ui.confirmStop) return ui;
      const { choices, choice } = ui.confirmStop;
      const at = Math.min(choices.length - 1, Math.max(0, choices.indexOf(choice) + action.direction));
      return { ...ui, confirmStop: { choices, choice: choices[at]! } };
    }
    case 'closeStop':
      return ui.confirmStop ? { ...ui, confirmStop: null } : ui;
    case 'closeScreen':
      if (ui.screen === 'view' && ui.viewFrom === 'grid') return { ...ui, screen: 'grid', viewFrom: 'dashboard' };
      return ui.screen === 'dashboard' ? ui : { ...ui, screen: 'dashboard', compareLeft: null, viewFrom: 'dashboard' };
  }
}

function stepSmoothing(current: number, direction: 1 | -1): number {
  let index = SMOOTHING_STEPS.findIndex((s) => s >= current - 1e-9);
  if (index < 0) index = SMOOTHING_STEPS.length - 1;
  const next = Math.min(SMOOTHING_STEPS.length - 1, Math.max(0, index + direction));
  return SMOOTHING_STEPS[next]!;
}
