// node bench/children/watchRunOpen.js LOG STEP
// Opens LOG as the dashboard does (watchRun: what the log holds is read back, then followed) and
// prints one JSON object: the time from just before watchRun to the first state at STEP (the log's
// last step: everything it held has been read), this process's peak RSS, and that state's figures.
import { watchRun } from '../../dist/run/watchRun.js';

const [logPath, stepText] = process.argv.slice(2);
const step = Number(stepText);
if (!logPath || !Number.isFinite(step)) {
  process.stderr.write('usage: node bench/children/watchRunOpen.js LOG STEP\n');
  process.exit(2);
}
const t0 = performance.now();
const watch = watchRun({ kind: 'log', logPath, folder: null }, { control: null, gpu: { enabled: false }, notifyMs: 1, rescanMs: 600_000 });
const done = (state) => {
  const ms = performance.now() - t0;
  const { name, step, totalSteps, loss, lr } = state;
  process.stdout.write(`${JSON.stringify({ ms, maxRssKiB: process.resourceUsage().maxRSS, state: { name, step, totalSteps, loss, lr } })}\n`);
  void watch.close().then(() => process.exit(0));
};
if (watch.getState().step === step) done(watch.getState());
else {
  const stop = watch.subscribe((state) => {
    if (state.step !== step) return;
    stop();
    done(state);
  });
}
