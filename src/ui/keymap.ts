import type { RunState } from '../state/runState.js';
import type { UiAction, UiState } from './uiState.js';
import { SMOOTHING_STEPS } from './uiState.js';

/**
 * The one table of keys: it dispatches key presses, writes the footer and the `?` overlay.
 * A key that cannot work right now says why instead of doing nothing. Pure.
 */

/** A key as Ink's useInput reports it: the text typed and the special keys' flags. */
export interface KeyPress {
  input: string;
  ctrl?: boolean;
  escape?: boolean;
  return?: boolean;
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
}

export interface KeyContext {
  run: RunState;
  ui: UiState;
}

export interface KeyEffects {
  ui(action: UiAction): void;
  quit(): void;
}

export interface KeyBinding {
  id: string;
  /** How the key is written in the footer and overlay, e.g. `q`, `^C`, `+/-`. */
  label: string;
  /** The footer's word for it. */
  name: string;
  /** The overlay's sentence for it. */
  help: string;
  matches(key: KeyPress): boolean;
  /** true when it can act now, else the reason it cannot. */
  available(ctx: KeyContext): true | string;
  /** Shown in the footer when available. */
  footer: boolean;
  run(ctx: KeyContext, effects: KeyEffects): void;
}

const typed = (...chars: string[]) => (key: KeyPress) => !key.ctrl && chars.includes(key.input);
const always = (): true => true;

export const KEYMAP: readonly KeyBinding[] = [
  {
    id: 'quit',
    label: 'q',
    name: 'quit',
    help: 'Quit lora-top. The training run is not touched and goes on.',
    matches: (key) => typed('q', 'Q')(key) || (key.ctrl === true && key.input === 'c'),
    available: always,
    footer: true,
    run: (_ctx, effects) => effects.quit(),
  },
  {
    id: 'help',
    label: '?',
    name: 'help',
    help: 'Show or hide this list of keys (Esc also closes it).',
    matches: (key) => typed('?', 'h')(key) || (key.escape === true),
    available: always,
    footer: true,
    run: (ctx, effects) => effects.ui(ctx.ui.showHelp || false ? { type: 'closeHelp' } : { type: 'toggleHelp' }),
  },
  {
    id: 'log',
    label: 'l',
    name: 'log',
    help: 'Show or hide the last lines of the training log (each progress bar shows only its newest state).',
    matches: typed('l', 'L'),
    available: always,
    footer: true,
    run: (_ctx, effects) => effects.ui({ type: 'toggleLog' }),
  },
  {
    id: 'smoothMore',
    label: '+',
    name: 'smoother',
    help: 'Smooth the loss curve more (a longer moving average).',
    matches: typed('+', '='),
    available: (ctx) =>
      ctx.ui.smoothing >= SMOOTHING_STEPS[SMOOTHING_STEPS.length - 1]! ? 'the loss curve is already at its smoothest' : true,
    footer: false,
    run: (_ctx, effects) => effects.ui({ type: 'smoothMore' }),
  },
  {
    id: 'smoothLess',
    label: '-',
    name: 'rougher',
    help: 'Smooth the loss curve less (down to the raw values).',
    matches: typed('-', '_'),
    available: (ctx) => (ctx.ui.smoothing <= 0 ? 'the loss curve is already unsmoothed' : true),
    footer: false,
    run: (_ctx, effects) => effects.ui({ type: 'smoothLess' }),
  },
];

/** Handles one key press: runs the matching binding, or says why it cannot act. Returns whether a key matched. */
export function dispatchKey(key: KeyPress, ctx: KeyContext, effects: KeyEffects, now: number, keymap = KEYMAP): boolean {
  // With the overlay open, Esc closes it; other keys still work as usual.
  const binding = keymap.find((b) => b.matches(key));
  if (!binding) return false;
  const available = binding.available(ctx);
  if (available !== true) {
    effects.ui({ type: 'flash', text: `${binding.label}: ${available}`, now });
    return true;
  }
  binding.run(ctx, effects);
  return true;
}

/** The footer: the keys that work now, as `q quit  ? help  l log  +/- smoothing`. */
export function footerItems(ctx: KeyContext, keymap = KEYMAP): Array<{ label: string; name: string }> {
  const items = keymap.filter((b) => b.footer && b.available(ctx) === true).map((b) => ({ label: b.label, name: b.name }));
  const plus = keymap.find((b) => b.id === 'smoothMore');
  const minus = keymap.find((b) => b.id === 'smoothLess');
  if (plus && minus && (plus.available(ctx) === true || minus.available(ctx) === true)) items.push({ label: '+/-', name: 'smoothing' });
  return items;
}

/** The overlay: every key, what it does, and why it cannot act now when it cannot. */
export function helpRows(ctx: KeyContext, keymap = KEYMAP): Array<{ label: string; help: string; unavailable: string | null }> {
  return keymap.map((b) => {
    const available = b.available(ctx);
    return { label: b.id === 'quit' ? 'q, ^C' : b.id === 'help' ? '?, Esc' : b.label, help: b.help, unavailable: available === true ? null : available };
  });
}
