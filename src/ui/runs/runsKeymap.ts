import { bindingFor, type KeyBinding, type KeyPress } from '../keymap.js';
import { listStatus, type RunsEntry } from '../../state/runsList.js';
import type { RunsUi, RunsUiAction } from './runsUi.js';

/**
 * The runs screen's one table of keys, in the dashboard's shape: every key has its footer name and
 * help sentence, and says why it cannot act when it cannot. Pure.
 */

export interface RunsKeyContext {
  /** The runs shown, in the order shown. */
  visible: readonly RunsEntry[];
  ui: RunsUi;
  /** The selected run (the first shown when none was chosen). */
  selected: RunsEntry | null;
  /** Prompts the marked runs have samples for, in the comparison. */
  promptCount: number;
}

export interface RunsKeyEffects {
  ui(action: RunsUiAction): void;
  quit(): void;
  /** Opens a run's dashboard. */
  open(entry: RunsEntry): void;
}

export type RunsKeyBinding = KeyBinding<RunsKeyContext, RunsKeyEffects>;

const typed = (...chars: string[]) => (key: KeyPress) => !key.ctrl && chars.includes(key.input);
const always = (): true => true;
const inList = (ctx: RunsKeyContext): true | string => (ctx.ui.screen === 'list' ? true : 'Esc returns to the list first');

function opensSelected(ctx: RunsKeyContext): true | string {
  if (ctx.ui.screen !== 'list') return 'Esc returns to the list first';
  const entry = ctx.selected;
  if (!entry) return ctx.ui.filter ? `no run's name holds "${ctx.ui.filter}"` : 'no runs';
  if (!entry.summary && listStatus(entry) === 'queued') return `${entry.name} is queued: it has no run folder yet`;
  if (!entry.folder) return `${entry.name} has no run folder`;
  if (entry.problem) return `${entry.name}: ${entry.problem}`;
  if (!entry.summary) return `${entry.name} is still being read`;
  return true;
}

function moveBy(by: number) {
  return (ctx: RunsKeyContext, effects: RunsKeyEffects) => effects.ui({ type: 'move', keys: ctx.visible.map((e) => e.key), by });
}

export const RUNS_KEYMAP: readonly RunsKeyBinding[] = [
  {
    id: 'quit',
    label: 'q',
    name: 'quit',
    help: 'Quit lora-top. No run is touched.',
    matches: (key) => typed('q', 'Q')(key) || (key.ctrl === true && key.input === 'c'),
    available: always,
    footer: true,
    run: (_ctx, effects) => effects.quit(),
  },
  {
    id: 'help',
    label: '?',
    name: 'help',
    help: 'Show or hide this list of keys.',
    matches: typed('?', 'h'),
    available: always,
    footer: true,
    run: (_ctx, effects) => effects.ui({ type: 'toggleHelp' }),
  },
  {
    id: 'open',
    label: 'Enter',
    name: 'open',
    help: "Open the selected run's dashboard (Esc or Backspace comes back; [ and ] go to the run above or below).",
    matches: (key) => key.return === true,
    available: opensSelected,
    footer: true,
    run: (ctx, effects) => effects.open(ctx.selected!),
  },
  {
    id: 'up',
    label: '↑',
    name: 'up',
    help: 'Select the run above (k too).',
    matches: (key) => key.upArrow === true || typed('k')(key),
    available: (ctx) => (ctx.ui.screen !== 'list' ? 'Esc returns to the list first' : ctx.visible.length === 0 ? 'no runs' : true),
    footer: false,
    run: moveBy(-1),
  },
  {
    id: 'down',
    label: '↓',
    name: 'down',
    help: 'Select the run below (j too).',
    matches: (key) => key.downArrow === true || typed('j')(key),
    available: (ctx) => (ctx.ui.screen !== 'list' ? 'Esc returns to the list first' : ctx.visible.length === 0 ? 'no runs' : true),
    footer: false,
    run: moveBy(1),
  },
  {
    id: 'promptUp',
    label: '↑',
    name: 'prompt',
    help: "In the comparison: the previous prompt's newest samples.",
    matches: (key) => key.upArrow === true || key.leftArrow === true,
    available: (ctx) => (ctx.ui.screen !== 'compare' ? 'only in the comparison (c)' : ctx.promptCount > 1 ? true : 'the marked runs sample one prompt only'),
    footer: false,
    run: (ctx, effects) => effects.ui({ type: 'comparePrompt', by: -1, count: ctx.promptCount }),
  },
  {
    id: 'promptDown',
    label: '↓',
    name: 'prompt',
    help: "In the comparison: the next prompt's newest samples.",
    matches: (key) => key.downArrow === true || key.rightArrow === true,
    available: (ctx) => (ctx.ui.screen !== 'compare' ? 'only in the comparison (c)' : ctx.promptCount > 1 ? true : 'the marked runs sample one prompt only'),
    footer: false,
    run: (ctx, effects) => effects.ui({ type: 'comparePrompt', by: 1, count: ctx.promptCount }),
  },
  {
    id: 'mark',
    label: 'Space',
    name: 'mark',
    help: 'Mark or unmark the selected run for the comparison.',
    matches: typed(' '),
    available: (ctx) => {
      const ok = inList(ctx);
      if (ok !== true) return ok;
      if (!ctx.selected) return 'no runs';
      return ctx.selected.summary || ctx.ui.marked.includes(ctx.selected.key) ? true : `${ctx.selected.name} has nothing to compare yet`;
    },
    footer: true,
    run: (ctx, effects) => effects.ui({ type: 'toggleMark', key: ctx.selected!.key }),
  },
  {
    id: 'compare',
    label: 'c',
    name: 'compare',
    help: "The marked runs' smoothed loss on one chart (x: step), and their newest samples of one prompt side by side; c or Esc returns.",
    matches: typed('c', 'C'),
    available: (ctx) => {
      if (ctx.ui.screen === 'compare') return true;
      const marked = ctx.ui.marked.length;
      if (marked === 0) return 'mark runs with Space first';
      return true;
    },
    footer: true,
    run: (ctx, effects) => effects.ui(ctx.ui.screen === 'compare' ? { type: 'closeCompare' } : { type: 'openCompare' }),
  },
  {
    id: 'filter',
    label: '/',
    name: 'filter',
    help: 'Show only the runs whose name holds what you type (Enter keeps it, Esc clears it).',
    matches: typed('/'),
    available: inList,
    footer: true,
    run: (_ctx, effects) => effects.ui({ type: 'editFilter' }),
  },
  {
    id: 'sort',
    label: 's',
    name: 'sort',
    help: 'Sort by status (running first), last activity, name, loss or progress.',
    matches: typed('s', 'S'),
    available: inList,
    footer: true,
    run: (_ctx, effects) => effects.ui({ type: 'cycleSort' }),
  },
  {
    id: 'unmark',
    label: 'u',
    name: 'unmark all',
    help: 'Unmark every run.',
    matches: typed('u', 'U'),
    available: (ctx) => (ctx.ui.marked.length > 0 ? true : 'no run is marked'),
    footer: false,
    run: (_ctx, effects) => effects.ui({ type: 'clearMarks' }),
  },
  {
    id: 'back',
    label: 'Esc',
    name: 'back',
    help: 'Close the comparison or this list of keys; clear the filter.',
    matches: (key) => key.escape === true || key.backspace === true || key.delete === true,
    available: (ctx) => (ctx.ui.showHelp || ctx.ui.screen === 'compare' || ctx.ui.filter !== '' ? true : 'nothing to close'),
    footer: false,
    run: (ctx, effects) => {
      if (ctx.ui.showHelp) effects.ui({ type: 'closeHelp' });
      else if (ctx.ui.screen === 'compare') effects.ui({ type: 'closeCompare' });
      else effects.ui({ type: 'endFilter', keep: false });
    },
  },
];

/** One key press on the runs screen. While the filter is typed, keys go into it. */
export function dispatchRunsKey(key: KeyPress, ctx: RunsKeyContext, effects: RunsKeyEffects, now: number, keymap = RUNS_KEYMAP): boolean {
  if (ctx.ui.editingFilter) {
    if (key.ctrl === true && key.input === 'c') effects.quit();
    else if (key.return === true) effects.ui({ type: 'endFilter', keep: true });
    else if (key.escape === true) effects.ui({ type: 'endFilter', keep: false });
    else if (key.backspace === true || key.delete === true) effects.ui({ type: 'eraseFilter' });
    // eslint-disable-next-line no-control-regex
    else if (key.input && !key.ctrl && !/[\x00-\x1f\x7f]/.test(key.input)) effects.ui({ type: 'typeFilter', text: key.input });
    return true;
  }
  const found = bindingFor(key, ctx, keymap);
  if (!found) return false;
  if (found.available !== true) {
    effects.ui({ type: 'flash', text: `${found.binding.label}: ${found.available}`, now });
    return true;
  }
  found.binding.run(ctx, effects);
  return true;
}

export function runsFooterItems(ctx: RunsKeyContext, keymap = RUNS_KEYMAP): Array<{ label: string; name: string }> {
  const items = keymap.filter((b) => b.footer && b.available(ctx) === true).map((b) => ({ label: b.label, name: b.name }));
  if (ctx.ui.screen === 'list' && ctx.visible.length > 1) items.splice(1, 0, { label: '↑/↓', name: 'select' });
  if (ctx.ui.screen === 'compare' && ctx.promptCount > 1) items.push({ label: '↑/↓', name: 'prompt' });
  if (ctx.ui.screen === 'compare' || ctx.ui.filter) items.push({ label: 'Esc', name: ctx.ui.screen === 'compare' ? 'back' : 'clear filter' });
  return items;
}

export function runsHelpRows(ctx: RunsKeyContext, keymap = RUNS_KEYMAP): Array<{ label: string; help: string; unavailable: string | null }> {
  return keymap.map((b) => {
    const available = b.available(ctx);
    return { label: b.id === 'quit' ? 'q, ^C' : b.label, help: b.help, unavailable: available === true ? null : available };
  });
}
