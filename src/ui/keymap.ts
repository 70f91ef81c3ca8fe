import type { RunState } from '../state/runState.js';
import { neighbourStep, promptCount, resolvePick, sampledSteps } from '../state/sampleIndex.js';
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

/** The sample on screen now (in a comparison, the right-hand one). */
function shown(ctx: KeyContext) {
  return resolvePick(ctx.run.samples, ctx.ui.sample);
}

function noSamples(ctx: KeyContext): string | null {
  if (ctx.run.samples.length > 0) return null;
  return ctx.run.config?.disableSampling ? 'this run makes no samples (sampling is off in its config)' : 'no samples yet';
}

/** Moves the shown sample to the sampled step before or after it; the newest step follows new samples. */
function stepAvailable(direction: -1 | 1) {
  return (ctx: KeyContext): true | string => {
    const none = noSamples(ctx);
    if (none) return none;
    const current = shown(ctx);
    if (!current) return 'no samples yet';
    if (neighbourStep(ctx.run.samples, current.step, direction) === null) return direction < 0 ? `step ${current.step} is the first sampled step` : 'this is the newest sample';
    return true;
  };
}

function stepRun(direction: -1 | 1) {
  return (ctx: KeyContext, effects: KeyEffects): void => {
    const current = shown(ctx)!;
    const next = neighbourStep(ctx.run.samples, current.step, direction)!;
    const steps = sampledSteps(ctx.run.samples);
    const newest = steps[steps.length - 1];
    effects.ui({ type: 'pickSample', pick: { step: next === newest ? null : next, index: current.index } });
  };
}

function promptAvailable(ctx: KeyContext): true | string {
  const none = noSamples(ctx);
  if (none) return none;
  return promptCount(ctx.run.samples, ctx.run.config?.prompts.length ?? 0) > 1 ? true : 'the run samples one prompt only';
}

/** Moves to the previous or next prompt, round the list. */
function promptRun(direction: -1 | 1) {
  return (ctx: KeyContext, effects: KeyEffects): void => {
    const count = promptCount(ctx.run.samples, ctx.run.config?.prompts.length ?? 0);
    const index = (((ctx.ui.sample.index + direction) % count) + count) % count;
    effects.ui({ type: 'pickSample', pick: { step: ctx.ui.sample.step, index } });
  };
}

function leftAvailable(direction: -1 | 1) {
  return (ctx: KeyContext): true | string => {
    if (ctx.ui.screen !== 'compare' || ctx.ui.compareLeft === null) return 'only in the comparison (c)';
    return neighbourStep(ctx.run.samples, ctx.ui.compareLeft, direction) === null ? (direction < 0 ? 'the left image is at the first sampled step' : 'the left image is at the newest sampled step') : true;
  };
}

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
  {
    id: 'samplePrev',
    label: '←',
    name: 'older sample',
    help: 'Show the sample of the sampled step before (in the comparison: the right-hand image).',
    matches: (key) => key.leftArrow === true,
    available: stepAvailable(-1),
    footer: false,
    run: stepRun(-1),
  },
  {
    id: 'sampleNext',
    label: '→',
    name: 'newer sample',
    help: 'Show the sample of the sampled step after; at the newest step the view follows new samples again.',
    matches: (key) => key.rightArrow === true,
    available: stepAvailable(1),
    footer: false,
    run: stepRun(1),
  },
  {
    id: 'promptPrev',
    label: '↑',
    name: 'previous prompt',
    help: "Show the previous sample prompt's image at the same step.",
    matches: (key) => key.upArrow === true,
    available: promptAvailable,
    footer: false,
    run: promptRun(-1),
  },
  {
    id: 'promptNext',
    label: '↓',
    name: 'next prompt',
    help: "Show the next sample prompt's image at the same step.",
    matches: (key) => key.downArrow === true,
    available: promptAvailable,
    footer: false,
    run: promptRun(1),
  },
  {
    id: 'compare',
    label: 'c',
    name: 'compare',
    help: 'Compare the same prompt at two steps side by side (←/→ move the right image, [/] the left; c or Esc returns).',
    matches: typed('c', 'C'),
    available: (ctx) => {
      if (ctx.ui.screen === 'compare') return true;
      const none = noSamples(ctx);
      if (none) return none;
      return sampledSteps(ctx.run.samples).length >= 2 ? true : 'only one step has been sampled so far';
    },
    footer: true,
    run: (ctx, effects) => {
      if (ctx.ui.screen === 'compare') {
        effects.ui({ type: 'closeScreen' });
        return;
      }
      const current = shown(ctx)!;
      // The shown sample goes on the left against the newest; the newest against the step before it.
      if (current.newest) {
        const before = neighbourStep(ctx.run.samples, current.step, -1)!;
        effects.ui({ type: 'openCompare', left: before, right: { step: null, index: current.index } });
      } else {
        effects.ui({ type: 'openCompare', left: current.step, right: { step: null, index: current.index } });
      }
    },
  },
  {
    id: 'compareLeftPrev',
    label: '[',
    name: 'left older',
    help: 'In the comparison: move the left image to the sampled step before.',
    matches: typed('['),
    available: leftAvailable(-1),
    footer: false,
    run: (ctx, effects) => effects.ui({ type: 'compareLeft', step: neighbourStep(ctx.run.samples, ctx.ui.compareLeft!, -1)! }),
  },
  {
    id: 'compareLeftNext',
    label: ']',
    name: 'left newer',
    help: 'In the comparison: move the left image to the sampled step after.',
    matches: typed(']'),
    available: leftAvailable(1),
    footer: false,
    run: (ctx, effects) => effects.ui({ type: 'compareLeft', step: neighbourStep(ctx.run.samples, ctx.ui.compareLeft!, 1)! }),
  },
  {
    id: 'view',
    label: 'v',
    name: 'view',
    help: 'Show the sample on the whole screen, as sharp as the terminal can draw it (kitty, iTerm2 or sixel graphics; half blocks elsewhere). Any key returns.',
    matches: typed('v', 'V'),
    available: (ctx) => {
      const none = noSamples(ctx);
      if (none) return none;
      const current = shown(ctx);
      if (!current?.sample) return `prompt ${ctx.ui.sample.index + 1} has no sample yet`;
      if (current.sample.kind !== 'image') return `that sample is ${current.sample.kind === 'video' ? 'a video' : 'audio'}: lora-top draws images only`;
      return true;
    },
    footer: true,
    run: (_ctx, effects) => effects.ui({ type: 'openView' }),
  },
];

/** Handles one key press: runs the matching binding, or says why it cannot act. Returns whether a key matched. */
export function dispatchKey(key: KeyPress, ctx: KeyContext, effects: KeyEffects, now: number, keymap = KEYMAP): boolean {
  // The full-screen view: any key returns to the dashboard (Ctrl-C still quits).
  if (ctx.ui.screen === 'view') {
    if (key.ctrl === true && key.input === 'c') effects.quit();
    else effects.ui({ type: 'closeScreen' });
    return true;
  }
  // In the comparison, Esc returns to the dashboard.
  if (ctx.ui.screen === 'compare' && key.escape === true && !ctx.ui.showHelp) {
    effects.ui({ type: 'closeScreen' });
    return true;
  }
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
  const older = keymap.find((b) => b.id === 'samplePrev');
  const newer = keymap.find((b) => b.id === 'sampleNext');
  if (older && newer && (older.available(ctx) === true || newer.available(ctx) === true)) items.push({ label: '←/→', name: 'samples' });
  const prompt = keymap.find((b) => b.id === 'promptNext');
  if (prompt && prompt.available(ctx) === true) items.push({ label: '↑/↓', name: 'prompt' });
  return items;
}

/** The overlay: every key, what it does, and why it cannot act now when it cannot. */
export function helpRows(ctx: KeyContext, keymap = KEYMAP): Array<{ label: string; help: string; unavailable: string | null }> {
  return keymap.map((b) => {
    const available = b.available(ctx);
    return { label: b.id === 'quit' ? 'q, ^C' : b.id === 'help' ? '?, Esc' : b.label, help: b.help, unavailable: available === true ? null : available };
  });
}
