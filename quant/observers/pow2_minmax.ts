/**
 * @file Power-of-two min-max observer: Quark's `PerTensorPowOf2MinMaxObserver`
 * (quark/torch/quantization/observer/observer.py, `_calculate_one_batch_quant_param`;
 * rules restated in /work/shared/reference/quark.md §1.3 and §1.5).
 *
 * Running statistics: min of minima and max of maxima over every observed forward.
 * From them, per forward:
 *   m₋ = min(min, 0), m₊ = max(max, 0), a = max(|m₋|, |m₊|)          (symmetric)
 *   s₀ = float32((m₊ − m₋) / (qmax − qmin)) = float32(2a/255)        (a = 0 → s₀ = 1)
 *   z₀ = trunc(qmin − m₋/s₀)                      (0 for a > 0; qmin = −128 for a = 0)
 *   pos₀ = rhe(float32(−log2(clamp(s₀, 2^−127, 2^127)))),  s = 2^−pos₀
 *   r = min((qmin − z₀)·s, 0),  z = rhe(qmin − r/s)        (0 for a > 0; −128 for a = 0)
 * Nothing observed (min = +∞, max = −∞) → s = 1, z = 0.
 * Each forward appends its (s, z) to a history; the value in use is the history's most frequent
 * pair, the first seen winning ties (Python's Counter.most_common), see `Pow2ObserverBase`.
 */
import { roundHalfEven } from '../../engine/round.js';
import { fakeQuantSse } from '../fake_quant.js';
import type { QParams, Pow2Start } from './types.js';
import { Pow2ObserverBase } from './base.js';

/** The min-max power-of-two start (s₀, z₀, pos₀ and the resulting scale and zero point). */
export function pow2Start(min: number, max: number, qmin: number, qmax: number): Pow2Start {
  if (!(min <= max)) return { s0: 1, z0: 0, pos0: 0, scale: 1, zeroPoint: 0, valid: false };
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  const a = Math.max(-lo, hi);
  const mNeg = -a, mPos = a;
  // float32 tensor arithmetic: (m₊ − m₋) is exact (2a), the division rounds once to float32.
  const s0 = a === 0 ? 1 : Math.fround((mPos - mNeg) / (qmax - qmin));
  // `+ 0` turns −0 into +0 (integers only from here on).
  const z0 = Math.trunc(Math.fround(qmin - Math.fround(mNeg / s0))) + 0;
  const clamped = Math.min(Math.max(s0, 2 ** -127), 2 ** 127);
  const pos0 = roundHalfEven(Math.fround(-Math.log2(clamped))) + 0;
  const scale = 2 ** -pos0;
  const r = Math.min((qmin - z0) * scale, 0);
  const zeroPoint = roundHalfEven(qmin - r / scale) + 0;
  return { s0, z0, pos0, scale, zeroPoint, valid: true };
}

/** Min-max pow2 observer: the start scale itself, with the majority vote over forwards. */
export class Pow2MinMaxObserver extends Pow2ObserverBase {
  protected override computeOne(x: Float32Array): QParams {
    const st = pow2Start(this.min, this.max, this.qmin, this.qmax);
    const { qmin, qmax } = this;
    const sse = fakeQuantSse(x, { scale: st.scale, zeroPoint: st.zeroPoint, qmin, qmax });
    this.lastTrace = { ...this.baseTrace(st, x), tried: [[st.pos0, sse]], chosenPos: st.pos0 };
    return { scale: st.scale, zeroPoint: st.zeroPoint };
  }
}
