import { fitLines, run, title, type ViewLine } from '../viewLine.js';
import type { Panel } from './panel.js';

/** The last lines of the training log (`l`), each bar only in its newest state. */

export const logPanel: Panel = {
  id: 'log',
  place: 'bottom',
  priority: 6,
  wants: ({ ui }) => (ui.showLog ? { min: 4, ideal: 8, max: 12 } : null),
  build({ run: state, glyphs }, box) {
    if (box.rows <= 0) return [];
    const shown = state.recentLines.slice(-(box.rows - 1));
    const lines: ViewLine[] = [title('Log', box.cols, glyphs), ...shown.map((l) => [run(l.text, l.bar !== null ? 'dim' : null)])];
    return fitLines(lines, box.cols, glyphs);
  },
  key: ({ run: state, glyphs }, box) => `${box.cols}x${box.rows}|${state.recentLines.length}|${state.recentLines[state.recentLines.length - 1]?.text}|${glyphs}`,
};
