// The baseline of the `gpu` measurement, run as its own node process (usually under strace):
// systeminformation's graphics() polled every INTERVAL_MS for SECONDS, as a dashboard built on it
// would poll its GPU figures.
//
//   node bench/lib/siGraphicsChild.js SECONDS INTERVAL_MS
//
// A call starts every INTERVAL_MS from the moment the module is loaded; a tick that finds the
// previous call still running is skipped (never two at once, as lora-top's compute-apps query).
// At the end of the window no new call starts; the one in flight is awaited, then a JSON report
// goes to stdout: calls made and skipped, each call's duration, what the last call returned (GPU
// names, to check it saw the stand-in), and how long the event loop was blocked
// (perf_hooks.monitorEventLoopDelay, which systeminformation's execSync/execFileSync calls show up in).
import { monitorEventLoopDelay } from 'node:perf_hooks';

const seconds = Number(process.argv[2] ?? 60);
const intervalMs = Number(process.argv[3] ?? 1000);

const t0 = Date.now();
const mod = await import('systeminformation');
const si = typeof mod.graphics === 'function' ? mod : mod.default;
const loadMs = Date.now() - t0;

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
// the longest gap between two 10 ms ticks of a timer: a second, coarser view of blocking
let lastTick = performance.now();
let longestGapMs = 0;
const ticker = setInterval(() => {
  const now = performance.now();
  longestGapMs = Math.max(longestGapMs, now - lastTick);
  lastTick = now;
}, 10);

const durations = [];
let skipped = 0;
let errors = 0;
let last = null;
let inFlight = null;
const windowStart = performance.now();

const tick = () => {
  if (inFlight) {
    skipped++;
    return;
  }
  const start = performance.now();
  inFlight = si
    .graphics()
    .then(
      (g) => {
        last = g;
      },
      () => {
        errors++;
      },
    )
    .finally(() => {
      durations.push(performance.now() - start);
      inFlight = null;
    });
};

tick();
const poll = setInterval(tick, intervalMs);
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
clearInterval(poll);
const windowMs = performance.now() - windowStart;
if (inFlight) await inFlight;
clearInterval(ticker);
delay.disable();

const ms = (ns) => Math.round(ns / 1e4) / 100;
process.stdout.write(
  `${JSON.stringify({
    seconds,
    intervalMs,
    loadMs,
    windowMs: Math.round(windowMs),
    calls: durations.length,
    skipped,
    errors,
    durationsMs: durations.map((d) => Math.round(d * 10) / 10),
    controllers: (last?.controllers ?? []).map((c) => ({ vendor: c.vendor, model: c.model, name: c.name ?? null, busAddress: c.busAddress, memoryUsed: c.memoryUsed ?? null })),
    eventLoop: {
      maxMs: ms(delay.max),
      p99Ms: ms(delay.percentile(99)),
      meanMs: ms(delay.mean),
      longestTimerGapMs: Math.round(longestGapMs * 10) / 10,
    },
  })}\n`,
);
