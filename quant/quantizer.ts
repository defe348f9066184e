/**
 * @file `FakeQuantizer`: one named quantizer = a spec, an observer and two switches, like
 * PyTorch's FakeQuantize / Quark's `StaticScaledFakeQuantize`:
 *   observerEnabled  — each forward feeds the observer and refreshes (scale, zeroPoint);
 *   fakeQuantEnabled — the forward returns fq(x); when off it returns x itself (identity).
 * Calibration = observer on, fake-quant off; evaluation and QAT = observer off, fake-quant on.
 * The observer runs before the fake-quant, on the float input (Quark's order).
 */
import { noGrad } from '../engine/autograd.js';
import { Tensor } from '../engine/tensor.js';
import { fakeQuant } from './fake_quant.js';
import type { QuantSpec } from './spec.js';
import { Pow2MinMaxObserver } from './observers/pow2_minmax.js';
import { Pow2MinMseObserver } from './observers/pow2_mse.js';
import type { Pow2ObserverBase } from './observers/base.js';

/** What a quantizer quantizes: a weight, a bias or an activation (scales.json's `kind`). */
export type QuantKind = 'weight' | 'bias' | 'act';

export function makeObserver(spec: QuantSpec): Pow2ObserverBase {
  return spec.observer === 'pow2_mse'
    ? new Pow2MinMseObserver(spec.qmin, spec.qmax)
    : new Pow2MinMaxObserver(spec.qmin, spec.qmax);
}

export class FakeQuantizer {
  observerEnabled = false;
  fakeQuantEnabled = true;
  /** In use by the fake-quant; 1 and 0 until something is observed or loaded. */
  scale = 1;
  zeroPoint = 0;
  readonly observer: Pow2ObserverBase;
  /** Shape of the tensor last observed (scales.json's `shape`). */
  lastShape: readonly number[] = [];

  constructor(readonly name: string, readonly kind: QuantKind, readonly spec: QuantSpec) {
    this.observer = makeObserver(spec);
  }

  /** s = 2^−pos. */
  get pos(): number {
    return -Math.log2(this.scale) + 0; // + 0: scale 1 gives pos 0, not −0
  }

  /** Sets the parameters directly (loading a scales.json); does not touch the observer. */
  load(scale: number, zeroPoint: number): void {
    this.scale = scale;
    this.zeroPoint = zeroPoint;
  }

  forward(x: Tensor): Tensor {
    if (this.observerEnabled) {
      noGrad(() => this.observer.observe(x.data));
      this.lastShape = x.shape;
      const q = this.observer.qparams();
      this.scale = q.scale;
      this.zeroPoint = q.zeroPoint;
    }
    if (!this.fakeQuantEnabled) return x;
    const { scale, zeroPoint } = this;
    const { qmin, qmax, ste } = this.spec;
    return fakeQuant(x, { scale, zeroPoint, qmin, qmax }, ste);
  }
}
