// Summaries of a V8 .cpuprofile (node --cpu-prof): where the time goes, by function and by file.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function where(frame) {
  let url = frame.url || '';
  if (url.startsWith('file://')) url = relative(ROOT, fileURLToPath(url));
  return url;
}

function label(frame) {
  const name = frame.functionName || '(anonymous)';
  const url = where(frame);
  return url ? `${name} ${url}:${frame.lineNumber + 1}` : name;
}

/**
 * Reads a profile and returns { totalMs, self, inclusive, byFile, byOwner } (lists of {label, ms},
 * largest first). Inclusive times count a sample once per function even when it recurses.
 * byOwner charges each sample to the nearest frame on its stack that has a file (so a RegExp or a
 * builtin counts for the function of ours that called it); `owner(file)` may rename files into
 * groups (pipeline stages).
 */
export function summarizeProfile(path, { filter = () => true, owner = (file) => file } = {}) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const selfMs = new Map();
  const inclMs = new Map();
  const fileMs = new Map();
  const ownerMs = new Map();
  let totalMs = 0;
  const deltas = profile.timeDeltas ?? [];
  profile.samples.forEach((id, i) => {
    // timeDeltas[i] is the time before sample i; attribute the following gap to it, as DevTools does
    const ms = (deltas[i + 1] ?? 0) / 1000;
    totalMs += ms;
    const node = nodes.get(id);
    const key = label(node.callFrame);
    selfMs.set(key, (selfMs.get(key) ?? 0) + ms);
    const fn = node.callFrame.functionName || '(native)';
    const bare = fn.startsWith('(') ? fn : `(${fn})`;
    const file = where(node.callFrame) || bare;
    fileMs.set(file, (fileMs.get(file) ?? 0) + ms);
    let own = null;
    for (let cur = id; cur !== undefined && own === null; cur = parent.get(cur)) {
      const f = where(nodes.get(cur).callFrame);
      if (f) own = f;
    }
    const group = own === null ? bare : owner(own);
    ownerMs.set(group, (ownerMs.get(group) ?? 0) + ms);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(nodes.get(cur).callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclMs.set(k, (inclMs.get(k) ?? 0) + ms);
    }
  });
  const sorted = (m) => [...m.entries()].map(([label, ms]) => ({ label, ms })).sort((a, b) => b.ms - a.ms);
  return {
    totalMs,
    self: sorted(selfMs),
    inclusive: sorted(inclMs).filter((e) => filter(e.label)),
    byFile: sorted(fileMs),
    byOwner: sorted(ownerMs),
  };
}

/** Text lines for a summary: top `n` by self time, by file, and inclusive for our own code. */
export function formatProfile(summary, n = 15) {
  const pct = (ms) => `${((100 * ms) / summary.totalMs).toFixed(1).padStart(5)}%`;
  const row = (e) => `  ${pct(e.ms)}  ${e.ms.toFixed(0).padStart(6)} ms  ${e.label}`;
  return [
    `profile: ${summary.totalMs.toFixed(0)} ms sampled`,
    'self time, top functions:',
    ...summary.self.slice(0, n).map(row),
    'by stage (each sample charged to the nearest caller with a file: regexes count for their caller):',
    ...summary.byOwner.slice(0, 12).map(row),
    'inclusive time, our code (dist/):',
    ...summary.inclusive.slice(0, n).map(row),
  ].join('\n');
}

/**
 * Writes a copy of the profile at `inPath` to `outPath` that keeps only the samples taken
 * between fromMs and toMs after the profile's start (e.g. a steady state, without the start-up),
 * and, with `dropIdle`, none of V8's "(idle)" samples, so that shares are of busy time. Returns
 * { keptMs, idleMs } (idleMs: the idle time inside the span that was dropped).
 */
export function sliceProfile(inPath, outPath, { fromMs = 0, toMs = Infinity, dropIdle = true } = {}) {
  const profile = JSON.parse(readFileSync(inPath, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const deltas = profile.timeDeltas ?? [];
  const samples = [];
  const gaps = [];
  let t = 0;
  let keptMs = 0;
  let idleMs = 0;
  profile.samples.forEach((id, i) => {
    t += (deltas[i] ?? 0) / 1000;
    const gap = (deltas[i + 1] ?? 0) / 1000;
    if (t < fromMs || t >= toMs) return;
    if (dropIdle && nodes.get(id)?.callFrame.functionName === '(idle)') {
      idleMs += gap;
      return;
    }
    samples.push(id);
    gaps.push(gap);
    keptMs += gap;
  });
  // summarizeProfile charges sample i with timeDeltas[i + 1]
  const timeDeltas = [0, ...gaps.map((g) => Math.round(g * 1000))].slice(0, samples.length + 1);
  writeFileSync(outPath, JSON.stringify({ ...profile, samples, timeDeltas }));
  return { keptMs, idleMs };
}
