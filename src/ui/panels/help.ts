import { helpRows } from '../keymap.js';
import { fitLines, run, title, type ViewLine } from '../viewLine.js';
import type { Panel } from './panel.js';

/** `?`: every key from the keymap, with why it cannot act right now where it cannot. */

export const helpPanel: Panel = {
  id: 'help',
  place: 'overlay',
  priority: 1,
  wants: ({ ui }) => (ui.showHelp ? { min: 1, ideal: Number.POSITIVE_INFINITY, max: Number.POSITIVE_INFINITY } : null),
  build({ keys, glyphs }, box) {
    const lines: ViewLine[] = [title('Keys', box.cols, glyphs)];
    for (const row of helpRows(keys)) {
      const line: ViewLine = [run(` ${row.label.padEnd(7)}`, 'key'), run(row.help)];
      if (row.unavailable) line.push(run(`  (not now: ${row.unavailable})`, 'dim'));
      lines.push(line);
    }
    lines.push([]);
    lines.push([run(' Quitting lora-top never stops or pauses the training run.', 'dim')]);
    return fitLines(lines, box.cols, glyphs).slice(0, box.rows);
  },
};
