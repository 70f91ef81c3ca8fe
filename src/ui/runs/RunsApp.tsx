import { useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from 'react';
import { useInput } from 'ink';
import { join } from 'node:path';
import type { RunCatalog } from '../../catalog/runCatalog.js';
import type { RunWatch } from '../../run/watchRun.js';
import { visibleEntries, type RunsEntry } from '../../state/runsList.js';
import { decodeSample } from '../../sources/sampleImage.js';
import type { HalfBlockMode, RawImage } from '../../view/halfBlock.js';
import { App, useTerminalSize, type AppOptions } from '../App.js';
import { composeLines } from '../compose.js';
import type { NavTarget } from '../keymap.js';
import { ROUTINE_REFRESH_MS } from '../refresh.js';
import { Screen } from '../components/Screen.js';
import { buildCompare } from './runsCompare.js';
import { dispatchRunsKey, type RunsKeyContext } from './runsKeymap.js';
import { buildRunsList, footerLine } from './runsTable.js';
import { initialRunsUi, reduceRunsUi, type RunsUiAction } from './runsUi.js';

/**
 * The runs screen: the list of runs (or the comparison of the marked ones); Enter swaps in the
 * selected run's dashboard, which Esc, Backspace, `[` and `]` leave again. A run's dashboard is
 * followed (GPU, previews, control) only while it is open.
 */

export interface RunsAppOptions {
  /** What the dashboard of an opened run gets. */
  app: AppOptions;
  /** What the list is of (its folder, or the UI queue). */
  title: string;
  /** Starts following one run for its dashboard; `db`: the UI database its job is in, if it is a UI job. */
  openRun(folder: string, logPath: string, db: string | null, host: string | null): RunWatch;
  /** The next frame is drawn whole. */
  repaint?(): void;
}

/**
 * The catalog's entries: while the list is first being read, drawn as they come (every 100 ms at
 * most) and at once when the last is in; after that at most once a routine tick (the ages on the
 * clock tick too), like the dashboard's routine progress.
 */
function useEntries(catalog: RunCatalog, tickMs: number, clock: () => number, paused: boolean): { entries: RunsEntry[]; now: number } {
  const [shown, setShown] = useState(() => ({ entries: catalog.entries(), now: clock() }));
  const loaded = useRef(false);
  useEffect(() => {
    // While a run's dashboard is open the list is not drawn: nothing to redraw for it.
    if (paused) return;
    let live = true;
    let pending = false;
    let last = 0;
    let timer: NodeJS.Timeout | null = null;
    const show = () => {
      if (timer) clearTimeout(timer);
      timer = null;
      pending = false;
      last = clock();
      setShown({ entries: catalog.entries(), now: last });
    };
    show();
    void catalog.loaded.then(() => {
      if (!live) return;
      loaded.current = true;
      show();
    });
    const unsubscribe = catalog.subscribe(() => {
      pending = true;
      const gap = loaded.current ? tickMs : 100;
      if (!timer) timer = setTimeout(show, Math.max(0, gap - (clock() - last)));
    });
    const tick = setInterval(() => {
      if (!pending && !timer) show();
    }, tickMs);
    return () => {
      live = false;
      unsubscribe();
      clearInterval(tick);
      if (timer) clearTimeout(timer);
    };
  }, [catalog, tickMs, clock, paused]);
  return shown;
}

/** A run whose folder has been read (a queued job has none yet). */
function canOpen(entry: RunsEntry): boolean {
  return entry.folder !== null && entry.summary !== null;
}

export function RunsApp({ catalog, options, onQuit }: { catalog: RunCatalog; options: RunsAppOptions; onQuit(): void }) {
  const app = options.app;
  const clock = app.now ?? Date.now;
  const size = useTerminalSize(app.size);
  const [opened, setOpened] = useState<{ key: string; watch: RunWatch } | null>(null);
  const { entries, now } = useEntries(catalog, app.routineRefreshMs ?? ROUTINE_REFRESH_MS, clock, opened !== null);
  const [ui, dispatchUi] = useReducer(reduceRunsUi, undefined, initialRunsUi);
  const latest = useRef(ui);
  latest.current = ui;
  const dispatch = useCallback((action: RunsUiAction) => {
    latest.current = reduceRunsUi(latest.current, action);
    dispatchUi(action);
  }, []);
  useEffect(() => {
    if (!ui.flash) return;
    const timer = setTimeout(() => dispatch({ type: 'clearFlash' }), Math.max(0, ui.flash.until - clock()));
    return () => clearTimeout(timer);
  }, [ui.flash, clock, dispatch]);

  const hosts = catalog.hosts?.() ?? [];
  const hostOrder = hosts.map((h) => h.host).join('\n');
  const visible = useMemo(() => visibleEntries(entries, ui.sort, ui.filter, now, hostOrder ? hostOrder.split('\n') : []), [entries, ui.sort, ui.filter, now, hostOrder]);
  const latestEntries = useRef(entries);
  latestEntries.current = entries;
  // The runs [ and ] step through: those with something read to show.
  const openable = useMemo(() => visible.filter(canOpen), [visible]);
  const selected = visible.find((e) => e.key === ui.selected) ?? visible[0] ?? null;
  const marked = useMemo(() => ui.marked.map((k) => entries.find((e) => e.key === k)).filter((e): e is RunsEntry => e !== undefined), [ui.marked, entries]);

  // Decoded samples for the comparison, kept only while it wants them.
  const [images, setImages] = useState<ReadonlyMap<string, RawImage>>(new Map());
  const [unreadable, setUnreadable] = useState<ReadonlySet<string>>(new Set());
  const imageMode: HalfBlockMode = app.theme === 'mono' ? 'grey' : app.glyphs === 'ascii' ? (app.imageMode === '256' ? 'spaces-256' : 'spaces-truecolor') : (app.imageMode ?? 'truecolor');
  const compare = useMemo(
    () => (ui.screen === 'compare' && !opened ? buildCompare({ runs: marked, cols: size.cols, rows: Math.max(0, size.rows - 2), glyphs: app.glyphs, imageMode, prompt: ui.comparePrompt, images, unreadable }) : null),
    [ui.screen, ui.comparePrompt, opened, marked, size.cols, size.rows, app.glyphs, imageMode, images, unreadable],
  );
  const wishKey = compare?.wishes.map((w) => `${w.path}@${w.maxPx}`).join('|') ?? '';
  useEffect(() => {
    if (!compare) return;
    let live = true;
    const wanted = compare.wishes;
    // A run on another host: its sample's bytes come from there.
    const hostOf = new Map(marked.flatMap((e) => (e.host && e.host !== 'local' ? (e.summary?.snapshot.samples ?? []).map((x) => [x.path, e.host!] as const) : [])));
    const bytesOf = async (path: string) => {
      const host = hostOf.get(path);
      return host && catalog.readSample ? catalog.readSample(host, path).catch(() => null) : null;
    };
    void Promise.all(wanted.map(async (w) => [w.path, images.get(w.path) ?? (await decodeSample(w.path, w.maxPx, await bytesOf(w.path)))] as const)).then((decoded) => {
      if (!live) return;
      const next = new Map<string, RawImage>();
      const failed = new Set<string>();
      for (const [path, image] of decoded) {
        if (image) next.set(path, image);
        else failed.add(path);
      }
      if (next.size !== images.size || [...next].some(([p, i]) => images.get(p) !== i)) setImages(next);
      if (failed.size !== unreadable.size || [...failed].some((p) => !unreadable.has(p))) setUnreadable(failed);
    });
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [wishKey]);

  const ctx: RunsKeyContext = { visible, ui, selected, promptCount: compare?.promptCount ?? 0 };
  const latestCtx = useRef(ctx);
  latestCtx.current = ctx;

  const openedRef = useRef(opened);
  openedRef.current = opened;
  const open = useCallback(
    (entry: RunsEntry) => {
      if (!entry.folder) return;
      const logPath = entry.summary?.logPath ?? join(entry.folder, 'log.txt');
      // The run shown before lets go of its run first (watches are opened and closed here, not in a state updater).
      void openedRef.current?.watch.close();
      const next = { key: entry.key, watch: options.openRun(entry.folder, logPath, entry.job ? catalog.queue().db : null, entry.host ?? null) };
      openedRef.current = next;
      setOpened(next);
      dispatch({ type: 'select', key: entry.key });
    },
    [options, dispatch, catalog],
  );
  useEffect(() => () => void openedRef.current?.watch.close(), []);

  useInput(
    (input, key) => {
      // Keys can come faster than frames: they read the newest UI state, not the last drawn one.
      // Letters typed faster than they are read come as one string: each is a key of its own.
      const keys = input.length > 1 && !key.ctrl && !key.meta && [...input].every((c) => c >= ' ') ? [...input].map((c) => ({ ...key, input: c })) : [{ ...key, input }];
      for (const one of keys) {
        const fresh = latest.current;
        const shownNow = visibleEntries(latestEntries.current, fresh.sort, fresh.filter, clock(), (catalog.hosts?.() ?? []).map((h) => h.host));
        const selectedNow = shownNow.find((e) => e.key === fresh.selected) ?? shownNow[0] ?? null;
        dispatchRunsKey(one, { ...latestCtx.current, visible: shownNow, ui: fresh, selected: selectedNow }, { ui: dispatch, quit: onQuit, open }, clock());
      }
    },
    { isActive: app.keys && opened === null },
  );

  const position = opened ? openable.findIndex((e) => e.key === opened.key) : -1;
  const go = useCallback(
    (to: NavTarget) => {
      const current = openedRef.current;
      if (!current) return;
      if (to === 'list') {
        void current.watch.close();
        openedRef.current = null;
        setOpened(null);
        options.repaint?.();
        return;
      }
      const list = latestCtx.current.visible.filter(canOpen);
      const at = list.findIndex((e) => e.key === current.key);
      const next = list[at + (to === 'next' ? 1 : -1)];
      if (next?.folder) {
        options.repaint?.();
        open(next);
      }
    },
    [open, options],
  );

  const rows = useMemo(() => {
    if (opened) return null;
    const input = { ctx, cols: size.cols, rows: size.rows, now, glyphs: app.glyphs, title: options.title, queue: catalog.queue(), hosts: catalog.hosts?.() ?? [] };
    if (compare) return composeLines([...compare.lines, ...Array.from({ length: Math.max(0, size.rows - 2 - compare.lines.length) }, () => []), footerLine(input)], app.theme);
    return composeLines(buildRunsList(input), app.theme);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [opened, visible, ui, selected, size.cols, size.rows, now, app.glyphs, app.theme, compare, options.title]);

  const sink = app.frameSink;
  useLayoutEffect(() => {
    if (rows) sink?.(rows, null);
  }, [sink, rows]);

  if (opened) {
    const nav = { position: Math.max(0, position), count: openable.length, go };
    return <App key={opened.key} watch={opened.watch} options={{ ...app, nav }} onQuit={onQuit} />;
  }
  if (sink || !rows) return null;
  return <Screen rows={rows} cols={size.cols} />;
}
