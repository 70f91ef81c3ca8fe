import type { RunState } from '../state/runState.js';
import { neighbourStep, promptCount, resolvePick, sampledSteps } from '../state/sampleIndex.js';
import type { StopChoice, UiAction, UiState } from './uiState.js';
import type { ControlAction } from '../state/controlState.js';
import { openRequest } from '../state/controlState.js';
import { isFinished } from '../state/runState.js';
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
  backspace?: boolean;
  delete?: boolean;
}

export interface KeyContext {
  run: RunState;
  ui: UiState;
  /** Where this run sits in the runs screen's list, when it was opened from one. */
  nav?: RunNav | null;
}

/** The dashboard of one run of a list: which of how many, for the back and next/previous keys. */
export interface RunNav {
  position: number;
  count: number;
}

/** Leaving this run's dashboard for the list, or for the run before or after it there. */
export type NavTarget = 'list' | 'previous' | 'next';

export interface KeyEffects {
  ui(action: UiAction): void;
  quit(): void;
  /** Acts on the trainer; the outcome comes back in the run state. */
  control(action: ControlAction): void;
  /** Goes back to the runs screen, or to the run before or after this one there. */
  navigate?(to: NavTarget): void;
}

/**
 * One key of a table. The compiler asks every binding for its label, footer name and help
 * sentence; `available` says why a key cannot act now. C: what the keys read; E: what they can do.
 */
export interface KeyBinding<C = KeyContext, E = KeyEffects> {
  id: string;
  /** How the key is written in the footer and overlay, e.g. `q`, `^C`, `+/-`. */
  label: string;
  /** The footer's word for it. */
  name: string;
  /** The overlay's sentence for it. */
  help: string;
  /** Whether the key press is this binding's (the context: a key can mean one thing in one view, another elsewhere). */
  matches(key: KeyPress, ctx: C): boolean;
  /** true when it can act now, else the reason it cannot. */
  available(ctx: C): true | string;
  /** Shown in the footer when available. */
  footer: boolean;
  run(ctx: C, effects: E): void;
  /** Left out of the footer and the `?` list where it has no meaning (the run keys outside a list). */
  hidden?(ctx: C): boolean;
}

/**
 * The binding a key press runs: the first that matches and can act now (a key may mean one thing
 * in one view and another elsewhere), else the first that matches, to say why it cannot.
 */
export function bindingFor<C, E>(key: KeyPress, ctx: C, keymap: ReadonlyArray<KeyBinding<C, E>>): { binding: KeyBinding<C, E>; available: true | string } | null {
  let first: { binding: KeyBinding<C, E>; available: true | string } | null = null;
  for (const binding of keymap) {
    if (!binding.matches(key, ctx) || binding.hidden?.(ctx)) continue;
    const available = binding.available(ctx);
    if (available === true) return { binding, available };
    first ??= { binding, available };
  }
  return first;
}

const typed = (...chars: string[]) => (key: KeyPress) => !key.ctrl && chars.includes(key.input);
const always = (): true => true;

/** Whether anything can act on the trainer at all; else why not. */
function trainerReachable(ctx: KeyContext): true | string {
  const c = ctx.run.control;
  if (c.readonly) return 'lora-top was started with --readonly';
  if (isFinished(ctx.run.status)) return 'the run has ended';
  if (c.exitedAt !== null || c.alive === false) return 'the trainer process has exited';
  if (c.pid === null) return c.noChannel || 'no trainer process found for this run';
  return true;
}

/** Save now / sample now: the Job row's flag, which only a UI job or a `lora-top run` job has. */
function flagAvailable(kind: 'save' | 'sample') {
  return (ctx: KeyContext): true | string => {
    const reachable = trainerReachable(ctx);
    if (reachable !== true) return reachable;
    const c = ctx.run.control;
    if (c.db === null) return c.noChannel;
    if (c.frozenSince !== null) return 'the run is frozen: p resumes it first';
    if (kind === 'sample' && (ctx.run.config?.prompts.length ?? 1) === 0) return 'the config has no sample prompts';
    if (openRequest(c, kind)) return `a ${kind} was asked for and is under way`;
    return true;
  };
}

/** The answers `x` offers: save first where the run can be told to save. */
export function stopChoices(ctx: KeyContext): StopChoice[] {
  return ctx.run.control.db !== null ? ['saveThenStop', 'stopNow', 'cancel'] : ['stopNow', 'cancel'];
}

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
    // Following the newest (even while this prompt's newest image is an older step's) is as new as it gets.
    if (direction > 0 && ctx.ui.sample.step === null) return 'this is the newest sample';
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
    id: 'back',
    hidden: (ctx) => !ctx.nav,
    label: 'Esc',
    name: 'runs',
    help: 'Back to the list of runs (Backspace too); the run is not touched.',
    matches: (key) => key.escape === true || key.backspace === true || key.delete === true,
    available: (ctx) => {
      if (!ctx.nav) return 'this run was not opened from a list of runs';
      if (ctx.ui.showHelp || ctx.ui.screen !== 'dashboard') return 'Esc closes this view first';
      return frozenHere(ctx) ?? true;
    },
    footer: true,
    run: (_ctx, effects) => effects.navigate?.('list'),
  },
  {
    id: 'help',
    label: '?',
    name: 'help',
    help: 'Show or hide this list of keys (Esc also closes it).',
    // From a list of runs, Esc on the dashboard is the way back to it (it still closes this list).
    matches: (key, ctx) => typed('?', 'h')(key) || (key.escape === true && (!ctx.nav || ctx.ui.showHelp)),
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
    id: 'freeze',
    label: 'p',
    name: 'freeze',
    help: 'Freeze or resume the trainer (SIGSTOP/SIGCONT); it keeps its GPU memory, the ETA stands still.',
    matches: typed('p', 'P'),
    available: trainerReachable,
    footer: true,
    run: (ctx, effects) => effects.control({ type: ctx.run.control.frozenSince !== null ? 'resume' : 'freeze' }),
  },
  {
    id: 'save',
    label: 's',
    name: 'save now',
    help: 'Save a checkpoint now (the trainer reads the request at its next step).',
    matches: typed('s'),
    available: flagAvailable('save'),
    footer: true,
    run: (_ctx, effects) => effects.control({ type: 'save' }),
  },
  {
    id: 'sample',
    label: 'S',
    name: 'sample now',
    help: 'Make samples now, with the config\'s prompts.',
    matches: typed('S'),
    available: flagAvailable('sample'),
    footer: false,
    run: (_ctx, effects) => effects.control({ type: 'sample' }),
  },
  {
    id: 'stop',
    label: 'x',
    name: 'stop',
    help: 'Stop the run, after a question that says what would be lost (default: save, then stop).',
    matches: typed('x', 'X'),
    available: trainerReachable,
    footer: false,
    run: (ctx, effects) => effects.ui({ type: 'askStop', choices: stopChoices(ctx) }),
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
    help: 'Compare the same prompt at two steps side by side (c or Esc returns).',
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
      if (current.newest || ctx.ui.sample.step === null) {
        const before = neighbourStep(ctx.run.samples, current.step, -1);
        if (before === null) {
          effects.ui({ type: 'flash', text: `c: prompt ${current.index + 1} has one sampled step so far`, now: Date.now() });
          return;
        }
        effects.ui({ type: 'openCompare', left: before, right: { step: null, index: current.index } });
      } else {
        effects.ui({ type: 'openCompare', left: current.step, right: { step: null, index: current.index } });
      }
    },
  },
  {
    id: 'runPrevious',
    hidden: (ctx) => !ctx.nav,
    label: '[',
    name: 'previous run',
    help: 'The dashboard of the run above this one in the list.',
    matches: typed('['),
    available: navAvailable(-1),
    footer: false,
    run: (_ctx, effects) => effects.navigate?.('previous'),
  },
  {
    id: 'runNext',
    hidden: (ctx) => !ctx.nav,
    label: ']',
    name: 'next run',
    help: 'The dashboard of the run below this one in the list.',
    matches: typed(']'),
    available: navAvailable(1),
    footer: false,
    run: (_ctx, effects) => effects.navigate?.('next'),
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
    help: 'The sample on the whole screen (kitty, iTerm2 or sixel graphics where the terminal has them); any key returns.',
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
  {
    id: 'grid',
    label: 'g',
    name: 'grid',
    help: 'Every sample as a grid: the steps across, the prompts down (the arrows move, Enter opens one on the whole screen, g or Esc returns).',
    matches: typed('g', 'G'),
    available: (ctx) => (ctx.ui.screen === 'grid' ? true : (noSamples(ctx) ?? true)),
    footer: true,
    run: (ctx, effects) => effects.ui(ctx.ui.screen === 'grid' ? { type: 'closeScreen' } : { type: 'openGrid' }),
  },
];

/**
 * Leaving a dashboard lets go of its run, and a freeze never outlives what holds it: a run frozen
 * here is resumed first, by the person, not behind their back.
 */
function frozenHere(ctx: KeyContext): string | null {
  return ctx.run.control.frozenSince !== null && !isFinished(ctx.run.status) ? 'the trainer is frozen from here: p resumes it first (leaving would resume it)' : null;
}

function navAvailable(direction: -1 | 1) {
  return (ctx: KeyContext): true | string => {
    if (!ctx.nav) return 'this run was not opened from a list of runs';
    if (ctx.ui.screen !== 'dashboard') return 'only on the dashboard';
    const frozen = frozenHere(ctx);
    if (frozen) return frozen;
    const to = ctx.nav.position + direction;
    if (to < 0) return 'this is the first run of the list';
    if (to >= ctx.nav.count) return 'this is the last run of the list';
    return true;
  };
}

/** Handles one key press: runs the matching binding, or says why it cannot act. Returns whether a key matched. */
export function dispatchKey(key: KeyPress, ctx: KeyContext, effects: KeyEffects, now: number, keymap = KEYMAP): boolean {
  // The stop question takes every key until it is answered.
  if (ctx.ui.confirmStop) {
    answerStop(key, ctx, effects);
    return true;
  }
  // The full-screen view: any key returns to the dashboard (Ctrl-C still quits).
  if (ctx.ui.screen === 'view') {
    if (key.ctrl === true && key.input === 'c') effects.quit();
    else effects.ui({ type: 'closeScreen' });
    return true;
  }
  // In the comparison and the grid, Esc returns to the dashboard.
  if ((ctx.ui.screen === 'compare' || ctx.ui.screen === 'grid') && key.escape === true && !ctx.ui.showHelp) {
    effects.ui({ type: 'closeScreen' });
    return true;
  }
  // In the grid, Enter opens the selected sample on the whole screen (the `v` key's rules apply).
  if (ctx.ui.screen === 'grid' && key.return === true) {
    const view = keymap.find((b) => b.id === 'view');
    const available = view?.available(ctx) ?? 'no view';
    if (available === true) effects.ui({ type: 'openView' });
    else effects.ui({ type: 'flash', text: `Enter: ${available}`, now });
    return true;
  }
  // With the overlay open, Esc closes it; other keys still work as usual.
  const found = bindingFor(key, ctx, keymap);
  if (!found) return false;
  const { binding, available } = found;
  if (available !== true) {
    effects.ui({ type: 'flash', text: `${binding.label}: ${available}`, now });
    return true;
  }
  binding.run(ctx, effects);
  return true;
}

/** The footer: the keys that work now, as `q quit  ? help  l log  +/- smoothing`. */
export function footerItems(ctx: KeyContext, keymap = KEYMAP): Array<{ label: string; name: string }> {
  const items = keymap
    .filter((b) => b.footer && !b.hidden?.(ctx) && b.available(ctx) === true)
    .map((b) => ({ label: b.label, name: b.id === 'freeze' && ctx.run.control.frozenSince !== null ? 'resume' : b.name }));
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
/** Keys that come in pairs share one row of the overlay. */
const HELP_PAIRS: ReadonlyArray<{ ids: [string, string]; label: string; help: string }> = [
  { ids: ['smoothMore', 'smoothLess'], label: '+/-', help: 'Smooth the loss curve more / less (down to the raw values).' },
  { ids: ['samplePrev', 'sampleNext'], label: '←/→', help: 'The sample of the sampled step before / after; at the newest it follows new samples again.' },
  { ids: ['promptPrev', 'promptNext'], label: '↑/↓', help: "The previous / next sample prompt's image at the same step." },
  { ids: ['compareLeftPrev', 'compareLeftNext'], label: '[/]', help: 'In the comparison: move the left image a sampled step back / on.' },
  { ids: ['runPrevious', 'runNext'], label: '[/]', help: 'From a list of runs: the dashboard of the run above / below this one.' },
];

export function helpRows(ctx: KeyContext, keymap = KEYMAP): Array<{ label: string; help: string; unavailable: string | null }> {
  const rows: Array<{ label: string; help: string; unavailable: string | null }> = [];
  for (const b of keymap) {
    if (b.hidden?.(ctx)) continue;
    const pair = HELP_PAIRS.find((p) => p.ids.includes(b.id));
    if (pair) {
      if (pair.ids[0] !== b.id) continue;
      const reasons = pair.ids.map((id) => keymap.find((k) => k.id === id)?.available(ctx) ?? true);
      const unavailable = reasons.every((r) => r !== true) ? (reasons[0] as string) : null;
      rows.push({ label: pair.label, help: pair.help, unavailable });
      continue;
    }
    const available = b.available(ctx);
    rows.push({ label: b.id === 'quit' ? 'q, ^C' : b.id === 'help' ? '?, Esc' : b.label, help: b.help, unavailable: available === true ? null : available });
  }
  return rows;
}

/** Keys while "stop the run?" is asked: arrows and Tab choose, Enter answers, Esc or n cancels. */
function answerStop(key: KeyPress, ctx: KeyContext, effects: KeyEffects): void {
  const confirm = ctx.ui.confirmStop!;
  if (key.ctrl === true && key.input === 'c') return effects.quit();
  if (key.escape === true || key.input === 'n' || key.input === 'q') return effects.ui({ type: 'closeStop' });
  if (key.leftArrow || key.upArrow) return effects.ui({ type: 'moveStopChoice', direction: -1 });
  if (key.rightArrow || key.downArrow || key.input === '\t') return effects.ui({ type: 'moveStopChoice', direction: 1 });
  let choice: StopChoice | undefined;
  if (key.return === true) choice = confirm.choice;
  else if (/^[1-3]$/.test(key.input)) choice = confirm.choices[Number(key.input) - 1];
  if (!choice) return;
  effects.ui({ type: 'closeStop' });
  if (choice === 'saveThenStop') effects.control({ type: 'stop', saveFirst: true });
  else if (choice === 'stopNow') effects.control({ type: 'stop', saveFirst: false });
}
