import { estimateFinish } from '../state/eta.js';
import type { RunWatch } from '../run/watchRun.js';
import { textSnapshot } from '../view/snapshot.js';

/**
 * A plain live view: the snapshot lines, redrawn in place once a second and whenever the run
 * changes (at most ten times a second). It stands until the Ink dashboard replaces it.
 * Resolves when the user quits (q, Ctrl-C) or the terminal goes away; the run is never touched.
 */
export function showLiveText(watch: RunWatch, target: number): Promise<void> {
  const out = process.stdout;
  const input = process.stdin;
  let drawnLines = 0;
  let last = '';

  const draw = () => {
    const text = textSnapshot(watch.getState(), estimateFinish(watch.getState(), Date.now(), target), Date.now());
    if (text === last) return;
    last = text;
    const up = drawnLines > 0 ? `\x1b[${drawnLines}F` : '';
    const width = out.columns ?? 80;
    const lines = text.trimEnd().split('\n').map((line) => (line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line));
    out.write(`${up}\x1b[J${lines.join('\n')}\n`);
    drawnLines = lines.length;
  };

  return new Promise<void>((resolve) => {
    const unsubscribe = watch.subscribe(draw);
    const ticker = setInterval(draw, 1000);
    const rawMode = input.isTTY === true && typeof input.setRawMode === 'function';
    const finish = () => {
      clearInterval(ticker);
      unsubscribe();
      if (rawMode) {
        input.setRawMode(false);
        input.pause();
      }
      input.off('data', onKey);
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      process.off('SIGHUP', finish);
      out.write('\x1b[?25h');
      resolve();
    };
    const onKey = (data: Buffer) => {
      const key = data.toString();
      if (key === 'q' || key === 'Q' || key === '\x03') finish();
    };
    if (rawMode) {
      input.setRawMode(true);
      input.resume();
      input.on('data', onKey);
    }
    process.on('SIGINT', finish);
    process.on('SIGTERM', finish);
    process.on('SIGHUP', finish);
    out.write('\x1b[?25l');
    draw();
  });
}
