/**
 * What the built-in demo run is: its job config (a Flux LoRA as ai-toolkit's examples write it),
 * prompts and trigger word, and the seeded random numbers its loss curve and images come from.
 * Pure. The demo, the tqdm comparison tests and the benchmark's generated log all share it.
 */

export const DEMO_TRIGGER = 'p3r5on';
export const DEMO_RESOLUTIONS = [512, 768, 1024] as const;
export const DEMO_PROMPTS = [
  '[trigger] holding a sign that says \'I LOVE PROMPTS!\'',
  'woman with red hair, playing chess at the park, bomb going off in the background',
  'a bear building a log cabin in the snow covered mountains',
];

/** A small seeded generator (mulberry32): the same numbers for the same seed, on every machine. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal value (Box-Muller) from a uniform generator. */
export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** The demo's job config, as `config.yaml` holds it (`raw`) and as the log's JSON dump prints it (`processConfig`). */
export function buildDemoConfig(o: { name: string; trainingFolder: string; datasetPath: string; steps: number; saveEvery: number; keep: number; sampleEvery: number }) {
  const processConfig = {
    type: 'sd_trainer',
    training_folder: o.trainingFolder,
    device: 'cuda:0',
    trigger_word: DEMO_TRIGGER,
    network: { type: 'lora', linear: 16, linear_alpha: 16 },
    save: { dtype: 'float16', save_every: o.saveEvery, max_step_saves_to_keep: o.keep, push_to_hub: false },
    datasets: [
      {
        folder_path: o.datasetPath,
        caption_ext: 'txt',
        caption_dropout_rate: 0.05,
        shuffle_tokens: false,
        cache_latents_to_disk: true,
        resolution: [...DEMO_RESOLUTIONS],
      },
    ],
    train: {
      batch_size: 1,
      steps: o.steps,
      gradient_accumulation_steps: 1,
      train_unet: true,
      train_text_encoder: false,
      gradient_checkpointing: true,
      noise_scheduler: 'flowmatch',
      optimizer: 'adamw8bit',
      lr: 0.0001,
      dtype: 'bf16',
    },
    model: { name_or_path: 'black-forest-labs/FLUX.1-dev', is_flux: true, quantize: true },
    sample: {
      sampler: 'flowmatch',
      sample_every: o.sampleEvery,
      width: 1024,
      height: 1024,
      prompts: DEMO_PROMPTS,
      neg: '',
      seed: 42,
      walk_seed: true,
      guidance_scale: 4,
      sample_steps: 20,
    },
  };
  const raw = {
    job: 'extension',
    config: { name: o.name, process: [processConfig] },
    meta: { name: o.name, version: '1.0' },
  };
  return { raw, processConfig };
}
