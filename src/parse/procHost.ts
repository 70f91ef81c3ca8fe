/**
 * The host's memory and CPU times from Linux's /proc files, read as text (pure). The monitor reads
 * each file once a sample; systeminformation's mem(), which it replaces on Linux, read
 * /proc/meminfo seven times a call (os.totalmem() and os.freemem() each read it again).
 */

export interface HostMemory {
  totalBytes: number;
  /** Total less MemAvailable (what systeminformation calls `active`); less free, buffers, cache and slab where the kernel has no MemAvailable. */
  usedBytes: number;
  swapTotalBytes: number;
  swapUsedBytes: number;
}

/** `/proc/meminfo`'s figures (kB); null when MemTotal is missing. */
export function parseMeminfo(text: string): HostMemory | null {
  const kb = (key: string): number | null => {
    const at = text.indexOf(`\n${key}:`);
    const start = at >= 0 ? at + key.length + 2 : text.startsWith(`${key}:`) ? key.length + 1 : -1;
    if (start < 0) return null;
    const match = /^\s*(\d+)/.exec(text.slice(start, start + 32));
    return match ? Number(match[1]) * 1024 : null;
  };
  const total = kb('MemTotal');
  if (total === null || total <= 0) return null;
  const available = kb('MemAvailable') ?? (kb('MemFree') ?? 0) + (kb('Buffers') ?? 0) + (kb('Cached') ?? 0) + (kb('Slab') ?? 0);
  const swapTotal = kb('SwapTotal') ?? 0;
  return { totalBytes: total, usedBytes: Math.max(0, total - available), swapTotalBytes: swapTotal, swapUsedBytes: Math.max(0, swapTotal - (kb('SwapFree') ?? 0)) };
}

/** CPU time (any unit), busy and in all, from `/proc/stat`'s first line; null when it has none. */
export function parseProcStatCpu(text: string): { busy: number; total: number } | null {
  const line = text.split('\n', 1)[0] ?? '';
  if (!line.startsWith('cpu ')) return null;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest is already counted in user)
  const f = (i: number): number => {
    const x = v[i];
    return x !== undefined && Number.isFinite(x) ? x : 0;
  };
  const idle = f(3) + f(4);
  const total = f(0) + f(1) + f(2) + f(3) + f(4) + f(5) + f(6) + f(7);
  return total > 0 ? { busy: total - idle, total } : null;
}
