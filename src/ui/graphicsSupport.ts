/**
 * Pure detection of which image protocol the terminal speaks: first from the
 * environment (free, instant), and where that cannot tell, from the replies to
 * a query written to the terminal. No I/O here: the caller writes
 * GRAPHICS_QUERY, collects what comes back on stdin, and feeds it to
 * parseGraphicsReplies.
 */

import type { GraphicsProtocol } from '../view/graphicsProtocol.js';

/** 'blocks' is the half-block fallback that works in every colour terminal. */
export type ImageProtocolChoice = GraphicsProtocol | 'blocks';

/** Pixel size of one terminal cell. */
export interface CellPixels {
  width: number;
  height: number;
}

export interface GraphicsReplies {
  /** The DA1 reply arrived; every terminal answers it, and after the others, so nothing more is coming. */
  complete: boolean;
  kitty: boolean;
  sixel: boolean;
  cellPx: CellPixels | null;
}

/** Cells assumed when the terminal does not say: a typical 10×20 px monospace cell. */
const DEFAULT_CELL: CellPixels = { width: 10, height: 20 };
/** Images are never blown up more than this; beyond 2× a small preview is only blur. */
const MAX_UPSCALE = 2;

const lower = (v: string | undefined): string => (v ?? '').toLowerCase();

/**
 * tmux and screen swallow graphics sequences unless wrapped for passthrough,
 * and even then placement breaks across panes, so inside them we do not try.
 */
function insideMultiplexer(env: NodeJS.ProcessEnv): boolean {
  const term = lower(env.TERM);
  return Boolean(env.TMUX) || term.startsWith('screen') || term.startsWith('tmux');
}

/** kitty itself, and ghostty which implements the kitty graphics protocol. */
function isKittyLike(env: NodeJS.ProcessEnv): boolean {
  const term = lower(env.TERM);
  return (
    Boolean(env.KITTY_WINDOW_ID) ||
    term === 'xterm-kitty' ||
    term === 'xterm-ghostty' ||
    lower(env.TERM_PROGRAM) === 'ghostty'
  );
}

/**
 * iTerm2 and WezTerm (which implements OSC 1337). LC_TERMINAL is checked
 * because iTerm2 sets it and sshd's default AcceptEnv LC_* forwards it, while
 * TERM_PROGRAM does not survive an SSH hop.
 */
function isIterm2Like(env: NodeJS.ProcessEnv): boolean {
  const program = lower(env.TERM_PROGRAM);
  return program === 'iterm.app' || program === 'wezterm' || lower(env.LC_TERMINAL) === 'iterm2';
}

/**
 * The protocol the environment vouches for, 'blocks' where graphics are out
 * of the question, or 'ask' where only a query to the terminal can tell
 * (xterm, foot, mlterm, konsole, Windows Terminal… may or may not do sixel).
 * The multiplexer check comes first because tmux keeps the outer terminal's
 * variables (KITTY_WINDOW_ID, TERM_PROGRAM) while blocking its graphics.
 */
export function protocolFromEnvironment(env: NodeJS.ProcessEnv): ImageProtocolChoice | 'ask' {
  if (insideMultiplexer(env)) return 'blocks';
  if (isKittyLike(env)) return 'kitty';
  if (isIterm2Like(env)) return 'iterm2';
  const term = lower(env.TERM);
  if (term === '' || term === 'dumb') return 'blocks';
  return 'ask';
}

/**
 * Written to the terminal to ask: a kitty graphics query (a 1×1 RGB image,
 * a=q so nothing is stored or shown; only kitty-protocol terminals answer),
 * then XTWINOPS 16 (cell size in pixels), then DA1. Terminals answer in order
 * and all of them answer DA1, so its reply marks the end of the answers.
 */
export const GRAPHICS_QUERY = '\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\' + '\x1b[16t' + '\x1b[c';

// The replies are matched without their leading ESC: the input library strips
// it from some events, and the caller concatenates the pieces it got, so an
// ESC may be missing at any piece boundary.

/** kitty's answer to our query id 31: `_Gi=31;OK` (other keys may appear beside i=31). */
const KITTY_OK = /_G(?:[^;\x1b]*,)?i=31(?:,[^;\x1b]*)?;OK/;
/** DA1: `[?<params>c`. */
const DA1 = /\[\?([0-9;]*)c/;
/** XTWINOPS 16 reply: `[6;<height>;<width>t`. */
const CELL_SIZE = /\[6;(\d+);(\d+)t/;

/** DA1 parameter 4 = "sixel graphics". Compared whole: 14 or 24 are not it. */
function da1HasSixel(params: string): boolean {
  return params.split(';').includes('4');
}

/** Cell size from the XTWINOPS reply; 0×0 (some terminals' "don't know") counts as unknown. */
function parseCellSize(text: string): CellPixels | null {
  const m = CELL_SIZE.exec(text);
  if (!m) return null;
  const height = Number(m[1]);
  const width = Number(m[2]);
  return width > 0 && height > 0 ? { width, height } : null;
}

/**
 * What the terminal's replies so far say. Call it with everything read since
 * GRAPHICS_QUERY was written (pieces concatenated, noise such as key presses
 * included); `complete` tells when to stop waiting.
 */
export function parseGraphicsReplies(text: string): GraphicsReplies {
  const da1 = DA1.exec(text);
  return {
    complete: da1 !== null,
    kitty: KITTY_OK.test(text),
    sixel: da1 !== null && da1HasSixel(da1[1] ?? ''),
    cellPx: parseCellSize(text),
  };
}

/** kitty first: it scales and keeps the image server-side, cheaper than re-sending sixels. */
export function protocolFromReplies(replies: GraphicsReplies): ImageProtocolChoice {
  if (replies.kitty) return 'kitty';
  if (replies.sixel) return 'sixel';
  return 'blocks';
}

/**
 * Pixel size at which to render an image into cols×rows cells: as large as
 * fits with the aspect ratio kept, but at most 2× the source (upscaling small
 * images further only blurs them), and never below 1×1 so encoders always get
 * a real image.
 */
export function graphicsPixelSize(
  cols: number,
  rows: number,
  cellPx: CellPixels | null,
  image: { width: number; height: number },
): { width: number; height: number } {
  const cell = cellPx && cellPx.width > 0 && cellPx.height > 0 ? cellPx : DEFAULT_CELL;
  const boxW = Math.max(0, cols) * cell.width;
  const boxH = Math.max(0, rows) * cell.height;
  if (!(image.width > 0 && image.height > 0) || boxW <= 0 || boxH <= 0) return { width: 1, height: 1 };
  const scale = Math.min(boxW / image.width, boxH / image.height, MAX_UPSCALE);
  // The epsilon stops float error (399.9999…) from costing a pixel; the clamp keeps the box.
  const fit = (src: number, box: number): number => Math.max(1, Math.min(box, Math.floor(src * scale + 1e-9)));
  return { width: fit(image.width, boxW), height: fit(image.height, boxH) };
}
