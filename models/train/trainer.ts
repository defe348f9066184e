/**
 * @file One training iteration of YOLO-X, as the official `Trainer.train_one_iter`, and the state
 * it carries from one iteration to the next (model, SGD momentum, EMA, iteration count).
 *
 * Iteration i (0-based over the run; epoch e = ⌊i/I⌋, batch k = i mod I, I = itersPerEpoch):
 *   1. the batch (e, k) from the data source: mosaic in the augmented epochs, plain after;
 *   2. training-mode forward → trainOutputs → YOLO-X loss (L1 on in the last no-aug epochs);
 *   3. a non-finite total loss stops the run (UserError naming the step) before any update;
 *   4. backward; lr ← yoloxwarmcos(i); SGD step (Nesterov, official groups);
 *   5. EMA update over every float state entry.
 * Everything is a function of (config, data, iteration): no hidden random state, so the run
 * resumed from a checkpoint after iteration i is bit-identical to the uninterrupted one.
 */
import { backward } from '../../engine/autograd.js';
import { UserError } from '../../engine/errors.js';
import type { Tensor } from '../../engine/tensor.js';
import { trainOutputs } from '../loss/train_outputs.js';
import { yoloxLoss, type LossTerms } from '../loss/yolox_loss.js';
import { ModelEma } from '../optim/ema.js';
import { yoloxWarmCosLr } from '../optim/lr_schedule.js';
import { Sgd } from '../optim/sgd.js';
import type { TrainConfig } from './config.js';
import type { TrainStrategy } from './strategy.js';

/** Where training batches come from; batch (epoch, k) must be a pure function of its arguments. */
export interface TrainData {
  readonly itersPerEpoch: number;
  /** Images [B, 3, S, S] (BGR 0..255) and labels [B, M, 5] of batch k of `epoch`. */
  batch(epoch: number, k: number, noAug: boolean): { images: Tensor; labels: Tensor };
}

export interface StepResult {
  /** Iterations done after this one (1-based step number). */
  readonly step: number;
  readonly epoch: number;
  readonly lr: number;
  readonly useL1: boolean;
  readonly terms: LossTerms;
  readonly images: number;
}

export class Trainer {
  readonly itersPerEpoch: number;
  readonly totalIters: number;
  readonly sgd: Sgd;
  readonly ema: ModelEma;
  readonly lr: (iter: number) => number;
  /** Iterations completed. */
  iter = 0;

  constructor(
    readonly strategy: TrainStrategy,
    readonly data: TrainData,
    readonly config: TrainConfig,
  ) {
    this.itersPerEpoch = data.itersPerEpoch;
    if (this.itersPerEpoch < 1) {
      throw new UserError(`train: fewer training images than one batch of ${config.batch}`);
    }
    this.totalIters = this.itersPerEpoch * config.epochs;
    const { momentum, weightDecay } = config;
    this.sgd = new Sgd(strategy.paramGroups({ momentum, weightDecay }));
    this.ema = new ModelEma(strategy.floatState(), {
      decay: config.emaDecay, ramp: config.emaRamp,
    });
    this.lr = yoloxWarmCosLr({
      lr: config.lrPerImg * config.batch,
      itersPerEpoch: this.itersPerEpoch,
      maxEpoch: config.epochs,
      warmupEpochs: config.warmupEpochs,
      noAugEpochs: config.noAugEpochs,
      minLrRatio: config.minLrRatio,
    });
  }

  /** Epoch of the next iteration. */
  get epoch(): number {
    return Math.floor(this.iter / this.itersPerEpoch);
  }

  get done(): boolean {
    return this.iter >= this.totalIters;
  }

  /** True when epoch `e` is one of the last no-aug epochs (mosaic off, L1 on). */
  isNoAugEpoch(e: number): boolean {
    return e >= this.config.epochs - this.config.noAugEpochs;
  }

  /** Runs iteration `this.iter` and advances. */
  step(): StepResult {
    const i = this.iter;
    const epoch = Math.floor(i / this.itersPerEpoch), k = i % this.itersPerEpoch;
    const noAug = this.isNoAugEpoch(epoch);
    const { images, labels } = this.data.batch(epoch, k, noAug);
    const s = this.strategy;
    s.trainMode();
    this.sgd.zeroGrad();
    const out = trainOutputs(s.forward(images), s.strides);
    const res = yoloxLoss(out, labels, { useL1: noAug });
    const total = res.terms.total_loss;
    if (!Number.isFinite(total)) {
      throw new UserError(
        `train: the loss is ${total} at step ${i + 1} (epoch ${epoch + 1}, batch ${k + 1}); ` +
          'stopped before updating the weights (lower the learning rate?)',
      );
    }
    // Nothing reads the graph's intermediates afterwards, so backward may recycle their memory.
    backward(res.loss, undefined, { freeTape: true });
    const lr = this.lr(i);
    this.sgd.setLr(lr);
    this.sgd.step();
    this.ema.update(s.floatState());
    this.iter = i + 1;
    return {
      step: i + 1, epoch, lr, useL1: noAug, terms: res.terms, images: images.shape[0],
    };
  }

  /** Copies the EMA values into the model (Quark's QAT recipe does it at each epoch end). */
  emaToModel(): void {
    const live = this.strategy.floatState();
    for (const [k, v] of this.ema.state) live.get(k)!.set(v);
  }
}
