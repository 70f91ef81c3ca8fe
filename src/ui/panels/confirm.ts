import type { StopChoice } from '../uiState.js';
import { fitLines, run, title, type ViewLine } from '../viewLine.js';
import type { Panel, PanelInput } from './panel.js';

/**
 * "Stop the run?" (`x`) with what stopping costs: the steps since the last save are lost, and where
 * the run can resume from; "save, then stop" first where the run can be told to save.
 */

function confirmLines({ run: state, ui }: PanelInput, width: number, glyphs: PanelInput['glyphs']): ViewLine[] {
  const ask = ui.confirmStop;
  if (!ask) return [];
  const lines: ViewLine[] = [title('Stop the run?', width, glyphs)];
  const saved = [...state.checkpoints].reverse().find((c) => c.step !== null)?.step ?? state.lastCheckpoint?.step ?? null;
  const step = state.step;
  if (saved !== null && step !== null) {
    const lost = Math.max(0, step - saved);
    lines.push([run(` Stopping now loses the work since the last save at step ${saved} — ${lost} step${lost === 1 ? '' : 's'}; the run can resume from step ${saved}.`)]);
  } else if (step !== null) {
    lines.push([run(` Nothing has been saved yet: stopping now loses all ${step} steps; the run would start over.`, 'warn')]);
  }
  if (state.control.db !== null) lines.push([run(' Save, then stop: the trainer saves a checkpoint first (at its next step), then stops; nothing is lost.')]);
  if (state.control.db === null) lines.push([run(' This run cannot be told to save first (no control channel): stopping sends SIGINT, as Ctrl-C would.', 'dim')]);
  lines.push([]);
  const words: Record<StopChoice, string> = { saveThenStop: 'save, then stop', stopNow: 'stop now', cancel: 'cancel' };
  ask.choices.forEach((choice, i) => {
    const chosen = choice === ask.choice;
    lines.push([run(chosen ? ' ▸ ' : '   ', 'key'), run(`${i + 1}  ${words[choice]}`, chosen ? 'key' : null)]);
  });
  lines.push([]);
  lines.push([run(' ←/→ choose · Enter answers · Esc cancels · quitting lora-top never stops the run', 'dim')]);
  return lines;
}

export const confirmPanel: Panel = {
  id: 'confirm',
  place: 'overlay',
  priority: 0,
  wants: ({ ui }) => (ui.confirmStop ? { min: 1, ideal: Number.POSITIVE_INFINITY, max: Number.POSITIVE_INFINITY } : null),
  build: (input, box) => fitLines(confirmLines(input, box.cols, input.glyphs), box.cols, input.glyphs).slice(0, box.rows),
};
