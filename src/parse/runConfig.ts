import { parse as parseYaml } from 'yaml';
import { stripControlSequences } from './sanitize.js';

/** What lora-top needs from an ai-toolkit job config (reference section 7). */
export interface RunConfig {
  name: string | null;
  trainerType: string | null;
  trainingFolder: string | null;
  triggerWord: string | null;
  sqliteDbPath: string | null;
  steps: number | null;
  lr: number | null;
  batchSize: number | null;
  rank: number | null;
  alpha: number | null;
  saveEvery: number | null;
  maxStepSavesToKeep: number | null;
  sampleEvery: number | null;
  sampleStartStep: number;
  disableSampling: boolean;
  skipFirstSample: boolean;
  prompts: string[];
  sampleFormat: string | null;
  modelName: string | null;
}

type Dict = Record<string, unknown>;

/**
 * Reads a config from `config.yaml`, `.job_config.json` or the JSON dump a run prints.
 * Accepts the job form (`{job, config: {name, process: [...]}}`), the bare `config` form and the
 * process dict alone (what the log dump holds). Defaults follow ai-toolkit's own where it has one
 * that matters for timing (save_every 1000, sample_every 100, steps 1000, keep 5).
 * Returns null when the text is not a config. Never throws.
 */
export function parseRunConfigText(text: string): RunConfig | null {
  let data: unknown;
  try {
    data = parseYaml(text, { maxAliasCount: 100, prettyErrors: false });
  } catch {
    return null;
  }
  return readRunConfig(data);
}

/**
 * `partial`: the data is the first part of a config (a dump cut short): what is missing is unknown,
 * not ai-toolkit's default, and a section not seen yet says nothing (no sample section yet is not
 * "sampling off").
 */
export function readRunConfig(data: unknown, options: { partial?: boolean } = {}): RunConfig | null {
  const whole = options.partial !== true;
  if (!isDict(data)) return null;
  const config = isDict(data.config) ? data.config : data;
  const processes = Array.isArray(config.process) ? config.process : null;
  const process = processes && isDict(processes[0]) ? processes[0] : isDict(config) && 'type' in config ? config : null;
  if (!process && typeof config.name !== 'string') return null;
  const p: Dict = process ?? {};
  const network = dict(p.network);
  const save = dict(p.save);
  const train = dict(p.train);
  const sample = dict(p.sample);
  const model = dict(p.model);

  const prompts: string[] = [];
  if (Array.isArray(sample.prompts)) {
    for (const prompt of sample.prompts) if (typeof prompt === 'string') prompts.push(clean(prompt));
  } else if (Array.isArray(sample.samples)) {
    for (const item of sample.samples) {
      if (isDict(item) && typeof item.prompt === 'string') prompts.push(clean(item.prompt));
    }
  }

  const hasSample = Object.keys(sample).length > 0;
  return {
    name: str(config.name) ?? str(p.name),
    trainerType: str(p.type),
    trainingFolder: str(p.training_folder),
    triggerWord: str(p.trigger_word),
    sqliteDbPath: str(p.sqlite_db_path),
    steps: num(train.steps) ?? (process && whole ? 1000 : null),
    lr: num(train.lr),
    batchSize: num(train.batch_size),
    rank: num(network.linear) ?? num(network.rank),
    alpha: num(network.linear_alpha) ?? num(network.alpha),
    saveEvery: num(save.save_every) ?? (Object.keys(save).length > 0 && whole ? 1000 : null),
    maxStepSavesToKeep: num(save.max_step_saves_to_keep) ?? (Object.keys(save).length > 0 && whole ? 5 : null),
    sampleEvery: num(sample.sample_every) ?? (hasSample && whole ? 100 : null),
    sampleStartStep: num(sample.sample_start_step) ?? 0,
    disableSampling: train.disable_sampling === true || (!hasSample && whole),
    skipFirstSample: train.skip_first_sample === true,
    prompts,
    sampleFormat: str(sample.format),
    modelName: str(model.name_or_path),
  };
}

function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function dict(value: unknown): Dict {
  return isDict(value) ? value : {};
}

function clean(text: string): string {
  return stripControlSequences(text).trim();
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.trim().length > 0 ? clean(value) : null;
}

function num(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}
