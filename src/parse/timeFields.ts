/**
 * Parses a tqdm interval (`SS`, `MM:SS`, `H:MM:SS`, hours unbounded: `177:04:17`) into seconds,
 * or null when the text is not one. A character scan: this runs twice for every bar state.
 */
export function parseInterval(text: string): number | null {
  const seconds = readIntervalAt(text, 0);
  return seconds >= 0 && scanEnd === text.length ? seconds : null;
}

/** Where the last successful `readIntervalAt` stopped (a module cursor: no allocation per call). */
export let scanEnd = 0;

/** Like `readInterval`, but returns -1 on failure and leaves the end in `scanEnd`. */
export function readIntervalAt(text: string, start: number): number {
  let seconds = 0;
  let part = 0;
  let digits = 0;
  let parts = 1;
  let i = start;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      digits++;
      if (parts > 1 && digits > 2) return -1;
    } else if (c === 58 /* : */) {
      if (digits === 0 || parts === 3) return -1;
      seconds = seconds * 60 + part;
      part = 0;
      digits = 0;
      parts++;
    } else {
      break;
    }
  }
  if (digits === 0) return -1;
  scanEnd = i;
  return seconds * 60 + part;
}

/** Reads an interval starting at `start`; returns its value and the index after it, or null. */
export function readInterval(text: string, start: number): { seconds: number; next: number } | null {
  const seconds = readIntervalAt(text, start);
  return seconds < 0 ? null : { seconds, next: scanEnd };
}
