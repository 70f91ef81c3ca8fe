/**
 * Reads a byte stream (standard input for `lora-top -` and `python run.py cfg.yaml 2>&1 | lora-top`)
 * and hands out decoded text as it arrives: a bare `"\r" + bar state` is delivered with the chunk
 * that carried it, no waiting for a newline.
 *
 * - Bytes are decoded as UTF-8 with a StringDecoder, so a character split across chunks comes out
 *   whole; string chunks (a stream with `setEncoding` called) are passed through as they are.
 * - `at` is Date.now() when the chunk arrived. `onText` is never called with an empty string.
 * - `onEnd` is called exactly once when no more text will come: at the stream's end (after the
 *   decoder's last bytes were flushed), or after an error (then `onError` comes first), or when
 *   the stream closes without ending. It is not called after `close()`.
 * - `close()` stops delivering, detaches every listener, pauses the stream and, when it has one
 *   (a socket or TTY such as process.stdin), calls `unref()` on it, so that standard input no
 *   longer keeps the process alive. It does not destroy a stream it does not own.
 */
import { StringDecoder } from 'node:string_decoder';

export interface StreamHandlers {
  onText(text: string, at: number): void;
  onEnd(): void;
  onError?(e: Error): void;
}

export function readStream(stream: NodeJS.ReadableStream, handlers: StreamHandlers): { close(): void } {
  const decoder = new StringDecoder('utf8');
  let done = false;

  const detach = (): void => {
    stream.removeListener('data', onData);
    stream.removeListener('end', onEnd);
    stream.removeListener('error', onError);
    stream.removeListener('close', onClose);
  };

  const finish = (): void => {
    if (done) return;
    done = true;
    detach();
    // Keep a listener so that a late 'error' cannot crash the process as unhandled.
    stream.on('error', ignore);
    const rest = decoder.end();
    if (rest.length > 0) handlers.onText(rest, Date.now());
    handlers.onEnd();
  };

  function onData(chunk: Buffer | string): void {
    if (done) return;
    const at = Date.now();
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (text.length > 0) handlers.onText(text, at);
  }

  function onEnd(): void {
    finish();
  }

  function onClose(): void {
    finish();
  }

  function onError(e: Error): void {
    if (done) return;
    handlers.onError?.(e);
    finish();
  }

  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', onError);
  stream.on('close', onClose);
  stream.resume();
  const state = stream as { readableEnded?: boolean; destroyed?: boolean };
  if (state.readableEnded === true || state.destroyed === true) process.nextTick(finish); // no 'end' will come

  return {
    close(): void {
      if (done) return;
      done = true;
      detach();
      stream.on('error', ignore);
      stream.pause();
      // A paused socket or TTY (process.stdin on a pipe or terminal) keeps reading until its buffer
      // is full, so its handle stays active; unref() lets the process exit. ref() undoes it.
      (stream as { unref?: () => unknown }).unref?.();
    },
  };
}

function ignore(): void {}
