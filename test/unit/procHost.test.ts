import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMeminfo, parseProcStatCpu } from '../../src/parse/procHost.js';

// The host line's memory and CPU, from Linux's /proc files as the kernel writes them.

const MEMINFO = `MemTotal:       24683584 kB
MemFree:        23977660 kB
MemAvailable:   24175936 kB
Buffers:            6824 kB
Cached:           339000 kB
SwapCached:            0 kB
Active:           223124 kB
SwapTotal:       2097148 kB
SwapFree:        1048572 kB
Slab:              61000 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
`;

describe('/proc/meminfo and /proc/stat', () => {
  it('memory in use is total less available, as systeminformation reads it; swap is total less free', () => {
    expect(parseMeminfo(MEMINFO)).toEqual({
      totalBytes: 24683584 * 1024,
      usedBytes: (24683584 - 24175936) * 1024,
      swapTotalBytes: 2097148 * 1024,
      swapUsedBytes: (2097148 - 1048572) * 1024,
    });
  });

  it('a kernel without MemAvailable (before 3.14): free, buffers, cache and slab count as available', () => {
    const old = MEMINFO.replace(/^MemAvailable:.*\n/m, '');
    expect(parseMeminfo(old)!.usedBytes).toBe((24683584 - 23977660 - 6824 - 339000 - 61000) * 1024);
    // "Cached" is not read from "SwapCached".
    expect(parseMeminfo(old.replace(/^Cached:.*\n/m, ''))!.usedBytes).toBe((24683584 - 23977660 - 6824 - 61000) * 1024);
  });

  it('no MemTotal, or not meminfo at all: null', () => {
    expect(parseMeminfo('')).toBeNull();
    expect(parseMeminfo('MemFree: 12 kB\n')).toBeNull();
    expect(parseMeminfo('<html>')).toBeNull();
  });

  it("this machine's own files read as numbers that add up", () => {
    if (!fs.existsSync('/proc/meminfo')) return;
    const memory = parseMeminfo(fs.readFileSync('/proc/meminfo', 'utf8'))!;
    expect(memory.totalBytes).toBeGreaterThan(0);
    expect(memory.usedBytes).toBeGreaterThan(0);
    expect(memory.usedBytes).toBeLessThanOrEqual(memory.totalBytes);
    const cpu = parseProcStatCpu(fs.readFileSync('/proc/stat', 'utf8'))!;
    expect(cpu.total).toBeGreaterThan(cpu.busy);
  });

  it("CPU busy and total from the first line: idle and iowait are not busy; guest is already in user", () => {
    expect(parseProcStatCpu('cpu  100 5 20 800 10 1 2 3 7 0\ncpu0 50 2 10 400 5 0 1 1 3 0\n')).toEqual({ busy: 131, total: 941 });
    expect(parseProcStatCpu('cpu0 1 2 3 4\n')).toBeNull();
    expect(parseProcStatCpu('')).toBeNull();
  });
});
