import { EventEmitter } from 'node:events';

/**
 * Writes Ink's frames to the terminal as the lines that changed, nothing more.
 *
 * Ink's standard renderer erases the whole previous frame and writes the new one on every update
 * (its incremental mode puts lines one row off in a full-height frame). lora-top owns the whole
 * alternate screen and its frame always starts at the top-left and is never taller than the
 * terminal, so a frame can be written by absolute row: each changed line is moved to, cleared
 * and written. A dashboard left open for hours over SSH then costs a few hundred bytes
 * a second instead of several kilobytes.
 */

const ESC = '\x1b';
/** What ansi-escapes' eraseLines(n) writes before a frame: erase line, cursor up, …, cursor left. */
// eslint-disable-next-line no-control-regex
const ERASE_PREFIX = /^(?:\x1b\[2K(?:\x1b\[1A)?)+\x1b\[G/;

/** The bytes that turn the screen's `previous` lines into `next` (rows counted from 1). Pure. */
export function frameDiff(previous: readonly string[], next: readonly string[]): string {
  let out = '';
  for (let i = 0; i < next.length; i++) {
    // Clear first, then write: a line that fills the last column and is then cleared to its end
    // loses that column on xterm-like terminals (the cursor waits on the last cell).
    if (next[i] !== previous[i]) out += `${ESC}[${i + 1};1H${ESC}[2K${next[i]}`;
  }
  for (let i = next.length; i < previous.length; i++) out += `${ESC}[${i + 1};1H${ESC}[2K`;
  return out;
}

/** Splits a frame as Ink writes it (lines joined by `\n`, perhaps one trailing `\n`). */
export function frameLines(frame: string): string[] {
  const body = frame.endsWith('\n') ? frame.slice(0, -1) : frame;
  return body.length === 0 ? [] : body.split('\n');
}

/**
 * A stand-in for process.stdout that Ink renders into. Frames become line diffs; anything else Ink
 * writes (cursor visibility, synchronized-output brackets) passes through.
 */
export class FrameWriter extends EventEmitter {
  private lines: string[] = [];
  private readonly onResize = () => {
    // After a resize the terminal may have reflowed or cleared: draw the next frame whole.
    this.invalidate();
    this.emit('resize');
  };

  constructor(private readonly target: NodeJS.WriteStream) {
    super();
    target.on('resize', this.onResize);
  }

  get columns(): number {
    return this.target.columns;
  }

  get rows(): number {
    return this.target.rows;
  }

  get isTTY(): boolean {
    return this.target.isTTY === true;
  }

  /** Forget what is on the screen: the next frame is written whole, after a clear. */
  invalidate(): void {
    this.lines = [];
    this.target.write(`${ESC}[H${ESC}[2J`);
  }

  write(chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void): boolean {
    const done = typeof encoding === 'function' ? encoding : callback;
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const erase = ERASE_PREFIX.exec(text);
    let out = text;
    // A frame follows the erase prefix; the very first one has none (there was nothing to erase).
    // Cursor visibility and synchronized-output brackets (`ESC[?…`) are not frames.
    if (erase || (this.lines.length === 0 && !text.startsWith(`${ESC}[?`))) {
      const next = frameLines(erase ? text.slice(erase[0].length) : text);
      out = frameDiff(this.lines, next);
      this.lines = next;
    }
    if (out.length === 0) {
      done?.();
      return true;
    }
    return this.target.write(out, done);
  }

  /** Stops following the real terminal's resizes. */
  detach(): void {
    this.target.off('resize', this.onResize);
  }
}
