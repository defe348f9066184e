/**
 * @file The fake-quant op: quantize to integers and straight back, in float32.
 *
 *   q = clamp( rhe(x · (1/s)) + z , qmin, qmax )      rhe = round half to even (nearbyint)
 *   y = (q − z) · s
 *
 * with scale s (a power of two in this project, so x·(1/s) is exact) and integer zero point z
 * (0 except for Quark's all-zero edge case, z = −128). This is Quark's kernel and PyTorch's
 * `fake_quantize_per_tensor_affine`, evaluated in float32: 1/s and x·(1/s) are rounded to float32.
 *
 * Backward (the straight-through estimator, an explicit named variant):
 *   'identity' (Quark's ScaledFakeQuantizeFunction): dL/dx = dL/dy everywhere, saturated too;
 *   'clipped'  (PyTorch's derivatives.yaml):          dL/dx = dL/dy · [qmin ≤ rhe(x/s)+z ≤ qmax].
 * Scale and zero point receive no gradient (fixed in the Quark recipe).
 *
 * Shapes: x, y, gy, gx are flat arrays of N elements (any tensor shape).
 */
import { record } from '../engine/autograd.js';
import { roundHalfEven } from '../engine/round.js';
import { Tensor } from '../engine/tensor.js';
import type { SteMode } from './spec.js';

type F32 = Float32Array;

export interface FakeQuantParams {
  readonly scale: number;
  readonly zeroPoint: number;
  readonly qmin: number;
  readonly qmax: number;
}

/** The integer code of one value: clamp(rhe(x·inv) + z, qmin, qmax), inv = float32(1/s). */
export function quantizeValue(x: number, inv: number, p: FakeQuantParams): number {
  const q = roundHalfEven(Math.fround(x * inv)) + p.zeroPoint;
  return q < p.qmin ? p.qmin : q > p.qmax ? p.qmax : q;
}

/** y[i] = fq(x[i]). */
export function fakeQuantForward(x: F32, y: F32, p: FakeQuantParams): void {
  const inv = Math.fround(1 / p.scale);
  const s = p.scale, z = p.zeroPoint;
  for (let i = 0; i < x.length; i++) y[i] = (quantizeValue(x[i], inv, p) - z) * s;
}

/** gx[i] += gy[i] (identity) or gy[i]·[in range] (clipped). Accumulates. */
export function fakeQuantBackward(x: F32, gy: F32, gx: F32, p: FakeQuantParams, ste: SteMode): void {
  if (ste === 'identity') {
    for (let i = 0; i < gy.length; i++) gx[i] += gy[i];
    return;
  }
  const inv = Math.fround(1 / p.scale);
  for (let i = 0; i < gy.length; i++) {
    const q = roundHalfEven(Math.fround(x[i] * inv)) + p.zeroPoint;
    if (q >= p.qmin && q <= p.qmax) gx[i] += gy[i];
  }
}

/** Σ (fq(x) − x)², accumulated in float64 (used by the min-MSE observer). */
export function fakeQuantSse(x: F32, p: FakeQuantParams): number {
  const inv = Math.fround(1 / p.scale);
  const s = p.scale, z = p.zeroPoint;
  let sse = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.fround((quantizeValue(x[i], inv, p) - z) * s) - x[i];
    sse += d * d;
  }
  return sse;
}

/** The recorded op: a new tensor y = fq(x) with the named straight-through backward. */
export function fakeQuant(x: Tensor, p: FakeQuantParams, ste: SteMode = 'identity'): Tensor {
  const y = Tensor.zeros(x.shape);
  fakeQuantForward(x.data, y.data, p);
  return record('fake_quant', [x], y, (gy) => {
    if (x.requiresGrad) fakeQuantBackward(x.data, gy, x.gradBuffer(), p, ste);
  }, { scale: p.scale, zeroPoint: p.zeroPoint, qmin: p.qmin, qmax: p.qmax, ste });
}
