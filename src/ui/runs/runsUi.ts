import { nextSort, type RunsSort } from '../../state/runsList.js';
import { FLASH_MS } from '../uiState.js';

/** What the runs screen itself remembers: the selection, marks, filter, order and view. Pure. */

export interface RunsUi {
  /** The selected run's key (its folder, or `job:<id>`); null: the first one. */
  selected: string | null;
  /** Runs marked for the comparison, in the order they were marked. */
  marked: string[];
  filter: string;
  /** `/` was pressed: keys type into the filter until Enter or Esc. */
  editingFilter: boolean;
  sort: RunsSort;
  screen: 'list' | 'compare';
  showHelp: boolean;
  /** The prompt whose newest samples the comparison shows side by side. */
  comparePrompt: number;
  flash: { text: string; until: number } | null;
}

export function initialRunsUi(): RunsUi {
  return { selected: null, marked: [], filter: '', editingFilter: false, sort: 'status', screen: 'list', showHelp: false, comparePrompt: 0, flash: null };
}

export type RunsUiAction =
  | { type: 'select'; key: string }
  | { type: 'move'; keys: readonly string[]; by: number }
  | { type: 'toggleMark'; key: string }
  | { type: 'clearMarks' }
  | { type: 'editFilter' }
  | { type: 'typeFilter'; text: string }
  | { type: 'eraseFilter' }
  | { type: 'endFilter'; keep: boolean }
  | { type: 'cycleSort' }
  | { type: 'openCompare' }
  | { type: 'closeCompare' }
  | { type: 'comparePrompt'; by: number; count: number }
  | { type: 'toggleHelp' }
  | { type: 'closeHelp' }
  | { type: 'flash'; text: string; now: number }
  | { type: 'clearFlash' };

export function reduceRunsUi(ui: RunsUi, action: RunsUiAction): RunsUi {
  switch (action.type) {
    case 'select':
      return { ...ui, selected: action.key };
    case 'move': {
      if (action.keys.length === 0) return ui;
      const at = ui.selected === null ? 0 : Math.max(0, action.keys.indexOf(ui.selected));
      const next = Math.min(action.keys.length - 1, Math.max(0, at + action.by));
      return { ...ui, selected: action.keys[next]! };
    }
    case 'toggleMark':
      return { ...ui, marked: ui.marked.includes(action.key) ? ui.marked.filter((k) => k !== action.key) : [...ui.marked, action.key] };
    case 'clearMarks':
      return { ...ui, marked: [] };
    case 'editFilter':
      return { ...ui, editingFilter: true, showHelp: false };
    case 'typeFilter':
      return { ...ui, filter: (ui.filter + action.text).slice(0, 60) };
    case 'eraseFilter':
      return { ...ui, filter: [...ui.filter].slice(0, -1).join('') };
    case 'endFilter':
      return { ...ui, editingFilter: false, filter: action.keep ? ui.filter : '' };
    case 'cycleSort':
      return { ...ui, sort: nextSort(ui.sort) };
    case 'openCompare':
      return { ...ui, screen: 'compare', showHelp: false };
    case 'closeCompare':
      return { ...ui, screen: 'list' };
    case 'comparePrompt': {
      const count = Math.max(1, action.count);
      return { ...ui, comparePrompt: (((ui.comparePrompt + action.by) % count) + count) % count };
    }
    case 'toggleHelp':
      return { ...ui, showHelp: !ui.showHelp };
    case 'closeHelp':
      return ui.showHelp ? { ...ui, showHelp: false } : ui;
    case 'flash':
      return { ...ui, flash: { text: action.text, until: action.now + FLASH_MS } };
    case 'clearFlash':
      return ui.flash ? { ...ui, flash: null } : ui;
  }
}
