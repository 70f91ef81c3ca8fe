import type { LogEvent } from './events.js';
import { classifyError } from './errorKind.js';
import { stripControlSequences } from './sanitize.js';
import { parseTqdmBar, parseTqdmCounter } from './tqdmBar.js';
import { checkpointStep } from './checkpointName.js';
import { ConfigDumpReader } from './configDump.js';

/**
 * Turns ai-toolkit log segments (one `\r`/`\n`-terminated piece each) into typed events.
 *
 * Pure: no I/O. It keeps the little state that multi-line constructs need (the config JSON dump,
 * the `Result:` block, tracebacks that old `--log` runs wrote twice) and never throws, whatever
 * bytes it is given.
 */

const MAX_LINE_CHARS = 16 * 1024;

interface LinePattern {
  re: RegExp;
  make(match: RegExpExecArray): LogEvent | null;
}

// Model-load and preparation messages (`print_and_status_update`), shown as the phase text.
const PHASE_LINES: RegExp[] = [
  /^Loading (?:\S.{0,40}) model$/,
  /^Loading transformer(?: ?\d)?$/i,
  /^Quantizing (?:transformer|Transformer|T5|Text Encoder|text encoder)(?: ?\d)?$/,
  /^Moving transformer(?: ?\d)? to CPU$/i,
  /^Loading (?:T5|CLIP|VAE|text encoder|Text Encoder|tokenizer|unet|UNet)$/,
  /^Text Encoder$/,
  /^Making pipe$/,
  /^Preparing Model$/,
  /^Model Loaded$/,
  /^Fusing in LoRA$/,
  /^Caching (?:latents|text_embeddings|clip vision|text embeddings) for .+$/,
  /^-\s+Preprocessing (?:image|video) dimensions$/,
  /^- Saving (?:latents|text embeddings|clip vision) to disk$/,
  /^Unloading (?:vae|text encoder|transformer)$/i,
  /^Compiling (?:model|transformer).*$/i,
];

const LINE_PATTERNS: LinePattern[] = [
  { re: /^Running (\d+) jobs?$/, make: (m) => ({ type: 'jobsStart', count: Number(m[1]) }) },
  { re: /^Running\s+(\d+) process(?:es)?$/, make: (m) => ({ type: 'processStart', count: Number(m[1]) }) },
  { re: /^Using SQLite database at (.+)$/, make: (m) => ({ type: 'sqliteDb', path: m[1]!.trim() }) },
  { re: /^Job ID: "?([0-9A-Za-z-]+)"?$/, make: (m) => ({ type: 'jobId', id: m[1]! }) },
  { re: /^# Running job: (.+)$/, make: (m) => ({ type: 'jobName', name: m[1]!.trim() }) },
  {
    re: /^#{2,} IMPORTANT RESUMING FROM (.+?) #{2,}$/,
    make: (m) => ({ type: 'resume', path: m[1]!, step: checkpointStep(m[1]!) }),
  },
  { re: /^Found step (\d+) in metadata/, make: (m) => ({ type: 'resumeStep', step: Number(m[1]) }) },
  {
    re: /^# OOM during training step, skipping batch (\d+)\/(\d+) #$/,
    make: (m) => ({ type: 'oomSkip', attempt: Number(m[1]), of: Number(m[2]) }),
  },
  {
    re: /^create LoRA network\. base dim \(rank\): (\d+), alpha: ([\d.]+)/,
    make: (m) => ({ type: 'network', rank: Number(m[1]), alpha: Number(m[2]) }),
  },
  {
    re: /^create LoRA for (U-Net|Text Encoder): (\d+) modules\.?$/,
    make: (m) => ({ type: 'networkModules', target: m[1] === 'U-Net' ? 'unet' : 'te', count: Number(m[2]) }),
  },
  { re: /^Dataset: (.+)$/, make: (m) => ({ type: 'dataset', path: m[1]!.trim() }) },
  { re: /^-\s+Found (\d+) (?:images|videos|files)/, make: (m) => ({ type: 'datasetImages', count: Number(m[1]) }) },
  { re: /^(\d+) buckets made$/, make: (m) => ({ type: 'buckets', count: Number(m[1]) }) },
  {
    re: /^(?:Generating baseline samples before training|Generating first sample from first sample config)$/,
    make: () => ({ type: 'baseline', skipped: false }),
  },
  { re: /^Skipping first sample due to config setting$/, make: () => ({ type: 'baseline', skipped: true }) },
  { re: /^Saving at step (\d+)$/, make: (m) => ({ type: 'saveStart', step: Number(m[1]) }) },
  { re: /^Sampling at step (\d+)$/, make: (m) => ({ type: 'samplingStart', step: Number(m[1]) }) },
  {
    re: /^Saved checkpoint to (.+)$/,
    make: (m) => ({ type: 'checkpointSaved', path: m[1]!.trim(), step: checkpointStep(m[1]!.trim()) }),
  },
  { re: /^Saved optimizer to (.+)$/, make: (m) => ({ type: 'optimizerSaved', path: m[1]!.trim() }) },
  { re: /^Removing old save: (.+)$/, make: (m) => ({ type: 'saveRemoved', path: m[1]!.trim() }) },
  {
    re: /^Error running job: (.*)$/,
    make: (m) => ({ type: 'error', kind: classifyError(m[1]!), message: m[1]!.trim() }),
  },
  {
    re: /^Error launching job process: (.*)$/,
    make: (m) => ({ type: 'error', kind: classifyError(m[1]!), message: `could not launch the job: ${m[1]!.trim()}` }),
  },
  { re: /^Error running on_error: (.*)$/, make: (m) => ({ type: 'errorSecondary', message: m[1]!.trim() }) },
  { re: /^Job stopped$/, make: () => ({ type: 'jobStopped' }) },
  {
    re: /^Job process terminated with signal (\w+)\.?$/,
    make: (m) => ({ type: 'processExit', signal: m[1]!, code: null, text: m[0] }),
  },
  {
    re: /^Job process exited with code (-?\d+)\.?$/,
    make: (m) => ({ type: 'processExit', signal: null, code: Number(m[1]), text: m[0] }),
  },
  {
    re: /^Job process exited unexpectedly\. Last log line: (.*)$/,
    make: (m) => ({ type: 'processExit', signal: null, code: null, text: m[0] }),
  },
  {
    re: /Out of memory: Killed process (\d+) \(([^)]*)\)/,
    make: (m) => ({ type: 'oomKill', pid: Number(m[1]), process: m[2]! }),
  },
  {
    re: /^Grabbing (?:assistant )?lora from the hub: (.+)$/,
    make: (m) => ({ type: 'phase', text: `Grabbing LoRA from the hub: ${m[1]!.trim()}` }),
  },
];

const WARNING = /^(?:[WE]\d{4} \d\d:\d\d:\d\d|.*\b(?:Warning|UserWarning|FutureWarning|DeprecationWarning)\b:|warnings\.warn\()/;
const RULE = /^={10,}$/;
const HASH_RULE = /^#{10,}$/;
const TRACEBACK = /^Traceback \(most recent call last\):(?:Traceback \(most recent call last\):)?$/;
const CHAINED = /^(?:During handling of the above exception, another exception occurred:|The above exception was the direct cause of the following exception:)/;
/** A traceback frame: `File "<path>", line N, in <function>` (the doubled copy of an old tee may follow). */
const FRAME = /^File "([^"]*)", line \d+, in (\S+)/;
/** What a paste puts where it left lines out: `...`, `[...]`, `…`. */
const ELISION = /^\[?(?:\.{3}|…)\]?$/;
/** The interpreter's own launcher (`python -m`, a debugger's `run_path`): frames above the program's outermost one. */
const LAUNCHER_FILE = /^(?:<frozen runpy>|runpy\.py)$/;
const EXCEPTION_LINE = /^((?:[A-Za-z_][\w.]*)?(?:Error|Exception|Interrupt|Exit|Warning|error|Stop\w*)|[A-Za-z_][\w.]*\.[A-Z]\w*)(?:\s*:\s?(.*))?$/;

type Mode = 'normal' | 'config' | 'result' | 'traceback' | 'afterException';

export class LogParser {
  private mode: Mode = 'normal';
  private dump: ConfigDumpReader | null = null;
  /** Inside a traceback, before its first `File "…"` line (launcher frames aside). */
  private awaitingFirstFrame = false;
  /** The traceback's outermost frame has been read: whether it was run.py's module level is known. */
  private framed = false;
  /** The line before was a frame that was not indented (a paste that lost its indentation): this one is its source line. */
  private afterBareFrame = false;
  /** The traceback under way went through run.py's module level: nothing caught it. */
  private uncaught = false;
  private resultCompleted: number | null = null;
  private resultFailures: number | null = null;

  /** Parses one segment. `final` is false for the unterminated tail, which may still grow. */
  parse(rawSegment: string, final = true): LogEvent[] {
    try {
      return this.parseUnsafe(rawSegment, final);
    } catch {
      // The parser must never take the dashboard down; a line it cannot read is just text.
      return [];
    }
  }

  /**
   * The config dump read so far, while one is being read (the text read may end in the middle of
   * it): its facts count now, and a later event carries more of them.
   */
  partialConfig(): LogEvent | null {
    if (this.mode !== 'config' || this.dump === null) return null;
    return { type: 'config', data: structuredClone(this.dump.value()), complete: false };
  }

  /**
   * Whether a plain bar state, read now, would only be a bar: no config dump or result block is
   * open that it would close (a traceback is over at a bar, and `sawBar` says so).
   */
  readsBars(): boolean {
    return this.mode === 'normal' || this.mode === 'traceback' || this.mode === 'afterException';
  }

  /** A bar state was read elsewhere (the backfill's fast path): what it closes here is closed. */
  sawBar(): void {
    if (this.mode === 'traceback' || this.mode === 'afterException') this.mode = 'normal';
  }

  /** Ends the input: flushes a config dump or result block still open. */
  end(): LogEvent[] {
    const events: LogEvent[] = [];
    this.closeOpenBlocks(events);
    return events;
  }

  private parseUnsafe(rawSegment: string, final: boolean): LogEvent[] {
    const segment = stripControlSequences(
      rawSegment.length > MAX_LINE_CHARS ? rawSegment.slice(0, MAX_LINE_CHARS) : rawSegment,
    );
    const events: LogEvent[] = [];

    if (!final) {
      // The live tail: only a bar state is worth reading before it is finished, and the outermost
      // frame of a traceback once it visibly names run.py's module level (the trainer is dying).
      const bar = segment.includes('%|') ? parseTqdmBar(segment.trimStart()) : null;
      if (bar) events.push({ type: 'bar', bar: { ...bar, trailing: '' } });
      else if (this.mode === 'traceback' && this.awaitingFirstFrame && segment.endsWith('in <module>')) this.readFrame(segment.trim(), events, true);
      return events;
    }

    const line = segment.trim();
    if (line.length === 0) {
      if (this.mode === 'result') this.flushResult(events);
      // tqdm wipes a leave=False bar with as many spaces as it was wide.
      if (segment.length >= 10) events.push({ type: 'barCleared' });
      return events;
    }

    if (this.mode === 'config') {
      if (this.continueConfig(segment, line, events)) return events;
    }

    if (segment.includes('%|')) {
      const bar = parseTqdmBar(segment.trimStart());
      if (bar) {
        this.closeOpenBlocks(events);
        events.push({ type: 'bar', bar });
        const glued = bar.trailing.trim();
        if (glued.length > 0) events.push(...this.parseLine(glued, glued));
        return events;
      }
    }
    const counter = parseTqdmCounter(segment);
    if (counter) {
      events.push({ type: 'counter', counter });
      return events;
    }
    events.push(...this.parseLine(line, segment));
    return events;
  }

  private parseLine(line: string, segment: string): LogEvent[] {
    const events: LogEvent[] = [];

    switch (this.mode) {
      case 'result': {
        const completed = /^-\s*(\d+) completed jobs?$/.exec(line);
        if (completed) {
          this.resultCompleted = Number(completed[1]);
          return events;
        }
        const failures = /^-\s*(\d+) failures?$/.exec(line);
        if (failures) {
          this.resultFailures = Number(failures[1]);
          return events;
        }
        this.flushResult(events);
        if (RULE.test(line)) return events;
        break;
      }
      case 'traceback': {
        const afterBareFrame = this.afterBareFrame;
        this.afterBareFrame = false;
        if (/^\s/.test(segment) || line.startsWith('^') || line.startsWith('~')) {
          if (this.awaitingFirstFrame && line.startsWith('File "')) this.readFrame(line, events, false);
          return events;
        }
        // A frame that lost its indentation (a paste rendered as text): its source line follows, bare too.
        if (line.startsWith('File "')) {
          if (this.awaitingFirstFrame) this.readFrame(line, events, false);
          this.afterBareFrame = true;
          return events;
        }
        if (TRACEBACK.test(line)) return events; // the doubled copy of an old `--log` tee
        if (CHAINED.test(line)) {
          this.beginTraceback();
          return events;
        }
        if (ELISION.test(line)) return events; // frames a paste left out
        {
          const exception = this.readException(line);
          if (exception) {
            this.mode = 'afterException';
            events.push(exception);
            return events;
          }
        }
        if (afterBareFrame) return events;
        this.mode = 'normal';
        break;
      }
      case 'afterException':
        if (CHAINED.test(line)) {
          this.mode = 'traceback';
          this.beginTraceback();
          return events;
        }
        if (TRACEBACK.test(line)) {
          // The same exception printed again (doubled stderr): not a second error.
          this.mode = 'traceback';
          this.beginTraceback();
          return events;
        }
        this.mode = 'normal';
        break;
      default:
        break;
    }

    if (line === '{' && /^\{\s*$/.test(segment)) {
      this.mode = 'config';
      this.dump = new ConfigDumpReader();
      return events;
    }
    if (line === 'Result:') {
      this.mode = 'result';
      this.resultCompleted = null;
      this.resultFailures = null;
      return events;
    }
    if (TRACEBACK.test(line)) {
      this.mode = 'traceback';
      this.beginTraceback();
      events.push({ type: 'traceback' });
      return events;
    }
    if (RULE.test(line) || HASH_RULE.test(line)) return events;

    for (const pattern of LINE_PATTERNS) {
      const match = pattern.re.exec(line);
      if (match) {
        const event = pattern.make(match);
        // A step, rank or count of 10^300 is a corrupted line: drop it rather than carry Infinity on.
        if (event && numbersSafe(event)) events.push(event);
        return events;
      }
    }
    for (const re of PHASE_LINES) {
      if (re.test(line)) {
        events.push({ type: 'phase', text: line.replace(/^-\s+/, '') });
        return events;
      }
    }
    // Old versions glued `Saving at step N` (and other prints) straight onto text.
    const glued = /(Saving at step \d+|Error running job: .*|Saved checkpoint to .*)$/.exec(line);
    if (glued && glued.index > 0) {
      events.push({ type: 'text', text: line.slice(0, glued.index) });
      events.push(...this.parseLine(glued[1]!, glued[1]!));
      return events;
    }
    if (/^KeyboardInterrupt$/.test(line)) {
      events.push({ type: 'exception', name: 'KeyboardInterrupt', message: '', uncaught: false });
      return events;
    }
    if (WARNING.test(line)) {
      events.push({ type: 'warning', text: line });
      return events;
    }
    events.push({ type: 'text', text: line });
    return events;
  }

  private readException(line: string): LogEvent | null {
    const match = EXCEPTION_LINE.exec(line);
    if (!match) return null;
    const name = undouble(match[1]!);
    let message = (match[2] ?? '').trim();
    // `IndexErrorIndexError: : list index out of rangelist index out of range`
    message = undouble(message.replace(/^:\s*/, ''));
    // No frame in view (a paste that left them out): who caught it is not known.
    return { type: 'exception', name, message, uncaught: this.framed ? this.uncaught : null };
  }

  /** A traceback (or the next one of a chain) begins: its first frame tells whether anything caught it. */
  private beginTraceback(): void {
    this.awaitingFirstFrame = true;
    this.framed = false;
    this.uncaught = false;
    this.afterBareFrame = false;
  }

  /**
   * The outermost frame of a traceback. Python prints the outermost first: one in ai-toolkit's
   * `run.py` at module level means the exception went up through everything to the interpreter —
   * the trainer is dying, whether or not the log goes on to its `SomeError: message` line. The
   * frames of the interpreter's launcher (`python -m run`) come before it and are passed over.
   * `tail`: the line may not be whole yet; only a frame that is visibly run.py's module level counts.
   */
  private readFrame(line: string, events: LogEvent[], tail: boolean): void {
    const frame = FRAME.exec(undouble(line)) ?? FRAME.exec(line);
    const file = frame ? frame[1]!.split(/[\\/]/).pop()! : null;
    const moduleOfRunPy = file === 'run.py' && frame![2] === '<module>';
    if (tail && !moduleOfRunPy) return;
    if (file !== null && LAUNCHER_FILE.test(file)) return;
    this.awaitingFirstFrame = false;
    this.framed = true;
    if (moduleOfRunPy) {
      this.uncaught = true;
      events.push({ type: 'uncaughtTraceback' });
    }
  }

  private continueConfig(segment: string, line: string, events: LogEvent[]): boolean {
    const inside = /^\s/.test(segment) || line === '}' || line === '},' || line === ']';
    if (!inside || !this.dump || !this.dump.line(segment)) {
      // The dump was cut off (or was not JSON after all): report what there is and read on.
      this.flushConfig(events, false);
      return false;
    }
    if (this.dump.complete) this.flushConfig(events, true);
    return true;
  }

  private flushConfig(events: LogEvent[], complete: boolean): void {
    if (this.dump) events.push({ type: 'config', data: this.dump.value(), complete });
    this.dump = null;
    this.mode = 'normal';
  }

  private flushResult(events: LogEvent[]): void {
    if (this.mode !== 'result') return;
    this.mode = 'normal';
    if (this.resultCompleted !== null || this.resultFailures !== null) {
      events.push({ type: 'result', completed: this.resultCompleted ?? 0, failures: this.resultFailures ?? 0 });
    }
  }

  private closeOpenBlocks(events: LogEvent[]): void {
    if (this.mode === 'config') this.flushConfig(events, false);
    else if (this.mode === 'result') this.flushResult(events);
    else if (this.mode === 'traceback' || this.mode === 'afterException') this.mode = 'normal';
  }
}

/** `main()main()` → `main()`: text that an old `--log` tee wrote twice, character-interleaved or whole. */
export function undouble(text: string): string {
  if (text.length < 2 || text.length % 2 !== 0) return text;
  const half = text.length / 2;
  return text.slice(0, half) === text.slice(half) ? text.slice(0, half) : text;
}

/** Every number in an event is finite and within the safe integer range. */
function numbersSafe(event: object): boolean {
  for (const value of Object.values(event)) {
    if (typeof value === 'number' && !(Number.isFinite(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER)) return false;
  }
  return true;
}
