import { estimateFinish } from '../state/eta.js';
import type { RunState } from '../state/runState.js';
import { STALL_FLOOR_S } from '../state/derive.js';
import type { Glyphs } from '../view/charts/index.js';
import type { HalfBlockMode } from '../view/halfBlock.js';
import { composeDashboard } from './compose.js';
import type { DashboardLayout } from './layout.js';
import { PANELS } from './panels/index.js';
import type { Panel, PanelInput, PanelMemory } from './panels/panel.js';
import type { ThemeName } from './theme.js';
import type { UiState } from './uiState.js';
import type { ViewLine } from './viewLine.js';
import type { PictureLookup } from './inlinePictures.js';
import type { RunNav } from './keymap.js';

/**
 * The dashboard's frame: every panel in the layout built into its box (or its lines from last
 * frame reused while its key says nothing it reads has changed), then put together. Pure but for
 * the cache the caller keeps between frames.
 */

export interface ScreenOptions {
  target: number;
  glyphs: Glyphs;
  imageMode: HalfBlockMode;
  stallFloorS?: number;
  pictures?: PictureLookup | null;
  /** Where the run sits in the runs screen's list, when it was opened from one (the keys say so). */
  nav?: RunNav | null;
}

/** What a panel built last, under which key, and what it keeps between frames. */
export type PanelCache = Map<string, { key: string | null; lines: ViewLine[]; memory: PanelMemory }>;

export function panelInput(run: RunState, ui: UiState, now: number, options: ScreenOptions): PanelInput {
  return {
    run,
    ui,
    now,
    target: options.target,
    glyphs: options.glyphs,
    imageMode: options.imageMode,
    stallFloorS: options.stallFloorS ?? STALL_FLOOR_S,
    eta: estimateFinish(run, now, options.target),
    keys: { run, ui, nav: options.nav ?? null },
    pictures: options.pictures ?? null,
  };
}

/** Each panel of the layout as lines. */
export function buildPanels(input: PanelInput, layout: DashboardLayout, cache: PanelCache = new Map(), panels: readonly Panel[] = PANELS): Map<string, ViewLine[]> {
  const out = new Map<string, ViewLine[]>();
  for (const box of layout.boxes) {
    const panel = panels.find((p) => p.id === box.id);
    if (!panel) continue;
    let entry = cache.get(panel.id);
    const key = panel.key ? panel.key(input, box) : null;
    if (!entry || key === null || entry.key !== key) {
      const memory = entry?.memory ?? {};
      entry = { key, lines: panel.build(input, box, memory), memory };
      cache.set(panel.id, entry);
    }
    out.set(panel.id, entry.lines);
  }
  return out;
}

export function buildScreen(input: PanelInput, layout: DashboardLayout, theme: ThemeName, cache?: PanelCache): string[] {
  return composeDashboard(buildPanels(input, layout, cache), layout, theme);
}
