import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  GRAPHICS_QUERY,
  graphicsPixelSize,
  parseGraphicsReplies,
  protocolFromEnvironment,
  protocolFromReplies,
} from '../../src/ui/graphicsSupport.js';

describe('protocolFromEnvironment', () => {
  const cases: Array<[string, NodeJS.ProcessEnv, ReturnType<typeof protocolFromEnvironment>]> = [
    ['no TERM at all', {}, 'blocks'],
    ['empty TERM', { TERM: '' }, 'blocks'],
    ['dumb terminal', { TERM: 'dumb' }, 'blocks'],
    ['plain xterm: only a query can tell', { TERM: 'xterm-256color' }, 'ask'],
    ['foot', { TERM: 'foot' }, 'ask'],
    ['kitty by TERM', { TERM: 'xterm-kitty' }, 'kitty'],
    ['kitty with TERM overridden', { TERM: 'xterm-256color', KITTY_WINDOW_ID: '3' }, 'kitty'],
    ['ghostty by TERM_PROGRAM', { TERM: 'xterm-256color', TERM_PROGRAM: 'ghostty' }, 'kitty'],
    ['ghostty TERM_PROGRAM in other case', { TERM: 'xterm-256color', TERM_PROGRAM: 'Ghostty' }, 'kitty'],
    ['ghostty by TERM', { TERM: 'xterm-ghostty' }, 'kitty'],
    ['iTerm2', { TERM: 'xterm-256color', TERM_PROGRAM: 'iTerm.app' }, 'iterm2'],
    ['WezTerm', { TERM: 'xterm-256color', TERM_PROGRAM: 'WezTerm' }, 'iterm2'],
    ['iTerm2 over SSH: only LC_TERMINAL survives', { TERM: 'xterm-256color', LC_TERMINAL: 'iTerm2', SSH_CONNECTION: '1 2 3 4' }, 'iterm2'],
    ['tmux wins over kitty env', { TMUX: '/tmp/tmux-1000/default,1,0', TERM: 'tmux-256color', KITTY_WINDOW_ID: '1' }, 'blocks'],
    ['tmux wins even with the outer TERM kept', { TMUX: '/tmp/tmux-1000/default,1,0', TERM: 'xterm-kitty' }, 'blocks'],
    ['tmux wins over LC_TERMINAL', { TMUX: '/tmp/t,1,0', TERM: 'xterm-256color', LC_TERMINAL: 'iTerm2' }, 'blocks'],
    ['screen by TERM', { TERM: 'screen-256color', TERM_PROGRAM: 'iTerm.app' }, 'blocks'],
    ['tmux TERM without TMUX (e.g. over SSH)', { TERM: 'tmux-256color', TERM_PROGRAM: 'WezTerm' }, 'blocks'],
    ['empty TMUX is not tmux', { TMUX: '', TERM: 'xterm-kitty' }, 'kitty'],
  ];
  it.each(cases)('%s', (_name, env, expected) => {
    expect(protocolFromEnvironment(env)).toBe(expected);
  });
});

describe('GRAPHICS_QUERY', () => {
  it('asks kitty, then the cell size, then DA1 last', () => {
    const kitty = GRAPHICS_QUERY.indexOf('\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\');
    const cell = GRAPHICS_QUERY.indexOf('\x1b[16t');
    expect(kitty).toBe(0);
    expect(cell).toBeGreaterThan(kitty);
    expect(GRAPHICS_QUERY.endsWith('\x1b[c')).toBe(true);
  });
});

const KITTY_OK = '\x1b_Gi=31;OK\x1b\\';
const CELL = '\x1b[6;20;10t';
const DA1_PLAIN = '\x1b[?62;22c';
const DA1_SIXEL = '\x1b[?63;1;2;4;6;9;15;22c';

/** The input library strips a leading ESC from some events. */
const stripLeadingEsc = (piece: string): string => (piece.startsWith('\x1b') ? piece.slice(1) : piece);

describe('parseGraphicsReplies', () => {
  it('is incomplete with nothing yet', () => {
    expect(parseGraphicsReplies('')).toEqual({ complete: false, kitty: false, sixel: false, cellPx: null });
  });

  it('reads a kitty terminal: OK, cell size, DA1 without sixel', () => {
    expect(parseGraphicsReplies(KITTY_OK + CELL + DA1_PLAIN)).toEqual({
      complete: true,
      kitty: true,
      sixel: false,
      cellPx: { width: 10, height: 20 },
    });
  });

  it('reads a sixel terminal with no kitty reply', () => {
    expect(parseGraphicsReplies('\x1b[6;17;8t' + DA1_SIXEL)).toEqual({
      complete: true,
      kitty: false,
      sixel: true,
      cellPx: { width: 8, height: 17 },
    });
  });

  it('reads a terminal that answers DA1 only', () => {
    expect(parseGraphicsReplies(DA1_PLAIN)).toEqual({ complete: true, kitty: false, sixel: false, cellPx: null });
  });

  it('does not mistake DA1 parameters 14, 24 or 44 for sixel (4)', () => {
    expect(parseGraphicsReplies('\x1b[?64;14;24;44c').sixel).toBe(false);
    expect(parseGraphicsReplies('\x1b[?4c').sixel).toBe(true);
    expect(parseGraphicsReplies('\x1b[?62;4c').sixel).toBe(true);
  });

  it('needs OK for our id 31 from kitty', () => {
    expect(parseGraphicsReplies('\x1b_Gi=31;ENOTSUPPORTED:no\x1b\\' + DA1_PLAIN).kitty).toBe(false);
    expect(parseGraphicsReplies('\x1b_Gi=32;OK\x1b\\' + DA1_PLAIN).kitty).toBe(false);
    expect(parseGraphicsReplies('\x1b_Gi=311;OK\x1b\\' + DA1_PLAIN).kitty).toBe(false);
    expect(parseGraphicsReplies('\x1b_Gi=31,I=4;OK\x1b\\' + DA1_PLAIN).kitty).toBe(true);
  });

  it('treats a 0×0 cell size as unknown', () => {
    expect(parseGraphicsReplies('\x1b[6;0;0t' + DA1_PLAIN).cellPx).toBeNull();
  });

  it('reads replies whose pieces lost their leading ESC', () => {
    const pieces = [KITTY_OK, CELL, DA1_SIXEL].map(stripLeadingEsc);
    expect(pieces[0]).toBe('_Gi=31;OK\x1b\\');
    expect(parseGraphicsReplies(pieces.join(''))).toEqual({
      complete: true,
      kitty: true,
      sixel: true,
      cellPx: { width: 10, height: 20 },
    });
  });

  it('reads replies interleaved with key presses and other sequences', () => {
    const text = 'j' + KITTY_OK + '\x1b[B' + 'q' + CELL + '\x1b[I' + DA1_SIXEL + 'k';
    expect(parseGraphicsReplies(text)).toEqual({ complete: true, kitty: true, sixel: true, cellPx: { width: 10, height: 20 } });
  });

  it('gives the same answer however the replies are split into pieces', () => {
    const full = KITTY_OK + CELL + DA1_SIXEL;
    const whole = parseGraphicsReplies(full);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: full.length - 1 }), { maxLength: 6 }), (cuts) => {
        const bounds = [0, ...cuts.sort((a, b) => a - b), full.length];
        const pieces = bounds.slice(0, -1).map((b, k) => full.slice(b, bounds[k + 1]));
        expect(parseGraphicsReplies(pieces.map(stripLeadingEsc).join(''))).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  it('is incomplete until the DA1 reply has fully arrived', () => {
    const full = KITTY_OK + CELL + DA1_SIXEL;
    for (let k = 0; k < full.length; k++) expect(parseGraphicsReplies(full.slice(0, k)).complete).toBe(false);
    expect(parseGraphicsReplies(full).complete).toBe(true);
  });
});

describe('protocolFromReplies', () => {
  const r = (kitty: boolean, sixel: boolean) => ({ complete: true, kitty, sixel, cellPx: null });
  it.each([
    [r(true, true), 'kitty'],
    [r(true, false), 'kitty'],
    [r(false, true), 'sixel'],
    [r(false, false), 'blocks'],
  ] as const)('%o → %s', (replies, expected) => {
    expect(protocolFromReplies(replies)).toBe(expected);
  });

  it('chains with the parser', () => {
    expect(protocolFromReplies(parseGraphicsReplies(DA1_SIXEL))).toBe('sixel');
    expect(protocolFromReplies(parseGraphicsReplies(DA1_PLAIN))).toBe('blocks');
  });
});

describe('graphicsPixelSize', () => {
  const cell = { width: 10, height: 20 };
  it.each([
    ['wide image limited by width', 40, 20, cell, { width: 1000, height: 500 }, { width: 400, height: 200 }],
    ['tall image limited by height', 40, 20, cell, { width: 500, height: 1000 }, { width: 200, height: 400 }],
    ['small image enlarged at most 2×', 40, 20, cell, { width: 50, height: 30 }, { width: 100, height: 60 }],
    ['unknown cells assume 10×20', 40, 20, null, { width: 1000, height: 1000 }, { width: 400, height: 400 }],
    ['0×0 cells count as unknown', 40, 20, { width: 0, height: 0 }, { width: 1000, height: 1000 }, { width: 400, height: 400 }],
    ['real cell size used', 10, 10, { width: 8, height: 16 }, { width: 1024, height: 1024 }, { width: 80, height: 80 }],
    ['never below 1 px', 1, 1, cell, { width: 10_000, height: 1 }, { width: 10, height: 1 }],
    ['empty image', 10, 10, cell, { width: 0, height: 0 }, { width: 1, height: 1 }],
    ['no cells', 0, 5, cell, { width: 64, height: 64 }, { width: 1, height: 1 }],
  ] as const)('%s', (_name, cols, rows, cellPx, image, expected) => {
    expect(graphicsPixelSize(cols, rows, cellPx, image)).toEqual(expected);
  });

  it('always fits the box, keeps aspect to within a pixel and never passes 2× (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 4, max: 30 }),
        fc.integer({ min: 8, max: 60 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 5000 }),
        (cols, rows, cw, ch, iw, ih) => {
          const { width, height } = graphicsPixelSize(cols, rows, { width: cw, height: ch }, { width: iw, height: ih });
          expect(width).toBeGreaterThanOrEqual(1);
          expect(height).toBeGreaterThanOrEqual(1);
          expect(width).toBeLessThanOrEqual(Math.max(1, Math.min(cols * cw, 2 * iw)));
          expect(height).toBeLessThanOrEqual(Math.max(1, Math.min(rows * ch, 2 * ih)));
          // One side is at a limit (box or 2×), unless clamped to 1 px.
          const atLimit =
            width === Math.min(cols * cw, 2 * iw) || height === Math.min(rows * ch, 2 * ih) || width === 1 || height === 1;
          expect(atLimit).toBe(true);
          if (width > 1 && height > 1) {
            expect(Math.abs(width * ih - height * iw)).toBeLessThanOrEqual(Math.max(iw, ih));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
