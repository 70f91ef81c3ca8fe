import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogReader } from '../../src/parse/logReader.js';
import { readRunConfig, type RunConfig } from '../../src/parse/runConfig.js';
import { reduceRun } from '../../src/state/reduceRun.js';
import { initialRunState, type RunState } from '../../src/state/runState.js';
import { eventsOf, readLog } from '../helpers/readLog.js';
import { runPythonJson } from '../helpers/python.js';

// Three forms real logs take that used to read wrong, on fixtures made by real programs
// (test/fixtures/made/make_fixtures.py: real tqdm, real json.dumps, Python's own tracebacks):
// an exception nothing caught (the traceback's outermost frame is run.py at module level), a
// config dump cut short, and the training bar's first draw before any postfix or name.

const MADE = join(import.meta.dirname, '..', 'fixtures', 'made');
/** A made fixture's text, without its two metadata lines. */
const made = (name: string) => readFileSync(join(MADE, name), 'utf8').split('\n').slice(2).join('\n');

/** Reads `text` as a live follow does: pushed, never ended (the log may go on). */
function followed(text: string, chunk = 0): RunState {
  const reader = new LogReader();
  let state = initialRunState();
  if (chunk <= 0) return reduceRun(state, reader.push(text, 1000));
  for (let i = 0; i < text.length; i += chunk) state = reduceRun(state, reader.push(text.slice(i, i + chunk), 1000));
  return state;
}

describe('a traceback through run.py at module level: an exception nothing caught', () => {
  it('failed as soon as it is seen, though the log ends before the exception line', () => {
    const text = made('uncaught-traceback-cut.txt');
    for (const chunk of [0, 1, 7, 64]) {
      const state = followed(text, chunk);
      expect(state.status, `chunk ${chunk}`).toBe('failed');
      expect(state.error).toEqual({ kind: 'error', message: 'the trainer raised an exception nothing caught (traceback through run.py)' });
      expect(state.step).toBe(6);
    }
    // At the outermost frame already: nothing after it is needed.
    const upToFrame = text.slice(0, text.indexOf('in <module>') + 'in <module>\n'.length);
    expect(followed(upToFrame).status).toBe('failed');
    expect(followed(upToFrame.slice(0, upToFrame.indexOf('  File "'))).status).toBe('training');
  });

  it('the exception line names the error when it arrives; the bar tqdm repaints at exit changes nothing', () => {
    const { state, events } = readLog(made('uncaught-traceback.txt'));
    expect(eventsOf(events, 'uncaughtTraceback')).toHaveLength(1);
    expect(eventsOf(events, 'exception')).toEqual([{ type: 'exception', name: 'RuntimeError', message: 'CUDA error: an illegal memory access was encountered', uncaught: true }]);
    expect(state.status).toBe('failed');
    expect(state.error).toEqual({ kind: 'cuda', message: 'RuntimeError: CUDA error: an illegal memory access was encountered' });
  });

  it('a traceback printed by code that caught it (a thread dying in threading.py) is no failure: the run trains on', () => {
    const text = made('caught-traceback.txt');
    const { state, events } = readLog(text);
    expect(eventsOf(events, 'uncaughtTraceback')).toHaveLength(0);
    expect(eventsOf(events, 'exception')).toEqual([{ type: 'exception', name: 'ValueError', message: 'could not decode image /workspace/datasets/p3rs0n/img_017.jpg', uncaught: false }]);
    expect(state.status).toBe('training');
    expect(state.error).toBeNull();
    expect(state.warnings).toBe(1);
    // Not even for a moment: right after the exception line, before training goes on.
    const upToException = text.slice(0, text.indexOf('ValueError: could not') + 100);
    expect(followed(upToException.slice(0, upToException.indexOf('\n', upToException.indexOf('ValueError: could not')) + 1)).status).toBe('training');
  });

  it("ai-toolkit's own forms still read as before: the UI's stop flag and an old Ctrl-C are stops; a failure report comes first and stays", () => {
    const frames = '  File "/root/ai-toolkit/run.py", line 120, in <module>\n    main()\n  File "/root/ai-toolkit/run.py", line 108, in main\n    raise e\n';
    const bar = '\rmy_lora:  10%|#         | 300/3000 [05:00<45:00,  1.00it/s, lr: 1.0e-04 loss: 2.000e-01]\n';
    const result = (completed: number, failures: number) => `\n========================================\nResult:\n - ${completed} completed jobs\n${failures ? ` - ${failures} failure\n` : ''}========================================\n`;
    // The stop flag raises Exception("Job stopped") up through run.py.
    const flagged = readLog(`${bar}Error running job: Job stopped\n${result(0, 1)}Traceback (most recent call last):\n${frames}Exception: Job stopped\n`).state;
    expect(flagged.status).toBe('stopped');
    expect(flagged.error).toBeNull();
    // Ctrl-C before 2026-07: the Result block, then a KeyboardInterrupt traceback; failed for the moment it is cut after the frame.
    const ctrlC = `${bar}${result(0, 0)}Traceback (most recent call last):\n${frames}KeyboardInterrupt\n`;
    expect(followed(ctrlC.slice(0, ctrlC.indexOf('KeyboardInterrupt'))).status).toBe('failed');
    const stopped = readLog(ctrlC).state;
    expect(stopped.status).toBe('stopped');
    expect(stopped.error).toBeNull();
    // The trainer's own report names the error; the traceback after it does not replace it.
    const reported = readLog(`${bar}Error running job: CUDA out of memory. Tried to allocate 2.00 GiB\n${result(0, 1)}Traceback (most recent call last):\n${frames}torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n`).state;
    expect(reported.status).toBe('failed');
    expect(reported.error).toEqual({ kind: 'oom', message: 'CUDA out of memory. Tried to allocate 2.00 GiB' });
  });
});

describe('an exception nothing caught, in the forms real logs take it', () => {
  const UNCAUGHT = 'the trainer raised an exception nothing caught (traceback through run.py)';

  it('a paste of a traceback the old `--log` tee wrote twice, cut before its exception line: failed, one traceback', () => {
    const text = made('doubled-tee-traceback-paste.txt');
    expect(text).toContain('main()main()');
    for (const chunk of [0, 1, 7, 64]) {
      const state = followed(text, chunk);
      expect(state.status, `chunk ${chunk}`).toBe('failed');
      expect(state.error?.message).toBe(UNCAUGHT);
    }
    const { events, state } = readLog(text);
    expect(eventsOf(events, 'traceback')).toHaveLength(1);
    expect(eventsOf(events, 'uncaughtTraceback')).toHaveLength(1);
    expect(state.status).toBe('failed');
  });

  it('a traceback pasted as text, every line without its indentation: its outermost frame still tells', () => {
    const text = made('unindented-traceback-paste.txt');
    expect(text).toMatch(/^File "\/workspace\/ai-toolkit\/run\.py", line \d+, in <module>$/m);
    expect(followed(text).status).toBe('failed');
    // With its exception line, the error is named; the source lines in between are no log lines.
    const { events, state } = readLog(`${text}RuntimeError: CUDA error: an illegal memory access was encountered\n`);
    expect(state.error).toEqual({ kind: 'cuda', message: 'RuntimeError: CUDA error: an illegal memory access was encountered' });
    expect(eventsOf(events, 'text')).toEqual([]);
    // A caught one that lost its indentation (threading's excepthook, made-fixture text) stays caught.
    const caught = made('caught-traceback.txt').replace(/^ +(?=File "|self\.|raise )/gm, '');
    expect(caught).toMatch(/^File "\/usr\/lib\/python3[.\d]*\/threading\.py"/m);
    const after = readLog(caught).state;
    expect(after.status).toBe('training');
    expect(after.warnings).toBe(1);
  });

  it('`python -m run`: the interpreter\'s runpy frames come first, run.py\'s module level after them', () => {
    const text = made('python-m-run-traceback.txt');
    const traceback = text.slice(text.indexOf('Traceback (most recent call last):'), text.indexOf('RuntimeError: CUDA error'));
    expect(traceback).toMatch(/^ {2}File "<frozen runpy>"/m);
    // The traceback alone (a paste), cut before the exception line: failed.
    expect(followed(traceback).status).toBe('failed');
    const { events, state } = readLog(text);
    expect(eventsOf(events, 'exception')).toEqual([{ type: 'exception', name: 'RuntimeError', message: 'CUDA error: an illegal memory access was encountered', uncaught: true }]);
    expect(state.status).toBe('failed');
    expect(state.warnings).toBe(0);
  });

  it('the outermost frame counts as soon as it is written, before its line is ended', () => {
    const text = made('uncaught-traceback-cut.txt');
    const end = text.indexOf('in <module>') + 'in <module>'.length;
    expect(followed(text.slice(0, end)).status).toBe('failed');
    expect(followed(text.slice(0, end - 3)).status).toBe('training');
    // The line then ends: still one failure.
    const reader = new LogReader();
    const first = reduceRun(initialRunState(), reader.push(text.slice(0, end), 1000));
    const events = reader.push(text.slice(end), 2000);
    expect(events.filter((e) => e.event.type === 'uncaughtTraceback')).toHaveLength(0);
    expect(reduceRun(first, events).status).toBe('failed');
  });

  it("the UI's stop flag: `Exception: Job stopped` ends the traceback of a stop, even with no `Error running job` line in view", () => {
    const text = made('stop-flag-result-paste.txt');
    expect(text).not.toContain('Error running job');
    for (const chunk of [0, 1, 7]) {
      const state = followed(text, chunk);
      expect(state.status, `chunk ${chunk}`).toBe('stopped');
      expect(state.error).toBeNull();
    }
    // Before its exception line, the Result block's failure is all there is.
    expect(followed(text.slice(0, text.indexOf('Exception: Job stopped'))).status).toBe('failed');
    // The queue button raises Exception("Job returning to queue") the same way: a stop too.
    const requeued = text.replaceAll('Job stopped', 'Job returning to queue');
    expect(readLog(requeued).state.status).toBe('stopped');
    expect(readLog(`Error running job: Job returning to queue\n${requeued}`).state).toMatchObject({ status: 'stopped', error: null });
    // Any other exception at the end of the same traceback is the failure.
    const failed = readLog(text.replace('Exception: Job stopped', 'ValueError: Job stopped early')).state;
    expect(failed.status).toBe('failed');
  });

  it('Ctrl-C as run.py handled it until 2026-07: the Result block, then a KeyboardInterrupt traceback through run.py is a stop', () => {
    const text = made('old-ctrl-c.txt');
    expect(text).toMatch(/Result:\n - 0 completed jobs\n=+\nTraceback/);
    for (const chunk of [0, 1, 7]) {
      const state = followed(text, chunk);
      expect(state.status, `chunk ${chunk}`).toBe('stopped');
      expect(state.error).toBeNull();
    }
    // Cut before its last line, it reads as a failure for now.
    expect(followed(text.slice(0, text.indexOf('KeyboardInterrupt'))).status).toBe('failed');
  });

  it('a traceback printed by code that caught it, glued to the bar (traceback.print_exc): never a failure, the run trains on', () => {
    const text = made('caught-print-exc.txt');
    expect(text).toContain(']Traceback (most recent call last):');
    const { events, state } = readLog(text);
    expect(eventsOf(events, 'uncaughtTraceback')).toHaveLength(0);
    expect(eventsOf(events, 'exception')).toHaveLength(1);
    expect(eventsOf(events, 'exception')[0]!.uncaught).toBe(false);
    expect(state).toMatchObject({ status: 'training', error: null, warnings: 1, step: 6 });
    // Not at any point of the log.
    const reader = new LogReader();
    let live = initialRunState();
    for (const line of text.split(/(?<=\n)/)) {
      live = reduceRun(live, reader.push(line, 1000));
      expect(live.status).not.toBe('failed');
    }
  });

  it('a traceback with none of its frames in view: failed for now; training that moves on undoes it, the bar tqdm repaints at exit does not', () => {
    const bar = (n: number) => `\rmy_lora:  10%|#         | ${n}/3000 [05:00<45:00,  1.00it/s, lr: 1.0e-04 loss: 2.000e-01]`;
    const text = `${bar(300)}\nTraceback (most recent call last):\n[...]\nRuntimeError: CUDA error: an illegal memory access was encountered\n`;
    const { events } = readLog(text);
    expect(eventsOf(events, 'exception')[0]!.uncaught).toBeNull();
    expect(followed(text)).toMatchObject({ status: 'failed', error: { kind: 'cuda' } });
    expect(followed(`${text}${bar(300)}\n`)).toMatchObject({ status: 'failed', error: { kind: 'cuda' } });
    expect(followed(`${text}${bar(300)}${bar(301)}`)).toMatchObject({ status: 'training', error: null });
    // A KeyboardInterrupt is a stop, whatever it suggested before.
    expect(followed(`${text}Traceback (most recent call last):\n[...]\nKeyboardInterrupt\n`)).toMatchObject({ status: 'stopped', error: null });
  });
});

describe('a config dump cut short is read for what it has', () => {
  it('rank, alpha, steps, save and sample intervals and the prompts so far, without the closing brace', () => {
    const text = made('config-dump-cut.txt');
    expect(text).not.toMatch(/^\}$/m);
    for (const chunk of [0, 1, 7, 64]) {
      const state = followed(text, chunk);
      expect(state.lora, `chunk ${chunk}`).toEqual({ rank: 32, alpha: 16 });
      expect(state.totalSteps).toBe(4000);
      expect(state.config).toMatchObject({
        trainerType: 'diffusion_trainer',
        trainingFolder: '/workspace/ai-toolkit/output',
        sqliteDbPath: '/workspace/ai-toolkit/aitk_db.db',
        triggerWord: 'p3rs0n',
        steps: 4000,
        rank: 32,
        alpha: 16,
        saveEvery: 250,
        maxStepSavesToKeep: 4,
        sampleEvery: 250,
        lr: 0.0001,
        prompts: ['p3rs0n, a woman holding a coffee cup, in a beanie, sitting at a cafe'],
        disableSampling: false,
        modelName: 'black-forest-labs/FLUX.1-dev',
      });
    }
    // Read to the end (a paste): the same.
    expect(readLog(text).state.config?.prompts).toHaveLength(1);
  });

  it('what the dump has not reached yet is unknown, not a default; a longer read of it tells more', () => {
    const text = made('config-dump-cut.txt');
    const early = text.slice(0, text.indexOf('"linear_alpha"'));
    let state = followed(early);
    // The rank is there, the alpha not yet: no LoRA line from half of it.
    expect(state.config).toMatchObject({ rank: 32, alpha: null, steps: null, saveEvery: null, sampleEvery: null, prompts: [], disableSampling: false });
    expect(state.lora).toBeNull();
    expect(state.totalSteps).toBeNull();
    // The same reader, more of the dump.
    const reader = new LogReader();
    state = reduceRun(initialRunState(), reader.push(early, 1000));
    state = reduceRun(state, reader.push(text.slice(early.length), 2000));
    expect(state.config).toMatchObject({ rank: 32, alpha: 16, steps: 4000, saveEvery: 250 });
    expect(state.lora).toEqual({ rank: 32, alpha: 16 });
  });

  it("the run folder's config still outranks the dump; the dump fills what the file lacks", () => {
    const folder = readRunConfig({ job: 'extension', config: { name: 'from_file', process: [{ type: 'sd_trainer', train: { steps: 2000 }, sample: { prompts: ['from the file'] } }] } })!;
    const reader = new LogReader();
    let state = reduceRun(initialRunState(), [{ at: 0, event: { type: 'configLoaded', config: folder } }]);
    state = reduceRun(state, reader.push(made('config-dump-cut.txt'), 1000));
    expect(state.config).toMatchObject({ name: 'from_file', steps: 2000, prompts: ['from the file'], rank: 32, saveEvery: 250, modelName: 'black-forest-labs/FLUX.1-dev' });
    expect(state.totalSteps).toBe(2000);
  });

  it('a dump that does not go on as JSON ends there, and the line after it is read as a log line', () => {
    const { state, events } = readLog('{\n    "type": "sd_trainer",\n    "train": {\n        "steps": 1500,\nUsing SQLite database at /x/aitk_db.db\n');
    expect(state.config?.steps).toBe(1500);
    expect(state.sqliteDbPath).toBe('/x/aitk_db.db');
    expect(eventsOf(events, 'config').at(-1)?.complete).toBe(false);
  });
});

describe('a config dump read while it is cut, at any point', () => {
  // The dump as Python's json.dumps(indent=4) writes it, with numbers as the last value of their
  // object or array (no comma after them), an exponent, escapes and a list of prompts.
  const PROCESS = {
    type: 'sd_trainer',
    training_folder: 'C:\\ai-toolkit\\output',
    trigger_word: 'p3rs0n',
    network: { type: 'lora', linear: 32, linear_alpha: 16 },
    save: { dtype: 'float16', save_every: 250, max_step_saves_to_keep: 4 },
    datasets: [{ folder_path: '/data/p3rs0n', resolution: [512, 768, 1024] }],
    train: { batch_size: 1, lr: 0.00001, optimizer: 'adamw8bit', steps: 3000 },
    model: { name_or_path: 'black-forest-labs/FLUX.1-dev', quantize: true },
    sample: {
      sample_every: 125,
      prompts: ['[trigger] in a "neon" lit street', 'a lighthouse \u2014 watercolor', '[trigger] holding a sign that says \\o/'],
      sample_start_step: 500,
    },
  };
  const dump = runPythonJson<string>('import json, sys; print(json.dumps(json.dumps(json.load(sys.stdin), indent=4)))', PROCESS);
  const text = `Running 1 job\n${dump}\n#############################################\n# Running job: cut_dump\n`;
  const facts = (state: RunState) => ({
    ...state.config,
    name: undefined,
    lora: state.lora,
    totalSteps: state.totalSteps,
  });
  const whole = facts(readLog(text).state);

  it('the whole dump, for reference', () => {
    expect(dump).toContain('"linear_alpha": 16\n');
    expect(dump).toContain('"lr": 1e-05,');
    expect(whole).toMatchObject({
      trainingFolder: 'C:\\ai-toolkit\\output',
      rank: 32,
      alpha: 16,
      saveEvery: 250,
      maxStepSavesToKeep: 4,
      steps: 3000,
      lr: 0.00001,
      sampleEvery: 125,
      sampleStartStep: 500,
      prompts: PROCESS.sample.prompts,
      modelName: 'black-forest-labs/FLUX.1-dev',
      lora: { rank: 32, alpha: 16 },
      totalSteps: 3000,
    });
  });

  /** A value that says something (a partial config's null, [], false and start step 0 say nothing). */
  const known = (key: string, value: unknown) =>
    value !== null && value !== undefined && value !== false && !(Array.isArray(value) && value.length === 0) && !(key === 'sampleStartStep' && value === 0);

  /** Every fact read is the whole dump's (nothing made up from half a line); the prompts are its first ones. */
  function expectPartOfWhole(got: ReturnType<typeof facts>, where: string): void {
    for (const [key, value] of Object.entries(got)) {
      if (value === null || value === undefined) continue;
      if (key === 'prompts') expect(PROCESS.sample.prompts.slice(0, (value as string[]).length), where).toEqual(value);
      else if (key === 'disableSampling' || key === 'skipFirstSample') expect(value, `${where}: ${key}`).toBe(false);
      else if (key === 'sampleStartStep' && value === 0) continue;
      else expect(value, `${where}: ${key}`).toEqual(whole[key as keyof typeof whole]);
    }
  }

  it('a paste that ends anywhere in it, even in the middle of a number: only whole values are read', () => {
    for (let cut = 0; cut <= text.length; cut++) expectPartOfWhole(facts(readLog(text.slice(0, cut)).state), `cut at ${cut}: ${JSON.stringify(text.slice(Math.max(0, cut - 20), cut))}`);
    // A cut inside the last number of an object: not 30, not 3.
    const steps = text.indexOf('"steps": 3000') + '"steps": 30'.length;
    expect(readLog(text.slice(0, steps)).state.config?.steps).toBeNull();
    expect(readLog(`${text.slice(0, steps)}\n`).state.config?.steps).toBeNull();
    const lr = text.indexOf('"lr": 1e-05') + '"lr": 1e-0'.length;
    expect(readLog(text.slice(0, lr)).state.config?.lr).toBeNull();
  });

  it('read as it is written, a character at a time: each fact counts once its line is whole and is never lost', () => {
    const reader = new LogReader();
    let state = initialRunState();
    const seen = new Map<string, unknown>();
    for (let i = 0; i < text.length; i++) {
      state = reduceRun(state, reader.push(text[i]!, 1000 + i));
      const now = facts(state);
      expectPartOfWhole(now, `after ${i + 1} characters`);
      for (const [key, value] of seen) if (key !== 'prompts') expect(now[key as keyof typeof now], `${key} after ${i + 1} characters`).toEqual(value);
      for (const [key, value] of Object.entries(now)) if (known(key, value) && key !== 'prompts') seen.set(key, value);
      const prompts = seen.get('prompts') as string[] | undefined;
      if (prompts) expect(now.prompts!.slice(0, prompts.length)).toEqual(prompts);
      seen.set('prompts', now.prompts);
      // The rank and alpha once the line that closes the network is whole (the alpha is its last value, no comma).
      const closed = text.indexOf('"linear_alpha": 16\n') + '"linear_alpha": 16\n    },\n'.length;
      if (i + 1 === closed - 1) expect(state.lora).toBeNull();
      if (i + 1 === closed) expect(state.lora).toEqual({ rank: 32, alpha: 16 });
    }
    expect(facts(state)).toEqual(whole);
  });

  it('a dump with sample.prompts cut in the middle of a prompt (made fixture): the prompts before it, and everything above', () => {
    const cut = made('config-dump-prompts-cut.txt');
    expect(cut.endsWith('"[trigger] as an astronaut, ')).toBe(true);
    for (const state of [followed(cut), readLog(cut).state, followed(cut, 5)]) {
      expect(state.config).toMatchObject({ rank: 16, alpha: 8, steps: 2500, saveEvery: 500, sampleEvery: 125, prompts: ['[trigger] standing in a "neon" lit street at night, rain'] });
      expect(state.lora).toEqual({ rank: 16, alpha: 8 });
      expect(state.totalSteps).toBe(2500);
    }
  });
});

describe("the training bar's first draw: no postfix yet, and perhaps no name printed", () => {
  it('after the baseline sample (here skipped), the first new bar is the training bar: it gives the name and the total', () => {
    const text = made('first-training-bar.txt');
    expect(text).not.toContain('lr:');
    for (const chunk of [0, 1, 7]) {
      const state = followed(text, chunk);
      expect(state.name, `chunk ${chunk}`).toBe('Portrait v2: final cut');
      expect(state.totalSteps).toBe(4000);
      expect(state.step).toBe(0);
      expect(state.status).toBe('training');
    }
  });

  it("a named bar whose total is the run's is the training bar; phase bars and unnamed bars never are", () => {
    const config = readRunConfig({ job: 'extension', config: { name: 'x', process: [{ type: 'sd_trainer', train: { steps: 4000 } }] } })!;
    const start = () => reduceRun(initialRunState(), [{ at: 0, event: { type: 'configLoaded', config: { ...config, name: null } } }]);
    const read = (text: string) => reduceRun(start(), new LogReader().push(text, 1000));
    const first = read('\rMy Job:   0%|          | 0/4000 [00:00<?, ?it/s]');
    expect(first).toMatchObject({ name: 'My Job', totalSteps: 4000, step: 0, status: 'training' });
    // Other totals, known phases, no name: not training (before the baseline).
    for (const bar of ['\rMy Job:   0%|          | 0/30 [00:00<?, ?it/s]', '\rCaching latents to disk:   0%|          | 0/4000 [00:00<?, ?it/s]', '\r  0%|          | 0/4000 [00:00<?, ?it/s]']) {
      const state = read(bar);
      expect(state.name, bar).toBeNull();
      expect(state.lastTrainingN, bar).toBeNull();
      expect(state.status, bar).not.toBe('training');
    }
    // After the baseline sample its own `Generating Images` bar is still a sample bar.
    const sampling = read('Generating baseline samples before training\n\rGenerating Images:   0%|          | 0/2 [00:00<?, ?it/s]');
    expect(sampling.status).toBe('sampling');
    expect(sampling.lastTrainingN).toBeNull();
  });
});


describe("the training bar's first draw, drawn by the real tqdm, in the places training starts", () => {
  const NAMES = ['My Job', 'flux.dev-v2', 'Portrait v2: final cut', 'a - b.c: d:e', 'zimage turbo 1.0 - style:ink'];
  /** The first draw of `tqdm(total, desc=name, initial=initial, leave=True)`, as written (no postfix yet). */
  const firstDraws = runPythonJson<string[]>(
    [
      'import io, json, sys',
      'from tqdm import tqdm',
      'out = []',
      'for c in json.load(sys.stdin):',
      '    f = io.StringIO()',
      "    bar = tqdm(total=c['total'], desc=c['name'], initial=c['initial'], leave=True, file=f)",
      '    out.append(f.getvalue())',
      '    bar.close()',
      'print(json.dumps(out))',
    ].join('\n'),
    NAMES.flatMap((name) => [
      { name, total: 4000, initial: 0 },
      { name, total: 3000, initial: 1750 },
    ]),
  );
  const draw = (name: string, resumed: boolean) => firstDraws[NAMES.indexOf(name) * 2 + (resumed ? 1 : 0)]!;
  const read = (text: string, config?: RunConfig) => {
    let state = initialRunState();
    if (config) state = reduceRun(state, [{ at: 0, event: { type: 'configLoaded', config } }]);
    return reduceRun(state, new LogReader().push(text, 1000));
  };

  it('as tqdm draws it: no postfix, `[00:00<?, ?it/s]`', () => {
    expect(draw('Portrait v2: final cut', false)).toBe('\rPortrait v2: final cut:   0%|          | 0/4000 [00:00<?, ?it/s]');
    expect(draw('My Job', true)).toMatch(/^\rMy Job: {2}58%\|.{10}\| 1750\/3000 \[00:00<\?, \?it\/s\]$/);
  });

  it('after the baseline sample (skipped), after a resume (at its step), or with the run\'s total known: the name, the total and the step', () => {
    const config = readRunConfig({ type: 'sd_trainer', train: { steps: 4000 } })!;
    for (const name of NAMES) {
      expect(read(`Skipping first sample due to config setting\n${draw(name, false)}`), name).toMatchObject({ name, totalSteps: 4000, step: 0, status: 'training' });
      expect(read(`Found step 1750 in metadata, starting from there\nUpdating optimizer LR from params\n${draw(name, true)}`), name).toMatchObject({ name, totalSteps: 3000, step: 1750, status: 'training' });
      expect(read(draw(name, false), config), name).toMatchObject({ name, totalSteps: 4000, step: 0, status: 'training' });
    }
  });

  it('nowhere training starts, or not at the resumed step: not the training bar', () => {
    for (const name of NAMES) {
      for (const text of [draw(name, false), `Found step 1750 in metadata, starting from there\n${draw(name, false)}`, `Found step 250 in metadata, starting from there\n${draw(name, true)}`]) {
        const state = read(text);
        expect(state.name, text).toBeNull();
        expect(state.lastTrainingN, text).toBeNull();
        expect(state.status, text).not.toBe('training');
      }
    }
    // A phase bar at the resumed step is still a phase bar.
    const caching = read('Found step 2 in metadata, starting from there\n\rCaching latents to disk:  50%|#####     | 2/4 [00:00<?, ?it/s]');
    expect(caching.lastTrainingN).toBeNull();
  });

  it('a resumed session (made fixture): from the resume lines, or from `Found step` alone with the name nowhere else', () => {
    const text = made('resume-first-bar.txt');
    expect(text).not.toContain('lr:');
    const name = 'flux.dev-style v3: final';
    for (const chunk of [0, 1, 7]) expect(followed(text, chunk), `chunk ${chunk}`).toMatchObject({ name, totalSteps: 4000, step: 1250, status: 'training' });
    const excerpt = text.slice(text.indexOf('Found step'));
    expect(excerpt).not.toContain('safetensors');
    for (const chunk of [0, 1, 7]) expect(followed(excerpt, chunk), `chunk ${chunk}`).toMatchObject({ name, totalSteps: 4000, step: 1250, status: 'training' });
  });

  it('after a baseline sample with its own bars (made fixture): the sample bars are not it, the next named bar is', () => {
    const text = made('baseline-first-bar.txt');
    expect(text).toContain('Generating Images');
    for (const chunk of [0, 1, 7]) expect(followed(text, chunk), `chunk ${chunk}`).toMatchObject({ name: 'Wan 2.2 - t2v: person.v1', totalSteps: 4000, step: 0, status: 'training' });
    // Up to the sample's end: sampling, no training bar yet.
    const sampling = followed(text.slice(0, text.indexOf('\rWan 2.2')));
    expect(sampling.status).toBe('sampling');
    expect(sampling.lastTrainingN).toBeNull();
    expect(sampling.name).toBeNull();
  });
});
