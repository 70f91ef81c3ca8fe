/** Short human forms of numbers and durations. Pure. */

/** 3725 → "1h02m", 250 → "4m10s", 42.4 → "42s", 0.8 → "0.8s". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  if (seconds < 10) return `${Math.max(0, seconds).toFixed(1)}s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

/** Seconds per step as people say it: "2.41 s/step", or "4.2 steps/s" when faster than one a second. */
export function formatSpeed(secondsPerStep: number | null): string {
  if (secondsPerStep === null || !(secondsPerStep > 0)) return '—';
  if (secondsPerStep >= 1) return `${secondsPerStep.toFixed(2)} s/step`;
  return `${(1 / secondsPerStep).toFixed(1)} steps/s`;
}

/** A loss or learning rate: 0.4123 → "0.4123", 9.2e-05 → "9.2e-05". */
export function formatNumber(value: number | null, digits = 4): string {
  if (value === null) return '—';
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5)) return value.toExponential(1);
  return value.toFixed(digits);
}

/** A size scaled to its unit: steps of 1024 from `from` on. */
function scaleBytes(bytes: number, from: number, units: readonly string[]): { value: number; unit: number } {
  let value = bytes;
  let unit = 0;
  while (value >= from && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return { value, unit };
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;
const SHORT_UNITS = ['B', 'K', 'M', 'G', 'T'] as const;

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '—';
  const { value, unit } = scaleBytes(bytes, 1024, UNITS);
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${UNITS[unit]}`;
}

/** "162M", "1.2G": a size in five cells at most. */
export function formatBytesShort(bytes: number | null): string {
  if (bytes === null) return '—';
  const { value, unit } = scaleBytes(bytes, 1000, SHORT_UNITS);
  return `${value < 10 && unit > 0 ? value.toFixed(1) : Math.round(value)}${SHORT_UNITS[unit]}`;
}

/** "40s", "5m", "3h", "2d": an age in three cells. */
export function formatAgeShort(seconds: number): string {
  if (seconds < 60) return `${Math.floor(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** A local clock time, "14:05" (with the date when it is not today). */
export function formatClock(ms: number, now: number): string {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return '—';
  const time = `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
  const today = new Date(now);
  if (date.toDateString() === today.toDateString()) return time;
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')} ${time}`;
}

/** Text cut into lines of at most `width` cells at spaces (a word longer than a line is cut), at most `maxLines`. */
export function wrapText(text: string, width: number, maxLines: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const candidate = line ? `${line} ${word}` : word;
    if ([...candidate].length <= width) {
      line = candidate;
      continue;
    }
    if (line) lines.push(line);
    line = [...word].length > width ? [...word].slice(0, width).join('') : word;
    if (lines.length >= maxLines) break;
  }
  if (line && lines.length < maxLines) lines.push(line);
  if (lines.length === maxLines && lines.join(' ').length < text.length) {
    // Say that it goes on.
    const last = [...lines[maxLines - 1]!];
    lines[maxLines - 1] = `${last.slice(0, Math.max(0, width - 1)).join('')}…`;
  }
  return lines;
}

/** MiB as GiB with one decimal (nvidia-smi reports MiB): 18637 → "18.2"; unknown → "?". */
export function formatGib(mib: number | null): string {
  return mib === null ? '?' : (mib / 1024).toFixed(1);
}
