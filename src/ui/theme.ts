import type { RunStatus } from '../state/runState.js';
import type { ViewStyle } from './viewLine.js';

/** Colours for the view's styles. `mono` (and NO_COLOR) uses none: only bold, dim and inverse. Pure. */

export type ThemeName = 'dark' | 'light' | 'mono';

export interface TextStyle {
  color?: string;
  backgroundColor?: string;
  bold?: boolean;
  dimColor?: boolean;
  inverse?: boolean;
}

const STATUS_COLOUR: Record<RunStatus | 'queued', string> = {
  queued: 'white',
  starting: 'yellow',
  preparing: 'yellow',
  sampling: 'magenta',
  training: 'green',
  saving: 'cyan',
  stopped: 'gray',
  failed: 'red',
  completed: 'blue',
};

const DARK: Record<string, TextStyle> = {
  raw: { color: 'gray' },
  smooth: { color: 'cyan', bold: true },
  marker: { color: 'yellow', dimColor: true },
  target: { color: 'yellow' },
  axis: { color: 'gray' },
  label: { color: 'gray' },
  fill: { color: 'green' },
  empty: { color: 'gray', dimColor: true },
  warn: { color: 'yellow', bold: true },
  title: { bold: true },
  dim: { dimColor: true },
  bad: { color: 'red', bold: true },
  good: { color: 'green', bold: true },
  key: { color: 'cyan', bold: true },
  value: {},
};

const LIGHT: Record<string, TextStyle> = {
  ...DARK,
  raw: { color: 'gray' },
  smooth: { color: 'blue', bold: true },
  marker: { color: 'magenta' },
  target: { color: 'magenta' },
  fill: { color: 'green' },
  warn: { color: 'red', bold: true },
  key: { color: 'blue', bold: true },
};

const MONO: Record<string, TextStyle> = {
  smooth: { bold: true },
  warn: { bold: true },
  title: { bold: true },
  dim: { dimColor: true },
  bad: { bold: true, inverse: true },
  good: { bold: true },
  key: { bold: true },
  empty: { dimColor: true },
  raw: { dimColor: true },
};

/** One colour a run in the comparison (under NO_COLOR each run has its own glyph instead). */
export const SERIES_COLOURS = ['cyan', 'magenta', 'yellow', 'green', 'red', 'blue', 'white'] as const;

export function styleFor(theme: ThemeName, style: ViewStyle): TextStyle {
  if (style === null) return {};
  if (style === 'selected') return { inverse: true };
  if (style.startsWith('series:')) {
    if (theme === 'mono') return {};
    const colour = SERIES_COLOURS[Number(style.slice(7)) % SERIES_COLOURS.length]!;
    return { color: theme === 'light' && colour === 'white' ? 'black' : colour, bold: true };
  }
  if (style.startsWith('status:')) {
    const status = style.slice(7) as RunStatus | 'queued';
    if (theme === 'mono') return { inverse: true, bold: true };
    return { backgroundColor: STATUS_COLOUR[status], color: 'black', bold: true };
  }
  const table = theme === 'dark' ? DARK : theme === 'light' ? LIGHT : MONO;
  return table[style] ?? {};
}

/** NO_COLOR (any non-empty value) wins over the theme asked for, as https://no-color.org says. */
export function chooseTheme(requested: ThemeName | undefined, env: NodeJS.ProcessEnv): ThemeName {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 'mono';
  return requested ?? 'dark';
}

/** Terminals that cannot draw UTF-8 (braille, blocks, rules), whatever the locale says. */
const ASCII_TERMINALS = /^(?:linux|dumb|vt\d+|vt\d+-.*|cons25|ansi|cygwin)$/;

/**
 * Braille and block glyphs, unless something says the terminal cannot draw them: `--ascii`, a
 * `TERM` without UTF-8 (the `linux` console, `vt100`, `dumb`), or a locale that names another
 * charset (`en_US.ISO-8859-1`). An unset, `C` or `POSIX` locale says nothing about the terminal on
 * the person's desk — it is what a rented GPU box's container gives an SSH session — and Node writes
 * UTF-8 whatever the locale: UTF-8 is assumed there.
 */
export function chooseGlyphs(asciiFlag: boolean, env: NodeJS.ProcessEnv): 'unicode' | 'ascii' {
  if (asciiFlag) return 'ascii';
  if (ASCII_TERMINALS.test(env.TERM ?? '')) return 'ascii';
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  const charset = /^[^.@]*\.([^@]+)/.exec(locale)?.[1];
  if (charset === undefined || /^utf-?8$/i.test(charset)) return 'unicode';
  return 'ascii';
}

/** 24-bit colour where the terminal says it has it (COLORTERM), else the 256-colour palette. */
export function chooseImageMode(env: NodeJS.ProcessEnv): 'truecolor' | '256' {
  return /truecolor|24bit/i.test(env.COLORTERM ?? '') ? 'truecolor' : '256';
}
