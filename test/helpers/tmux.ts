import { execFileSync, spawnSync } from 'node:child_process';

/** A tmux server of the test's own (its own socket), with one 100×30 window running bash. */
export interface Tmux {
  send(...keys: string[]): void;
  type(text: string): void;
  screen(): string;
  /** Resolves with the first screen that passes `test`; rejects with the last screen after `timeoutMs`. */
  waitFor(test: (screen: string) => boolean, timeoutMs?: number): Promise<string>;
  resize(cols: number, rows: number): void;
  kill(): void;
}

export const hasTmux = spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;

export function startTmux(cwd: string, cols = 100, rows = 30, env: Record<string, string> = {}): Tmux {
  const socket = `lora-top-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  const vars = { LANG: 'C.UTF-8', TERM: 'xterm-256color', PS1: 'PROMPT$ ', ...env };
  const assignments = Object.entries(vars).map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'`);
  tmux('new-session', '-d', '-s', 'main', '-x', String(cols), '-y', String(rows), '-c', cwd, `env ${assignments.join(' ')} bash --norc --noprofile`);
  const screen = () => tmux('capture-pane', '-p', '-t', 'main');
  return {
    send: (...keys) => void tmux('send-keys', '-t', 'main', ...keys),
    type: (text) => void tmux('send-keys', '-t', 'main', '-l', text),
    screen,
    waitFor(test, timeoutMs = 20_000) {
      const started = Date.now();
      return new Promise((resolve, reject) => {
        const poll = () => {
          let text = '';
          try {
            text = screen();
          } catch (error) {
            return reject(error);
          }
          if (test(text)) return resolve(text);
          if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting; the screen was:\n${text}`));
          setTimeout(poll, 50);
        };
        poll();
      });
    },
    resize: (cols, rows) => void tmux('resize-window', '-t', 'main', '-x', String(cols), '-y', String(rows)),
    kill() {
      try {
        tmux('kill-server');
      } catch {
        // Already gone.
      }
    },
  };
}
