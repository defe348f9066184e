/**
 * @file Ops that move elements without arithmetic: concat, strided slice, reshape, permute, split.
 * Every output is a new contiguous tensor (engine/tensor.ts); backward adds dy back into the
 * positions the forward read, each dx element receiving at most one contribution.
 *
 * Along an axis a, a tensor is viewed as [outer, len, inner] with outer = Π shape[< a] and
 * inner = Π shape[> a]; element (o, j, i) lives at (o·len + j)·inner + i.
 * Axes may be negative (counted from the end, as in numpy).
 */
import { notifyOp, record } from '../engine/autograd.js';
import { ShapeError } from '../engine/errors.js';
import { allocF32Overwritten } from '../engine/memory.js';
import { Tensor, sizeOf, stridesOf } from '../engine/tensor.js';
import { parallelRange } from './parallel.js';

type F32 = Float32Array;

/** `axis` as a non-negative index into a shape of `rank` dimensions. */
export function normalizeAxis(op: string, axis: number, shape: readonly number[]): number {
  const a = axis < 0 ? axis + shape.length : axis;
  if (!Number.isInteger(a) || a < 0 || a >= shape.length) {
    throw new ShapeError(op, `axis ${axis} out of range for rank ${shape.length}`, [shape]);
  }
  return a;
}

/** [outer, inner] around axis a. */
function outerInner(shape: readonly number[], a: number): [number, number] {
  return [sizeOf(shape.slice(0, a)), sizeOf(shape.slice(a + 1))];
}

// ---------------------------------------------------------------- concat

/** y[o, off_k + j, i] = xs[k][o, j, i]; lens[k] is input k's length along the axis. */
export function concatForward(xs: readonly F32[], lens: readonly number[], y: F32,
  outer: number, inner: number): void {
  const total = lens.reduce((s, l) => s + l, 0);
  let off = 0;
  xs.forEach((x, k) => {
    const block = lens[k] * inner;
    for (let o = 0; o < outer; o++) {
      y.set(x.subarray(o * block, (o + 1) * block), (o * total + off) * inner);
    }
    off += lens[k];
  });
}

/** gx[o, j, i] += gy[o, off + j, i] for the input whose block starts at `off` (len `len`). */
export function concatBackward(gy: F32, gx: F32, off: number, len: number, total: number,
  outer: number, inner: number): void {
  const block = len * inner;
  for (let o = 0; o < outer; o++) {
    const src = (o * total + off) * inner, dst = o * block;
    for (let i = 0; i < block; i++) gx[dst + i] += gy[src + i];
  }
}

/** Joins tensors along `axis`; all other dimensions must agree. Attrs {axis}. */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  const shapes = xs.map((x) => x.shape);
  if (xs.length === 0) throw new ShapeError('concat', 'needs at least one tensor', []);
  const a = normalizeAxis('concat', axis, xs[0].shape);
  for (const x of xs) {
    const ok = x.rank === xs[0].rank && x.shape.every((d, i) => i === a || d === xs[0].shape[i]);
    if (!ok) throw new ShapeError('concat', `shapes differ outside axis ${a}`, shapes);
  }
  const lens = xs.map((x) => x.shape[a]);
  const total = lens.reduce((s, l) => s + l, 0);
  const outShape = xs[0].shape.map((d, i) => (i === a ? total : d));
  const [outer, inner] = outerInner(outShape, a);
  const y = new Tensor(allocF32Overwritten(sizeOf(outShape)), outShape); // every element set
  concatForward(xs.map((x) => x.data), lens, y.data, outer, inner);
  return record('concat', xs, y, (gy) => {
    let off = 0;
    xs.forEach((x, k) => {
      if (x.requiresGrad) concatBackward(gy, x.gradBuffer(), off, lens[k], total, outer, inner);
      off += lens[k];
    });
  }, { axis: a });
}

// ---------------------------------------------------------------- slice

/** y[o, j, i] = x[o, start + j·step, i] for j < outLen. */
export function sliceForward(x: F32, y: F32, outer: number, len: number, inner: number,
  start: number, step: number, outLen: number): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < outLen; j++) {
      const src = (o * len + start + j * step) * inner, dst = (o * outLen + j) * inner;
      for (let i = 0; i < inner; i++) y[dst + i] = x[src + i];
    }
  }
}

/** gx[o, start + j·step, i] += gy[o, j, i]. */
export function sliceBackward(gy: F32, gx: F32, outer: number, len: number, inner: number,
  start: number, step: number, outLen: number): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < outLen; j++) {
      const dst = (o * len + start + j * step) * inner, src = (o * outLen + j) * inner;
      for (let i = 0; i < inner; i++) gx[dst + i] += gy[src + i];
    }
  }
}

/**
 * x[..., start:end:step, ...] along `axis`, with Python's rules for start/end: negative values
 * count from the end, out-of-range values clamp. step ≥ 1. Focus's x[..., ::2, ::2] is
 * slice(slice(x, 2, 0, H, 2), 3, 0, W, 2). Attrs {axis, start, end, step} (normalised).
 */
export function slice(x: Tensor, axis: number, start = 0, end = Infinity, step = 1): Tensor {
  const a = normalizeAxis('slice', axis, x.shape);
  const len = x.shape[a];
  if (!Number.isInteger(step) || step < 1) {
    throw new ShapeError('slice', `step must be a positive integer, got ${step}`, [x.shape]);
  }
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + len : v, 0), len);
  const s = clamp(start), e = Math.max(clamp(end), s);
  const outLen = Math.ceil((e - s) / step);
  const outShape = x.shape.map((d, i) => (i === a ? outLen : d));
  const [outer, inner] = outerInner(x.shape, a);
  const y = Tensor.zeros(outShape);
  sliceForward(x.data, y.data, outer, len, inner, s, step, outLen);
  return record('slice', [x], y, (gy) => {
    if (x.requiresGrad) sliceBackward(gy, x.gradBuffer(), outer, len, inner, s, step, outLen);
  }, { axis: a, start: s, end: e, step });
}

/**
 * Splits x along `axis` into pieces of the given lengths (a number means equal chunks of that
 * size, the last one possibly shorter, as torch.split). Each piece is a recorded `slice`.
 */
export function split(x: Tensor, axis: number, sizes: number | readonly number[]): Tensor[] {
  const a = normalizeAxis('split', axis, x.shape);
  const len = x.shape[a];
  let lens: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes < 1) {
      throw new ShapeError('split', `chunk size must be a positive integer: ${sizes}`, [x.shape]);
    }
    lens = [];
    for (let s = 0; s < len; s += sizes) lens.push(Math.min(sizes, len - s));
  } else {
    lens = [...sizes];
    const bad = lens.some((l) => !Number.isInteger(l) || l < 0);
    if (bad || lens.reduce((s, l) => s + l, 0) !== len) {
      throw new ShapeError('split', `sizes [${lens.join(', ')}] do not sum to ${len}`, [x.shape]);
    }
  }
  const out: Tensor[] = [];
  let off = 0;
  for (const l of lens) {
    out.push(slice(x, a, off, off + l, 1));
    off += l;
  }
  return out;
}

// ---------------------------------------------------------------- reshape

/** Same elements in the same order under a new shape; one dimension may be −1 (inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const fail = (detail: string): never => {
    throw new ShapeError('reshape', detail, [x.shape, shape]);
  };
  const free = shape.filter((d) => d === -1).length;
  if (free > 1) fail('at most one dimension may be -1');
  const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
  if (shape.some((d) => d !== -1 && (!Number.isInteger(d) || d < 0))) fail('bad dimension');
  let outShape = [...shape];
  if (free === 1) {
    if (known === 0 || x.size % known !== 0) fail(`cannot infer -1 for ${x.size} elements`);
    outShape = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  if (sizeOf(outShape) !== x.size) fail(`${x.size} elements do not fit`);
  const y = Tensor.from(x.data, outShape);
  return record('reshape', [x], y, (gy) => {
    if (x.requiresGrad) parallelRange('accumulate', { gy, gx: x.gradBuffer() }, gy.length, 2);
  }, { shape: outShape });
}

// ---------------------------------------------------------------- permute

/**
 * y = x with axes reordered: y.shape[k] = x.shape[perm[k]], and
 * y[i0, …, i_{d−1}] = x[j] where j_{perm[k]} = i_k. Iterates y in row-major order.
 */
export function permuteForward(x: F32, y: F32, xShape: readonly number[], perm: readonly number[])
  : void {
  permuteWalk(xShape, perm, (yi, xi) => {
    y[yi] = x[xi];
  });
}

/** gx[j] += gy[i] for the same index pairs as the forward. */
export function permuteBackward(gy: F32, gx: F32, xShape: readonly number[],
  perm: readonly number[]): void {
  permuteWalk(xShape, perm, (yi, xi) => {
    gx[xi] += gy[yi];
  });
}

/** Calls visit(y index, x index) for every element, y in row-major order. */
function permuteWalk(xShape: readonly number[], perm: readonly number[],
  visit: (yi: number, xi: number) => void): void {
  const d = xShape.length;
  const yShape = perm.map((p) => xShape[p]);
  const xStrides = stridesOf(xShape);
  const step = perm.map((p) => xStrides[p]); // x offset step per unit of y index k
  const idx = new Array<number>(d).fill(0);
  const n = sizeOf(yShape);
  let xi = 0;
  for (let yi = 0; yi < n; yi++) {
    visit(yi, xi);
    // Increment the y multi-index (odometer), keeping xi in step.
    for (let k = d - 1; k >= 0; k--) {
      idx[k]++;
      xi += step[k];
      if (idx[k] < yShape[k]) break;
      xi -= step[k] * yShape[k];
      idx[k] = 0;
    }
  }
}

/** Reorders axes (perm must be a permutation of 0 … rank−1). Attrs {perm}. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const seen = new Set(perm);
  const inRange = perm.every((p) => Number.isInteger(p) && p >= 0 && p < x.rank);
  if (perm.length !== x.rank || seen.size !== x.rank || !inRange) {
    throw new ShapeError('permute', `[${perm.join(', ')}] is not a permutation of the axes`, [
      x.shape,
    ]);
  }
  const y = Tensor.zeros(perm.map((p) => x.shape[p]));
  permuteForward(x.data, y.data, x.shape, perm);
  return record('permute', [x], y, (gy) => {
    if (x.requiresGrad) permuteBackward(gy, x.gradBuffer(), x.shape, perm);
  }, { perm: [...perm] });
}

// ---------------------------------------------------------------- space-to-depth (Focus)

/**
 * YOLO-X Focus's four strided slices and their concat as one copy, for forwards that record
 * nothing: x [N, C, H, W] (H, W even) → y [N, 4C, H/2, W/2],
 *   y[n, p·C + c, i, j] = x[n, c, 2i + r_p, 2j + s_p],  (r, s)_p = (0,0), (1,0), (0,1), (1,1)
 * which is exactly concat([slice(slice(x, 2, r, ∞, 2), 3, s, ∞, 2) for p], 1) (models/blocks.ts
 * Focus). Not on the tape; a passive listener (profiler) is told 'spaceToDepth2'.
 */
export function spaceToDepth2(x: Tensor): Tensor {
  const [N, C, H, W] = x.shape;
  if (x.rank !== 4 || H % 2 !== 0 || W % 2 !== 0) {
    throw new ShapeError('spaceToDepth2', 'x must be [N, C, H, W] with H and W even', [x.shape]);
  }
  const OH = H / 2, OW = W / 2, parity = [[0, 0], [1, 0], [0, 1], [1, 1]];
  const y = new Tensor(allocF32Overwritten(N * C * H * W), [N, 4 * C, OH, OW]); // all set
  const xd = x.data, yd = y.data;
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < 4; p++) {
      const [r, s] = parity[p];
      for (let c = 0; c < C; c++) {
        const xPlane = (n * C + c) * H * W, yPlane = (n * 4 * C + p * C + c) * OH * OW;
        for (let i = 0; i < OH; i++) {
          const src = xPlane + (2 * i + r) * W + s, dst = yPlane + i * OW;
          for (let j = 0; j < OW; j++) yd[dst + j] = xd[src + 2 * j];
        }
      }
    }
  }
  notifyOp('spaceToDepth2', [x], y);
  return y;
}
