/**
 * A strict parser of the Prometheus text exposition format 0.0.4, written against the format's
 * documentation (https://prometheus.io/docs/instrumenting/exposition_formats/) for tests: it throws,
 * naming the line, on anything the format does not allow, where a lenient scraper might let it pass.
 *
 * - Lines end with a line feed, the last one too; empty lines are ignored.
 * - Tokens are separated by blanks and tabs; leading and trailing ones are ignored.
 * - `# HELP name docstring` (escapes `\\` and `\n` only), `# TYPE name type`, other `#` lines are comments.
 * - Samples: `name{label="value",...} value [timestamp]`, label value escapes `\\`, `\"`, `\n` only.
 * - HELP and TYPE at most once per family and before its samples; a family's lines are one group;
 *   no two samples with the same name and labels.
 */

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

export interface PromFamily {
  help?: string;
  type?: string;
  samples: PromSample[];
}

export interface PromText {
  families: Map<string, PromFamily>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const METRIC_NAME_START = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME_START = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const DECIMAL_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export class PromTextError extends Error {
  constructor(readonly line: number, problem: string) {
    super(`line ${line}: ${problem}`);
    this.name = 'PromTextError';
  }
}

/** Parses exposition text; bytes are first decoded as UTF-8, strictly. */
export function parsePromText(input: string | Uint8Array): PromText {
  const text = typeof input === 'string' ? input : decodeUtf8(input);
  const families = new Map<string, PromFamily>();
  if (text === '') return { families };
  if (!text.endsWith('\n')) throw new PromTextError(text.split('\n').length, 'the last line does not end with a line feed');
  const lines = text.slice(0, -1).split('\n');
  const sampled = new Set<string>();
  const series = new Set<string>();
  let current: string | null = null;

  /** The family a line is about; it must be the current group or a new one. */
  const enter = (family: string, lineNumber: number): PromFamily => {
    if (family !== current) {
      if (families.has(family)) throw new PromTextError(lineNumber, `the lines of ${family} are not one group`);
      families.set(family, { samples: [] });
      current = family;
    }
    return families.get(family)!;
  };

  lines.forEach((rawLine, index) => {
    const lineNumber = index + 1;
    const fail = (problem: string): never => {
      throw new PromTextError(lineNumber, problem);
    };
    if (/[\ud800-\udfff]/.test(rawLine.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) fail('a lone surrogate (not UTF-8)');
    const line = rawLine.replace(/^[ \t]+/, '');
    if (line === '') return;

    if (line.startsWith('#')) {
      const comment = /^#[ \t]+(HELP|TYPE)(?:[ \t]+|$)(.*)$/s.exec(line);
      if (!comment) return;
      const [, keyword, rest] = comment as unknown as [string, 'HELP' | 'TYPE', string];
      const nameMatch = /^([^ \t]*)(?:[ \t]+(.*))?$/s.exec(rest)!;
      const name = nameMatch[1]!;
      const after = nameMatch[2] ?? '';
      if (name === '') fail(`# ${keyword} without a metric name`);
      if (!METRIC_NAME.test(name)) fail(`bad metric name ${JSON.stringify(name)}`);
      const family = enter(name, lineNumber);
      if (sampled.has(name)) fail(`# ${keyword} ${name} after its samples`);
      if (keyword === 'HELP') {
        if (family.help !== undefined) fail(`a second # HELP for ${name}`);
        family.help = unescapeHelp(after, fail);
      } else {
        if (family.type !== undefined) fail(`a second # TYPE for ${name}`);
        const type = after.replace(/[ \t]+$/, '');
        if (!TYPES.has(type)) fail(`unknown metric type ${JSON.stringify(type)}`);
        family.type = type;
      }
      return;
    }

    const sample = parseSampleLine(line, fail);
    const familyName = familyOf(sample.name, families);
    const family = enter(familyName, lineNumber);
    sampled.add(familyName);
    const key = JSON.stringify([sample.name, Object.entries(sample.labels).sort(([a], [b]) => (a < b ? -1 : 1))]);
    if (series.has(key)) fail(`a second sample of the same series (${sample.name} with the same labels)`);
    series.add(key);
    family.samples.push(sample);
  });
  return { families };
}

/** Bytes as UTF-8, strictly: invalid bytes are an error on the line that holds them. */
function decodeUtf8(bytes: Uint8Array): string {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const lines: string[] = [];
  let start = 0;
  for (let lineNumber = 1; start <= bytes.length; lineNumber++) {
    const end = bytes.indexOf(0x0a, start);
    const stop = end < 0 ? bytes.length : end;
    try {
      lines.push(decoder.decode(bytes.subarray(start, stop)));
    } catch {
      throw new PromTextError(lineNumber, 'not valid UTF-8');
    }
    start = stop + 1;
  }
  return lines.join('\n');
}

/** A histogram's `_bucket`, `_sum`, `_count` and a summary's `_sum`, `_count` belong to its family. */
function familyOf(name: string, families: Map<string, PromFamily>): string {
  const suffix = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (suffix) {
    const type = families.get(suffix[1]!)?.type;
    if (type === 'histogram' || (type === 'summary' && suffix[2] !== 'bucket')) return suffix[1]!;
  }
  return name;
}

function unescapeHelp(text: string, fail: (problem: string) => never): string {
  return text.replace(/\\(.?)/gs, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    return fail(c === '' ? 'a backslash at the end of a # HELP line' : `unknown escape \\${c} in # HELP`);
  });
}

function parseSampleLine(line: string, fail: (problem: string) => never): PromSample {
  let rest = line;
  const nameMatch = METRIC_NAME_START.exec(rest);
  if (!nameMatch) return fail(`a sample line must start with a metric name: ${JSON.stringify(line)}`);
  const name = nameMatch[0];
  rest = rest.slice(name.length);
  const labels: Record<string, string> = {};
  const skipBlanks = () => {
    rest = rest.replace(/^[ \t]+/, '');
  };
  skipBlanks();
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    skipBlanks();
    while (!rest.startsWith('}')) {
      const labelMatch = LABEL_NAME_START.exec(rest);
      if (!labelMatch) fail(`bad or missing label name at ${JSON.stringify(rest)}`);
      const label = labelMatch![0];
      if (label.startsWith('__')) fail(`label name ${label} is reserved`);
      if (Object.hasOwn(labels, label)) fail(`label ${label} twice`);
      rest = rest.slice(label.length);
      skipBlanks();
      if (!rest.startsWith('=')) fail(`no = after label ${label}`);
      rest = rest.slice(1);
      skipBlanks();
      if (!rest.startsWith('"')) fail(`the value of label ${label} is not quoted`);
      let value = '';
      let i = 1;
      for (;;) {
        if (i >= rest.length) fail(`unterminated value of label ${label}`);
        const c = rest[i]!;
        if (c === '"') break;
        if (c === '\\') {
          const next = rest[i + 1];
          if (next === '\\' || next === '"') value += next;
          else if (next === 'n') value += '\n';
          else fail(next === undefined ? `unterminated value of label ${label}` : `unknown escape \\${next} in label ${label}`);
          i += 2;
        } else {
          value += c;
          i += 1;
        }
      }
      labels[label] = value;
      rest = rest.slice(i + 1);
      skipBlanks();
      if (rest.startsWith(',')) {
        rest = rest.slice(1);
        skipBlanks();
      } else if (!rest.startsWith('}')) {
        fail(`expected , or } after label ${label}`);
      }
    }
    rest = rest.slice(1);
    skipBlanks();
  } else if (rest !== '' && rest.length === line.length - name.length) {
    fail(`no blank after the metric name ${name}`);
  }
  const tokens = rest.split(/[ \t]+/).filter((t) => t !== '');
  if (tokens.length === 0) fail(`no value for ${name}`);
  if (tokens.length > 2) fail(`unexpected ${JSON.stringify(tokens.slice(2).join(' '))} after the value`);
  const sample: PromSample = { name, labels, value: parseGoFloat(tokens[0]!, fail) };
  if (tokens[1] !== undefined) sample.timestamp = parseTimestamp(tokens[1], fail);
  return sample;
}

/** A float as Go's strconv.ParseFloat(s, 64) accepts it (no underscores); out of range is an error. */
export function parseGoFloat(token: string, fail: (problem: string) => never): number {
  const special = /^([+-]?)(inf|infinity)$/i.exec(token);
  if (special) return special[1] === '-' ? -Infinity : Infinity;
  if (/^nan$/i.test(token)) return NaN;
  let value: number;
  const hex = HEX_FLOAT.exec(token);
  if (hex) {
    const [, sign, whole, fraction, exponent] = hex as unknown as [string, string, string, string, string];
    if (whole === '' && fraction === '') fail(`bad value ${JSON.stringify(token)}`);
    const mantissa = Number.parseInt(`${whole}${fraction}` || '0', 16);
    value = (sign === '-' ? -1 : 1) * mantissa * 2 ** (Number(exponent) - 4 * fraction.length);
  } else if (DECIMAL_FLOAT.test(token)) {
    value = Number(token);
  } else {
    return fail(`bad value ${JSON.stringify(token)}`);
  }
  if (!Number.isFinite(value)) fail(`value ${token} is out of range`);
  return value;
}

function parseTimestamp(token: string, fail: (problem: string) => never): number {
  if (!/^[+-]?\d+$/.test(token)) fail(`bad timestamp ${JSON.stringify(token)}`);
  const big = BigInt(token);
  if (big < INT64_MIN || big > INT64_MAX) fail(`timestamp ${token} is out of range`);
  return Number(big);
}
