import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIXTURES, eventsOf, fixtureText, readLog } from '../helpers/readLog.js';

// Every real excerpt in test/fixtures/ai-toolkit-logs reads to the facts INDEX.md lists for it.

function bars(name: string) {
  const { events } = readLog(fixtureText(name));
  return eventsOf(events, 'bar').map((e) => e.bar);
}

describe('real ai-toolkit log excerpts', () => {
  it('covers every fixture file', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.txt'));
    const tested = [
      '001', '003', '005', '007', '009', '011', '013', '015', '017', '019', '021', '023', '025', '027', '029', '031', '033',
    ];
    expect(files.map((f) => f.slice(0, 3)).sort()).toEqual(tested);
  });

  it('001: LoKr run with a save after each bar (Windows, pre-2026-08 bar semantics)', () => {
    const { events, state } = readLog(fixtureText('001-lokr-saving-checkpoints-windows.txt'));
    const train = eventsOf(events, 'bar').map((e) => e.bar);
    expect(train).toHaveLength(5);
    for (const bar of train) {
      expect(bar.desc).toBe('lokr-test-2');
      expect(bar.total).toBe(3000);
      expect(bar.postfix.lr).toBe('2.0e-04');
      expect(bar.unit).toBe('s/it');
    }
    expect(train.map((b) => [b.n, b.percent, b.elapsedS, b.remainingS, b.rate])).toEqual([
      [299, 10, 644, 5825, 2.16],
      [599, 20, 1185, 3804, 1.58],
      [899, 30, 1791, 3988, 1.9],
      [1199, 40, 10144, 50658, 28.13],
      [1499, 50, 10615, 2044, 1.36],
    ]);
    expect(train.map((b) => Number(b.postfix.loss))).toEqual([0.5226, 0.6736, 0.6463, 0.7353, 0.2635]);
    expect(eventsOf(events, 'baseline')).toEqual([{ type: 'baseline', skipped: true }]);
    expect(eventsOf(events, 'saveStart').map((e) => e.step)).toEqual([300, 600, 900, 1200, 1500]);
    const ckpts = eventsOf(events, 'checkpointSaved');
    expect(ckpts.map((e) => e.step)).toEqual([300, 600, 900, 1200]);
    expect(ckpts[0]!.path).toBe('D:\\AI-Toolkit\\AI-Toolkit\\output\\lokr-test-2\\lokr-test-2_000000300.safetensors');
    expect(eventsOf(events, 'optimizerSaved')[0]!.path).toBe('D:\\AI-Toolkit\\AI-Toolkit\\output\\lokr-test-2\\optimizer.pt');
    expect(eventsOf(events, 'optimizerSaved')).toHaveLength(4);

    expect(state.name).toBe('lokr-test-2');
    expect(state.status).toBe('saving');
    expect(state.step).toBe(1500);
    expect(state.totalSteps).toBe(3000);
    expect(state.lastCheckpoint?.step).toBe(1200);
    expect(state.loss).toBeCloseTo(0.2635, 6);
    expect(state.lr).toBeCloseTo(2e-4, 10);
    // From the printed elapsed of the last two states: (10615 − 10144) s over 300 steps.
    expect(state.speed.secondsPerStep).toBeCloseTo(471 / 300, 6);
    expect(state.speed.basis).toBe('elapsed');
  });

  it('003: resumed Krea2 bar with a 3-digit-hour-free 12:24:06 ETA', () => {
    const [bar, ...rest] = bars('003-krea2-177h-eta.txt');
    expect(rest).toHaveLength(0);
    expect(bar).toMatchObject({ desc: 'HR_Krea2', n: 501, total: 2600, percent: 19, elapsedS: 21, remainingS: 44646, rate: 21.27, unit: 's/it' });
    expect(bar!.postfix).toEqual({ lr: '9.2e-05', loss: '6.988e-02' });
    const { state } = readLog(fixtureText('003-krea2-177h-eta.txt'));
    expect(state.status).toBe('training');
    expect(state.step).toBe(501);
    expect(state.loss).toBeCloseTo(0.06988, 8);
    // One state only: tqdm's own rate is all there is (501 steps in 21 s would be absurd).
    expect(state.speed.secondsPerStep).toBeCloseTo(21.27, 6);
  });

  it('005: UI-launched Chroma job startup through the dataset scan (ASCII bars)', () => {
    const { events, state } = readLog(fixtureText('005-chroma-ui-startup-windows-ascii.txt'));
    expect(eventsOf(events, 'sqliteDb')[0]!.path).toBe('E:\\AI\\ai-toolkit\\aitk_db.db');
    expect(eventsOf(events, 'jobId')[0]!.id).toBe('29447d83-edea-4f54-b5f0-771170c86d92');
    expect(eventsOf(events, 'jobName')[0]!.name).toBe('yn');
    expect(eventsOf(events, 'phase').map((e) => e.text)).toEqual(
      expect.arrayContaining(['Loading transformer', 'Quantizing transformer', 'Loading T5', 'Quantizing T5', 'Loading VAE', 'Making pipe', 'Preparing Model', 'Model Loaded']),
    );
    const order = eventsOf(events, 'phase').map((e) => e.text).filter((t) => !t.startsWith('Preprocessing'));
    expect(order).toEqual(['Loading transformer', 'Quantizing transformer', 'Loading T5', 'Quantizing T5', 'Loading VAE', 'Making pipe', 'Preparing Model', 'Model Loaded']);
    expect(eventsOf(events, 'network')).toEqual([{ type: 'network', rank: 16, alpha: 16 }]);
    expect(eventsOf(events, 'networkModules').find((e) => e.target === 'unet')?.count).toBe(228);
    expect(eventsOf(events, 'dataset')[0]!.path).toBe('E:\\AI\\ai-toolkit\\datasets/yn');
    expect(eventsOf(events, 'datasetImages')[0]!.count).toBe(526);
    const phaseBars = eventsOf(events, 'bar').map((e) => e.bar);
    expect(phaseBars[0]).toMatchObject({ desc: 'Loading checkpoint shards', n: 2, total: 2, percent: 100, rate: 37.89, unit: 'it/s' });
    expect(phaseBars[1]).toMatchObject({ desc: null, n: 526, total: 526, percent: 100, elapsedS: 17, rate: 30.43 });
    expect(state).toMatchObject({ name: 'yn', status: 'preparing', step: null, totalSteps: null, lora: { rank: 16, alpha: 16 } });
    expect(state.dataset).toEqual({ path: 'E:\\AI\\ai-toolkit\\datasets/yn', images: 526 });
  });

  it('007: FLUX schnell fails at the LoRA fuse with a CUBLAS error', () => {
    const { events, state } = readLog(fixtureText('007-flux-schnell-cublas-error-result.txt'));
    const phases = eventsOf(events, 'phase').map((e) => e.text);
    expect(phases).toEqual([
      'Loading Flux model',
      'Loading transformer',
      'Grabbing LoRA from the hub: ostris/FLUX.1-schnell-training-adapter',
      'Fusing in LoRA',
    ]);
    const message = 'CUDA error: CUBLAS_STATUS_NOT_INITIALIZED when calling `cublasCreate(handle)`';
    expect(eventsOf(events, 'error')).toEqual([{ type: 'error', kind: 'cuda', message }]);
    expect(eventsOf(events, 'result')).toEqual([{ type: 'result', completed: 0, failures: 1 }]);
    expect(eventsOf(events, 'traceback')).toHaveLength(1);
    expect(state.status).toBe('failed');
    expect(state.error).toEqual({ kind: 'cuda', message });
    expect(state.step).toBeNull();
  });

  it('009: a caching bar is a phase, not training progress', () => {
    const { events, state } = readLog(fixtureText('009-caching-text-embeddings-slow.txt'));
    expect(eventsOf(events, 'bar')[0]!.bar).toMatchObject({
      desc: 'Caching text embeddings to disk', n: 23, total: 26, percent: 88, elapsedS: 3094, remainingS: 404, rate: 134.77, unit: 's/it',
    });
    expect(state.status).toBe('preparing');
    expect(state.phase).toMatchObject({ text: 'Caching text embeddings to disk', n: 23, total: 26 });
    expect(state.step).toBeNull();
    expect(state.totalSteps).toBeNull();
    expect(state.speed.secondsPerStep).toBeNull();
  });

  it('011: CUDA out of memory with a doubled traceback counts one OOM error', () => {
    const { events, state } = readLog(fixtureText('011-stabilitymatrix-cuda-error-doubled-traceback.txt'));
    expect(eventsOf(events, 'error')).toEqual([{ type: 'error', kind: 'oom', message: 'CUDA error: out of memory' }]);
    expect(eventsOf(events, 'result')).toEqual([{ type: 'result', completed: 0, failures: 1 }]);
    expect(eventsOf(events, 'traceback')).toHaveLength(1);
    expect(state.status).toBe('failed');
    expect(state.error).toEqual({ kind: 'oom', message: 'CUDA error: out of memory' });
  });

  it('013: failure inside a training step, doubled traceback, result block without its opening rule', () => {
    const { events, state } = readLog(fixtureText('013-qwen2512-doubled-traceback-linux.txt'));
    expect(eventsOf(events, 'result')).toEqual([{ type: 'result', completed: 0, failures: 1 }]);
    expect(eventsOf(events, 'traceback')).toHaveLength(1);
    expect(state.status).toBe('failed');
    expect(state.error?.kind).toBe('error');
  });

  it('015: slow latent caching with repeated close states is all preparation', () => {
    const { events, state } = readLog(fixtureText('015-ui-caching-latents-extremely-slow.txt'));
    const all = eventsOf(events, 'bar').map((e) => e.bar);
    expect(all.every((b) => !('lr' in b.postfix))).toBe(true);
    const caching = all.filter((b) => b.desc === 'Caching latents to disk');
    expect(caching.map((b) => [b.n, b.total, b.percent, b.elapsedS, b.remainingS, b.rate])).toEqual([
      [0, 2, 0, 0, null, null],
      [1, 2, 50, 2906, 2906, 2906.56],
      [2, 2, 100, 5792, 0, 2894.55],
      [2, 2, 100, 5792, 0, 2896.35],
    ]);
    const unnamed = all.filter((b) => b.desc === null);
    expect(unnamed.map((b) => [b.n, b.total, b.rate])).toEqual([
      [0, 2, null],
      [2, 2, 28.52],
      [0, 2, null],
      [2, 2, 12157.4],
    ]);
    expect(eventsOf(events, 'network')).toEqual([{ type: 'network', rank: 16, alpha: 16 }]);
    expect(eventsOf(events, 'networkModules').find((e) => e.target === 'unet')?.count).toBe(494);
    expect(eventsOf(events, 'dataset').map((e) => e.path)).toEqual([
      'datasets/3a0a1b7b-4b3a-4141-8900-5f650d83efe5',
      'datasets/3a0a1b7b-4b3a-4141-8900-5f650d83efe5',
    ]);
    expect(eventsOf(events, 'datasetImages').map((e) => e.count)).toEqual([2, 2]);
    expect(eventsOf(events, 'buckets')).toEqual([{ type: 'buckets', count: 1 }]);
    expect(state.status).toBe('preparing');
    expect(state.step).toBeNull();
    expect(state.lora).toEqual({ rank: 16, alpha: 16 });
    expect(state.loraModules).toBe(494);
  });

  it('017: the trained LoRA is the second network, not the accuracy-recovery adapter', () => {
    const { events, state } = readLog(fixtureText('017-qwen-edit-plus-ui-model-load.txt'));
    expect(eventsOf(events, 'sqliteDb')[0]!.path).toBe('/root/ai-toolkit/aitk_db.db');
    expect(eventsOf(events, 'jobId')[0]!.id).toBe('dcf8d1fe-a49c-4163-a949-9ad5b5094d27');
    expect(state.name).toBe('my_first_lora_v1');
    expect(eventsOf(events, 'phase').map((e) => e.text)).toEqual([
      'Loading Qwen Image model',
      'Loading transformer',
      'Quantizing Transformer',
      'Grabbing LoRA from the hub: ostris/accuracy_recovery_adapters/qwen_image_edit_2509_torchao_uint3.safetensors',
      'Moving transformer to CPU',
      'Text Encoder',
      'Quantizing Text Encoder',
      'Loading VAE',
      'Making pipe',
      'Preparing Model',
      'Model Loaded',
    ]);
    const phaseBars = eventsOf(events, 'bar').map((e) => e.bar);
    expect(phaseBars.map((b) => [b.desc, b.n, b.total, b.rate])).toEqual([
      ['Loading checkpoint shards', 5, 5, 25.06],
      ['Attaching quantization', 846, 846, 20.02],
      ['Loading checkpoint shards', 4, 4, 26.66],
    ]);
    expect(phaseBars[1]!.elapsedS).toBe(42);
    expect(eventsOf(events, 'network')).toEqual([
      { type: 'network', rank: 16, alpha: 16 },
      { type: 'network', rank: 32, alpha: 32 },
    ]);
    expect(state.lora).toEqual({ rank: 32, alpha: 32 });
    expect(state.status).toBe('preparing');
  });

  it('019: a sample with an inner denoising bar and a print glued after the bar', () => {
    const { events, state } = readLog(fixtureText('019-sampling-inner-bar-unloading-vae.txt'));
    const all = eventsOf(events, 'bar').map((e) => e.bar);
    expect(all[0]).toMatchObject({ desc: 'Generating Images', n: 0, total: 2, trailing: 'Unloading vae' });
    expect(eventsOf(events, 'phase').map((e) => e.text)).toEqual(['Unloading vae', 'Unloading text encoder']);
    const inner = all.filter((b) => b.desc === null);
    expect(inner[1]).toMatchObject({ n: 1, total: 30, elapsedS: 115, remainingS: 3346, rate: 115.39 });
    expect(inner[inner.length - 1]).toMatchObject({ n: 15, total: 30, percent: 50, elapsedS: 1719, remainingS: 1718, rate: 114.56, unit: 's/it' });
    expect(state.status).toBe('sampling');
    expect(state.phase).toMatchObject({ text: 'Generating samples', n: 0, total: 2, detail: '15/30' });
    expect(state.step).toBeNull();
    expect(state.speed.secondsPerStep).toBeNull();
  });

  it('021: zero LoRA modules, a fully interleaved doubled exception, chained', () => {
    const { events, state } = readLog(fixtureText('021-ltx2-no-lora-modules-interleaved-exception.txt'));
    expect(eventsOf(events, 'phase').map((e) => e.text)).toEqual([
      'Loading LTX2 model',
      'Loading transformer',
      'Quantizing Transformer',
      'Grabbing LoRA from the hub: ostris/accuracy_recovery_adapters/wan22_14b_t2i_torchao_uint4.safetensors',
    ]);
    expect(eventsOf(events, 'bar')[0]!.bar).toMatchObject({ desc: 'Loading checkpoint shards', n: 8, total: 8, rate: 11.13 });
    expect(state.lora).toEqual({ rank: 16, alpha: 16 });
    expect(state.loraModules).toBe(0);
    const message = 'There are not any lora modules in this network. Check your config and try again';
    expect(eventsOf(events, 'error')).toEqual([{ type: 'error', kind: 'error', message }]);
    expect(eventsOf(events, 'result')).toEqual([{ type: 'result', completed: 0, failures: 1 }]);
    expect(eventsOf(events, 'traceback')).toHaveLength(1);
    // The first exception of the chain was caught (its traceback starts in network_mixins.py); the chain's last went through run.py.
    expect(eventsOf(events, 'exception')[0]).toEqual({ type: 'exception', name: 'IndexError', message: 'list index out of range', uncaught: false });
    expect(state.status).toBe('failed');
    expect(state.error).toEqual({ kind: 'error', message });
  });

  it('023: the kernel OOM killer line is recognised but marks no training state', () => {
    const { events, state } = readLog(fixtureText('023-oom-killer-dmesg-silent-death.txt'));
    expect(eventsOf(events, 'oomKill')).toEqual([{ type: 'oomKill', pid: 1067104, process: 'python' }]);
    expect(state.status).toBe('starting');
    expect(state.step).toBeNull();
  });

  it('025: baseline sampling stuck at 0/1, lines pasted with a leading space', () => {
    const { events, state } = readLog(fixtureText('025-stuck-baseline-sample-indented.txt'));
    expect(eventsOf(events, 'baseline')).toEqual([{ type: 'baseline', skipped: false }]);
    expect(eventsOf(events, 'bar')[0]!.bar).toMatchObject({ desc: 'Generating Images', n: 0, total: 1, remainingS: null, rate: null, unit: 'it/s' });
    expect(state.status).toBe('sampling');
    expect(state.phase).toMatchObject({ text: 'Generating samples', n: 0, total: 1 });
    expect(state.step).toBeNull();
  });

  it('027: config rejected before the job exists', () => {
    const { events, state } = readLog(fixtureText('027-unknown-process-type-on-error-fails.txt'));
    expect(eventsOf(events, 'jobsStart')).toEqual([{ type: 'jobsStart', count: 1 }]);
    expect(eventsOf(events, 'warning')).toHaveLength(1);
    const message = 'config file is invalid. Unknown process type: diffusion_trainer';
    expect(eventsOf(events, 'error')).toEqual([{ type: 'error', kind: 'error', message }]);
    expect(eventsOf(events, 'errorSecondary')).toEqual([
      { type: 'errorSecondary', message: "cannot access local variable 'job' where it is not associated with a value" },
    ]);
    expect(eventsOf(events, 'result')).toEqual([{ type: 'result', completed: 0, failures: 1 }]);
    expect(eventsOf(events, 'exception')).toEqual([{ type: 'exception', name: 'ValueError', message, uncaught: true }]);
    expect(eventsOf(events, 'text').map((e) => e.text)).toContain('(venv) E:\\AI\\ai-toolkit>');
    expect(state.status).toBe('failed');
    expect(state.error).toEqual({ kind: 'error', message });
    expect(state.name).toBeNull();
  });

  it('029: the UI server console yields no training state', () => {
    const { events, state } = readLog(fixtureText('029-ui-worker-console-not-training-log.txt'));
    expect(events.every((e) => e.type === 'text' || e.type === 'warning' || e.type === 'line')).toBe(true);
    expect(state.recognised).toBe(false);
    expect(state).toMatchObject({ status: 'starting', step: null, totalSteps: null, name: null, error: null });
  });

  it('031: resuming from the un-numbered final file leaves the resume step unknown', () => {
    const { events, state } = readLog(fixtureText('031-resuming-from-final-safetensors.txt'));
    const path = '/home/torch/AI/Training/Model/my_first_flux_lora_v1/my_first_flux_lora_v1.safetensors';
    expect(eventsOf(events, 'resume')).toEqual([{ type: 'resume', path, step: null }]);
    expect(state.name).toBe('my_first_flux_lora_v1');
    expect(state.resume).toEqual({ path, step: null });
  });

  it('033: doubled traceback after a result block', () => {
    const { events, state } = readLog(fixtureText('033-zimage-layer-offload-doubled-traceback-windows.txt'));
    expect(eventsOf(events, 'result')).toEqual([{ type: 'result', completed: 0, failures: 1 }]);
    expect(eventsOf(events, 'traceback')).toHaveLength(1);
    expect(state.status).toBe('failed');
  });

  it('reads every fixture the same whatever the chunk size', () => {
    // Bar states may also be reported early, while they are the unterminated tail; everything else
    // and the final state must not depend on how the bytes arrived.
    const lines = (events: ReturnType<typeof readLog>['events']) =>
      events.filter((e) => e.type !== 'bar' && !(e.type === 'line' && e.bar !== null));
    const facts = ({ state }: ReturnType<typeof readLog>) => ({ ...state, lastEventAt: null, speed: null, lossHistory: null, recentLines: null });
    for (const file of readdirSync(FIXTURES).filter((f) => f.endsWith('.txt'))) {
      const text = fixtureText(file);
      const whole = readLog(text);
      for (const size of [1, 7, 64]) {
        const chunked = readLog(text, 1_000_000, size);
        expect(lines(chunked.events), `${file} in ${size}-char chunks`).toEqual(lines(whole.events));
        expect(facts(chunked), `${file} in ${size}-char chunks`).toEqual(facts(whole));
      }
    }
  });
});

describe('reading back a log that does not grow', () => {
  it('reports the last bar state of each batch without waiting for more text', async () => {
    const { LogReader } = await import('../../src/parse/logReader.js');
    const reader = new LogReader();
    const events = reader.push(fixtureText('003-krea2-177h-eta.txt'), 5, false).map((e) => e.event);
    const bars = eventsOf(events, 'bar');
    expect(bars.map((b) => b.bar.n)).toEqual([501]);
  });
});
