import { styleFor, type TextStyle, type ThemeName } from './theme.js';
import type { ViewLine, ViewStyle } from './viewLine.js';

/**
 * A styled line as one string with SGR codes, so that Ink lays out and draws one text node per
 * line instead of one per styled run. Pure. Only the view's own text goes in: what came from the
 * run was stripped of control sequences when the view model was built.
 */

const FOREGROUND: Record<string, number> = {
  black: 30,
  red: 31,
  green: 32,
  yellow: 33,
  blue: 34,
  magenta: 35,
  cyan: 36,
  white: 37,
  gray: 90,
  grey: 90,
};

function sgr(style: TextStyle): string {
  const codes: number[] = [];
  if (style.bold) codes.push(1);
  if (style.dimColor) codes.push(2);
  if (style.inverse) codes.push(7);
  const fg = style.color ? FOREGROUND[style.color] : undefined;
  if (fg !== undefined) codes.push(fg);
  const bg = style.backgroundColor ? FOREGROUND[style.backgroundColor] : undefined;
  if (bg !== undefined) codes.push(bg + 10);
  return codes.length > 0 ? `\x1b[${codes.join(';')}m` : '';
}

/** Each theme's SGR code for each style, made once. */
const codes = new Map<ThemeName, Map<ViewStyle, string>>();

function codeFor(theme: ThemeName, style: ViewStyle): string {
  let forTheme = codes.get(theme);
  if (!forTheme) codes.set(theme, (forTheme = new Map()));
  let code = forTheme.get(style);
  if (code === undefined) forTheme.set(style, (code = sgr(styleFor(theme, style))));
  return code;
}

export function lineToAnsi(line: ViewLine, theme: ThemeName): string {
  let out = '';
  let open = '';
  for (const run of line) {
    if (run.text.length === 0) continue;
    if (run.cells !== undefined) {
      // An image row brings its own colours and ends with a reset.
      if (open) out += '\x1b[0m';
      open = '';
      out += run.text;
      continue;
    }
    const code = codeFor(theme, run.style);
    if (code !== open) {
      if (open) out += '\x1b[0m';
      out += code;
      open = code;
    }
    out += run.text;
  }
  return open ? `${out}\x1b[0m` : out;
}
