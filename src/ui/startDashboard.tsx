import { openSync } from 'node:fs';
import tty from 'node:tty';
import { render, type Instance } from 'ink';
import type { ReactElement } from 'react';
import type { RunWatch } from '../run/watchRun.js';
import { App, type AppOptions } from './App.js';
import { FrameWriter } from './frameWriter.js';
import { TerminalGraphics } from './terminalGraphics.js';
import { InlinePictures, type PictureSpot } from './inlinePictures.js';
import type { ImagesFlag, NotifyFlag } from '../cli/args.js';
import { noticeBytes } from './notifications.js';
import type { RunCatalog } from '../catalog/runCatalog.js';
import { RunsApp, type RunsAppOptions } from './runs/RunsApp.js';

/** Exit codes for the ways the dashboard can end. */
export const DASHBOARD_EXIT = { quit: 0, sigint: 130, sighup: 129, sigterm: 143, error: 70 } as const;

const ENTER = '\x1b[?1049h\x1b[H\x1b[2J';
const LEAVE = '\x1b[?25h\x1b[?1049l';

/**
 * Where keys come from. Usually standard input; when that carries the run itself
 * (`python run.py … 2>&1 | lora-top -`), the terminal is opened directly, as `less` does, so that
 * `q` still works and Ctrl-C (read as a key in raw mode) does not reach the trainer in the pipe.
 */
function keyboard(): { input: NodeJS.ReadStream; owned: tty.ReadStream | null } {
  if (process.stdin.isTTY === true) return { input: process.stdin, owned: null };
  try {
    const terminal = new tty.ReadStream(openSync('/dev/tty', 'r'));
    if (terminal.isTTY) return { input: terminal, owned: terminal };
    terminal.destroy();
  } catch {
    // No controlling terminal: the dashboard runs without keys.
  }
  return { input: process.stdin, owned: null };
}

/**
 * Shows the dashboard on the terminal until the user quits, the terminal goes away or a signal
 * comes. Every way out restores the terminal (main screen, cursor, cooked mode) and none of them
 * touches the training run. Resolves with the exit code.
 */
export function startDashboard(
  watch: RunWatch,
  options: Omit<AppOptions, 'keys' | 'graphics' | 'notify'> & { images?: ImagesFlag; notify?: NotifyFlag },
): Promise<number> {
  return startScreen(options, (env) => <App watch={watch} options={{ ...options, ...env.app }} onQuit={env.quit} />, () => watch.firstFrame());
}

/** The runs screen over a catalog of runs; Enter opens a run's dashboard in the same terminal. */
export function startRunsScreen(
  catalog: RunCatalog,
  options: Omit<AppOptions, 'keys' | 'graphics' | 'notify'> & Omit<RunsAppOptions, 'app'> & { images?: ImagesFlag; notify?: NotifyFlag },
): Promise<number> {
  return startScreen(options, (env) => <RunsApp catalog={catalog} options={{ ...options, app: { ...options, ...env.app }, repaint: env.repaint }} onQuit={env.quit} />);
}

/** What the terminal gives a screen: keys, graphics, the frame writer's sink, notices and the way out. */
interface ScreenEnv {
  app: Required<Pick<AppOptions, 'keys' | 'graphics' | 'pictures' | 'notify' | 'frameSink'>>;
  quit(): void;
  /** The next frame is drawn whole (after a screen that may have left pictures behind). */
  repaint(): void;
}

function startScreen(
  options: { images?: ImagesFlag; notify?: NotifyFlag },
  root: (env: ScreenEnv) => ReactElement,
  onFirstFrame?: () => void,
): Promise<number> {
  const stdout = process.stdout;
  const { input: stdin, owned } = keyboard();
  // Ink 6.8 reports isRawModeSupported as undefined, not false, for a stdin that is not a terminal.
  const keys = stdin.isTTY === true && typeof stdin.setRawMode === 'function';

  return new Promise<number>((resolve) => {
    let instance: Instance | null = null;
    let frames: FrameWriter | null = null;
    let pictures: InlinePictures | null = null;
    let done = false;
    const ignoreBrokenTerminal = () => {};
    stdout.on('error', ignoreBrokenTerminal);

    const finish = (code: number, message?: string) => {
      if (done) return;
      done = true;
      for (const [signal, handler] of handlers) process.off(signal, handler);
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
      try {
        instance?.unmount();
        // The pictures the terminal holds for the dashboard go with it.
        pictures?.close();
      } catch {
        // The terminal may already be gone (SIGHUP): nothing left to restore on it.
      }
      frames?.detach();
      try {
        if (keys) stdin.setRawMode(false);
        stdout.write(LEAVE);
      } catch {
        // As above.
      }
      owned?.destroy();
      if (message) process.stderr.write(`lora-top: ${message}\n`);
      resolve(code);
    };
    const onError = (error: unknown) => finish(DASHBOARD_EXIT.error, `internal error: ${error instanceof Error ? error.message : String(error)}`);
    const handlers: Array<[NodeJS.Signals, () => void]> = [
      ['SIGINT', () => finish(DASHBOARD_EXIT.sigint)],
      ['SIGTERM', () => finish(DASHBOARD_EXIT.sigterm)],
      ['SIGHUP', () => finish(DASHBOARD_EXIT.sighup)],
    ];
    for (const [signal, handler] of handlers) process.on(signal, handler);
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);

    stdout.write(ENTER);
    // Raw at once, not when Ink's input hook starts after the first frame: a key pressed as soon as
    // the screen shows is neither echoed over it nor held back in a line the terminal is editing.
    if (keys) {
      try {
        stdin.setRawMode(true);
      } catch {
        // Ink says why when it asks for the same.
      }
    }
    frames = new FrameWriter(stdout);
    const writer = frames;
    const images = options.images ?? 'auto';
    // Asking the terminal needs its answer on the keyboard: only when keys come from the terminal.
    const graphics = new TerminalGraphics(
      { write: (text) => writer.writeRaw(text), invalidate: () => writer.invalidate(), whenBlank: (from, count) => writer.whenBlank(from, count) },
      process.env,
      images === 'auto' ? null : images,
      keys,
    );
    pictures = new InlinePictures({ writeRaw: (text) => writer.writeRaw(text) }, () => graphics.cellPixels());
    const how = options.notify ?? 'all';
    const notify = (text: string) => {
      const bytes = noticeBytes(text, how);
      if (bytes) writer.writeRaw(bytes);
    };
    let drawn = false;
    const frameSink = (rows: string[], picture: PictureSpot | null) => {
      const damage = writer.draw(rows);
      // A picture drawn into its hole (iTerm2, sixel) once the frame around it is on screen.
      pictures?.afterFrame(picture, damage, writer.generation);
      if (!drawn) {
        drawn = true;
        // The first frame is up: now the heavy starts (sharp, nvidia-smi) may begin.
        if (onFirstFrame) setImmediate(onFirstFrame);
      }
    };
    const env: ScreenEnv = {
      app: { keys, graphics, pictures, notify, frameSink },
      quit: () => finish(DASHBOARD_EXIT.quit),
      repaint: () => writer.invalidate(),
    };
    instance = render(root(env), {
      stdout: frames as unknown as NodeJS.WriteStream,
      stdin,
      exitOnCtrlC: false,
      patchConsole: false,
      maxFps: 10,
    });
    // A component that throws makes Ink unmount on its own: restore the terminal and say what broke.
    instance.waitUntilExit().then(
      () => finish(DASHBOARD_EXIT.quit),
      (error: unknown) => onError(error),
    );
  });
}
