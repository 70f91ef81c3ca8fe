// node bench/lib/rssWrapper.js SCRIPT [ARGS...]
// Runs SCRIPT as if it were the main script (process.argv = [node, SCRIPT, ...ARGS]) and, when the
// process exits, writes {"maxRssKiB", "wallMs"} to fd 3 (see child.js). wallMs counts from just
// before SCRIPT is imported. Used so that a measured program needs no changes to report its RSS.
import { writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [script, ...args] = process.argv.slice(2);
if (!script) {
  process.stderr.write('usage: node rssWrapper.js SCRIPT [ARGS...]\n');
  process.exit(2);
}
const target = resolve(script);
process.argv = [process.argv[0], target, ...args];

const t0 = performance.now();
process.on('exit', () => {
  const report = JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, wallMs: performance.now() - t0 });
  try {
    writeSync(3, report);
  } catch {
    // fd 3 is not open: started by hand
  }
});
await import(pathToFileURL(target).href);
