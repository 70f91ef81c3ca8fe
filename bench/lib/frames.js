// What a terminal program rewrites, frame by frame, from the raw bytes of its pty.
//
// A frame is one synchronized update, `CSI ? 2026 h` … `CSI ? 2026 l` (Ink 6 and btop both draw
// inside these brackets). The whole output of the session is replayed into a screen model
// (lib/screen.js); for each frame in the window it records which rows were written to
// ("touched"), which rows' visible text actually changed, how many cells differ, and where the
// bytes went (text, SGR style, cursor positioning, erase, other), per frame and per row. That
// tells a whole-frame redraw (every row touched, a few changed) from line diffs, and which rows
// cost the most.
import { Screen } from './screen.js';

const OPEN = Buffer.from('\x1b[?2026h');
const CLOSE = Buffer.from('\x1b[?2026l');
// eslint-disable-next-line no-control-regex
const CSI = /\x1b\[[0-9;?<>=]*[ -/]*[@-~]/g;

export const stripAnsi = (s) => s.replace(CSI, '');

/** The frames in `buf`: [{ start, end, bytes }] (byte offsets; end exclusive, brackets included). */
export function splitFrames(buf) {
  const frames = [];
  let at = buf.indexOf(OPEN);
  while (at >= 0) {
    const close = buf.indexOf(CLOSE, at + OPEN.length);
    if (close < 0) break;
    const end = close + CLOSE.length;
    frames.push({ start: at, end, bytes: end - at });
    at = buf.indexOf(OPEN, end);
  }
  return frames;
}

/** Concatenates timed chunks; returns { buf, timeAt(offset) } (the time of the chunk holding that byte). */
export function joinChunks(chunks) {
  const buf = Buffer.concat(chunks.map((c) => c.buf));
  const starts = [];
  let off = 0;
  for (const c of chunks) {
    starts.push(off);
    off += c.buf.length;
  }
  const timeAt = (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return chunks[lo]?.t ?? 0;
  };
  return { buf, timeAt };
}

function quantiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null);
  return { p10: q(0.1), p50: q(0.5), p90: q(0.9), min: sorted[0] ?? null, max: sorted.at(-1) ?? null };
}

/**
 * Frame statistics over the chunks with fromMs <= t < toMs (chunks before fromMs only build up the
 * screen). `seconds` is the window's length. With `model: false` only frames are counted.
 */
export function analyzeFrames(chunks, { fromMs, toMs, seconds, cols, rows, model = true }) {
  const before = chunks.filter((c) => c.t < fromMs);
  const inWindow = chunks.filter((c) => c.t >= fromMs && c.t < toMs);
  const { buf, timeAt } = joinChunks(inWindow);
  const frames = splitFrames(buf);
  const times = frames.map((f) => timeAt(f.end - 1));
  const intervals = times.slice(1).map((t, i) => t - times[i]);
  const inFrames = frames.reduce((s, f) => s + f.bytes, 0);
  const result = {
    bytes: buf.length,
    frames: frames.length,
    framesPerSecond: frames.length / seconds,
    bytesPerFrame: frames.length ? inFrames / frames.length : null,
    outsideFrames: buf.length - inFrames,
    intervals: quantiles(intervals),
  };
  if (!model) return result;

  const screen = new Screen(cols, rows);
  // the session so far (decoded whole: chunk boundaries may split a UTF-8 sequence)
  screen.feed(Buffer.concat(before.map((c) => c.buf)).toString('utf8'));
  const perRow = Array.from({ length: rows }, (_, row) => ({ row, touched: 0, changed: 0, bytes: 0, cellsChanged: 0, label: '' }));
  const kinds = { text: 0, style: 0, position: 0, erase: 0, other: 0 };
  let touchedRows = 0;
  let changedRows = 0;
  let cellsChanged = 0;
  let noVisibleChange = 0;
  let spanBytes = 0;
  const wrapsBefore = screen.wraps;
  const scrollsBefore = screen.scrolls;
  let pos = 0;
  const outside = (end) => {
    if (end > pos) screen.feed(buf.subarray(pos, end).toString('utf8'));
  };
  for (const f of frames) {
    outside(f.start);
    const was = screen.lines();
    const wasGrid = screen.grid.map((r) => [...r]);
    screen.resetCounters();
    screen.feed(buf.subarray(f.start, f.end).toString('utf8'));
    pos = f.end;
    const now = screen.lines();
    let changedHere = 0;
    for (const k of Object.keys(kinds)) kinds[k] += screen.bytes[k];
    for (let r = 0; r < rows; r++) {
      const row = perRow[r];
      row.bytes += screen.rowBytes[r];
      if (screen.touched.has(r)) row.touched += 1;
      if (now[r] !== was[r]) {
        row.changed += 1;
        changedHere += 1;
        let cells = 0;
        let first = -1;
        let last = -1;
        for (let c = 0; c < cols; c++) {
          if (screen.grid[r][c] === wasGrid[r][c]) continue;
          cells += 1;
          if (first < 0) first = c;
          last = c;
        }
        row.cellsChanged += cells;
        cellsChanged += cells;
        // rewriting just the changed span: CUP (ESC[rr;ccH) + the span's text, styles not counted
        if (first >= 0) spanBytes += `\x1b[${r + 1};${first + 1}H`.length + Buffer.byteLength(screen.grid[r].slice(first, last + 1).join(''), 'utf8');
      }
      row.label = now[r];
    }
    touchedRows += screen.touched.size;
    changedRows += changedHere;
    if (changedHere === 0) noVisibleChange += 1;
  }
  outside(buf.length);
  const n = frames.length || 1;
  const perFrame = (x) => (frames.length ? x / n : null);
  result.model = {
    touchedRowsPerFrame: perFrame(touchedRows),
    changedRowsPerFrame: perFrame(changedRows),
    cellsChangedPerFrame: perFrame(cellsChanged),
    spanTextBytesPerFrame: perFrame(spanBytes),
    framesWithoutVisibleChange: noVisibleChange,
    bytesPerFrameByKind: Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, perFrame(v)])),
    wraps: screen.wraps - wrapsBefore,
    scrolls: screen.scrolls - scrollsBefore,
    rows: perRow.map((r) => ({
      ...r,
      touchedShare: r.touched / n,
      changedShare: r.changed / n,
      bytesPerFrame: r.bytes / n,
      cellsPerChange: r.changed ? r.cellsChanged / r.changed : 0,
    })),
    screen: screen.lines(),
  };
  return result;
}
