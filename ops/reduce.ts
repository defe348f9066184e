/**
 * @file Reductions over axes: sum and mean.
 *
 * Shape legend: x [..X]; the reduced axes R; y has X with the axes in R removed (or kept as 1
 * with keepDims). Each y element is one float64 sum over its x elements in increasing x index.
 *   sum   y = Σ_R x            ∂x = gy (broadcast back)
 *   mean  y = Σ_R x / |R|      ∂x = gy / |R|       |R| = Π_{k∈R} X[k]
 * Axes undefined → every axis (a scalar of shape [] without keepDims).
 */
import { record } from '../engine/autograd.js';
import { ShapeError } from '../engine/errors.js';
import { Tensor } from '../engine/tensor.js';
import { broadcastIndex } from './broadcast.js';

type F32 = Float32Array;

/**
 * y[j] = (Σ_{i: index[i] = j} x[i]) / divisor, float64, increasing i. `index` maps each x element
 * to its y element. Overwrites y.
 */
export function reduceSumForward(x: F32, index: Int32Array, y: F32, divisor: number): void {
  const acc = new Float64Array(y.length);
  for (let i = 0; i < x.length; i++) acc[index[i]] += x[i];
  for (let j = 0; j < y.length; j++) y[j] = acc[j] / divisor;
}

/** gx[i] += gy[index[i]] / divisor. */
export function reduceSumBackward(gy: F32, index: Int32Array, gx: F32, divisor: number): void {
  for (let i = 0; i < gx.length; i++) gx[i] += gy[index[i]] / divisor;
}

function reduce(op: 'sum' | 'mean', x: Tensor, axes: readonly number[] | undefined,
  keepDims: boolean): Tensor {
  const rank = x.rank;
  const list = axes === undefined
    ? x.shape.map((_, k) => k) : axes.map((a) => (a < 0 ? a + rank : a));
  const bad = list.some((a) => !Number.isInteger(a) || a < 0 || a >= rank);
  if (bad || new Set(list).size !== list.length) {
    throw new ShapeError(op, `bad axes [${(axes ?? []).join(', ')}] for rank ${rank}`, [x.shape]);
  }
  const reduced = new Set(list);
  const kept = x.shape.map((d, k) => (reduced.has(k) ? 1 : d)); // keepDims shape
  const count = list.reduce((p, a) => p * x.shape[a], 1);
  // The x → y map is the broadcast map of the keepDims shape onto x's shape.
  const index = broadcastIndex(x.shape, kept) ?? Int32Array.from({ length: x.size }, (_, i) => i);
  const outShape = keepDims ? kept : x.shape.filter((_, k) => !reduced.has(k));
  const divisor = op === 'mean' ? count : 1;
  const y = Tensor.zeros(outShape);
  reduceSumForward(x.data, index, y.data, divisor);
  const sorted = [...reduced].sort((p, q) => p - q);
  return record(op, [x], y, (gy) => {
    if (x.requiresGrad) reduceSumBackward(gy, index, x.gradBuffer(), divisor);
  }, { axes: sorted, keepDims });
}

/** Σ over `axes` (all by default). Attrs {axes, keepDims}. */
export const sum = (x: Tensor, axes?: readonly number[], keepDims = false): Tensor =>
  reduce('sum', x, axes, keepDims);

/** Mean over `axes` (all by default). Attrs {axes, keepDims}. */
export const mean = (x: Tensor, axes?: readonly number[], keepDims = false): Tensor =>
  reduce('mean', x, axes, keepDims);
