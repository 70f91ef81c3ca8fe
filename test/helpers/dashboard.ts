import { createElement } from 'react';
import { render } from 'ink-testing-library';
import type { RunWatch } from '../../src/run/watchRun.js';
import type { ImageRequest } from '../../src/run/sampleImages.js';
import type { ControlAction } from '../../src/control/controlSource.js';
import type { RunState } from '../../src/state/runState.js';
import { App, type AppOptions } from '../../src/ui/App.js';

/** A RunWatch that serves a fixed state, and lets a test push new ones. */
export function fakeWatch(state: RunState): RunWatch & { set(next: RunState): void; wanted: ImageRequest[][]; actions: ControlAction[] } {
  let current = state;
  const listeners = new Set<(s: RunState) => void>();
  const wanted: ImageRequest[][] = [];
  const actions: ControlAction[] = [];
  return {
    wanted,
    actions,
    act(action) {
      actions.push(action);
    },
    firstFrame() {},
    wantImages(requests) {
      wanted.push(requests);
    },
    getState: () => current,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {},
    set(next) {
      current = next;
      for (const l of listeners) l(next);
    },
  };
}

export const NOW = Date.parse('2026-11-28T12:00:00Z');

/** Renders the dashboard with ink-testing-library at a given terminal size. */
export function renderDashboard(state: RunState, cols: number, rows: number, extra: Partial<AppOptions> = {}) {
  const watch = fakeWatch(state);
  let quits = 0;
  const options: AppOptions = { target: 3000, glyphs: 'unicode', theme: 'dark', keys: true, size: { cols, rows }, now: () => NOW, ...extra };
  const tree = () => createElement(App, { watch, options, onQuit: () => quits++ });
  const instance = render(tree());
  // ink-testing-library's stdout is 100 columns wide: give it the size under test, then draw again.
  Object.defineProperty(instance.stdout, 'columns', { get: () => cols });
  Object.defineProperty(instance.stdout, 'rows', { get: () => rows });
  instance.rerender(tree());
  return { ...instance, watch, quits: () => quits, plain: () => stripAnsi(instance.lastFrame() ?? '') };
}

// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;
export function stripAnsi(text: string): string {
  return text.replace(SGR, '');
}

/** Resolves with the first frame (ANSI styles removed) that passes `test`; fails after `timeoutMs`. */
export function frameWhere(instance: { lastFrame(): string | undefined }, test: (plain: string) => boolean, timeoutMs = 2000): Promise<string> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      const plain = stripAnsi(instance.lastFrame() ?? '');
      if (test(plain)) return resolve(plain);
      if (Date.now() - started > timeoutMs) return reject(new Error(`no such frame; last one:\n${plain}`));
      setImmediate(check);
    };
    check();
  });
}
