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
 *   'clipped'  (PyTorch's derivatives.yaml):  dL/dx = dL/dy · [qmin ≤ rhe(x/s)+z ≤ qmax].
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

/** 2^52 + 2^51: adding and subtracting it rounds a double to an integer in the FPU's mode. */
const RNE_MAGIC = 6755399441055744;

/**
 * Round half to even for |v| ≤ 2^51, using the IEEE adder's own rounding (round-to-nearest-even,
 * the only mode JavaScript has): v + 1.5·2^52 lands where the unit in the last place is 1, so the
 * sum is v rounded half-to-even; subtracting the constant back is exact. Same results as
 * engine/round.ts `roundHalfEven` on that range (spec/quant_core.spec.ts checks ties and
 * neighbours), without a branch; callers clamp first so |v| stays small.
 */
export function rheClamped(v: number): number {
  return (v + RNE_MAGIC) - RNE_MAGIC;
}

/**
 * The integer code of one value: clamp(rhe(x·inv) + z, qmin, qmax), inv = float32(1/s).
 * Clamping v = x·inv to [qmin − z, qmax − z] before rounding gives the same integer (rounding
 * is monotone and the bounds are integers) and keeps |v| small for `rheClamped`.
 */
export function quantizeValue(x: number, inv: number, p: FakeQuantParams): number {
  const lo = p.qmin - p.zeroPoint, hi = p.qmax - p.zeroPoint;
  let v = Math.fround(x * inv);
  v = v < lo ? lo : v > hi ? hi : v;
  return rheClamped(v) + p.zeroPoint;
}

/** y[i] = fq(x[i]) = (q − z)·s. */
export function fakeQuantForward(x: F32, y: F32, p: FakeQuantParams): void {
  const inv = Math.fround(1 / p.scale), s = p.scale;
  const lo = p.qmin - p.zeroPoint, hi = p.qmax - p.zeroPoint;
  for (let i = 0; i < x.length; i++) {
    let v = Math.fround(x[i] * inv);
    v = v < lo ? lo : v > hi ? hi : v; // NaN passes through as NaN
    y[i] = ((v + RNE_MAGIC) - RNE_MAGIC) * s;
  }
}

/** gx[i] += gy[i] (identity) or gy[i]·[in range] (clipped). Accumulates. */
export function fakeQuantBackward(
  x: F32, gy: F32, gx: F32, p: FakeQuantParams, ste: SteMode,
): void {
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
  const inv = Math.fround(1 / p.scale), s = p.scale;
  const lo = p.qmin - p.zeroPoint, hi = p.qmax - p.zeroPoint;
  let sse = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    let v = Math.fround(xi * inv);
    v = v < lo ? lo : v > hi ? hi : v;
    const d = Math.fround(((v + RNE_MAGIC) - RNE_MAGIC) * s) - xi;
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
