// node bench/children/decodeSplit.js LOG
// The floor of the backfill's design: LOG read as lora-top reads it (1 MiB reads, UTF-8 decoded in
// 32 KiB slices), each decoded piece split into segments at \r and \n (a string a segment, as the
// splitter hands them on), and nothing else: no parsing, no state. Prints {"ms", "segments"}.
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

const path = process.argv[2];
const t0 = performance.now();
const fd = openSync(path, 'r');
const buf = Buffer.allocUnsafe(1 << 20);
const decoder = new StringDecoder('utf8');
let segments = 0;
let tail = '';
for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
  for (let from = 0; from < n; from += 32 * 1024) {
    const text = decoder.write(buf.subarray(from, Math.min(n, from + 32 * 1024)));
    let i = 0;
    for (;;) {
      const cr = text.indexOf('\r', i);
      const lf = text.indexOf('\n', i);
      const k = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      if (k < 0) break;
      const segment = i === 0 && tail ? tail + text.slice(0, k) : text.slice(i, k);
      if (segment.length > 0) segments++;
      i = k + 1;
    }
    tail = text.slice(i);
  }
}
closeSync(fd);
process.stdout.write(`${JSON.stringify({ ms: performance.now() - t0, segments })}\n`);
