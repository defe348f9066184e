/**
 * @file The official YOLO-X learning-rate schedule `yoloxwarmcos` (yolox/utils/lr_scheduler.py).
 *
 * With base lr L = basicLrPerImg · batch, W = warmupEpochs·itersPerEpoch warm-up iterations,
 * T = maxEpoch·itersPerEpoch total, Q = noAugEpochs·itersPerEpoch, min = minLrRatio·L:
 *   i ≤ W:          lr = (L − warmupLrStart)·(i/W)² + warmupLrStart
 *   i ≥ T − Q:      lr = min
 *   otherwise:      lr = min + ½(L − min)(1 + cos(π (i − W) / (T − W − Q)))
 * The trainer sets lr(i + 1) after finishing iteration i, and the optimizer starts at warmupLrStart
 * (when W > 0), so iteration i runs with lr(i) — iteration 0 with lr 0 by default.
 */
import { UserError } from '../../engine/errors.js';

export interface YoloxLrConfig {
  /** Base learning rate (0.01/64 per image × batch). */
  readonly lr: number;
  readonly itersPerEpoch: number;
  readonly maxEpoch: number;
  readonly warmupEpochs?: number;
  readonly warmupLrStart?: number;
  readonly noAugEpochs?: number;
  readonly minLrRatio?: number;
}

/** 0.01 / 64 per image: the official `basic_lr_per_img`. */
export const BASIC_LR_PER_IMG = 0.01 / 64;

/** A function iteration → learning rate. */
export function yoloxWarmCosLr(cfg: YoloxLrConfig): (iter: number) => number {
  const { lr, itersPerEpoch, maxEpoch } = cfg;
  const warmupEpochs = cfg.warmupEpochs ?? 5, start = cfg.warmupLrStart ?? 0;
  const noAugEpochs = cfg.noAugEpochs ?? 15, minLrRatio = cfg.minLrRatio ?? 0.05;
  const W = itersPerEpoch * warmupEpochs, T = itersPerEpoch * maxEpoch;
  const Q = itersPerEpoch * noAugEpochs, minLr = lr * minLrRatio;
  if (W <= 0) throw new UserError('yoloxwarmcos: needs warmup epochs > 0 (it divides by them)');
  if (T - W - Q <= 0) {
    throw new UserError('yoloxwarmcos: max epoch must exceed warmup + no-aug epochs');
  }
  return (i: number) => {
    if (i <= W) return (lr - start) * (i / W) ** 2 + start;
    if (i >= T - Q) return minLr;
    return minLr + 0.5 * (lr - minLr) * (1 + Math.cos((Math.PI * (i - W)) / (T - W - Q)));
  };
}
