// Compiles the AssemblyScript under wasm/ to WebAssembly, and writes each module's bytes (base64)
// as a TypeScript module under src/parse/generated/ (not in git: made by every build), so that
// tsc, the bundle and the tests all take it like any other source file.
import asc from 'assemblyscript/asc';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const modules = [{ source: 'wasm/barStateScan.ts', out: 'src/parse/generated/barStateScanWasm.ts' }];

for (const { source, out } of modules) {
  let binary = null;
  const { error, stderr } = await asc.main(
    [source, '--outFile', 'module.wasm', '-O3', '--runtime', 'stub', '--noAssert', '--initialMemory', '2'],
    {
      writeFile: (name, contents) => {
        if (name.endsWith('.wasm')) binary = contents;
      },
      baseDir: root,
    },
  );
  if (error) {
    process.stderr.write(stderr.toString());
    console.error(`buildWasm: ${source}: ${error.message}`);
    process.exit(1);
  }
  const text = `// Made by scripts/buildWasm.mjs from ${source}: do not edit.\nexport const wasmBase64 =\n  '${Buffer.from(binary).toString('base64')}';\n`;
  mkdirSync(new URL('.', `file://${root}${out}`), { recursive: true });
  let old = null;
  try {
    old = readFileSync(`${root}${out}`, 'utf8');
  } catch {}
  // Unchanged bytes leave the file alone (tsc and vitest's watch see no change).
  if (old !== text) writeFileSync(`${root}${out}`, text);
}
