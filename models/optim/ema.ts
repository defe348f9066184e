/**
 * @file Exponential moving average of a model's state (official `ModelEMA`, yolox/utils/ema.py).
 *
 * After every optimizer step: updates += 1, d = decay·(1 − exp(−updates/ramp)), and for every
 * floating-point state entry (parameters and BN running statistics; not num_batches_tracked)
 *   ema = d·ema + (1 − d)·model.
 * Official YOLO-X: decay 0.9998, ramp 2000 (the EMA copy is what gets evaluated and saved).
 * Quark's QAT recipe uses 0.9995: both are parameters here.
 */
import { UserError } from '../../engine/errors.js';

export interface EmaOptions {
  readonly decay?: number;
  readonly ramp?: number;
  /** Updates already done (resuming: itersPerEpoch × start epoch). */
  readonly updates?: number;
}

export class ModelEma {
  readonly decay: number;
  readonly ramp: number;
  updates: number;
  /** name → EMA copy, in the model's state order. */
  readonly state = new Map<string, Float32Array>();

  /** Starts from a copy of `modelState` (name → float32 values). */
  constructor(modelState: ReadonlyMap<string, Float32Array>, opts: EmaOptions = {}) {
    this.decay = opts.decay ?? 0.9998;
    this.ramp = opts.ramp ?? 2000;
    this.updates = opts.updates ?? 0;
    if (!(this.decay > 0 && this.decay < 1)) throw new UserError(`ema: decay must be in (0, 1)`);
    for (const [k, v] of modelState) this.state.set(k, Float32Array.from(v));
  }

  /** The decay used by update number `n` (counted from 1). */
  decayAt(n: number): number {
    return this.decay * (1 - Math.exp(-n / this.ramp));
  }

  /** Folds the current model state in; returns the decay used. */
  update(modelState: ReadonlyMap<string, Float32Array>): number {
    this.updates += 1;
    const d = this.decayAt(this.updates);
    for (const [k, ema] of this.state) {
      const m = modelState.get(k);
      if (m === undefined || m.length !== ema.length) {
        throw new UserError(`ema: model state has no entry ${k} of ${ema.length} values`);
      }
      for (let i = 0; i < ema.length; i++) ema[i] = d * ema[i] + (1 - d) * m[i];
    }
    return d;
  }
}
