// node bench/children/followFloor.js LOG [--tick-only]
// The floor of the dashboard's design, for the CPU figure: a bare node process that follows LOG as
// lora-top does — fs.watch on its folder plus a 1 s poll, one fstat and one read per event, the new
// bytes decoded as UTF-8 and split at \r and \n — and writes a frame of the dashboard's size
// (1.3 KB, in a synchronized update) every 2 s. No parsing, no state, no view, no React: what any
// Node program that keeps every tqdm update live and redraws every two seconds costs at least.
// With --tick-only it reads the log only just before each frame (no fs.watch, no poll): the floor of
// a design that wakes only to draw, for comparison.
import { closeSync, fstatSync, openSync, readSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: node bench/children/followFloor.js LOG\n');
  process.exit(2);
}
const fd = openSync(path, 'r');
const decoder = new StringDecoder('utf8');
const buf = Buffer.allocUnsafe(1 << 16);
let position = 0;
let segments = 0;
function step() {
  const size = fstatSync(fd).size;
  while (position < size) {
    const n = readSync(fd, buf, 0, buf.length, position);
    if (n <= 0) break;
    position += n;
    const text = decoder.write(buf.subarray(0, n));
    for (let i = 0; ; ) {
      const cr = text.indexOf('\r', i);
      const lf = text.indexOf('\n', i);
      const k = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      if (k < 0) break;
      segments++;
      i = k + 1;
    }
  }
}
step();
const tickOnly = process.argv[3] === '--tick-only';
if (!tickOnly) {
  const name = basename(path);
  watch(dirname(path), (_event, file) => {
    if (file === null || file === name) step();
  });
  setInterval(step, 1000);
}
const frame = `\x1b[?2026h\x1b[H${'x'.repeat(1300)}\x1b[?2026l`;
setInterval(() => {
  if (tickOnly) step();
  process.stdout.write(`${frame}${segments % 10}`);
}, 2000);
process.stdin.setRawMode?.(true);
process.stdin.on('data', (d) => {
  if (d.includes(0x71 /* q */)) {
    closeSync(fd);
    process.exit(0);
  }
});
