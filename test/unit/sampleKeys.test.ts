import { describe, expect, it } from 'vitest';
import { parseRunConfigText, type RunConfig } from '../../src/parse/runConfig.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState, type RunState, type SampleFile } from '../../src/state/runState.js';
import { resolvePick } from '../../src/state/sampleIndex.js';
import { dispatchKey, footerItems, type KeyEffects, type KeyPress } from '../../src/ui/keymap.js';
import { initialUi, reduceUi, type UiAction, type UiState } from '../../src/ui/uiState.js';

// The sample keys: ←/→ steps, ↑/↓ prompts, c compare, [/] the comparison's left image, v view, and
// how the full-screen and comparison screens take keys.

const pad9 = (n: number) => String(n).padStart(9, '0');

function sample(step: number, index: number, kind: SampleFile['kind'] = 'image'): SampleFile {
  const createdMs = 1_700_000_000_000 + step * 1000 + index;
  const ext = kind === 'video' ? 'mp4' : kind === 'audio' ? 'wav' : 'jpg';
  return { step, index, createdMs, kind, path: `/out/job/samples/${createdMs}__${pad9(step)}_${index}.${ext}` };
}

function config(prompts: string[], sampling = true): RunConfig {
  const sample = sampling ? `sample: {sample_every: 100, prompts: [${prompts.map((p) => JSON.stringify(p)).join(', ')}]}` : '';
  return parseRunConfigText(`
job: extension
config:
  name: job
  process:
    - type: sd_trainer
      train: {steps: 1000}
      save: {save_every: 250}
      ${sample}
`)!;
}

const THREE = config(['a cat', 'a dog', 'a fox']);

function runWith(samples: SampleFile[], cfg: RunConfig | null = THREE): RunState {
  return reduceRun(initialRunState(), [
    ...(cfg ? [{ at: 1, event: { type: 'configLoaded' as const, config: cfg } }] : []),
    { at: 2, event: { type: 'sampleList', samples } },
  ]);
}

// Steps 100 and 200 have all three prompts; at 300 only prompt 1 is done (sampling under way).
const SAMPLES = [100, 200].flatMap((step) => [0, 1, 2].map((i) => sample(step, i))).concat([sample(300, 0)]);
const RUN = runWith(SAMPLES);

const ui = (over: Partial<UiState> = {}): UiState => ({ ...initialUi(), ...over });

const KEYS = {
  left: { input: '', leftArrow: true },
  right: { input: '', rightArrow: true },
  up: { input: '', upArrow: true },
  down: { input: '', downArrow: true },
  esc: { input: '', escape: true },
  ctrlC: { input: 'c', ctrl: true },
} satisfies Record<string, KeyPress>;
const typed = (input: string): KeyPress => ({ input });

interface Pressed {
  matched: boolean;
  actions: UiAction[];
  /** What it asked of the trainer (the sample keys never ask anything). */
  controls: unknown[];
  quit: number;
  ui: UiState;
  flash: string | null;
}

/** Presses a key with the real dispatcher and applies what it asks to the UI state. */
function press(key: KeyPress, run: RunState, state: UiState, now = 10_000): Pressed {
  const actions: UiAction[] = [];
  const controls: unknown[] = [];
  let quit = 0;
  const effects: KeyEffects = { ui: (action) => actions.push(action), quit: () => quit++, control: (action) => controls.push(action) };
  const matched = dispatchKey(key, { run, ui: state }, effects, now);
  const next = actions.reduce(reduceUi, state);
  return { matched, actions, controls, quit, ui: next, flash: actions.some((a) => a.type === 'flash') ? next.flash!.text : null };
}

/** Presses keys one after another. */
function pressAll(keys: KeyPress[], run: RunState, state: UiState): UiState {
  return keys.reduce((s, key) => press(key, run, s).ui, state);
}

const shownStep = (run: RunState, state: UiState) => resolvePick(run.samples, state.sample)?.step ?? null;

describe('← and → move through the sampled steps', () => {
  it('← from the newest goes back one sampled step at a time, then says it is at the first', () => {
    const one = press(KEYS.left, RUN, ui());
    expect(one.actions).toEqual([{ type: 'pickSample', pick: { step: 200, index: 0 } }]);
    const two = press(KEYS.left, RUN, one.ui);
    expect(two.ui.sample).toEqual({ step: 100, index: 0 });
    const three = press(KEYS.left, RUN, two.ui);
    expect(three.matched).toBe(true);
    expect(three.flash).toBe('←: step 100 is the first sampled step');
    expect(three.ui.sample).toEqual({ step: 100, index: 0 });
  });

  it('→ goes forward, and at the newest step follows new samples again', () => {
    const at100 = ui({ sample: { step: 100, index: 0 } });
    const one = press(KEYS.right, RUN, at100);
    expect(one.ui.sample).toEqual({ step: 200, index: 0 });
    const two = press(KEYS.right, RUN, one.ui);
    expect(two.ui.sample).toEqual({ step: null, index: 0 });
    const three = press(KEYS.right, RUN, two.ui);
    expect(three.flash).toBe('→: this is the newest sample');
    expect(three.ui.sample).toEqual({ step: null, index: 0 });
  });

  it('keeps the prompt while moving', () => {
    const state = pressAll([KEYS.left], RUN, ui({ sample: { step: 200, index: 2 } }));
    expect(state.sample).toEqual({ step: 100, index: 2 });
  });

  it('a pick at a deleted step moves from where it is shown', () => {
    // Step 250 is gone: it shows 200; ← goes to 100, → to the newest.
    expect(press(KEYS.left, RUN, ui({ sample: { step: 250, index: 0 } })).ui.sample).toEqual({ step: 100, index: 0 });
    expect(press(KEYS.right, RUN, ui({ sample: { step: 250, index: 0 } })).ui.sample).toEqual({ step: null, index: 0 });
  });

  it('says why when there are no samples, or the run makes none', () => {
    expect(press(KEYS.left, runWith([]), ui()).flash).toBe('←: no samples yet');
    expect(press(KEYS.right, runWith([], null), ui()).flash).toBe('→: no samples yet');
    expect(press(KEYS.left, runWith([], config([], false)), ui()).flash).toBe('←: this run makes no samples (sampling is off in its config)');
  });

  it('following the newest with a prompt still to come at the newest step, → does something or says why', () => {
    // Prompt 2 is shown at step 200 (step 300 has only prompt 1 so far).
    const following = ui({ sample: { step: null, index: 1 } });
    expect(shownStep(RUN, following)).toBe(200);
    const pressed = press(KEYS.right, RUN, following);
    // Either it moves the picture (to step 300, where prompt 2 is still to come) or it says why not:
    // offering → and then showing the same picture is neither.
    const moved = shownStep(RUN, pressed.ui) !== 200;
    expect(pressed.flash !== null || moved, `actions: ${JSON.stringify(pressed.actions)}`).toBe(true);
  });

  it('in the comparison, ← and → move the right-hand image and leave the left', () => {
    const compare = ui({ screen: 'compare', compareLeft: 100, sample: { step: null, index: 0 } });
    const moved = press(KEYS.left, RUN, compare).ui;
    expect(moved.sample).toEqual({ step: 200, index: 0 });
    expect(moved.compareLeft).toBe(100);
    expect(moved.screen).toBe('compare');
  });
});

describe('↑ and ↓ choose the prompt', () => {
  it('↓ goes to the next prompt and round to the first; ↑ the other way', () => {
    const down = press(KEYS.down, RUN, ui());
    expect(down.actions).toEqual([{ type: 'pickSample', pick: { step: null, index: 1 } }]);
    expect(pressAll([KEYS.down, KEYS.down, KEYS.down], RUN, ui()).sample.index).toBe(0);
    expect(press(KEYS.up, RUN, ui()).ui.sample.index).toBe(2);
    expect(press(KEYS.up, RUN, ui({ sample: { step: null, index: 2 } })).ui.sample.index).toBe(1);
  });

  it('keeps the step picked', () => {
    expect(press(KEYS.down, RUN, ui({ sample: { step: 100, index: 2 } })).ui.sample).toEqual({ step: 100, index: 0 });
    expect(press(KEYS.up, RUN, ui({ sample: { step: 200, index: 0 } })).ui.sample).toEqual({ step: 200, index: 2 });
  });

  it('counts the prompts seen in the samples when the config lists fewer', () => {
    const run = runWith(SAMPLES, config(['only one']));
    expect(press(KEYS.up, run, ui()).ui.sample.index).toBe(2);
    expect(pressAll([KEYS.down, KEYS.down, KEYS.down], run, ui()).sample.index).toBe(0);
  });

  it('counts the prompts of the config before they are sampled', () => {
    const run = runWith([sample(100, 0)]);
    expect(press(KEYS.up, run, ui()).ui.sample.index).toBe(2);
  });

  it('says why with one prompt, or without samples', () => {
    const single = runWith([sample(100, 0), sample(200, 0)], config(['x']));
    expect(press(KEYS.down, single, ui()).flash).toBe('↓: the run samples one prompt only');
    expect(press(KEYS.up, single, ui()).flash).toBe('↑: the run samples one prompt only');
    expect(press(KEYS.down, runWith([]), ui()).flash).toBe('↓: no samples yet');
  });

  it('in the comparison, changes the prompt of both images and stays there', () => {
    const compare = ui({ screen: 'compare', compareLeft: 100, sample: { step: null, index: 0 } });
    const next = press(KEYS.down, RUN, compare).ui;
    expect(next).toMatchObject({ screen: 'compare', compareLeft: 100, sample: { step: null, index: 1 } });
  });
});

describe('c compares', () => {
  it('from the newest: the step before on the left, the newest (followed) on the right', () => {
    const pressed = press(typed('c'), RUN, ui({ sample: { step: null, index: 0 } }));
    expect(pressed.actions).toEqual([{ type: 'openCompare', left: 200, right: { step: null, index: 0 } }]);
    expect(pressed.ui).toMatchObject({ screen: 'compare', compareLeft: 200, sample: { step: null, index: 0 } });
  });

  it('from the newest picked by its step, the same', () => {
    expect(press(typed('C'), RUN, ui({ sample: { step: 300, index: 0 } })).ui).toMatchObject({ screen: 'compare', compareLeft: 200, sample: { step: null, index: 0 } });
  });

  it('from an older step: that step pinned on the left, the newest on the right', () => {
    const pressed = press(typed('c'), RUN, ui({ sample: { step: 100, index: 2 } }));
    expect(pressed.ui).toMatchObject({ screen: 'compare', compareLeft: 100, sample: { step: null, index: 2 } });
  });

  it('following the newest with the prompt still to come there, shows two different steps', () => {
    // Prompt 2 is shown at 200 (the newest step that has it); the comparison must not show 200 twice.
    const opened = press(typed('c'), RUN, ui({ sample: { step: null, index: 1 } })).ui;
    expect(opened.screen).toBe('compare');
    const right = resolvePick(RUN.samples, opened.sample)!;
    const left = resolvePick(RUN.samples, { step: opened.compareLeft, index: right.index })!;
    expect(left.step).not.toBe(right.step);
  });

  it('needs two sampled steps', () => {
    const one = runWith([sample(100, 0), sample(100, 1)]);
    expect(press(typed('c'), one, ui()).flash).toBe('c: only one step has been sampled so far');
    expect(press(typed('c'), one, ui()).ui.screen).toBe('dashboard');
    expect(press(typed('c'), runWith([]), ui()).flash).toBe('c: no samples yet');
  });

  it('c again, or Esc, returns to the dashboard', () => {
    const compare = press(typed('c'), RUN, ui()).ui;
    const back = press(typed('c'), RUN, compare);
    expect(back.actions).toEqual([{ type: 'closeScreen' }]);
    expect(back.ui).toMatchObject({ screen: 'dashboard', compareLeft: null });
    const esc = press(KEYS.esc, RUN, compare);
    expect(esc.matched).toBe(true);
    expect(esc.actions).toEqual([{ type: 'closeScreen' }]);
    expect(esc.ui.screen).toBe('dashboard');
    expect(esc.ui.showHelp).toBe(false);
  });

  it('with the key list open in the comparison, Esc closes the list and stays', () => {
    const compare = { ...press(typed('c'), RUN, ui()).ui, showHelp: true };
    const esc = press(KEYS.esc, RUN, compare);
    expect(esc.ui).toMatchObject({ screen: 'compare', showHelp: false });
  });
});

describe('[ and ] move the left image of the comparison', () => {
  const compare = ui({ screen: 'compare', compareLeft: 200, sample: { step: null, index: 0 } });

  it('[ goes to the step before, ] to the step after; the right image stays', () => {
    const older = press(typed('['), RUN, compare);
    expect(older.actions).toEqual([{ type: 'compareLeft', step: 100 }]);
    expect(older.ui).toMatchObject({ compareLeft: 100, sample: { step: null, index: 0 }, screen: 'compare' });
    const newer = press(typed(']'), RUN, compare);
    expect(newer.ui).toMatchObject({ compareLeft: 300, sample: { step: null, index: 0 } });
  });

  it('says when the left image is at either end', () => {
    expect(press(typed('['), RUN, { ...compare, compareLeft: 100 }).flash).toBe('[: the left image is at the first sampled step');
    expect(press(typed(']'), RUN, { ...compare, compareLeft: 300 }).flash).toBe(']: the left image is at the newest sampled step');
  });

  it('does nothing but say so outside the comparison', () => {
    const pressed = press(typed('['), RUN, ui());
    expect(pressed.flash).toBe('[: only in the comparison (c)');
    expect(pressed.ui.compareLeft).toBeNull();
    expect(press(typed(']'), RUN, ui()).flash).toBe(']: only in the comparison (c)');
  });
});

describe('v views the sample on the whole screen', () => {
  it('opens the view', () => {
    const pressed = press(typed('v'), RUN, ui());
    expect(pressed.actions).toEqual([{ type: 'openView' }]);
    expect(pressed.ui.screen).toBe('view');
    expect(press(typed('V'), RUN, ui({ sample: { step: 100, index: 2 } })).ui.screen).toBe('view');
  });

  it('opens while a prompt shows at an earlier step', () => {
    expect(press(typed('v'), RUN, ui({ sample: { step: null, index: 1 } })).ui.screen).toBe('view');
  });

  it('says why it cannot', () => {
    expect(press(typed('v'), runWith([]), ui()).flash).toBe('v: no samples yet');
    expect(press(typed('v'), runWith([], config([], false)), ui()).flash).toBe('v: this run makes no samples (sampling is off in its config)');
    // Prompt 3 not sampled yet at all (the config has three).
    const early = runWith([sample(100, 0), sample(100, 1)]);
    expect(press(typed('v'), early, ui({ sample: { step: null, index: 2 } })).flash).toBe('v: prompt 3 has no sample yet');
    // Picked at step 300, where prompt 2 is still to come.
    expect(press(typed('v'), RUN, ui({ sample: { step: 300, index: 1 } })).flash).toBe('v: prompt 2 has no sample yet');
    const video = runWith([sample(100, 0), sample(200, 0, 'video')]);
    expect(press(typed('v'), video, ui()).flash).toBe('v: that sample is a video: lora-top draws images only');
    expect(press(typed('v'), video, ui()).ui.screen).toBe('dashboard');
    expect(press(typed('v'), video, ui({ sample: { step: 100, index: 0 } })).ui.screen).toBe('view');
    const audio = runWith([sample(100, 0, 'audio')]);
    expect(press(typed('v'), audio, ui()).flash).toBe('v: that sample is audio: lora-top draws images only');
  });

  it('the flash lasts from the moment of the key press', () => {
    const pressed = press(typed('v'), runWith([]), ui(), 50_000);
    expect(pressed.ui.flash!.until).toBeGreaterThan(50_000);
  });
});

describe('screens take keys their own way', () => {
  const view = ui({ screen: 'view' });

  it('in the full-screen view any key returns to the dashboard', () => {
    for (const key of [typed('x'), typed('s'), typed('S'), typed('v'), typed('q'), typed('c'), typed('?'), KEYS.left, KEYS.right, KEYS.up, KEYS.esc, typed(' ')]) {
      const pressed = press(key, RUN, view);
      expect(pressed.matched, JSON.stringify(key)).toBe(true);
      expect(pressed.actions, JSON.stringify(key)).toEqual([{ type: 'closeScreen' }]);
      expect(pressed.quit).toBe(0);
      expect(pressed.controls, JSON.stringify(key)).toEqual([]);
      expect(pressed.ui.screen).toBe('dashboard');
      expect(pressed.ui.sample).toEqual(view.sample);
    }
  });

  it('in the full-screen view Ctrl-C still quits', () => {
    const pressed = press(KEYS.ctrlC, RUN, view);
    expect(pressed.quit).toBe(1);
    expect(pressed.actions).toEqual([]);
  });

  it('in the comparison q quits and other keys work as on the dashboard', () => {
    const compare = ui({ screen: 'compare', compareLeft: 100 });
    expect(press(typed('q'), RUN, compare).quit).toBe(1);
    expect(press(KEYS.ctrlC, RUN, compare).quit).toBe(1);
    expect(press(typed('l'), RUN, compare).ui).toMatchObject({ showLog: true, screen: 'compare' });
  });

  it('the view opened from the comparison goes back to the dashboard', () => {
    const compare = ui({ screen: 'compare', compareLeft: 100 });
    const viewing = press(typed('v'), RUN, compare).ui;
    expect(viewing.screen).toBe('view');
    expect(press(typed('x'), RUN, viewing).ui).toMatchObject({ screen: 'dashboard', compareLeft: null });
  });

  it('an unknown key on the dashboard is not taken', () => {
    const pressed = press(typed('z'), RUN, ui());
    expect(pressed.matched).toBe(false);
    expect(pressed.actions).toEqual([]);
  });
});

describe('footer', () => {
  const labels = (run: RunState, state: UiState) => footerItems({ run, ui: state }).map((i) => `${i.label} ${i.name}`);

  it('shows ←/→ and ↑/↓ when they can act', () => {
    const items = labels(RUN, ui());
    expect(items).toContain('←/→ samples');
    expect(items).toContain('↑/↓ prompt');
    expect(items).toContain('c compare');
    expect(items).toContain('v view');
  });

  it('shows ←/→ at the first step too (→ still acts)', () => {
    expect(labels(RUN, ui({ sample: { step: 100, index: 0 } }))).toContain('←/→ samples');
  });

  it('leaves them out when they cannot', () => {
    const one = runWith([sample(100, 0)], config(['x']));
    const items = labels(one, ui());
    expect(items).not.toContain('←/→ samples');
    expect(items).not.toContain('↑/↓ prompt');
    expect(items).not.toContain('c compare');
    expect(items).toContain('v view');
    const none = labels(runWith([]), ui());
    for (const item of ['←/→ samples', '↑/↓ prompt', 'c compare', 'v view']) expect(none).not.toContain(item);
    expect(none).toContain('q quit');
  });

  it('shows ↑/↓ with one step and several prompts, and ←/→ with several steps and one prompt', () => {
    expect(labels(runWith([sample(100, 0), sample(100, 1)]), ui())).toContain('↑/↓ prompt');
    expect(labels(runWith([sample(100, 0), sample(100, 1)]), ui())).not.toContain('←/→ samples');
    const steps = labels(runWith([sample(100, 0), sample(200, 0)], config(['x'])), ui());
    expect(steps).toContain('←/→ samples');
    expect(steps).not.toContain('↑/↓ prompt');
  });
});
