// A faithful port of the parts of Python tqdm (checked against tqdm 4.64.1,
// `tqdm/std.py`) that ai-toolkit's progress bars exercise when stderr is not a
// terminal: `format_meter` (no unit_scale, no bar_format), `format_interval`,
// `status_printer`, and the life of a `tqdm` object (`__init__`, `update`,
// `refresh`/`display`, `set_postfix_str`, `close`) plus ai-toolkit's
// `ToolkitProgressBar` pause/unpause. Pure: the clock and the file are injected.
//
// Numbers are formatted the way Python does it (exact binary value, round half
// to even), not the way `Number.prototype.toFixed` does it (ties away from
// zero), so `'{:3.0f}'.format(12.5)` is ` 12` here too.

import { WIDE_RANGES } from './eastAsianWidth.js';

// ---------------------------------------------------------------------------
// Python-compatible number formatting
// ---------------------------------------------------------------------------

const F64 = new DataView(new ArrayBuffer(8));

/** |x| = mant * 2^exp2 exactly (x finite, non-zero). */
function decompose(x: number): { mant: bigint; exp2: number } {
  F64.setFloat64(0, x);
  const hi = F64.getUint32(0);
  const lo = F64.getUint32(4);
  const e = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (e === 0) return { mant: frac, exp2: -1074 };
  return { mant: frac | (1n << 52n), exp2: e - 1075 };
}

/** |x| = digits * 10^exp10 exactly (x finite). */
function exactDecimal(x: number): { digits: bigint; exp10: number } {
  if (x === 0) return { digits: 0n, exp10: 0 };
  const { mant, exp2 } = decompose(x);
  if (exp2 >= 0) return { digits: mant << BigInt(exp2), exp10: 0 };
  // 2^-k = 5^k / 10^k
  return { digits: mant * 5n ** BigInt(-exp2), exp10: exp2 };
}

/** round(a / d) with ties to even; a >= 0, d > 0. */
function divRoundHalfEven(a: bigint, d: bigint): bigint {
  const q = a / d;
  const r = a - q * d;
  const twice = r * 2n;
  if (twice > d || (twice === d && (q & 1n) === 1n)) return q + 1n;
  return q;
}

function isNegative(x: number): boolean {
  return x < 0 || Object.is(x, -0);
}

function nonFinite(x: number): string | undefined {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  return undefined;
}

/** Python `'{0:<width>.<precision>f}'.format(x)` for a float. */
export function pyFormatFixed(x: number, precision: number, width = 0): string {
  let out = nonFinite(x);
  if (out === undefined) {
    const { digits, exp10 } = exactDecimal(Math.abs(x));
    const shift = exp10 + precision;
    const q = shift >= 0 ? digits * 10n ** BigInt(shift) : divRoundHalfEven(digits, 10n ** BigInt(-shift));
    let s = q.toString();
    if (precision > 0) {
      s = s.padStart(precision + 1, '0');
      s = `${s.slice(0, s.length - precision)}.${s.slice(s.length - precision)}`;
    }
    out = (isNegative(x) ? '-' : '') + s;
  }
  return out.padStart(width, ' ');
}

/** Python `'{0:.<precision>e}'.format(x)` for a float (e.g. `4.123e-01`). */
export function pyFormatExp(x: number, precision: number): string {
  const special = nonFinite(x);
  if (special !== undefined) return special;
  const sign = isNegative(x) ? '-' : '';
  let mantissa: string;
  let exponent: number;
  if (x === 0) {
    mantissa = '0'.padEnd(precision + 1, '0');
    exponent = 0;
  } else {
    const { digits, exp10 } = exactDecimal(Math.abs(x));
    const len = digits.toString().length;
    exponent = len - 1 + exp10;
    const drop = len - (precision + 1);
    let q = drop > 0 ? divRoundHalfEven(digits, 10n ** BigInt(drop)) : digits * 10n ** BigInt(-drop);
    mantissa = q.toString();
    if (mantissa.length > precision + 1) {
      // carried into a new digit (9.9995 -> 10.000): the dropped digit is a 0
      q /= 10n;
      mantissa = q.toString();
      exponent += 1;
    }
  }
  const m = precision > 0 ? `${mantissa[0]}.${mantissa.slice(1)}` : mantissa;
  const e = Math.abs(exponent).toString().padStart(2, '0');
  return `${sign}${m}e${exponent < 0 ? '-' : '+'}${e}`;
}

/** Python `str(n)` for the integer counters tqdm shows. */
function pyStr(n: number): string {
  if (Number.isInteger(n)) return Math.abs(n) >= 1e21 ? BigInt(n).toString() : String(n);
  // Python's float repr; shortest round-trip like JS, but always with '.' or 'e'.
  const s = String(n);
  return /[.e]/.test(s) || !Number.isFinite(n) ? s : `${s}.0`;
}

/** Python's truthiness for the numbers tqdm tests (`if rate:`); NaN is truthy. */
function truthy(x: number | null | undefined): x is number {
  return x !== null && x !== undefined && x !== 0;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** tqdm's `format_interval`: `[H:]MM:SS`, hours unbounded. */
export function formatInterval(t: number): string {
  if (!Number.isFinite(t)) throw new RangeError(`cannot format interval ${t}`);
  const total = BigInt(Math.trunc(t)); // int(t)
  const mins = floorDiv(total, 60n);
  const s = total - mins * 60n;
  const h = floorDiv(mins, 60n);
  const m = mins - h * 60n;
  const pad2 = (v: bigint): string => v.toString().padStart(2, '0');
  return h !== 0n ? `${h}:${pad2(m)}:${pad2(s)}` : `${pad2(m)}:${pad2(s)}`;
}

// ---------------------------------------------------------------------------
// Display width (tqdm.utils.disp_len / disp_trim)
// ---------------------------------------------------------------------------

const RE_ANSI = /\x1b\[[;\d]*[A-Za-z]/g;

function isWide(cp: number): boolean {
  let lo = 0;
  let hi = WIDE_RANGES.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const start = WIDE_RANGES[2 * mid]!;
    const end = WIDE_RANGES[2 * mid + 1]!;
    if (cp < start) hi = mid - 1;
    else if (cp > end) lo = mid + 1;
    else return true;
  }
  return false;
}

function textWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    w += cp >= 0x378 && isWide(cp) ? 2 : 1;
  }
  return w;
}

/** On-screen width: ANSI codes stripped, East Asian wide/full-width chars count 2. */
export function dispLen(s: string): number {
  return textWidth(s.replace(RE_ANSI, ''));
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** tqdm's `disp_trim`. */
export function dispTrim(data: string, length: number): string {
  if (codePointLength(data) === dispLen(data)) return Array.from(data).slice(0, Math.max(0, length)).join('');
  const ansiPresent = /\x1b\[[;\d]*[A-Za-z]/.test(data);
  const chars = Array.from(data);
  while (dispLen(chars.join('')) > length) chars.pop();
  let out = chars.join('');
  if (ansiPresent && /\x1b\[[;\d]*[A-Za-z]/.test(out) && !out.endsWith('\x1b[0m')) out += '\x1b[0m';
  return out;
}

// ---------------------------------------------------------------------------
// format_meter
// ---------------------------------------------------------------------------

export const BAR_ASCII = ' 123456789#';
export const BAR_UTF = ' \u258f\u258e\u258d\u258c\u258b\u258a\u2589\u2588';

export interface FormatMeterOptions {
  /** Number of finished iterations. */
  n: number;
  /** Expected total; null/undefined (or 0) for an unknown total. */
  total?: number | null;
  /** Seconds since start. */
  elapsed: number;
  /** Line width; null/undefined = unknown (a 10-cell bar), 0 = no bar. */
  ncols?: number | null;
  /** The `desc`. */
  prefix?: string;
  /** false: unicode blocks; true: `#` and digits; a string: a custom charset. */
  ascii?: boolean | string;
  unit?: string;
  /** Rate override (tqdm passes its EMA rate); null = average since start. */
  rate?: number | null;
  postfix?: string | null;
  initial?: number;
}

function formatBar(frac: number, nBars: number, charset: string): string {
  const chars = Array.from(charset);
  if (!(frac >= 0 && frac <= 1)) frac = Math.max(0, Math.min(1, frac)); // tqdm warns and clamps
  const nsyms = chars.length - 1;
  const cells = Math.trunc(frac * nBars * nsyms);
  const barLength = Math.floor(cells / nsyms);
  const fracBarLength = cells - barLength * nsyms;
  let res = chars[nsyms]!.repeat(barLength);
  if (barLength < nBars) res += chars[fracBarLength]! + chars[0]!.repeat(nBars - barLength - 1);
  return res;
}

/** tqdm's `format_meter` for `unit_scale=False`, no `bar_format`, no colour. */
export function formatMeter(options: FormatMeterOptions): string {
  const { n, elapsed } = options;
  let total: number | null = options.total ?? null;
  const ncols = options.ncols ?? null;
  const prefix = options.prefix ?? '';
  const ascii = options.ascii ?? false;
  const unit = options.unit ?? 'it';
  let rate: number | null = options.rate ?? null;
  const initial = options.initial ?? 0;

  // sanity check: total
  if (truthy(total) && n >= total + 0.5) total = null;

  const elapsedStr = formatInterval(elapsed);
  if (rate === null && truthy(elapsed)) rate = (n - initial) / elapsed;
  const invRate = truthy(rate) ? 1 / rate : null;
  const rateNoinvFmt = (truthy(rate) ? pyFormatFixed(rate, 2, 5) : '?') + unit + '/s';
  const rateInvFmt = (truthy(invRate) ? pyFormatFixed(invRate, 2, 5) : '?') + 's/' + unit;
  const rateFmt = truthy(invRate) && invRate > 1 ? rateInvFmt : rateNoinvFmt;

  const nFmt = pyStr(n);
  const totalFmt = total !== null ? pyStr(total) : '?';
  const postfix = options.postfix ? `, ${options.postfix}` : '';

  const remaining = truthy(rate) && truthy(total) ? (total - n) / rate : 0;
  const remainingStr = truthy(rate) ? formatInterval(remaining) : '?';

  let lBar = prefix ? (prefix.endsWith(': ') ? prefix : `${prefix}: `) : '';
  const rBar = `| ${nFmt}/${totalFmt} [${elapsedStr}<${remainingStr}, ${rateFmt}${postfix}]`;

  if (truthy(total)) {
    const frac = n / total;
    const percentage = frac * 100;
    lBar += `${pyFormatFixed(percentage, 0, 3)}%|`;
    if (ncols === 0) return lBar.slice(0, -1) + rBar.slice(1);
    const nBars = truthy(ncols) ? Math.max(1, ncols - dispLen(lBar + rBar)) : 10;
    const charset = ascii === true ? BAR_ASCII : ascii || BAR_UTF;
    const res = lBar + formatBar(frac, nBars, charset) + rBar;
    return truthy(ncols) ? dispTrim(res, ncols) : res;
  }
  // no total: no bar, no ETA
  return `${prefix ? `${prefix}: ` : ''}${nFmt}${unit} [${elapsedStr}, ${rateFmt}${postfix}]`;
}

// ---------------------------------------------------------------------------
// EMA (with Python's correctly rounded `beta ** calls`)
// ---------------------------------------------------------------------------

function pow2(e: number): number {
  // exact 2^e for normal doubles
  F64.setUint32(0, ((e + 1023) & 0x7ff) << 20);
  F64.setUint32(4, 0);
  return F64.getFloat64(0);
}

const powCache = new Map<string, number>();

/**
 * `base ** k` for a float base and a non-negative int k, rounded correctly like
 * glibc's `pow` (which CPython uses). V8's Math.pow is off by an ulp for
 * e.g. 0.7 ** 6, which would shift tqdm's EMA by an ulp. Results below 2^-60
 * are only ever used as `1 - x` (== 1 either way), so Math.pow does for them.
 */
export function pyPowInt(base: number, k: number): number {
  if (k === 0) return 1;
  const approx = Math.pow(base, k);
  if (!(base > 0 && base < 1) || approx < 2 ** -60) return approx;
  const key = `${base}:${k}`;
  const hit = powCache.get(key);
  if (hit !== undefined) return hit;
  const { mant, exp2 } = decompose(base);
  const big = mant ** BigInt(k);
  let e = exp2 * k;
  const bits = big.toString(2).length;
  let q = big;
  if (bits > 53) {
    const shift = BigInt(bits - 53);
    q = big >> shift;
    const rem = big - (q << shift);
    const half = 1n << (shift - 1n);
    if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
    e += bits - 53;
    if (q === 1n << 53n) {
      q >>= 1n;
      e += 1;
    }
  }
  const value = Number(q) * pow2(e);
  if (powCache.size > 10_000) powCache.clear();
  powCache.set(key, value);
  return value;
}

/** tqdm's EMA: `last = alpha * x + (1 - alpha) * last`, bias-corrected on read. */
export class Ema {
  private last = 0;
  private calls = 0;
  constructor(readonly alpha: number) {}
  /** `ema(x)`: fold in x, return the corrected value. */
  push(x: number): number {
    const beta = 1 - this.alpha;
    this.last = this.alpha * x + beta * this.last;
    this.calls += 1;
    return this.value();
  }
  /** `ema()`: the corrected value (0 before the first push). */
  value(): number {
    const beta = 1 - this.alpha;
    return this.calls ? this.last / (1 - pyPowInt(beta, this.calls)) : this.last;
  }
}

// ---------------------------------------------------------------------------
// Bars over their life
// ---------------------------------------------------------------------------

/**
 * The set of live bars that share one output (tqdm's class-level `_instances`).
 * A bar created while another is open gets the next free position and draws
 * one line lower (`"\n"`, the line, then `"\x1b[A"` to move back up).
 */
export class TqdmRegistry {
  readonly instances = new Set<TqdmWriter>();

  /** tqdm's `_get_free_pos`: the smallest position not held by another bar. */
  freePos(self?: TqdmWriter): number {
    const taken = new Set<number>();
    for (const inst of this.instances) if (inst !== self && inst.pos !== undefined) taken.add(Math.abs(inst.pos));
    for (let p = 0; ; p++) if (!taken.has(p)) return p;
  }
}

export interface TqdmWriterOptions {
  /** Clock in seconds (tqdm's `time.time`). */
  time: () => number;
  /** The file: receives every string tqdm writes, in order. */
  write: (s: string) => void;
  total?: number | null;
  desc?: string;
  /** Default true, like tqdm; null = "only at position 0". */
  leave?: boolean | null;
  initial?: number;
  /** Default 0.1 s. */
  mininterval?: number;
  /** Default 10 s. */
  maxinterval?: number;
  /** Default null: dynamic miniters. */
  miniters?: number | null;
  /** tqdm's default is 0.3; ai-toolkit's ToolkitProgressBar uses 0.7. */
  smoothing?: number;
  ascii?: boolean | string;
  unit?: string;
  ncols?: number | null;
  nrows?: number | null;
  postfix?: string | null;
  /** Bars sharing the output; default: a private registry (the bar is alone). */
  registry?: TqdmRegistry;
}

const TERM_MOVE_UP = '\x1b[A';

/**
 * Reproduces what a `tqdm` writes to its file over its life, given an explicit
 * clock; with pause()/unpause() it is ai-toolkit's `ToolkitProgressBar`
 * (construct it with smoothing 0.7 for that). Construction draws the initial
 * state, like tqdm. Not modelled: tqdm's monitor thread (TMonitor), which can
 * force one redraw of a bar with miniters > 1 that has not drawn for
 * maxinterval (10 s), `delay`, `bar_format`, `unit_scale`, dynamic ncols, and
 * more than 19 bars at once.
 */
export class TqdmWriter {
  n: number;
  total: number | null;
  desc: string;
  postfix: string | null;
  readonly leave: boolean | null;
  readonly initial: number;
  readonly mininterval: number;
  readonly maxinterval: number;
  miniters: number;
  readonly dynamicMiniters: boolean;
  readonly smoothing: number;
  readonly ascii: boolean | string;
  readonly unit: string;
  readonly ncols: number | null;
  readonly nrows: number | null;
  pos: number | undefined;
  lastPrintN: number;
  lastPrintT = 0;
  startT: number | undefined;
  /** tqdm sets `disable = True` in close(). */
  closed = false;
  paused = false;
  private lastTime = 0;
  private emaDn: Ema;
  private emaDt: Ema;
  private emaMiniters: Ema;
  /** After close(leave=True) the rate is the overall average (`_ema_dt = lambda: None`). */
  private averageRateOnly = false;
  private lastLen = 0;
  private readonly time: () => number;
  private readonly out: (s: string) => void;
  private readonly registry: TqdmRegistry;

  constructor(options: TqdmWriterOptions) {
    this.time = options.time;
    this.out = options.write;
    this.registry = options.registry ?? new TqdmRegistry();
    this.registry.instances.add(this); // tqdm.__new__

    let total = options.total ?? null;
    if (total === Infinity) total = null;
    const initial = options.initial ?? 0;
    this.dynamicMiniters = options.miniters === undefined || options.miniters === null;
    this.miniters = this.dynamicMiniters ? 0 : (options.miniters as number);
    this.mininterval = options.mininterval ?? 0.1;
    this.maxinterval = options.maxinterval ?? 10;
    this.smoothing = options.smoothing ?? 0.3;
    this.desc = options.desc ?? '';
    this.total = total;
    this.leave = options.leave === undefined ? true : options.leave;
    this.ncols = options.ncols ?? null;
    this.nrows = options.nrows ?? null;
    this.ascii = options.ascii ?? false;
    this.unit = options.unit ?? 'it';
    this.initial = initial;
    this.emaDn = new Ema(this.smoothing);
    this.emaDt = new Ema(this.smoothing);
    this.emaMiniters = new Ema(this.smoothing);
    this.postfix = options.postfix ? options.postfix : null;
    this.lastPrintN = initial;
    this.n = initial;
    this.pos = this.registry.freePos(this);
    this.refresh(); // drawn before start_t exists: elapsed 0, rate unknown
    this.lastPrintT = this.time();
    this.startT = this.lastPrintT;
    // ToolkitProgressBar.__init__
    this.paused = false;
    this.lastTime = this.time();
  }

  /** The values `__str__` formats (`format_dict`). */
  private meterOptions(): FormatMeterOptions {
    const dt = this.averageRateOnly ? null : this.emaDt.value();
    return {
      n: this.n,
      total: this.total,
      elapsed: this.startT !== undefined ? this.time() - this.startT : 0,
      ncols: this.ncols,
      prefix: this.desc,
      ascii: this.ascii,
      unit: this.unit,
      rate: truthy(dt) ? this.emaDn.value() / dt : null,
      postfix: this.postfix,
      initial: this.initial,
    };
  }

  /** The line the bar would draw now (`str(bar)`). */
  toString(): string {
    return formatMeter(this.meterOptions());
  }

  /** status_printer's print_status: `"\r" + s` padded over the previous line. */
  private printStatus(s: string): void {
    const len = dispLen(s);
    this.out(`\r${s}${' '.repeat(Math.max(this.lastLen - len, 0))}`);
    this.lastLen = len;
  }

  private moveto(n: number): void {
    const s = '\n'.repeat(Math.max(n, 0)) + TERM_MOVE_UP.repeat(Math.max(-n, 0));
    if (s) this.out(s);
  }

  /** tqdm's `display(msg, pos)`; returns false when the position is off screen. */
  display(msg?: string, pos?: number): boolean {
    if (pos === undefined) pos = Math.abs(this.pos ?? 0);
    const nrows = this.nrows || 20;
    if (pos >= nrows - 1) {
      if (pos >= nrows) return false;
      if (msg || msg === undefined) msg = ' ... (more hidden) ...';
    }
    if (pos) this.moveto(pos);
    this.printStatus(msg === undefined ? this.toString() : msg);
    if (pos) this.moveto(-pos);
    return true;
  }

  refresh(): boolean {
    if (this.closed) return false;
    this.display();
    return true;
  }

  setPostfixStr(s = '', refresh = true): void {
    this.postfix = String(s);
    if (refresh) this.refresh();
  }

  /** tqdm's `update(n)` (a no-op while paused, as in ToolkitProgressBar). Returns true if it drew. */
  update(n = 1): boolean {
    if (this.paused || this.closed) return false;
    if (n < 0) this.lastPrintN += n;
    this.n += n;
    if (this.n - this.lastPrintN >= this.miniters) {
      let curT = this.time();
      const dt = curT - this.lastPrintT;
      if (dt >= this.mininterval && curT >= (this.startT ?? 0)) {
        curT = this.time();
        const dn = this.n - this.lastPrintN;
        if (this.smoothing && dt && dn) {
          this.emaDn.push(dn);
          this.emaDt.push(dt);
        }
        this.refresh();
        if (this.dynamicMiniters) {
          if (this.maxinterval && dt >= this.maxinterval) {
            this.miniters = (dn * (this.mininterval || this.maxinterval)) / dt;
          } else if (this.smoothing) {
            this.miniters = this.emaMiniters.push(dn * (this.mininterval && dt ? this.mininterval / dt : 1));
          } else {
            this.miniters = Math.max(this.miniters, dn);
          }
        }
        this.lastPrintN = this.n;
        this.lastPrintT = curT;
        return true;
      }
    }
    return false;
  }

  /** ToolkitProgressBar.pause(): prints nothing, remembers when. */
  pause(): void {
    if (!this.paused) {
      this.paused = true;
      this.lastTime = this.time();
    }
  }

  /** ToolkitProgressBar.unpause(): shifts start_t by the paused time, sets last_print_t. */
  unpause(): void {
    if (this.paused) {
      this.paused = false;
      const curT = this.time();
      this.startT = (this.startT ?? 0) + (curT - this.lastTime);
      this.lastPrintT = curT;
    }
  }

  /** tqdm's `close()`: leave → final redraw with the average rate and "\n"; else wipe the line. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const pos = Math.abs(this.pos ?? 0);
    this.registry.instances.delete(this); // _decr_instances (no bar reaches nrows here)
    if (this.lastPrintT < (this.startT ?? 0)) return; // never displayed
    const leave = this.leave === null ? pos === 0 : this.leave;
    if (leave) {
      this.averageRateOnly = true;
      this.display(undefined, 0);
      this.out('\n');
    } else if (this.display('', pos) && !pos) {
      this.out('\r');
    }
  }
}
