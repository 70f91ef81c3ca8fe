import { useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from 'react';
import { useInput, useStdin, useStdout } from 'ink';
import type { RunWatch } from '../run/watchRun.js';
import type { RunState } from '../state/runState.js';
import { isFinished } from '../state/runState.js';
import type { Glyphs } from '../view/charts/index.js';
import { Screen } from './components/Screen.js';
import { composeLines, composeTooSmall } from './compose.js';
import { dispatchKey, type NavTarget, type RunNav } from './keymap.js';
import { boxOf, computeLayout } from './layout.js';
import type { ThemeName } from './theme.js';
import { initialUi, reduceUi, type UiAction } from './uiState.js';
import { isNewsworthy, ROUTINE_REFRESH_MS } from './refresh.js';
import { buildScreen, panelInput, type PanelCache } from './screen.js';
import { pictureArea, picturePosition } from './panels/samples.js';
import type { HalfBlockMode } from '../view/halfBlock.js';
import { buildGalleryModel } from './galleryModel.js';
import { imageWishes, shownSample } from './sampleView.js';
import { dueNotices } from './notifications.js';
import type { TerminalGraphics } from './terminalGraphics.js';
import type { ImageProtocolChoice } from './graphicsSupport.js';
import type { InlinePictures, PictureSpot } from './inlinePictures.js';

export interface AppOptions {
  target: number;
  glyphs: Glyphs;
  theme: ThemeName;
  /** Whether key presses can be read (stdin is a terminal). */
  keys: boolean;
  /** Size to lay out for, instead of the terminal's (tests). */
  size?: { cols: number; rows: number };
  /** The clock (tests). */
  now?: () => number;
  /** How sample images are drawn (24-bit, 256 colours, or grey characters). */
  imageMode?: HalfBlockMode;
  /** How often routine progress and the clock are redrawn. */
  routineRefreshMs?: number;
  /** Pictures drawn by the terminal itself (kitty, iTerm2, sixel) for the full-screen view. */
  graphics?: TerminalGraphics | null;
  /** The dashboard's sample picture at the terminal's own resolution, where it speaks kitty placeholders. */
  pictures?: InlinePictures | null;
  /** Says a notice (the run completed, failed, stalled) the way `--notify` asks. */
  notify?: (text: string) => void;
  /**
   * Where the composed rows go on a real terminal (the frame writer), bypassing Ink's output pass,
   * which rebuilt the whole screen cell by cell on every frame (~70 % of the CPU while training).
   * Without it (tests), Ink renders the same rows.
   */
  frameSink?: (rows: string[], picture: PictureSpot | null) => void;
  /** `--stall-after`: the least log silence that reads as a stall (seconds). */
  stallFloorS?: number;
  /** The run was opened from the runs screen: where it sits there, and how to leave for it. */
  nav?: (RunNav & { go(to: NavTarget): void }) | null;
}

/**
 * The run state and the clock as the screen shows them. News (see isNewsworthy) is drawn at once;
 * routine progress and the clock move together on one tick, so the screen redraws once a tick
 * while a run just trains on, and not at all when nothing changes.
 */
function useDisplayedRun(watch: RunWatch, tickMs: number, clock: () => number): { run: RunState; now: number } {
  const [shown, setShown] = useState(() => ({ run: watch.getState(), now: clock() }));
  useEffect(() => {
    let current = watch.getState();
    let pending = false;
    const show = () => {
      pending = false;
      current = watch.getState();
      setShown({ run: current, now: clock() });
    };
    show();
    const unsubscribe = watch.subscribe((next) => {
      if (isNewsworthy(current, next)) show();
      else pending = true;
    });
    const timer = setInterval(() => {
      // The clock only matters while something counts (elapsed, ETA); otherwise only news redraws.
      if (pending || !isFinished(current.status)) show();
    }, tickMs);
    return () => {
      unsubscribe();
      clearInterval(timer);
    };
  }, [watch, tickMs, clock]);
  return shown;
}

export function useTerminalSize(fixed: { cols: number; rows: number } | undefined): { cols: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => fixed ?? { cols: stdout.columns || 80, rows: stdout.rows || 24 };
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (fixed) return;
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, fixed?.cols, fixed?.rows]);
  return fixed ?? size;
}

export function App({ watch, options, onQuit }: { watch: RunWatch; options: AppOptions; onQuit(): void }) {
  const clock = options.now ?? Date.now;
  const { run, now } = useDisplayedRun(watch, options.routineRefreshMs ?? ROUTINE_REFRESH_MS, clock);
  const size = useTerminalSize(options.size);
  const [ui, dispatchUi] = useReducer(reduceUi, undefined, initialUi);

  useEffect(() => {
    if (!ui.flash) return;
    const timer = setTimeout(() => dispatchUi({ type: 'clearFlash' }), Math.max(0, ui.flash.until - clock()));
    return () => clearTimeout(timer);
  }, [ui.flash, clock]);

  // Keys can arrive faster than React re-renders: they act on the newest states, kept in refs that
  // every dispatch updates at once.
  const latest = useRef({ run, ui });
  latest.current.run = run;
  const dispatch = useCallback((action: UiAction) => {
    latest.current.ui = reduceUi(latest.current.ui, action);
    dispatchUi(action);
  }, []);
  const graphics = options.graphics ?? null;
  // While the terminal is asked which graphics it has, what it reads is its reply, not keys.
  const { internal_eventEmitter: inputEvents } = useStdin() as { internal_eventEmitter?: NodeJS.EventEmitter };
  useEffect(() => {
    if (!graphics || !inputEvents) return;
    const onInput = (data: string) => graphics.onInput(data);
    inputEvents.on('input', onInput);
    return () => {
      inputEvents.off('input', onInput);
    };
  }, [graphics, inputEvents]);
  useInput(
    (input, key) => {
      if (graphics?.awaitingReply) return;
      // Leaving the full-screen view: the terminal's picture goes before the dashboard is drawn.
      if (latest.current.ui.screen === 'view') graphics?.clear();
      const nav = options.nav ?? null;
      dispatchKey(
        { ...key, input },
        { ...latest.current, nav: nav && { position: nav.position, count: nav.count } },
        { ui: dispatch, quit: onQuit, control: (action) => watch.act(action), navigate: (to) => nav?.go(to) },
        clock(),
      );
    },
    { isActive: options.keys },
  );


  // The terminal's graphics protocol: known from the environment, or asked once — when a picture is
  // first shown (the dashboard's samples, or the full-screen view).
  const [protocol, setProtocol] = useState<ImageProtocolChoice | null>(() => (graphics ? graphics.known() : 'blocks'));
  const hasSamples = run.samples.length > 0;
  useEffect(() => {
    if ((ui.screen !== 'view' && !(hasSamples && options.pictures)) || protocol !== null || !graphics) return;
    let live = true;
    void graphics.protocol().then((answer) => {
      if (live) setProtocol(answer);
    });
    return () => {
      live = false;
    };
  }, [ui.screen, protocol, graphics, hasSamples, options.pictures]);

  // The dashboard's picture at the terminal's own resolution where it has a protocol: redrawn when one is ready.
  const pictures = protocol !== null && protocol !== 'blocks' ? (options.pictures ?? null) : null;
  if (pictures && protocol !== null && protocol !== 'blocks') pictures.use(protocol);
  const [picturesReady, setPicturesReady] = useState(0);
  useEffect(() => pictures?.subscribe(() => setPicturesReady((n) => n + 1)), [pictures]);

  // Pictures: grey characters without colour (NO_COLOR); coloured spaces without Unicode blocks (--ascii).
  const colour = options.imageMode ?? 'truecolor';
  const imageMode: HalfBlockMode = options.theme === 'mono' ? 'grey' : options.glyphs === 'ascii' ? (colour === '256' ? 'spaces-256' : 'spaces-truecolor') : colour;
  const gallery = useMemo(() => {
    if (ui.screen === 'dashboard' || size.cols < 20 || size.rows < 6) return null;
    return buildGalleryModel({
      run,
      ui,
      cols: size.cols,
      height: size.rows - 1,
      glyphs: options.glyphs,
      imageMode,
      graphics: protocol !== 'blocks',
    });
  }, [run, ui, size.cols, size.rows, options.glyphs, imageMode, protocol]);
  useEffect(() => {
    if (!graphics || !gallery?.imageArea || !gallery.imagePath || protocol === null || protocol === 'blocks') return;
    void graphics.draw(gallery.imagePath, gallery.imageArea, protocol, watch.readSample);
  }, [graphics, gallery?.imagePath, gallery?.imageArea?.cols, gallery?.imageArea?.rows, protocol]);

  // Notifications: once each, and only for a run seen alive in this session.
  const noticesSent = useRef(new Set<string>());
  const sawActive = useRef(false);
  useEffect(() => {
    if (!options.notify) return;
    if (!isFinished(run.status) && run.recognised) sawActive.current = true;
    for (const notice of dueNotices(run, now, sawActive.current, noticesSent.current, options.stallFloorS)) {
      noticesSent.current.add(notice.key);
      options.notify(notice.text);
    }
  }, [run, now, options.notify]);

  const galleryShown = gallery !== null && !ui.showHelp;
  const navShown = useMemo(() => (options.nav ? { position: options.nav.position, count: options.nav.count } : null), [options.nav?.position, options.nav?.count]);
  const input = useMemo(
    () => panelInput(run, ui, now, { target: options.target, glyphs: options.glyphs, imageMode, pictures, nav: navShown, ...(options.stallFloorS !== undefined ? { stallFloorS: options.stallFloorS } : {}) }),
    // picturesReady: a picture the terminal now holds is drawn with its placeholders.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [run, ui, now, options.target, options.glyphs, imageMode, options.stallFloorS, pictures, picturesReady, navShown?.position, navShown?.count],
  );
  const layout = useMemo(() => computeLayout(size.cols, size.rows, input), [input, size.cols, size.rows]);
  // Panels whose inputs did not change are not built again (the loss chart keeps its scale there too).
  const panelCache = useRef<PanelCache>(new Map());
  const rows = useMemo(() => {
    if (galleryShown) return composeLines(gallery.lines, options.theme);
    if (layout.kind === 'tooSmall') return composeTooSmall(layout);
    return buildScreen(input, layout, options.theme, panelCache.current);
  }, [gallery, galleryShown, input, layout, options.theme]);

  // The sample images on screen (and the neighbours ←/→ reach) are decoded by the watcher, at the size the panel has.
  const samplesBox = layout.kind === 'dashboard' ? boxOf(layout, 'samples') : null;
  const area = samplesBox ? pictureArea(samplesBox) : null;
  useEffect(() => {
    watch.wantImages(imageWishes(run, ui, size, area ? { cols: area.cols, rows: area.rows, imageMode } : null));
  }, [watch, run.samples, run.images, ui.sample, ui.screen, ui.compareLeft, size.cols, size.rows, area?.cols, area?.rows, imageMode]);
  // The terminal's own picture for the panel: sent once per file and size.
  const shownPath = shownSample(run, ui)?.sample;
  useEffect(() => {
    if (!pictures || !area || shownPath?.kind !== 'image' || ui.screen !== 'dashboard') return;
    pictures.want({ path: shownPath.path, cols: area.cols, rows: area.rows, read: watch.readSample });
  }, [pictures, shownPath?.path, shownPath?.kind, area?.cols, area?.rows, ui.screen]);
  // Where a picture drawn into a hole (iTerm2, sixel) goes, for the frame writer to draw after the frame.
  const placed = pictures && area && shownPath?.kind === 'image' ? pictures.placed({ path: shownPath.path, cols: area.cols, rows: area.rows }) : null;
  const spot: PictureSpot | null =
    placed?.hole && samplesBox && area && shownPath && !galleryShown && !ui.showHelp && !ui.confirmStop
      ? { slot: { path: shownPath.path, cols: area.cols, rows: area.rows }, ...picturePosition(samplesBox, placed) }
      : null;
  const sink = options.frameSink;
  useLayoutEffect(() => {
    sink?.(rows, spot);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sink, rows, spot?.slot.path, spot?.slot.cols, spot?.slot.rows, spot?.row, spot?.col]);
  if (sink) return null;
  return <Screen rows={rows} cols={size.cols} />;
}
