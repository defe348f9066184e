/**
 * @file Training checkpoints: everything a run needs to continue bit for bit, in one safetensors
 * file written atomically, and the EMA model export (what `last`/`best` hold and what is
 * evaluated, like the official `ckpt["model"]`).
 *
 * Resume file tensors (float32 unless noted):
 *   model.<key>      the live model's state dict (official keys; num_batches_tracked int64)
 *   ema.<key>        the EMA copy of every float state entry
 *   momentum.<name>  SGD momentum buffer of each trainable parameter that has one
 * Metadata (strings): "yoloxq" = "train-state", "train" = JSON { version, iter, emaUpdates,
 * config, run } where `run` is the caller's own JSON-able progress record (metrics, best AP,
 * partial epoch sums), and "rng" = how the data randomness is derived (stateless: batch (e, k)
 * from the seed alone, so the seed is all the RNG state there is).
 */
import { UserError } from '../../engine/errors.js';
import { readSafetensors, writeSafetensors } from '../../engine/formats/safetensors.js';
import type { StateEntry } from '../module.js';
import { SCHEDULE_FIELDS, type TrainConfig } from './config.js';
import type { Trainer } from './trainer.js';

const VERSION = 1;

export interface TrainStateMeta<Run> {
  readonly version: number;
  readonly iter: number;
  readonly emaUpdates: number;
  readonly config: TrainConfig;
  readonly run: Run;
}

/** The model's state dict with every float entry replaced by its EMA value. */
export function emaStateDict(trainer: Trainer): Map<string, StateEntry> {
  const out = trainer.strategy.stateDict();
  for (const [k, e] of out) {
    const ema = trainer.ema.state.get(k);
    if (ema !== undefined) out.set(k, { ...e, data: Float32Array.from(ema) });
  }
  return out;
}

/** Writes the EMA model (official keys only: loadable by eval/detect) with string metadata. */
export function saveEmaModel(trainer: Trainer, file: string, meta: Record<string, string>): void {
  writeSafetensors(file, emaStateDict(trainer), { format: 'pt', ...meta });
}

/** Writes the full training state of `trainer` plus the caller's `run` record. */
export function saveTrainState<Run>(trainer: Trainer, file: string, run: Run): void {
  const tensors = new Map<string, StateEntry>();
  const state = trainer.strategy.stateDict();
  for (const [k, e] of state) tensors.set(`model.${k}`, e);
  for (const [k, v] of trainer.ema.state) {
    const shape = state.get(k)?.shape ?? [v.length];
    tensors.set(`ema.${k}`, { dtype: 'float32', shape, data: v });
  }
  for (const [name, p] of trainer.strategy.namedParameters()) {
    const buf = trainer.sgd.momentumBuffer(p);
    if (buf === undefined) continue;
    tensors.set(`momentum.${name}`, { dtype: 'float32', shape: p.shape, data: buf });
  }
  const meta: TrainStateMeta<Run> = {
    version: VERSION, iter: trainer.iter, emaUpdates: trainer.ema.updates,
    config: trainer.config, run,
  };
  writeSafetensors(file, tensors, {
    yoloxq: 'train-state',
    train: JSON.stringify(meta),
    rng: JSON.stringify({
      seed: trainer.config.seed,
      scheme: 'stateless: init Rng(seed); batch (e, k) sample p from mixSeed(seed, e, p)',
    }),
  });
}

/** Reads only the metadata of a training-state file (to rebuild the trainer before loading). */
export function readTrainStateMeta<Run>(file: string): TrainStateMeta<Run> {
  const { metadata } = readSafetensors(file);
  if (metadata.yoloxq !== 'train-state' || metadata.train === undefined) {
    throw new UserError(`${file}: not a yoloxq training state (write one with yoloxq train)`);
  }
  const meta = JSON.parse(metadata.train) as TrainStateMeta<Run>;
  if (meta.version !== VERSION) {
    throw new UserError(`${file}: training state version ${meta.version}, expected ${VERSION}`);
  }
  return meta;
}

/** The schedule fields on which two configs differ ("batch 16 vs 8", …). */
export function configDifferences(a: TrainConfig, b: TrainConfig): string[] {
  return SCHEDULE_FIELDS.filter((f) => a[f] !== b[f]).map((f) => `${f} ${a[f]} vs ${b[f]}`);
}

/**
 * Restores model, EMA, momentum and iteration count from `file` into `trainer` (built with the
 * same config: a different schedule is a UserError). Returns the caller's run record.
 */
export function loadTrainState<Run>(trainer: Trainer, file: string): Run {
  const meta = readTrainStateMeta<Run>(file);
  const diff = configDifferences(meta.config, trainer.config);
  if (diff.length > 0) {
    throw new UserError(`${file}: saved with a different configuration (${diff.join(', ')})`);
  }
  const { tensors } = readSafetensors(file);
  const take = (prefix: string): Map<string, StateEntry> => {
    const out = new Map<string, StateEntry>();
    for (const [k, e] of tensors) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), e);
    return out;
  };
  trainer.strategy.loadStateDict(take('model.'));
  const ema = take('ema.');
  for (const [k, v] of trainer.ema.state) {
    const e = ema.get(k);
    if (e === undefined || e.data.length !== v.length) {
      throw new UserError(`${file}: EMA entry ${k} missing or of the wrong size`);
    }
    v.set(e.data as Float32Array);
  }
  trainer.ema.updates = meta.emaUpdates;
  const mom = take('momentum.');
  for (const [name, p] of trainer.strategy.namedParameters()) {
    const e = mom.get(name);
    if (e === undefined) continue;
    if (e.data.length !== p.size) {
      throw new UserError(`${file}: momentum of ${name} has the wrong size`);
    }
    trainer.sgd.setMomentumBuffer(p, Float32Array.from(e.data as Float32Array));
  }
  trainer.iter = meta.iter;
  return meta.run;
}
