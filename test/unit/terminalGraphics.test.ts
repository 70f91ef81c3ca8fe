import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { TerminalGraphics, type GraphicsOutput } from '../../src/ui/terminalGraphics.js';
import { GRAPHICS_QUERY } from '../../src/ui/graphicsSupport.js';

/** An output that records what is written and lets the test decide when the frame is blank. */
function fakeOutput() {
  const writes: string[] = [];
  let invalidated = 0;
  let release: () => void = () => {};
  const blank = new Promise<void>((resolve) => (release = resolve));
  const output: GraphicsOutput = {
    write: (text) => writes.push(text),
    invalidate: () => invalidated++,
    whenBlank: () => blank,
  };
  return { output, writes, release: () => release(), invalidated: () => invalidated };
}

const dir = mkdtempSync(join(tmpdir(), 'lora-top-graphics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const area = { row: 1, col: 0, cols: 40, rows: 20 };

async function jpeg(): Promise<string> {
  const path = join(dir, `${Date.now()}__000000100_0.jpg`);
  await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 30, b: 30 } } }).jpeg().toFile(path);
  return path;
}

describe('full-screen pictures drawn by the terminal', () => {
  it('inside tmux, never asks and draws nothing: half blocks do it', async () => {
    const { output, writes } = fakeOutput();
    const graphics = new TerminalGraphics(output, { TMUX: '/tmp/tmux-0/default,1,0', TERM: 'screen-256color', KITTY_WINDOW_ID: '1' });
    expect(graphics.known()).toBe('blocks');
    expect(await graphics.draw(await jpeg(), area, 'blocks')).toBe(false);
    expect(writes).toEqual([]);
  });

  it('asks the terminal once when the environment cannot tell, and reads a sixel-capable DA1 reply in pieces', async () => {
    const { output, writes } = fakeOutput();
    const graphics = new TerminalGraphics(output, { TERM: 'xterm-256color' });
    expect(graphics.known()).toBeNull();
    const answer = graphics.protocol();
    expect(graphics.awaitingReply).toBe(true);
    expect(writes).toEqual([GRAPHICS_QUERY]);
    graphics.onInput('[6;20;10t');
    graphics.onInput('[?62;4;');
    expect(graphics.awaitingReply).toBe(true);
    graphics.onInput('22c');
    expect(await answer).toBe('sixel');
    expect(graphics.awaitingReply).toBe(false);
    // A second time: no new question.
    expect(await graphics.protocol()).toBe('sixel');
    expect(writes).toHaveLength(1);
  });

  it('a terminal that stays silent gets half blocks after the timeout', async () => {
    const { output } = fakeOutput();
    const graphics = new TerminalGraphics(output, { TERM: 'xterm' });
    expect(await graphics.protocol()).toBe('blocks');
  });

  it('kitty: waits for the blank frame, then writes the picture at the area and deletes it on clear', async () => {
    const { output, writes, release, invalidated } = fakeOutput();
    const graphics = new TerminalGraphics(output, {}, 'kitty');
    const drawing = graphics.draw(await jpeg(), area, 'kitty');
    // Nothing before the frame around it is on screen.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(writes).toEqual([]);
    release();
    expect(await drawing).toBe(true);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatch(/^\x1b7\x1b\[2;\d+H\x1b_Ga=T,f=100,q=2,i=1000,c=\d+,r=\d+/);
    expect(writes[0]!.endsWith('\x1b8')).toBe(true);
    graphics.clear();
    expect(writes[1]).toBe('\x1b_Ga=d,d=I,i=1000,q=2\x1b\\');
    expect(invalidated()).toBe(1);
  });

  it('a clear before the picture is ready cancels it', async () => {
    const { output, writes, release } = fakeOutput();
    const graphics = new TerminalGraphics(output, {}, 'iterm2');
    const drawing = graphics.draw(await jpeg(), area, 'iterm2');
    graphics.clear();
    release();
    expect(await drawing).toBe(false);
    expect(writes).toEqual([]);
  });

  it('sixel: writes a DCS sixel image; a file that is not an image draws nothing', async () => {
    const { output, writes, release } = fakeOutput();
    release();
    const graphics = new TerminalGraphics(output, {}, 'sixel');
    expect(await graphics.draw(await jpeg(), area, 'sixel')).toBe(true);
    expect(writes[0]).toContain('\x1bP');
    expect(writes[0]).toMatch(/"1;1;\d+;\d+/);
    expect(await graphics.draw(join(dir, 'missing.jpg'), area, 'sixel')).toBe(false);
    expect(writes).toHaveLength(1);
  });
});
