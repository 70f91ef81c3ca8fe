import { footerItems } from '../keymap.js';
import { fitItems, fitLine, run } from '../viewLine.js';
import { fixedRows, type Panel } from './panel.js';

/** The keys that act now, or for a moment what a key could not do and why. */

export const footerPanel: Panel = {
  id: 'footer',
  place: 'bottom',
  priority: 0,
  wants: () => fixedRows(1),
  build({ keys, now, glyphs }, box) {
    if (keys.ui.flash && keys.ui.flash.until > now) return [fitLine([run(keys.ui.flash.text, 'warn')], box.cols, glyphs)];
    return [fitLine(fitItems(footerItems(keys).map((item) => [run(item.label, 'key'), run(` ${item.name}`, 'dim')]), box.cols, '  '), box.cols, glyphs)];
  },
};
