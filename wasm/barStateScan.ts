// The backfill's byte scan, in AssemblyScript (compiled to WebAssembly by scripts/buildWasm.mjs).
//
// A log read back is mostly training-bar states: hundreds of thousands of them in a long run. The
// scan over their bytes ran as JavaScript, and a fresh process spent most of a 50 MB backfill
// before V8 had compiled that code well; WebAssembly is compiled before its first call. This module
// does only what is pure in the bytes: it splits a piece into segments (at CR, LF and CR LF), and
// for each segment says whether the very next one draws it again at the same step (it is passed
// over unread) or reads it as a plain training-bar state. parse/logReader.ts decides what to do
// with each segment; parse/barStateScan.ts loads this module and reads its records.
//
// The rules are those of the text path (parse/tqdmBar.ts, parse/logReader.ts's barStateKey), made
// strict enough that the bytes mean what their characters would: see the functions below.
//
// Memory: the piece is written at INPUT by the caller, followed by SENTINEL zero bytes. The records
// follow it (recordsAt), RECORD_BYTES each: i32 slots, then f64 slots from F64_SLOT.

const INPUT: i32 = 65536;
const SENTINEL: i32 = 16;
const RECORD_BYTES: i32 = 128;
const F64_SLOT: i32 = 64;
/** Records one scan call writes at most (the caller reads them and calls again). */
const MAX_RECORDS: i32 = 4096;
/** The longest desc a pack keeps (the text path reads a `%|` only this far in). */
const MAX_DESC: i32 = 8192;
/** States one pack holds at most, and their postfixes' bytes (the caller hands a full pack on and goes on). */
const PACK_STATES: i32 = 8192;
const PACK_BYTES: i32 = 1 << 20;
/** Numbers a packed state takes (parse/trainingState.ts TRAINING_STEP_FIELDS). */
const PACK_FIELDS: i32 = 9;

// i32 slots
const R_START = 0;
const R_K = 4; // where the segment's text ends (its terminator begins)
const R_END = 8; // after its terminator
const R_LINE_FEED = 12;
const R_REDRAWN_KEY_END = 16; // >= 0: passed over, its redraw next; the key's end
const R_FAST = 20; // 1: read as a training state (the fields below), 0: not, -1: not tried
const R_DESC_END = 24;
const R_KEY_END = 28;
const R_POSTFIX_START = 32;
const R_POSTFIX_END = 36;
const R_FLAGS = 40;
const R_RATE_FROM = 52;
const R_LR_FROM = 56;
const R_LR_TO = 60;
// f64 slots
const R_N = F64_SLOT;
const R_TOTAL = F64_SLOT + 8;
const R_ELAPSED = F64_SLOT + 16;
const R_RATE = F64_SLOT + 24;
const R_LOSS = F64_SLOT + 32;
const R_LR = F64_SLOT + 40;
const R_LOSS_FROM = F64_SLOT + 48; // two i32 in the last f64 slot
const R_LOSS_TO = F64_SLOT + 52;
const R_RATE_TO = F64_SLOT + 56;

// R_FLAGS bits
const UNIT_S_PER_IT: i32 = 1;
const RATE_UNKNOWN: i32 = 2; // `?`
const RATE_BY_CALLER: i32 = 4; // the rate's text needs Number(): the caller reads [R_RATE_FROM, R_RATE_TO)
const NO_LOSS: i32 = 8;
const LOSS_BY_CALLER: i32 = 16; // postfixNumber() of [R_LOSS_FROM, R_LOSS_TO)
const LR_BY_CALLER: i32 = 32; // postfixNumber() of [R_LR_FROM, R_LR_TO)
const NO_LR: i32 = 64; // set by the caller: postfixNumber() read no number

// takeState's answer (bits)
const NEEDS_DESC: i32 = 1; // the state's desc is not the pack's: nothing done
const PACK_FULL: i32 = 2; // the held state would not fit in the pack: nothing done
const PACKED: i32 = 4; // the held state was packed (it was a step of its own)

/** The text path's limits: it reads at most this much of a line, and a `%|` only this far in. */
const MAX_CHARS: i32 = 16 * 1024;
const MAX_BAR_SCAN: i32 = 8192;
/** The longest bar state passed over unread (the state limit). */
const MAX_REDRAWN_BYTES: i32 = 16 * 1024;
const MAX_SAFE_INTEGER: f64 = 9007199254740991;

let pieceLength: i32 = 0;
let recordsBase: i32 = 0;
/** The held state (a copy of its record; heldStart -1: none), the pack's desc, the pack. */
let heldAt: i32 = 0;
let heldStart: i32 = -1;
let descAt: i32 = 0;
let descLength: i32 = -1;
let packValuesAt: i32 = 0;
let packEndsAt: i32 = 0;
let packRingAt: i32 = 0;
let packBytesAt: i32 = 0;
let packCount: i32 = 0;
let packBytes: i32 = 0;
/** Where the next scan call goes on; where the last terminated segment ends; 1 once the piece is done. */
let resumeAt: i32 = 0;
let scannedTo: i32 = 0;
let finished: i32 = 0;
/** The redraw found by the last successful redrawnNext: plain, its key ending at plainKeyEnd. */
let plainStart: i32 = -1;
let plainKeyEnd: i32 = -1;
let redrawnNextEnd: i32 = -1;

@inline function at(i: i32): i32 {
  return <i32>load<u8>(INPUT + i);
}

@inline function align(n: i32): i32 {
  return (n + 15) & ~15;
}

export function inputOffset(): i32 {
  return INPUT;
}

/**
 * Room for a piece of `length` bytes (written at inputOffset() by the caller), and a new scan of
 * it; returns where the records will be (0: no memory to be had).
 */
export function begin(length: i32): i32 {
  const records = align(INPUT + length + SENTINEL);
  heldAt = records + MAX_RECORDS * RECORD_BYTES;
  descAt = heldAt + RECORD_BYTES;
  packValuesAt = descAt + MAX_DESC;
  packEndsAt = packValuesAt + PACK_STATES * PACK_FIELDS * 8;
  packRingAt = packEndsAt + PACK_STATES * 4;
  packBytesAt = packRingAt + PACK_STATES * 8;
  const needed = packBytesAt + PACK_BYTES;
  const have = memory.size() << 16;
  if (needed > have) {
    if (memory.grow(((needed - have) + 65535) >> 16) < 0) return 0;
  }
  pieceLength = length;
  recordsBase = records;
  resumeAt = 0;
  scannedTo = 0;
  finished = 0;
  plainStart = -1;
  plainKeyEnd = -1;
  heldStart = -1;
  descLength = -1;
  packCount = 0;
  packBytes = 0;
  return records;
}

/** Writes the sentinel after the piece (the caller calls this once the bytes are in). */
export function sealed(): void {
  memory.fill(INPUT + pieceLength, 0, SENTINEL);
}

/**
 * The state read into `record` taken into the pack, as parse/logReader.ts takes a plain bar state:
 * it becomes the held one (a redraw at the same step replaces it), and the one held before is packed
 * first unless this one has its key (the text up to ` [`: the same step drawn again). Answers
 * NEEDS_DESC (the pack is of another desc: the caller hands it on and sets this one's) or
 * PACK_FULL (the caller hands it on) having done nothing, else 0 or PACKED.
 */
export function takeState(record: i32): i32 {
  const start = load<i32>(record + R_START);
  const length = load<i32>(record + R_DESC_END) - start;
  if (length !== descLength || !equalBytes(INPUT + start, descAt, length)) return NEEDS_DESC;
  let answer = 0;
  if (heldStart >= 0 && !sameKey(heldAt, record)) {
    if (!fits()) return PACK_FULL;
    packHeldState();
    answer = PACKED;
  }
  memory.copy(heldAt, record, RECORD_BYTES);
  heldStart = start;
  return answer;
}

/** Packs the held state: 1, or 0 when none is held, -1 when the pack is full (the caller hands it on and asks again). */
export function packHeld(): i32 {
  if (heldStart < 0) return 0;
  if (!fits()) return -1;
  packHeldState();
  return 1;
}

/** The pack's desc: the desc of the state in `record` (NEEDS_DESC's answer), or -1: none. */
export function setDescOf(record: i32): void {
  const start = load<i32>(record + R_START);
  descLength = min(MAX_DESC, load<i32>(record + R_DESC_END) - start);
  memory.copy(descAt, INPUT + start, descLength);
}

/** Where the caller writes a desc it kept from an earlier piece (then setDescLength). */
export function descOffset(): i32 {
  return descAt;
}

export function setDescLength(length: i32): void {
  descLength = length;
}

export function heldFrom(): i32 {
  return heldStart;
}

export function heldKeyEnd(): i32 {
  return heldStart < 0 ? -1 : load<i32>(heldAt + R_KEY_END);
}

/** The held state is dropped (its redraw was read the general way). */
export function dropHeld(): void {
  heldStart = -1;
}

export function packSize(): i32 {
  return packCount;
}

export function packValuesOffset(): i32 {
  return packValuesAt;
}

export function packEndsOffset(): i32 {
  return packEndsAt;
}

export function packRingOffset(): i32 {
  return packRingAt;
}

export function packBytesOffset(): i32 {
  return packBytesAt;
}

/** The pack was handed on: empty again. */
export function clearPack(): void {
  packCount = 0;
  packBytes = 0;
}

function fits(): bool {
  const length = load<i32>(heldAt + R_POSTFIX_END) - load<i32>(heldAt + R_POSTFIX_START);
  return packCount < PACK_STATES && packBytes + length <= PACK_BYTES;
}

/** Two states with the same key (the text up to ` [`): one step drawn twice. */
function sameKey(a: i32, b: i32): bool {
  const aStart = load<i32>(a + R_START);
  const bStart = load<i32>(b + R_START);
  const aKey = load<i32>(a + R_KEY_END);
  const bKey = load<i32>(b + R_KEY_END);
  if (aKey < 0 || bKey < 0) return false;
  const length = aKey - aStart;
  return bKey - bStart === length && equalBytes(INPUT + aStart, INPUT + bStart, length);
}

function equalBytes(a: i32, b: i32, length: i32): bool {
  let j = 0;
  while (j + 8 <= length) {
    if (load<u64>(a + j) !== load<u64>(b + j)) return false;
    j += 8;
  }
  while (j < length) {
    if (load<u8>(a + j) !== load<u8>(b + j)) return false;
    j++;
  }
  return true;
}

/** The held state's numbers, postfix and place appended to the pack (it fits). */
function packHeldState(): void {
  const held = heldAt;
  const flags = load<i32>(held + R_FLAGS);
  const v = packValuesAt + packCount * PACK_FIELDS * 8;
  store<f64>(v, load<f64>(held + R_N));
  store<f64>(v + 8, load<f64>(held + R_TOTAL));
  store<f64>(v + 16, load<f64>(held + R_ELAPSED));
  store<f64>(v + 24, flags & RATE_UNKNOWN ? NaN : load<f64>(held + R_RATE));
  store<f64>(v + 32, flags & UNIT_S_PER_IT ? 1 : 0);
  const noLoss = (flags & NO_LOSS) !== 0;
  store<f64>(v + 40, noLoss ? 0 : load<f64>(held + R_LOSS));
  store<f64>(v + 48, noLoss ? 0 : 1);
  const noLr = (flags & NO_LR) !== 0;
  store<f64>(v + 56, noLr ? 0 : load<f64>(held + R_LR));
  store<f64>(v + 64, noLr ? 0 : 1);
  const from = load<i32>(held + R_POSTFIX_START);
  const length = load<i32>(held + R_POSTFIX_END) - from;
  memory.copy(packBytesAt + packBytes, INPUT + from, length);
  packBytes += length;
  store<i32>(packEndsAt + packCount * 4, packBytes);
  store<i32>(packRingAt + packCount * 8, heldStart);
  store<i32>(packRingAt + packCount * 8 + 4, load<i32>(held + R_K));
  packCount++;
  heldStart = -1;
}

export function scanEnd(): i32 {
  return scannedTo;
}

export function done(): i32 {
  return finished;
}

/**
 * The next records of the piece: one for each segment that is passed over (its redraw next) or read
 * as a training-bar state; other segments have none (the caller reads the bytes between records
 * the general way). Returns how many were written; scanEnd() is where the last terminated segment
 * so far ends, done() whether the piece is scanned to its end. `lastCrKnown`: the byte after the
 * piece is known (a CR that ends the piece is a lone one). `fast` 0: no records, only the end.
 */
export function scan(lastCrKnown: i32, fast: i32): i32 {
  const n = pieceLength;
  let start = resumeAt;
  let count = 0;
  let cr = findByte(13, start, n);
  let lf = findByte(10, start, n);
  while (start < n && count < MAX_RECORDS) {
    if (cr < start) cr = findByte(13, start, n);
    if (lf < start) lf = findByte(10, start, n);
    const k = cr < lf ? cr : lf;
    if (k >= n) break;
    let end: i32;
    let lineFeed: i32;
    if (k === cr) {
      if (k + 1 >= n) {
        // A CR at the very end: whether a LF follows is for the next bytes to say.
        if (!lastCrKnown) break;
        lineFeed = 0;
        end = k + 1;
      } else {
        lineFeed = at(k + 1) === 10 ? 1 : 0;
        end = lineFeed ? k + 2 : k + 1;
      }
    } else {
      lineFeed = 1;
      end = k + 1;
    }
    if (fast && k > start) {
      const record = recordsBase + count * RECORD_BYTES;
      const redrawnKeyEnd = redrawnNext(start, k, end, lastCrKnown);
      let fastState = -1;
      if (redrawnKeyEnd < 0) fastState = readTrainingState(start, k, record) ? 1 : 0;
      if (redrawnKeyEnd >= 0 || fastState === 1) {
        store<i32>(record + R_START, start);
        store<i32>(record + R_K, k);
        store<i32>(record + R_END, end);
        store<i32>(record + R_LINE_FEED, lineFeed);
        store<i32>(record + R_REDRAWN_KEY_END, redrawnKeyEnd);
        store<i32>(record + R_FAST, fastState);
        count++;
        // The next terminator is known (no LF comes before it).
        if (redrawnKeyEnd >= 0 && at(redrawnNextEnd) === 13) cr = redrawnNextEnd;
      }
    }
    start = end;
    scannedTo = end;
  }
  resumeAt = start;
  if (count < MAX_RECORDS) finished = 1;
  return count;
}

/**
 * The segment at `start` (its text ending at `k`) read as a training state into the caller's
 * record at `record` (for a segment passed over whose redraw the caller could not pass over
 * after all). Returns 1 when it is one.
 */
export function readAt(start: i32, k: i32, record: i32): i32 {
  return readTrainingState(start, k, record) ? 1 : 0;
}

/** Where `byte` first is in [from, n); n when nowhere. */
function findByte(byte: i32, from: i32, n: i32): i32 {
  let i = from;
  // Eight bytes at a time: a zero byte in (word XOR byte*8) marks it.
  const pattern: u64 = <u64>byte * 0x0101010101010101;
  while (i + 8 <= n) {
    const x = load<u64>(INPUT + i) ^ pattern;
    if (((x - 0x0101010101010101) & ~x & 0x8080808080808080) !== 0) break;
    i += 8;
  }
  while (i < n && at(i) !== byte) i++;
  return i;
}

/** Where the first CR or LF is in [from, n); n when nowhere. */
function findTerminator(from: i32, n: i32): i32 {
  let i = from;
  while (i + 8 <= n) {
    const word = load<u64>(INPUT + i);
    const cr = word ^ 0x0d0d0d0d0d0d0d0d;
    const lf = word ^ 0x0a0a0a0a0a0a0a0a;
    if ((((cr - 0x0101010101010101) & ~cr) | ((lf - 0x0101010101010101) & ~lf)) & 0x8080808080808080) break;
    i += 8;
  }
  while (i < n && at(i) !== 13 && at(i) !== 10) i++;
  return i;
}

/**
 * Whether the segment [start, k) (its terminator ends at `end`) is a plain bar state that the very
 * next segment draws again with the same key (the text up to the ` [` after the `%|`; both
 * without escape sequences and ending in `]`). Returns the key's end, or -1 whenever that cannot be
 * told from these bytes (the caller then reads the state as usual).
 */
function redrawnNext(start: i32, k: i32, end: i32, lastCrKnown: i32): i32 {
  if (k - start > MAX_REDRAWN_BYTES) return -1;
  // The redraw of the state passed over last is known to be plain, its key where that one's was.
  const keyEnd = start === plainStart ? plainKeyEnd : plainKeyEndOf(start, k);
  if (keyEnd < 0) return -1;
  const keyLength = keyEnd - start;
  const n = pieceLength;
  if (end + keyLength + 2 > n) return -1;
  if (!sameBytes(end, start, keyLength)) return -1;
  if (at(end + keyLength) !== 32 || at(end + keyLength + 1) !== 91) return -1;
  const from = end + keyLength + 2;
  const limit = min(n, end + MAX_REDRAWN_BYTES);
  const next = findTerminator(from, limit);
  // A redraw longer than a state can be is no plain one (the text path would cut it into parts).
  if (next >= limit && limit < n) return -1;
  // The next segment must be read in this piece too: its terminator is here, and a CR at the very
  // end is known to be a lone one.
  if (next >= n || (next === n - 1 && at(next) === 13 && !lastCrKnown)) return -1;
  if (!plainBarEnd(end + keyLength, next)) return -1;
  redrawnNextEnd = next;
  plainStart = end;
  plainKeyEnd = end + keyLength;
  return keyEnd;
}

function sameBytes(a: i32, b: i32, length: i32): bool {
  let j = 0;
  while (j + 8 <= length) {
    if (load<u64>(INPUT + a + j) !== load<u64>(INPUT + b + j)) return false;
    j += 8;
  }
  while (j < length) {
    if (at(a + j) !== at(b + j)) return false;
    j++;
  }
  return true;
}

/** Where the key of the plain bar state [start, k) ends; -1: not one. */
function plainKeyEndOf(start: i32, k: i32): i32 {
  let marker = -1;
  for (let j = start; j + 1 < k; j++) {
    const c = at(j);
    if (c === 27) return -1;
    if (c === 37 /* % */ && at(j + 1) === 124 /* | */) {
      marker = j;
      break;
    }
  }
  if (marker < 0) return -1;
  let keyEnd = -1;
  for (let j = marker + 2; j + 1 < k; j++) {
    const c = at(j);
    if (c === 27) return -1;
    if (c === 32 && at(j + 1) === 91 /* [ */) {
      keyEnd = j;
      break;
    }
  }
  return keyEnd >= 0 && plainBarEnd(keyEnd, k) ? keyEnd : -1;
}

/** No escape in [from, to), and its last byte other than a space is `]`. */
function plainBarEnd(from: i32, to: i32): bool {
  for (let j = from; j < to; j++) if (at(j) === 27) return false;
  let last = to;
  while (last > from && at(last - 1) === 32) last--;
  return last > from && at(last - 1) === 93;
}

/** Where the last successful intervalAt or intAt stopped. */
let byteEnd: i32 = 0;

/** A tqdm interval (`SS`, `MM:SS`, `H:MM:SS`) at `i`; -1 when none. */
function intervalAt(i: i32, end: i32): f64 {
  let seconds: f64 = 0;
  let part: f64 = 0;
  let digits = 0;
  let parts = 1;
  for (; i < end; i++) {
    const c = at(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + <f64>(c - 48);
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
  byteEnd = i;
  return seconds * 60 + part;
}

/** 1–15 digits at `i` as a number, or -1. */
function intAt(i: i32, end: i32): f64 {
  let value: f64 = 0;
  const start = i;
  while (i < end && at(i) >= 48 && at(i) <= 57) {
    value = value * 10 + <f64>(at(i) - 48);
    i++;
  }
  if (i === start || i - start > 15) return -1;
  byteEnd = i;
  return value;
}

@inline function isDigit(c: i32): bool {
  return c >= 48 && c <= 57;
}

function sane(value: f64): bool {
  return isFinite<f64>(value) && Math.abs(value) <= MAX_SAFE_INTEGER;
}

/** `Generating Images` / `Generating Samples` at `start` (a sample bar, not the training bar). */
function sampleBar(start: i32, end: i32): bool {
  if (start + 17 > end) return false;
  // "Generating " then "Images" or "Samples"
  const g = "Generating ";
  for (let j = 0; j < 11; j++) if (at(start + j) !== <i32>g.charCodeAt(j)) return false;
  const images = "Images";
  let isImages = true;
  for (let j = 0; j < 6; j++) if (at(start + 11 + j) !== <i32>images.charCodeAt(j)) isImages = false;
  if (isImages) return true;
  if (start + 18 > end) return false;
  const samples = "Samples";
  for (let j = 0; j < 7; j++) if (at(start + 11 + j) !== <i32>samples.charCodeAt(j)) return false;
  return true;
}

/**
 * A plain state of the training bar, `{desc}: {pct}%|{cells}| {n}/{total} [{elapsed}<{remaining},
 * {rate}{unit}, lr: … loss: …]`, read from [start, end) into `record`. Only when the text path
 * would read the line the same way: printable ASCII but the bar's cells (well-formed UTF-8 there),
 * nothing after the `]` but spaces, an `lr` key in the postfix, a named bar that is no sample bar.
 */
function readTrainingState(start: i32, end: i32, record: i32): bool {
  const length = end - start;
  if (length > MAX_CHARS || length < 20) return false;
  let marker = -1;
  for (let k = start; k + 1 < end; k++) {
    const c = at(k);
    if (c === 37 /* % */ && at(k + 1) === 124 /* | */) {
      marker = k;
      break;
    }
    if (c < 32 || c > 126) return false;
  }
  if (marker <= start || marker - start > MAX_BAR_SCAN) return false;
  let p = marker;
  while (p > start && marker - p < 3 && isDigit(at(p - 1))) p--;
  if (p === marker) return false;
  let head = p;
  while (head > start && at(head - 1) === 32) head--;
  if (head < start + 2 || at(head - 1) !== 58 /* : */) return false;
  const descEnd = head - 1;
  if (at(start) === 32 || at(descEnd - 1) === 32) return false;
  if (sampleBar(start, end)) return false;

  // The cells: anything but a control character up to the next `|` (bytes of a UTF-8 character are never `|`).
  let barEnd = -1;
  let keyEnd = -1;
  for (let k = marker + 2; k < end; k++) {
    const c = at(k);
    if (c === 124) {
      barEnd = k;
      break;
    }
    if (c === 32 && keyEnd < 0 && at(k + 1) === 91) keyEnd = k;
    if (c < 32 || c === 127) return false;
    if (c >= 0x80) {
      // Well-formed UTF-8 only, and no C1 control.
      const size = utf8Length(k, end);
      if (size === 0 || (c === 0xc2 && at(k + 1) <= 0x9f)) return false;
      k += size - 1;
    }
  }
  if (barEnd < 0 || barEnd - marker - 2 > 400) return false;
  let i = barEnd + 1;
  while (at(i) === 32) i++;
  const n = intAt(i, end);
  if (n < 0 || at(byteEnd) !== 47 /* / */) return false;
  const total = intAt(byteEnd + 1, end);
  if (total < 0) return false;
  i = byteEnd;
  while (i < end && at(i) === 32) i++;
  if (at(i) !== 91 /* [ */) return false;
  if (keyEnd < 0 && at(i - 1) === 32) keyEnd = i - 1;
  const elapsedS = intervalAt(i + 1, end);
  if (elapsedS < 0 || at(byteEnd) !== 60 /* < */) return false;
  i = byteEnd + 1;
  let remainingS: f64 = 0;
  if (at(i) === 63 /* ? */) {
    i++;
  } else {
    remainingS = intervalAt(i, end);
    if (remainingS < 0) return false;
    i = byteEnd;
  }
  if (at(i) !== 44 /* , */) return false;
  i++;
  while (i < end && at(i) === 32) i++;
  let flags = 0;
  let rate: f64 = 0;
  let rateStart = i;
  if (at(i) === 63 /* ? */) {
    flags |= RATE_UNKNOWN;
    i++;
  } else {
    while (i < end && isDigit(at(i))) i++;
    if (i === rateStart) return false;
    if (at(i) === 46 /* . */) {
      const fraction = ++i;
      while (i < end && isDigit(at(i))) i++;
      if (i === fraction) return false;
    }
    rate = decimalAt(rateStart, i);
    if (decimalByCaller) flags |= RATE_BY_CALLER;
  }
  if (i + 4 > end) return false;
  if (at(i) === 105 && at(i + 1) === 116 && at(i + 2) === 47 && at(i + 3) === 115) {
    // it/s
  } else if (at(i) === 115 && at(i + 1) === 47 && at(i + 2) === 105 && at(i + 3) === 116) {
    flags |= UNIT_S_PER_IT;
  } else {
    return false;
  }
  const rateEnd = i;
  i += 4;
  if (at(i) !== 44 /* , */) return false;
  // The `]`, and on the way printable ASCII only.
  let close = -1;
  for (let k = i; k < end; k++) {
    const c = at(k);
    if (c === 93 /* ] */) {
      close = k;
      break;
    }
    if (c < 32 || c > 126) return false;
  }
  if (close < 0) return false;
  for (let k = close + 1; k < end; k++) if (at(k) !== 32) return false;
  let pStart = i + 1;
  while (at(pStart) === 32) pStart++;
  const pEnd = close;

  let lrAt = -1;
  let lrEnd = -1;
  let lossAt = -1;
  let lossEnd = -1;
  let k = pStart;
  while (k < pEnd) {
    let colon = -1;
    for (let j = k; j < pEnd; j++) {
      if (at(j) === 58 && at(j + 1) === 32) {
        colon = j;
        break;
      }
    }
    if (colon < 0 || colon + 1 >= pEnd) break;
    let space = -1;
    for (let j = colon - 1; j >= k; j--) {
      if (at(j) === 32) {
        space = j;
        break;
      }
    }
    const keyStart = space >= k ? space + 1 : k;
    let v = colon + 2;
    while (v < pEnd && at(v) === 32) v++;
    if (v >= pEnd || colon === keyStart) break;
    let valueEnd = v;
    while (valueEnd < pEnd && at(valueEnd) !== 32) valueEnd++;
    const keyLength = colon - keyStart;
    if (keyLength === 2 && at(keyStart) === 108 && at(keyStart + 1) === 114) {
      lrAt = v;
      lrEnd = valueEnd;
    } else if (keyLength === 4 && at(keyStart) === 108 && at(keyStart + 1) === 111 && at(keyStart + 2) === 115 && at(keyStart + 3) === 115) {
      lossAt = v;
      lossEnd = valueEnd;
    }
    k = valueEnd + 1;
  }
  if (lrAt < 0) return false;
  if (!sane(elapsedS) || !sane(remainingS)) return false;
  // A rate the caller reads is checked by the caller.
  if ((flags & (RATE_UNKNOWN | RATE_BY_CALLER)) === 0 && !sane(rate)) return false;
  const lr = postfixNumberAt(lrAt, lrEnd);
  if (decimalByCaller) flags |= LR_BY_CALLER;
  let loss: f64 = 0;
  if (lossAt < 0) {
    flags |= NO_LOSS;
  } else {
    loss = postfixNumberAt(lossAt, lossEnd);
    if (decimalByCaller) flags |= LOSS_BY_CALLER;
  }
  if (keyEnd < 0) {
    for (let j = marker; j + 1 < end; j++) {
      if (at(j) === 32 && at(j + 1) === 91) {
        keyEnd = j;
        break;
      }
    }
  }
  store<i32>(record + R_DESC_END, descEnd);
  store<i32>(record + R_KEY_END, keyEnd);
  store<i32>(record + R_POSTFIX_START, pStart);
  store<i32>(record + R_POSTFIX_END, pEnd);
  store<i32>(record + R_FLAGS, flags);
  store<i32>(record + R_RATE_FROM, rateStart);
  store<i32>(record + R_RATE_TO, rateEnd);
  store<i32>(record + R_LR_FROM, lrAt);
  store<i32>(record + R_LR_TO, lrEnd);
  store<i32>(record + R_LOSS_FROM, lossAt);
  store<i32>(record + R_LOSS_TO, lossEnd);
  store<f64>(record + R_N, n);
  store<f64>(record + R_TOTAL, total);
  store<f64>(record + R_ELAPSED, elapsedS);
  store<f64>(record + R_RATE, rate);
  store<f64>(record + R_LOSS, loss);
  store<f64>(record + R_LR, lr);
  return true;
}

/** The length of the well-formed UTF-8 sequence at `k` (2 to 4 bytes), or 0 when it is not one. */
function utf8Length(k: i32, end: i32): i32 {
  const c = at(k);
  if (c >= 0xc2 && c <= 0xdf) return continues(k + 1, end, 0x80, 0xbf) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return continues(k + 1, end, lo, hi) && continues(k + 2, end, 0x80, 0xbf) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return continues(k + 1, end, lo, hi) && continues(k + 2, end, 0x80, 0xbf) && continues(k + 3, end, 0x80, 0xbf) ? 4 : 0;
  }
  return 0;
}

function continues(j: i32, end: i32, lo: i32, hi: i32): bool {
  return j < end && at(j) >= lo && at(j) <= hi;
}

/** Exact powers of ten (10^0 … 10^22 are exact doubles). */
const POW10: StaticArray<f64> = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/** Set by decimalAt and postfixNumberAt: the value is for the caller to read from the text (Number()). */
let decimalByCaller: bool = false;

/**
 * A decimal number in ASCII bytes, exactly as Number() reads its text, where at most 15 digits and
 * a power of ten up to 10^22 make the value one correctly rounded division or an exact product
 * (Clinger's fast path); anything else sets decimalByCaller.
 */
function decimalAt(from: i32, to: i32): f64 {
  decimalByCaller = false;
  let i = from;
  let negative = false;
  if (at(i) === 45) {
    negative = true;
    i++;
  } else if (at(i) === 43) {
    i++;
  }
  let mantissa: f64 = 0;
  let digits = 0;
  let fraction = 0;
  while (i < to && isDigit(at(i))) {
    mantissa = mantissa * 10 + <f64>(at(i) - 48);
    i++;
    digits++;
  }
  if (i < to && at(i) === 46) {
    i++;
    while (i < to && isDigit(at(i))) {
      mantissa = mantissa * 10 + <f64>(at(i) - 48);
      i++;
      digits++;
      fraction++;
    }
  }
  let exponent = 0;
  if (i < to && (at(i) === 101 || at(i) === 69)) {
    i++;
    let negativeExponent = false;
    if (at(i) === 45) {
      negativeExponent = true;
      i++;
    } else if (at(i) === 43) {
      i++;
    }
    let exponentDigits = 0;
    while (i < to && isDigit(at(i)) && exponentDigits < 4) {
      exponent = exponent * 10 + (at(i) - 48);
      i++;
      exponentDigits++;
    }
    if (exponentDigits === 0) i = -1;
    if (negativeExponent) exponent = -exponent;
  }
  const power = exponent - fraction;
  if (i !== to || digits === 0 || digits > 15 || power < -22 || power > 22) {
    decimalByCaller = true;
    return 0;
  }
  let value: f64;
  if (power === 0) value = mantissa;
  else if (power < 0) value = mantissa / unchecked(POW10[-power]);
  else {
    value = mantissa * unchecked(POW10[power]);
    if (value > MAX_SAFE_INTEGER) {
      decimalByCaller = true;
      return 0;
    }
  }
  return negative ? -value : value;
}

/** A postfix value in the shape the text path reads with Number() at once; else decimalByCaller. */
function postfixNumberAt(from: i32, to: i32): f64 {
  const first = at(from);
  const last = at(to - 1);
  if (to > from && isDigit(last) && (isDigit(first) || first === 45 || first === 43 || first === 46)) {
    const value = decimalAt(from, to);
    if (!decimalByCaller) return value;
  }
  decimalByCaller = true;
  return 0;
}
