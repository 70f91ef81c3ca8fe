import { isActive, listStatus, silentFor, type HostRow, type RunsEntry } from '../../state/runsList.js';
import { sparkline, type Glyphs } from '../../view/charts/index.js';
import { formatAgeShort, formatClock, formatDuration, formatNumber } from '../../view/format.js';
import { clean, fitItems, fitLine, fitLines, run, title, type ViewLine, type ViewRun } from '../viewLine.js';
import { runsFooterItems, runsHelpRows, type RunsKeyContext } from './runsKeymap.js';

/**
 * The runs screen: a line a run (name, status, progress, loss and its trend, speed, ETA, GPU,
 * rank/lr, the age of its log), the columns that do not fit left out from the least useful, the
 * selected line inverted and kept in view. Pure: exactly `rows - 1` lines (the last terminal row
 * stays empty, as on the dashboard).
 */

export interface RunsScreenInput {
  ctx: RunsKeyContext;
  cols: number;
  rows: number;
  now: number;
  glyphs: Glyphs;
  /** What the list is of: the folder, or the UI queue. */
  title: string;
  /** The UI database, and why it could not be read. */
  queue: { db: string | null; problem: string | null };
  /** Over several hosts: a line a host, its runs under it. */
  hosts?: readonly HostRow[];
}

interface Column {
  id: string;
  header: string;
  width: number;
  align: 'left' | 'right';
  /** Left out first when the screen is narrow: the lowest drop goes first. */
  drop: number;
  cell(entry: RunsEntry, input: RunsScreenInput): ViewRun[];
}

const STATUS_WIDTH = 10;

/** An ETA means something for a run that trains and is heard from. */
function showsEta(entry: RunsEntry, now: number): boolean {
  return isActive(listStatus(entry)) && silentFor(entry, now) === null;
}

/** The UI's speed string (`3.45 iter/sec`, `1.20 sec/iter`) as seconds a step. */
export function uiSecondsPerStep(text: string | null): number | null {
  const match = text ? /^\s*([\d.]+)\s*(iter\/sec|sec\/iter|it\/s|s\/it)/.exec(text) : null;
  if (!match) return null;
  const value = Number(match[1]);
  if (!(value > 0)) return null;
  return match[2] === 'iter/sec' || match[2] === 'it/s' ? 1 / value : value;
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  const chars = [...text];
  if (chars.length > width) return width <= 1 ? chars.slice(0, width).join('') : `${chars.slice(0, width - 1).join('')}…`;
  const space = ' '.repeat(width - chars.length);
  return align === 'left' ? text + space : space + text;
}

function stepOf(entry: RunsEntry): { step: number | null; total: number | null } {
  const s = entry.summary?.snapshot;
  return { step: s?.step ?? entry.job?.step ?? null, total: s?.totalSteps ?? entry.job?.totalSteps ?? null };
}

function text(value: string, style: ViewRun['style'] = null): ViewRun[] {
  return [run(value, style)];
}

const COLUMNS: Column[] = [
  {
    id: 'status',
    header: 'status',
    width: STATUS_WIDTH,
    align: 'left',
    drop: 99,
    cell: (entry, input) => {
      const status = listStatus(entry);
      // A run whose log went quiet past a stall: its last status is probably not true any more.
      const silent = silentFor(entry, input.now);
      if (silent !== null) return [run(pad(` silent ${formatAgeShort(silent)}`, STATUS_WIDTH, 'left'), 'status:stopped')];
      const label = status === 'queued' && entry.job?.queuePosition != null ? `queued #${entry.job.queuePosition}` : status;
      return [run(pad(` ${label}`, STATUS_WIDTH, 'left'), `status:${status}`)];
    },
  },
  {
    id: 'step',
    header: 'step',
    width: 11,
    align: 'right',
    drop: 90,
    cell: (entry) => {
      const { step, total } = stepOf(entry);
      return text(step === null ? '—' : total !== null ? `${step}/${total}` : String(step));
    },
  },
  {
    id: 'bar',
    header: '',
    width: 8,
    align: 'left',
    drop: 40,
    cell: (entry, input) => {
      const { step, total } = stepOf(entry);
      if (step === null || !total) return text('');
      const filled = Math.max(0, Math.min(8, Math.round((8 * step) / total)));
      const [on, off] = input.glyphs === 'unicode' ? ['█', '░'] : ['#', '-'];
      return [run(on.repeat(filled), 'fill'), run(off.repeat(8 - filled), 'empty')];
    },
  },
  {
    id: 'loss',
    header: 'loss',
    width: 7,
    align: 'right',
    drop: 80,
    cell: (entry) => text(entry.summary?.snapshot.lossSmoothed != null ? formatNumber(entry.summary.snapshot.lossSmoothed, 4).slice(0, 7) : '—'),
  },
  {
    id: 'trend',
    header: 'trend',
    width: 10,
    align: 'left',
    drop: 45,
    cell: (entry, input) => {
      const values = (entry.summary?.lossSeries ?? []).map(([, y]) => y);
      // A UI job with nothing read yet: what the UI says of it (`Starting`, `Loading model`, an error).
      if (values.length < 2) return text(!entry.summary && entry.job?.info ? clean(entry.job.info) : '', 'dim');
      // The whole run in ten cells: each the mean of its share of the curve.
      const cells = 10;
      const means: number[] = [];
      for (let i = 0; i < cells; i++) {
        const from = Math.floor((i * values.length) / cells);
        const to = Math.max(from + 1, Math.floor(((i + 1) * values.length) / cells));
        const part = values.slice(from, to);
        if (part.length) means.push(part.reduce((a, b) => a + b, 0) / part.length);
      }
      return sparkline(means, cells, { glyphs: input.glyphs, style: 'smooth' }).map((r) => run(r.text, r.style));
    },
  },
  {
    id: 'speed',
    header: 's/step',
    width: 7,
    align: 'right',
    drop: 60,
    cell: (entry) => {
      const sps = entry.summary?.snapshot.secondsPerStep ?? uiSecondsPerStep(entry.job?.speedString ?? null);
      if (sps === null || !(sps > 0)) return text('—');
      return text(sps >= 100 ? sps.toFixed(0) : sps >= 10 ? sps.toFixed(1) : sps.toFixed(2));
    },
  },
  {
    id: 'eta',
    header: 'ETA',
    width: 6,
    align: 'right',
    drop: 70,
    cell: (entry, input) => (showsEta(entry, input.now) && entry.summary?.snapshot.etaSeconds != null ? text(formatDuration(entry.summary.snapshot.etaSeconds)) : text('')),
  },
  {
    id: 'done',
    header: 'done',
    width: 5,
    align: 'right',
    drop: 20,
    cell: (entry, input) => {
      const at = entry.summary?.snapshot.finishAt;
      return showsEta(entry, input.now) && at ? text(formatClock(Date.parse(at), input.now).slice(-5)) : text('');
    },
  },
  {
    id: 'gpu',
    header: 'GPU',
    width: 4,
    align: 'right',
    drop: 30,
    cell: (entry) => text(entry.job?.gpuIds.length ? entry.job.gpuIds.join(',') : ''),
  },
  {
    id: 'lora',
    header: 'rank lr',
    width: 11,
    align: 'left',
    drop: 10,
    cell: (entry) => {
      const s = entry.summary?.snapshot;
      const rank = s?.lora?.rank;
      const lr = s?.lr;
      const parts = [rank != null ? `r${rank}` : '', lr != null ? lr.toExponential(0).replace('e-', 'e-') : ''].filter(Boolean);
      return text(parts.join(' '));
    },
  },
  {
    id: 'age',
    header: 'log',
    width: 4,
    align: 'right',
    drop: 50,
    cell: (entry, input) => {
      const last = entry.summary?.lastLogAt;
      return text(last ? formatAgeShort(Math.max(0, (input.now - last) / 1000)) : '');
    },
  },
];

const NAME_MIN = 12;
const NAME_MAX = 36;
const LEAD = 3;

/** The columns that fit beside a name of at least NAME_MIN cells, and the name's width. */
export function fitColumns(cols: number): { columns: Column[]; nameWidth: number } {
  let shown = [...COLUMNS];
  const width = (cs: Column[]) => cs.reduce((n, c) => n + c.width + 1, 0);
  while (shown.length > 0 && LEAD + NAME_MIN + width(shown) > cols) {
    const lowest = shown.reduce((a, b) => (b.drop < a.drop ? b : a));
    shown = shown.filter((c) => c !== lowest);
  }
  const nameWidth = Math.max(1, Math.min(NAME_MAX, cols - LEAD - width(shown)));
  return { columns: shown, nameWidth };
}

function cellRuns(column: Column, entry: RunsEntry, input: RunsScreenInput): ViewRun[] {
  const runs = column.cell(entry, input);
  const content = runs.map((r) => r.text).join('');
  const length = [...content].length;
  if (length >= column.width) return [run(pad(content, column.width, column.align), runs[0]?.style ?? null)];
  const space = run(' '.repeat(column.width - length));
  return column.align === 'left' ? [...runs, space] : [space, ...runs];
}

function entryLine(entry: RunsEntry, input: RunsScreenInput, layout: { columns: Column[]; nameWidth: number }): ViewLine {
  const { ui } = input.ctx;
  const selected = input.ctx.selected?.key === entry.key;
  const marked = ui.marked.includes(entry.key);
  const unicode = input.glyphs === 'unicode';
  const lead = `${selected ? (unicode ? '▸' : '>') : ' '}${marked ? (unicode ? '●' : '*') : ' '} `;
  const reading = !entry.summary && entry.problem === null && entry.folder !== null && listStatus(entry) !== 'queued';
  const said = entry.problem !== null && listStatus(entry) !== 'queued';
  const name = clean(entry.name) + (said ? ` (${clean(entry.problem!)})` : reading ? ' (reading…)' : '');
  const line: ViewLine = [run(lead, selected ? 'key' : null), run(pad(name, layout.nameWidth, 'left'), selected ? 'selected' : marked ? 'title' : null)];
  for (const column of layout.columns) {
    line.push(run(' '));
    line.push(...cellRuns(column, entry, input));
  }
  return line;
}

function headerLine(layout: { columns: Column[]; nameWidth: number }): ViewLine {
  let textLine = ' '.repeat(LEAD) + pad('run', layout.nameWidth, 'left');
  for (const c of layout.columns) textLine += ` ${pad(c.header, c.width, c.id === 'status' ? 'left' : c.align)}`;
  return [run(textLine, 'dim')];
}

function summaryLine(input: RunsScreenInput): ViewLine {
  const entries = input.ctx.visible;
  const counts = new Map<string, number>();
  for (const e of entries) {
    const s = listStatus(e);
    const group = silentFor(e, input.now) !== null ? 'silent' : isActive(s) ? 'running' : s;
    counts.set(group, (counts.get(group) ?? 0) + 1);
  }
  const parts: ViewRun[] = [run(`${entries.length} run${entries.length === 1 ? '' : 's'}`)];
  for (const group of ['running', 'queued', 'silent', 'failed', 'stopped', 'completed']) {
    const n = counts.get(group);
    if (n) parts.push(run(` · ${n} ${group}`, group === 'running' ? 'good' : group === 'failed' ? 'bad' : 'dim'));
  }
  parts.push(run(`  by ${input.ctx.ui.sort}`, 'dim'));
  if (input.ctx.ui.filter || input.ctx.ui.editingFilter) parts.push(run(`  filter: ${clean(input.ctx.ui.filter)}${input.ctx.ui.editingFilter ? '▏' : ''}`, 'key'));
  if (input.ctx.ui.marked.length) parts.push(run(`  ${input.ctx.ui.marked.length} marked`, 'key'));
  if (input.queue.problem) parts.push(run(`  UI queue: ${clean(input.queue.problem)}`, 'warn'));
  return parts;
}

export function footerLine(input: RunsScreenInput): ViewLine {
  const { ui } = input.ctx;
  if (ui.flash && ui.flash.until > input.now) return fitLine([run(clean(ui.flash.text), 'warn')], input.cols, input.glyphs);
  if (ui.editingFilter) return fitLine([run('type a name  ', 'dim'), run('Enter', 'key'), run(' keep  ', 'dim'), run('Esc', 'key'), run(' clear', 'dim')], input.cols, input.glyphs);
  return fitLine(fitItems(runsFooterItems(input.ctx).map((item) => [run(item.label, 'key'), run(` ${item.name}`, 'dim')]), input.cols, '  '), input.cols, input.glyphs);
}

function helpLines(input: RunsScreenInput, height: number): ViewLine[] {
  const lines: ViewLine[] = [title('Keys', input.cols, input.glyphs)];
  for (const row of runsHelpRows(input.ctx)) {
    const line: ViewLine = [run(` ${row.label.padEnd(7)}`, 'key'), run(row.help)];
    if (row.unavailable) line.push(run(`  (not now: ${row.unavailable})`, 'dim'));
    lines.push(line);
  }
  lines.push([]);
  lines.push([run(' In a run: Esc or Backspace returns here; [ and ] open the run above or below. Quitting touches no run.', 'dim')]);
  return lines.slice(0, height);
}

/** The entries with each host's line before its runs (hosts in their order; a host with no runs still has its line). */
function withHostRows(visible: readonly RunsEntry[], hosts: readonly HostRow[]): Array<RunsEntry | HostRow> {
  if (hosts.length === 0) return [...visible];
  const rows: Array<RunsEntry | HostRow> = [];
  const placed = new Set<RunsEntry>();
  for (const host of hosts) {
    rows.push(host);
    for (const entry of visible) {
      if ((entry.host ?? '') !== host.host) continue;
      rows.push(entry);
      placed.add(entry);
    }
  }
  for (const entry of visible) if (!placed.has(entry)) rows.push(entry);
  return rows;
}

/** `── box1 · up · GPU0 18.2/24.0 GiB 96% · 3 runs`, or `── box2 · unreachable since 14:02 · why`. */
function hostLine(host: HostRow, visible: readonly RunsEntry[], input: RunsScreenInput): ViewLine {
  const unicode = input.glyphs === 'unicode';
  const count = visible.filter((e) => (e.host ?? '') === host.host).length;
  const line: ViewLine = [run(unicode ? '── ' : '-- ', 'dim'), run(clean(host.host), 'title')];
  if (host.link === 'down') {
    line.push(run(` · unreachable since ${formatClock(host.since, input.now)}`, 'bad'));
    // The runs it had stay listed as last seen; the reason, the longest part, goes last.
    if (count > 0) line.push(run(` · ${count} run${count === 1 ? '' : 's'} as last seen`, 'dim'));
    if (host.why) line.push(run(` · ${clean(host.why)}`, 'warn'));
    return line;
  } else if (host.link === 'connecting') {
    line.push(run(' · connecting…', 'dim'));
  } else {
    line.push(run(' · up', 'good'));
    for (const gpu of host.gpus) {
      const used = gpu.memoryUsedMiB;
      const total = gpu.memoryTotalMiB;
      const mem = used !== null && total !== null ? ` ${((total - used) / 1024).toFixed(1)} GiB free of ${(total / 1024).toFixed(0)}` : '';
      const busy = gpu.utilizationPercent !== null ? ` ${gpu.utilizationPercent}%` : '';
      line.push(run(` · GPU${gpu.index}${mem}${busy}`, used !== null && total !== null && total - used < 2048 ? 'warn' : null));
    }
    if (host.gpus.length === 0 && host.gpuProblem) line.push(run(` · ${clean(host.gpuProblem)}`, 'dim'));
  }
  line.push(run(` · ${count} run${count === 1 ? '' : 's'}`, 'dim'));
  return line;
}

export function buildRunsList(input: RunsScreenInput): ViewLine[] {
  const height = Math.max(0, input.rows - 1);
  if (height === 0) return [];
  const lines: ViewLine[] = [title(`lora-top · ${clean(input.title)}`, input.cols, input.glyphs), summaryLine(input)];
  const body = Math.max(0, height - lines.length - 2);
  if (input.ctx.ui.showHelp) {
    lines.push(...helpLines(input, body + 1));
  } else {
    const layout = fitColumns(input.cols);
    lines.push(headerLine(layout));
    const visible = input.ctx.visible;
    if (visible.length === 0) {
      lines.push([run(input.ctx.ui.filter ? `  no run's name holds "${clean(input.ctx.ui.filter)}"` : '  no runs yet', 'dim')]);
    } else {
      const rows = withHostRows(visible, input.hosts ?? []);
      // The selected line stays in view: the window scrolls to it.
      const at = Math.max(0, rows.findIndex((r) => r !== null && 'key' in r && r.key === input.ctx.selected?.key));
      const first = Math.max(0, Math.min(at - Math.floor(body / 2), rows.length - body));
      for (const row of rows.slice(first, first + body)) lines.push('key' in row ? entryLine(row, input, layout) : hostLine(row, visible, input));
    }
  }
  while (lines.length < height - 1) lines.push([]);
  const out = fitLines(lines.slice(0, height - 1), input.cols, input.glyphs);
  out.push(footerLine(input));
  return out;
}
