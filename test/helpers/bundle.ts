import { fileURLToPath } from 'node:url';

/**
 * Bundles one source module (TypeScript, with what it imports) into a single ESM file that a child
 * `node` process can import: for tests that check a process exits by itself.
 */
export async function bundleForChild(source: URL, outfile: string): Promise<string> {
  const { build } = await import('esbuild');
  await build({ entryPoints: [fileURLToPath(source)], outfile, format: 'esm', platform: 'node', bundle: true, logLevel: 'silent' });
  return outfile;
}
