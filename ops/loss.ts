/**
 * @file Losses of YOLO-X training: BCE with logits (objectness, classes), BCE on probabilities,
 * and L1 (box offsets). Each has reduction 'none' (elementwise, input shape), 'sum' or 'mean'
 * (a scalar of shape []); inputs must have equal shapes.
 *
 *   bceWithLogits  ℓ = max(x, 0) − x·t + log(1 + e^−|x|)          (stable form of
 *                      −t·log σ(x) − (1 − t)·log(1 − σ(x)))
 *                  ∂ℓ/∂x = σ(x) − t            ∂ℓ/∂t = −x
 *   bce            ℓ = −t·max(log p, −100) − (1 − t)·max(log(1 − p), −100)   (PyTorch's clamp)
 *                  ∂ℓ/∂p = (p − t) / max(p·(1 − p), 1e-12)                 (PyTorch's backward)
 *                  ∂ℓ/∂t = max(log(1 − p), −100) − max(log p, −100)
 *   l1Loss         ℓ = |a − b|       ∂ℓ/∂a = sign(a − b) (0 at a = b),  ∂ℓ/∂b = −sign(a − b)
 *
 * Elementwise losses are computed in float64 and the 'sum'/'mean' reductions add them in float64
 * in index order (one rounding at the end). Backward: the upstream gradient of element i is
 * gy[i] ('none'), gy[0] ('sum') or gy[0]/n ('mean').
 */
import { record } from '../engine/autograd.js';
import { ShapeError } from '../engine/errors.js';
import { Tensor, sameShape } from '../engine/tensor.js';
import { sigmoidValue } from './activation.js';

type F32 = Float32Array;
type F64 = Float64Array;

export type Reduction = 'none' | 'sum' | 'mean';

/** Upstream gradient per element: gy[i·stride] / divisor (stride 0 for reduced losses). */
export interface Upstream {
  readonly gy: F32;
  readonly stride: 0 | 1;
  readonly divisor: number;
}

const up = (u: Upstream, i: number): number => u.gy[i * u.stride] / u.divisor;

// ---------------------------------------------------------------- BCE with logits

export function bceWithLogitsForward(x: F32, t: F32, loss: F64): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    loss[i] = Math.max(v, 0) - v * t[i] + Math.log1p(Math.exp(-Math.abs(v)));
  }
}

export function bceWithLogitsBackward(x: F32, t: F32, u: Upstream, gx: F32 | null,
  gt: F32 | null): void {
  for (let i = 0; i < x.length; i++) {
    const g = up(u, i);
    if (gx !== null) gx[i] += g * (sigmoidValue(x[i]) - t[i]);
    if (gt !== null) gt[i] += -g * x[i];
  }
}

// ---------------------------------------------------------------- BCE on probabilities

const clampedLog = (v: number): number => Math.max(Math.log(v), -100);
const clampedLog1m = (v: number): number => Math.max(Math.log1p(-v), -100);

export function bceForward(p: F32, t: F32, loss: F64): void {
  for (let i = 0; i < p.length; i++) {
    loss[i] = -t[i] * clampedLog(p[i]) - (1 - t[i]) * clampedLog1m(p[i]);
  }
}

export function bceBackward(p: F32, t: F32, u: Upstream, gp: F32 | null, gt: F32 | null): void {
  for (let i = 0; i < p.length; i++) {
    const g = up(u, i), v = p[i];
    if (gp !== null) gp[i] += (g * (v - t[i])) / Math.max(v * (1 - v), 1e-12);
    if (gt !== null) gt[i] += g * (clampedLog1m(v) - clampedLog(v));
  }
}

// ---------------------------------------------------------------- L1

export function l1Forward(a: F32, b: F32, loss: F64): void {
  for (let i = 0; i < a.length; i++) loss[i] = Math.abs(a[i] - b[i]);
}

export function l1Backward(a: F32, b: F32, u: Upstream, ga: F32 | null, gb: F32 | null): void {
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    const s = d > 0 ? up(u, i) : d < 0 ? -up(u, i) : 0;
    if (ga !== null) ga[i] += s;
    if (gb !== null) gb[i] -= s;
  }
}

// ---------------------------------------------------------------- recording

type Forward = (a: F32, b: F32, loss: F64) => void;
type Backward = (a: F32, b: F32, u: Upstream, ga: F32 | null, gb: F32 | null) => void;

function lossOp(op: string, a: Tensor, b: Tensor, reduction: Reduction, forward: Forward,
  backwardKernel: Backward): Tensor {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(op, 'input and target must have the same shape', [a.shape, b.shape]);
  }
  if (reduction !== 'none' && reduction !== 'sum' && reduction !== 'mean') {
    throw new ShapeError(op, `unknown reduction '${String(reduction)}'`, [a.shape]);
  }
  const loss = new Float64Array(a.size);
  forward(a.data, b.data, loss);
  let y: Tensor;
  if (reduction === 'none') {
    y = Tensor.from(loss, a.shape);
  } else {
    let s = 0;
    for (let i = 0; i < loss.length; i++) s += loss[i];
    y = Tensor.from([reduction === 'mean' ? s / a.size : s], []);
  }
  const divisor = reduction === 'mean' ? a.size : 1;
  return record(op, [a, b], y, (gy) => {
    const u: Upstream = { gy, stride: reduction === 'none' ? 1 : 0, divisor };
    backwardKernel(a.data, b.data, u,
      a.requiresGrad ? a.gradBuffer() : null, b.requiresGrad ? b.gradBuffer() : null);
  }, { reduction });
}

/** BCE on logits (stable). Attrs {reduction}. */
export const bceWithLogits = (logits: Tensor, target: Tensor, reduction: Reduction): Tensor =>
  lossOp('bceWithLogits', logits, target, reduction, bceWithLogitsForward, bceWithLogitsBackward);

/** BCE on probabilities in [0, 1], logs clamped at −100. Attrs {reduction}. */
export const bce = (p: Tensor, target: Tensor, reduction: Reduction): Tensor =>
  lossOp('bce', p, target, reduction, bceForward, bceBackward);

/** Mean/sum/elementwise absolute error. Attrs {reduction}. */
export const l1Loss = (a: Tensor, b: Tensor, reduction: Reduction): Tensor =>
  lossOp('l1Loss', a, b, reduction, l1Forward, l1Backward);
