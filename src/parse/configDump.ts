/**
 * Reads the process config the trainer prints at start (`json.dumps(config, indent=4)`), line by
 * line, keeping what has been read so far as a plain object. The dump is often cut short (a paste,
 * a crash, a log read while it is being written): every value read is kept, so the facts in the
 * first half of a dump are there without its closing brace. Pure.
 *
 * json.dumps with an indent writes one value a line: `"key": scalar,`, `"key": {` / `"key": [`,
 * `"key": {}` / `"key": []`, a bare scalar or `{` / `[` inside an array, and `}` / `]` (with a comma)
 * to close.
 *
 * A value is only taken once it is known to be whole: a line cut short (a paste that ends mid-line)
 * must not turn `"steps": 4000` into 40 or `1e-05` into 1. A string that parses has its closing
 * quote, and `true`/`false`/`null` have no prefix that parses; a number is whole when a comma follows
 * it, or, as the last value of its object or array (no comma), once the line that closes it comes.
 */

type Container = Record<string, unknown> | unknown[];

const MAX_CHARS = 256 * 1024;

/** `"key": rest` → [key, rest]; null when the line does not start with a JSON string and a colon. */
function splitMember(line: string): [string, string] | null {
  if (line.charCodeAt(0) !== 34 /* " */) return null;
  // The key ends at the first quote not escaped by a backslash.
  let i = 1;
  while (i < line.length) {
    const c = line.charCodeAt(i);
    if (c === 92 /* \ */) i += 2;
    else if (c === 34) break;
    else i++;
  }
  if (i >= line.length || line.slice(i + 1, i + 3) !== ': ') return null;
  let key: unknown;
  try {
    key = JSON.parse(line.slice(0, i + 1));
  } catch {
    return null;
  }
  return typeof key === 'string' ? [key, line.slice(i + 3)] : null;
}

const NO_VALUE = Symbol('no value');

/** A number written without a comma after it: whole only if the next line closes its container. */
interface Pending {
  container: Container;
  key: string | null;
  value: unknown;
}

/** A scalar or an empty container as written on one line (a trailing comma allowed). */
function scalar(text: string): unknown {
  const t = text.endsWith(',') ? text.slice(0, -1) : text;
  if (t === '{}') return {};
  if (t === '[]') return [];
  // json.dumps writes NaN and Infinity as bare words.
  if (t === 'NaN') return Number.NaN;
  if (t === 'Infinity') return Number.POSITIVE_INFINITY;
  if (t === '-Infinity') return Number.NEGATIVE_INFINITY;
  try {
    return JSON.parse(t);
  } catch {
    return NO_VALUE;
  }
}

export class ConfigDumpReader {
  private readonly root: Record<string, unknown> = {};
  private readonly stack: Container[] = [this.root];
  private chars = 0;
  private pending: Pending | null = null;
  /** The root object has been closed: the dump is whole. */
  complete = false;

  /** What has been read so far. */
  value(): Record<string, unknown> {
    return this.root;
  }

  /**
   * Reads one line of the dump (the opening `{` has been read). false when the line is not part of
   * a dump: the dump was cut off there, and the line is the log's again.
   */
  line(raw: string): boolean {
    const line = raw.trim();
    if (this.complete) return false;
    if (line.length === 0) return false;
    this.chars += raw.length;
    const top = this.stack[this.stack.length - 1]!;
    const pending = this.pending;
    this.pending = null;
    if (line === '}' || line === '},' || line === ']' || line === '],') {
      if (this.stack.length === 1 && line !== '}') return false;
      if (pending) place(pending.container, pending.key, pending.value);
      this.stack.pop();
      if (this.stack.length === 0) this.complete = true;
      return true;
    }
    // Past the size limit the dump is still read to its end, so that its lines are not taken for log lines.
    const keep = this.chars <= MAX_CHARS;
    if (Array.isArray(top)) {
      if (line === '{' || line === '[') return this.open(top, null, line === '{' ? {} : [], keep);
      const value = scalar(line);
      if (value === NO_VALUE) return false;
      if (keep) this.take(top, null, value, line);
      return true;
    }
    const member = splitMember(line);
    if (!member) return false;
    const [key, rest] = member;
    if (rest === '{' || rest === '[') return this.open(top, key, rest === '{' ? {} : [], keep);
    const value = scalar(rest);
    if (value === NO_VALUE) return false;
    if (keep) this.take(top, key, value, rest);
    return true;
  }

  /** Keeps a value read from `text`, or holds a number with no comma after it until its container closes. */
  private take(container: Container, key: string | null, value: unknown, text: string): void {
    if (typeof value === 'number' && !text.endsWith(',')) this.pending = { container, key, value };
    else place(container, key, value);
  }

  private open(parent: Container, key: string | null, child: Container, keep: boolean): true {
    if (keep) place(parent, key, child);
    this.stack.push(child);
    return true;
  }
}

function place(container: Container, key: string | null, value: unknown): void {
  if (Array.isArray(container)) container.push(value);
  else if (key !== null) container[key] = value;
}
