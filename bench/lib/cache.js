// Generated inputs, cached under bench/tmp/ and made again when missing or made by another version.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Returns { path, meta } for a generated file. `make()` returns { text | buffer, meta }; it runs when
 * the file or its `.json` sidecar is missing, when the sidecar's `version` differs, or when the
 * file's size is not the one recorded.
 */
export function cachedFile(path, version, make, log = () => {}) {
  const sidecar = `${path}.json`;
  if (existsSync(path) && existsSync(sidecar)) {
    try {
      const meta = JSON.parse(readFileSync(sidecar, 'utf8'));
      if (meta.version === version && statSync(path).size === meta.bytes) return { path, meta };
    } catch {
      // remake
    }
  }
  log(`generating ${path} ...`);
  const t0 = Date.now();
  const made = make();
  const data = made.buffer ?? Buffer.from(made.text, 'utf8');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  const meta = { ...made.meta, version, bytes: data.length };
  writeFileSync(sidecar, `${JSON.stringify(meta, null, 2)}\n`);
  log(`generated ${(data.length / 1e6).toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { path, meta };
}
