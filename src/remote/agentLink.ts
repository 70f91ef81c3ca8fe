import type { Readable, Writable } from 'node:stream';

/**
 * The agent's wire format (pure but for the streams it is given): requests are JSON lines; replies
 * and pushes are a JSON header line, followed by `n` raw bytes when the header says `n`. Requests
 * are matched to replies by id; pushes (`w`: the key of a follow or a folder watch) go to the
 * handler registered for their key.
 */

export interface AgentHeader {
  id?: number;
  ok?: boolean;
  error?: string;
  code?: string;
  /** A push: the key it belongs to, and what it is ('data', 'reset', 'waiting', 'changed', 'error'). */
  w?: string;
  t?: string;
  n?: number;
  [field: string]: unknown;
}

export interface AgentMessage {
  header: AgentHeader;
  data: Buffer | null;
}

/** An error the agent answered with: the message is one line; `code` is errno's name where there is one. */
export class AgentError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
  }
}

const MAX_HEADER = 1 << 20;

/** Splits the agent's output into messages. */
export class AgentFrames {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private header: AgentHeader | null = null;

  /** Feeds bytes; returns the messages they complete. Throws on a malformed header. */
  push(chunk: Buffer): AgentMessage[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const out: AgentMessage[] = [];
    for (;;) {
      if (this.header === null) {
        const buffer = this.take();
        const newline = buffer.indexOf(10);
        if (newline < 0) {
          if (buffer.length > MAX_HEADER) throw new Error('the agent sent an over-long line');
          this.keep(buffer);
          return out;
        }
        const header = JSON.parse(buffer.subarray(0, newline).toString('utf8')) as AgentHeader;
        this.keep(buffer.subarray(newline + 1));
        if (typeof header.n === 'number' && header.n > 0) this.header = header;
        else out.push({ header, data: typeof header.n === 'number' ? Buffer.alloc(0) : null });
      } else {
        const need = this.header.n!;
        if (this.pendingBytes < need) return out;
        const buffer = this.take();
        out.push({ header: this.header, data: buffer.subarray(0, need) });
        this.header = null;
        this.keep(buffer.subarray(need));
      }
    }
  }

  private take(): Buffer {
    const buffer = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return buffer;
  }

  private keep(buffer: Buffer): void {
    if (buffer.length === 0) return;
    this.pending = [buffer];
    this.pendingBytes = buffer.length;
  }
}

/** Requests and pushes over one agent's standard input and output. */
export class AgentLink {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(m: AgentMessage): void; reject(e: Error): void }>();
  private readonly pushHandlers = new Map<string, (message: AgentMessage) => void>();
  private readonly frames = new AgentFrames();
  private ended: Error | null = null;
  /** Bytes received so far (the bench's bytes per second). */
  bytesIn = 0;
  bytesOut = 0;
  onReady: (() => void) | null = null;

  constructor(private readonly input: Writable, output: Readable) {
    output.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      let messages: AgentMessage[];
      try {
        messages = this.frames.push(chunk);
      } catch (error) {
        this.end(error as Error);
        return;
      }
      for (const message of messages) this.dispatch(message);
    });
    input.on('error', () => {});
  }

  private dispatch(message: AgentMessage): void {
    const { header } = message;
    if (typeof header.id === 'number') {
      const waiter = this.waiting.get(header.id);
      this.waiting.delete(header.id);
      if (!waiter) return;
      if (header.ok) waiter.resolve(message);
      else waiter.reject(new AgentError(String(header.error ?? 'failed').split('\n')[0]!, header.code || undefined));
    } else if (typeof header.w === 'string') {
      this.pushHandlers.get(header.w)?.(message);
    } else if (header.t === 'ready') {
      this.onReady?.();
    }
  }

  request(op: string, args: Record<string, unknown> = {}): Promise<AgentMessage> {
    if (this.ended) return Promise.reject(this.ended);
    const id = this.nextId++;
    const line = `${JSON.stringify({ ...args, id, op })}\n`;
    this.bytesOut += Buffer.byteLength(line);
    return new Promise<AgentMessage>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.input.write(line);
    });
  }

  onPush(key: string, handler: ((message: AgentMessage) => void) | null): void {
    if (handler) this.pushHandlers.set(key, handler);
    else this.pushHandlers.delete(key);
  }

  /** The link is gone: every request waiting fails with `error`. */
  end(error: Error): void {
    if (this.ended) return;
    this.ended = error;
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
