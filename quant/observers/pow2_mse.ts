/**
 * @file Power-of-two min-MSE observer: Quark's `PerTensorPowOf2MinMSEObserver`
 * (quark/torch/quantization/observer/observer.py; quark.md §1.4).
 *
 * Per observed forward: start from the min-max scale s = 2^−pos₀ (running min/max,
 * `pow2Start`), then try pos = pos₀−2, pos₀−1, pos₀, pos₀+1, pos₀+2 — largest scale first — on
 * **this forward's tensor only**, scoring SSE = Σ (fq(x) − x)² with the start's zero point. A
 * candidate replaces the best only if its SSE is strictly smaller, so exact ties keep the larger
 * scale. The per-forward results are voted as in the min-max observer (base.ts).
 *
 * SSE is summed in float64 here (Quark: float32 CPU sum). The fixtures show every non-tied choice
 * wins by ≥ 0.4 %, and exact ties come from identical dequantized vectors, which any summation
 * scores equally (quant_ref.md §5).
 */
import { fakeQuantSse } from '../fake_quant.js';
import { pow2Start } from './pow2_minmax.js';
import { Pow2ObserverBase } from './base.js';
import type { QParams } from './types.js';

/** Number of candidate positions around pos₀ (Quark's `pos_range`). */
const POS_RANGE = 5;

export interface MseSearch {
  readonly tried: [number, number][];
  readonly chosenPos: number;
}

/** The search itself: candidates pos0−2 … pos0+2 on `x`, strict improvement. */
export function pow2MseSearch(
  x: Float32Array, pos0: number, zeroPoint: number, qmin: number, qmax: number,
): MseSearch {
  const tried: [number, number][] = [];
  let best = Infinity, chosenPos = pos0;
  for (let i = 0; i < POS_RANGE; i++) {
    const pos = pos0 + i - 2;
    const sse = fakeQuantSse(x, { scale: 2 ** -pos, zeroPoint, qmin, qmax });
    tried.push([pos, sse]);
    if (sse < best) {
      best = sse;
      chosenPos = pos;
    }
  }
  return { tried, chosenPos };
}

export class Pow2MinMseObserver extends Pow2ObserverBase {
  protected override computeOne(x: Float32Array): QParams {
    const st = pow2Start(this.min, this.max, this.qmin, this.qmax);
    if (!st.valid) {
      this.lastTrace = null;
      return { scale: 1, zeroPoint: 0 };
    }
    const { tried, chosenPos } = pow2MseSearch(x, st.pos0, st.zeroPoint, this.qmin, this.qmax);
    this.lastTrace = { ...this.baseTrace(st, x), tried, chosenPos };
    return { scale: 2 ** -chosenPos, zeroPoint: st.zeroPoint };
  }
}
