/**
 * @file The knobs of a training run (FP32 or QAT) and their defaults: the official YOLO-X recipe
 * (exps/default/yolox_tiny.py + yolox_base.py, shared/reference/yolox.md §5) with the epoch counts
 * left to the caller, since short runs on the generated dataset cannot use 300 epochs.
 *
 * Per iteration i (counted from 0 over the whole run, itersPerEpoch = ⌊images / batch⌋):
 *   epoch e = ⌊i / itersPerEpoch⌋, batch k = i mod itersPerEpoch;
 *   mosaic on and L1 off while e < epochs − noAugEpochs, then mosaic off and L1 on;
 *   lr(i) = yoloxwarmcos(lrPerImg · batch, …) (iteration 0 runs with lr 0, as official).
 */
import { UserError } from '../../engine/errors.js';

export interface TrainConfig {
  readonly epochs: number;
  readonly batch: number;
  /** Square training (and evaluation) input side, a multiple of 32. */
  readonly size: number;
  /** Seed of the model initialisation and of the data order/augmentation. */
  readonly seed: number;
  /** Learning rate per image (official 0.01/64); the base lr is this × batch. */
  readonly lrPerImg: number;
  readonly warmupEpochs: number;
  /** Last epochs without mosaic and with the L1 loss (official 15 of 300). */
  readonly noAugEpochs: number;
  readonly minLrRatio: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly emaDecay: number;
  /** EMA warm-up constant (decay·(1 − exp(−updates/ramp))). */
  readonly emaRamp: number;
  /** Probability of a mosaic sample in the augmented epochs (official 1.0). */
  readonly mosaicProb: number;
  /** Copy the EMA weights into the model at each epoch end (Quark's QAT recipe; off for FP32). */
  readonly emaToModelEachEpoch: boolean;
}

export const TRAIN_DEFAULTS: TrainConfig = {
  epochs: 30,
  batch: 16,
  size: 128,
  seed: 0,
  lrPerImg: 0.01 / 64,
  warmupEpochs: 2,
  noAugEpochs: 3,
  minLrRatio: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  emaDecay: 0.9998,
  emaRamp: 2000,
  mosaicProb: 1.0,
  emaToModelEachEpoch: false,
};

/** Fields whose change would alter the run: a resumed run must keep them. */
export const SCHEDULE_FIELDS: readonly (keyof TrainConfig)[] = [
  'epochs', 'batch', 'size', 'seed', 'lrPerImg', 'warmupEpochs', 'noAugEpochs', 'minLrRatio',
  'momentum', 'weightDecay', 'emaDecay', 'emaRamp', 'mosaicProb', 'emaToModelEachEpoch',
];

/** Defaults filled in and every field checked (UserError naming the field). */
export function resolveTrainConfig(partial: Partial<TrainConfig>): TrainConfig {
  const c: TrainConfig = { ...TRAIN_DEFAULTS, ...partial };
  const bad = (field: string, want: string, v: unknown): never => {
    throw new UserError(`train: ${field} must be ${want}, got ${String(v)}`);
  };
  const int = (f: keyof TrainConfig, min: number) => {
    const v = c[f] as number;
    if (!Number.isInteger(v) || v < min) bad(f, `an integer ≥ ${min}`, v);
  };
  int('epochs', 1);
  int('batch', 1);
  int('seed', 0);
  int('warmupEpochs', 1);
  int('noAugEpochs', 0);
  if (c.size % 32 !== 0 || c.size < 32) bad('size', 'a positive multiple of 32', c.size);
  if (c.epochs - c.warmupEpochs - c.noAugEpochs < 1) {
    throw new UserError(
      `train: epochs (${c.epochs}) must exceed warm-up (${c.warmupEpochs}) + no-aug ` +
        `(${c.noAugEpochs}) epochs`,
    );
  }
  for (const f of ['lrPerImg', 'minLrRatio', 'momentum', 'weightDecay', 'mosaicProb'] as const) {
    if (!(c[f] >= 0 && Number.isFinite(c[f]))) bad(f, 'a finite number ≥ 0', c[f]);
  }
  if (!(c.emaDecay > 0 && c.emaDecay < 1)) bad('emaDecay', 'in (0, 1)', c.emaDecay);
  if (!(c.emaRamp > 0)) bad('emaRamp', '> 0', c.emaRamp);
  if (c.mosaicProb > 1) bad('mosaicProb', '≤ 1', c.mosaicProb);
  return c;
}
