// node bench/children/isolated.js NAME CTX_JSON [the bench's own arguments]
// Runs one measurement (bench/NAME.js) in a process of its own, so that what it measures of this
// process (the fuzz's heap) is not shaped by the measurements run before it in the harness. Its
// { rows, results, notes } go out as JSON on fd 3; its log lines on stderr, its output on stdout.
import { createWriteStream } from 'node:fs';

const [name, ctxJson] = process.argv.slice(2);
const ctx = { ...JSON.parse(ctxJson), log: (message) => process.stderr.write(`  ${message}\n`) };
const measurement = await import(new URL(`../${name}.js`, import.meta.url));
const out = await measurement.run(ctx);
await new Promise((resolve) => createWriteStream('', { fd: 3 }).end(JSON.stringify(out), resolve));
