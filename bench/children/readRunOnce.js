// node bench/children/readRunOnce.js LOG
// Reads LOG to its final state with readRunOnce (as `lora-top LOG --once` does, without the folder)
// and prints one JSON object: the read's elapsed time (from just before the read to just after),
// this process's peak RSS, and the parts of the state a measurement checks.
import { readRunOnce } from '../../dist/run/watchRun.js';

const logPath = process.argv[2];
if (!logPath) {
  process.stderr.write('usage: node bench/children/readRunOnce.js LOG\n');
  process.exit(2);
}
const t0 = performance.now();
const state = await readRunOnce({ kind: 'log', logPath, folder: null });
const ms = performance.now() - t0;
const { name, status, step, totalSteps, loss, lr, resume, lastCheckpoint, error } = state;
process.stdout.write(
  `${JSON.stringify({
    ms,
    maxRssKiB: process.resourceUsage().maxRSS,
    state: { name, status, step, totalSteps, loss, lr, resume, lastCheckpoint, error },
  })}\n`,
);
