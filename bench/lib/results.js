// bench/results.json: one flat object that every measurement merges its figures into.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

export function machineInfo() {
  const list = cpus();
  return {
    cores: list.length,
    node: process.version,
    cpu: list[0]?.model?.trim() || 'unknown',
  };
}

/** Merges `figures` into the JSON object at `path` (created if missing), adds machine and timestamp. */
export function mergeResults(path, figures) {
  let previous = {};
  if (existsSync(path)) {
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) previous = parsed;
    } catch {
      // unreadable: start afresh
    }
  }
  const merged = { ...previous, ...figures, machine: machineInfo(), timestamp: new Date().toISOString() };
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(merged, null, 2)}\n`);
  renameSync(tmp, path);
  return merged;
}
