/**
 * @file Elementwise arithmetic: add, sub, mul, div with numpy broadcasting (ops/broadcast.ts),
 * and the scalar forms addScalar, mulScalar, neg.
 *
 * Shape legend: a [..A], b [..B], y [..Y] = broadcast(A, B); ia, ib map each y element to the
 * element of a and b it reads (null when that input has shape Y).
 *   add  y = a + b    ∂a = g        ∂b = g
 *   sub  y = a − b    ∂a = g        ∂b = −g
 *   mul  y = a · b    ∂a = g·b      ∂b = g·a
 *   div  y = a / b    ∂a = g / b    ∂b = −g·a / b²
 * Backward sums each partial over the broadcast dimensions in float64 (reduceToInput).
 * Threads: without broadcasting (a, b and y of one shape, like the residual add) both
 * directions run over chunks of elements on all threads (ops/parallel.ts), with the very same
 * kernels applied to subarrays; broadcasting ops run on the calling thread.
 */
import { record } from '../engine/autograd.js';
import { Tensor } from '../engine/tensor.js';
import { broadcastIndex, broadcastShapes, reduceToInput } from './broadcast.js';
import { parallelRange } from './parallel.js';

type F32 = Float32Array;
type Ix = Int32Array | null;

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';

/** y[i] = a[ia[i]] ∘ b[ib[i]]. Overwrites y. */
export function binaryForward(op: BinaryOp, a: F32, ia: Ix, b: F32, ib: Ix, y: F32): void {
  const n = y.length;
  switch (op) {
    case 'add':
      for (let i = 0; i < n; i++) y[i] = a[ia === null ? i : ia[i]] + b[ib === null ? i : ib[i]];
      break;
    case 'sub':
      for (let i = 0; i < n; i++) y[i] = a[ia === null ? i : ia[i]] - b[ib === null ? i : ib[i]];
      break;
    case 'mul':
      for (let i = 0; i < n; i++) y[i] = a[ia === null ? i : ia[i]] * b[ib === null ? i : ib[i]];
      break;
    case 'div':
      for (let i = 0; i < n; i++) y[i] = a[ia === null ? i : ia[i]] / b[ib === null ? i : ib[i]];
      break;
  }
}

/** Accumulates ∂L/∂a (if ga) and ∂L/∂b (if gb) from gy, reducing over broadcast dimensions. */
export function binaryBackward(op: BinaryOp, a: F32, ia: Ix, b: F32, ib: Ix, gy: F32,
  ga: F32 | null, gb: F32 | null): void {
  const n = gy.length;
  if (ga !== null) {
    const da = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const g = gy[i];
      if (op === 'add' || op === 'sub') da[i] = g;
      else {
        const v = b[ib === null ? i : ib[i]];
        da[i] = op === 'mul' ? g * v : g / v;
      }
    }
    reduceToInput(da, ia, ga);
  }
  if (gb !== null) {
    const db = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const g = gy[i];
      if (op === 'add') db[i] = g;
      else if (op === 'sub') db[i] = -g;
      else {
        const u = a[ia === null ? i : ia[i]];
        if (op === 'mul') db[i] = g * u;
        else {
          const v = b[ib === null ? i : ib[i]];
          db[i] = (-g * u) / (v * v);
        }
      }
    }
    reduceToInput(db, ib, gb);
  }
}

/** A same-shape binary op's forward job: a, b and y all of one length. */
export interface BinaryForwardArgs {
  op: BinaryOp;
  a: F32;
  b: F32;
  y: F32;
}

/** A same-shape binary op's backward job. */
export interface BinaryBackwardArgs {
  op: BinaryOp;
  a: F32;
  b: F32;
  gy: F32;
  ga: F32 | null;
  gb: F32 | null;
}

/** binaryForward without broadcasting, on elements [lo, hi). */
export function binaryForwardRange(p: BinaryForwardArgs, lo: number, hi: number): void {
  binaryForward(p.op, p.a.subarray(lo, hi), null, p.b.subarray(lo, hi), null,
    p.y.subarray(lo, hi));
}

/**
 * binaryBackward without broadcasting, on elements [lo, hi): there is nothing to reduce, so each
 * partial is added straight into its gradient (no float64 buffer). The partials are the same
 * float64 expressions binaryBackward stores and reduceToInput then adds, so the bits are too;
 * ga is finished before gb, as there, which matters when both are one buffer (add(x, x)).
 */
export function binaryBackwardRange(p: BinaryBackwardArgs, lo: number, hi: number): void {
  const { op, a, b, gy, ga, gb } = p;
  if (ga !== null) {
    if (op === 'add' || op === 'sub') for (let i = lo; i < hi; i++) ga[i] += gy[i];
    else if (op === 'mul') for (let i = lo; i < hi; i++) ga[i] += gy[i] * b[i];
    else for (let i = lo; i < hi; i++) ga[i] += gy[i] / b[i];
  }
  if (gb !== null) {
    if (op === 'add') for (let i = lo; i < hi; i++) gb[i] += gy[i];
    else if (op === 'sub') for (let i = lo; i < hi; i++) gb[i] += -gy[i];
    else if (op === 'mul') for (let i = lo; i < hi; i++) gb[i] += gy[i] * a[i];
    else for (let i = lo; i < hi; i++) gb[i] += (-gy[i] * a[i]) / (b[i] * b[i]);
  }
}

/** gx += gy on elements [lo, hi) (a gradient passed through unchanged). */
export interface AccumulateArgs {
  gy: F32;
  gx: F32;
}

export function accumulateRange(p: AccumulateArgs, lo: number, hi: number): void {
  const { gy, gx } = p;
  for (let i = lo; i < hi; i++) gx[i] += gy[i];
}

function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const ia = broadcastIndex(shape, a.shape), ib = broadcastIndex(shape, b.shape);
  const y = Tensor.zeros(shape);
  const same = ia === null && ib === null;
  if (same) parallelRange('binaryForward', { op, a: a.data, b: b.data, y: y.data }, y.size, 3);
  else binaryForward(op, a.data, ia, b.data, ib, y.data);
  return record(op, [a, b], y, (gy) => {
    const ga = a.requiresGrad ? a.gradBuffer() : null, gb = b.requiresGrad ? b.gradBuffer() : null;
    if (same) parallelRange('binaryBackward', { op, a: a.data, b: b.data, gy, ga, gb }, y.size, 5);
    else binaryBackward(op, a.data, ia, b.data, ib, gy, ga, gb);
  });
}

export const add = (a: Tensor, b: Tensor): Tensor => binary('add', a, b);
export const sub = (a: Tensor, b: Tensor): Tensor => binary('sub', a, b);
export const mul = (a: Tensor, b: Tensor): Tensor => binary('mul', a, b);
export const div = (a: Tensor, b: Tensor): Tensor => binary('div', a, b);

/** y = x·scale + shift. Overwrites y. */
export function affineForward(x: F32, y: F32, scale: number, shift: number): void {
  for (let i = 0; i < x.length; i++) y[i] = x[i] * scale + shift;
}

/** gx += gy·scale. */
export function affineBackward(gy: F32, gx: F32, scale: number): void {
  for (let i = 0; i < gy.length; i++) gx[i] += gy[i] * scale;
}

function affine(op: string, x: Tensor, scale: number, shift: number,
  attrs: Record<string, number>): Tensor {
  const y = Tensor.zeros(x.shape);
  affineForward(x.data, y.data, scale, shift);
  return record(op, [x], y, (gy) => {
    if (x.requiresGrad) affineBackward(gy, x.gradBuffer(), scale);
  }, attrs);
}

/** y = x + s. Attrs {scalar}. */
export const addScalar = (x: Tensor, s: number): Tensor =>
  affine('addScalar', x, 1, s, { scalar: s });
/** y = x · s. Attrs {scalar}. */
export const mulScalar = (x: Tensor, s: number): Tensor =>
  affine('mulScalar', x, s, 0, { scalar: s });
/** y = −x. */
export const neg = (x: Tensor): Tensor => affine('neg', x, -1, 0, {});
