// Bundles the compiled CLI (dist/) into dist/bundle/ with esbuild, so that start-up does not pay for
// resolving hundreds of small ESM files (ink + react unbundled take ~0.9 s to import on a small
// machine). Native modules stay outside; the dashboard, the demo and SQLite stay lazy chunks.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(`${root}dist/bundle`, { recursive: true, force: true });

await build({
  entryPoints: { main: `${root}dist/cli/main.js`, keeper: `${root}dist/control/keeper.js` },
  outdir: `${root}dist/bundle`,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  external: ['better-sqlite3', 'sharp'],
  // Ink imports react-devtools-core only when DEV is set; it is not a dependency.
  alias: { 'react-devtools-core': `${root}scripts/devtools-stub.mjs` },
  define: { 'process.env.NODE_ENV': '"production"' },
  // Some bundled CommonJS (react, yoga) calls require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __loraTopCreateRequire } from 'node:module'; const require = __loraTopCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
});
