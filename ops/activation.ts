/**
 * @file Elementwise activations and transcendental functions, forward and backward side by side.
 *
 * Shape legend: x, y, gy, gx are flat arrays of the same length (any tensor shape).
 *   sigmoid      σ(x) = 1 / (1 + e^−x)              dσ/dx = σ·(1 − σ)
 *   silu         x·σ(x)                             d/dx  = σ·(1 + x·(1 − σ))
 *   hardsigmoid  clamp(x + 3, 0, 6) / 6             d/dx  = 1/6 on (−3, 3), 0 elsewhere
 *                (PyTorch's rule: the open interval, so 0 at exactly ±3)
 *   relu         max(x, 0)                          d/dx  = 1 for x > 0, else 0
 *   exp          eˣ                                 d/dx  = eˣ
 *   log          ln x                               d/dx  = 1/x
 * Backward kernels recompute what they need from x in float64 and accumulate into gx.
 * Sigmoid and SiLU also have a wasm path with the same bits (logistic_fast.ts).
 * The recorded ops run the kernels over chunks of elements on all threads (ops/parallel.ts);
 * each element's arithmetic is the same whatever the chunk, so the bits are too.
 */
import { record } from '../engine/autograd.js';
import { Tensor } from '../engine/tensor.js';
import {
  fastLogisticAvailable, logisticBackwardFast, logisticForwardFast,
} from './logistic_fast.js';
import { parallelRange } from './parallel.js';

type F32 = Float32Array;

/** σ(x) without overflow: for x < 0 use eˣ/(1 + eˣ). */
export function sigmoidValue(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export function sigmoidForward(x: F32, y: F32): void {
  for (let i = 0; i < x.length; i++) y[i] = sigmoidValue(x[i]);
}

export function sigmoidBackward(x: F32, gy: F32, gx: F32): void {
  for (let i = 0; i < x.length; i++) {
    const s = sigmoidValue(x[i]);
    gx[i] += gy[i] * s * (1 - s);
  }
}

export function siluForward(x: F32, y: F32): void {
  for (let i = 0; i < x.length; i++) y[i] = x[i] * sigmoidValue(x[i]);
}

export function siluBackward(x: F32, gy: F32, gx: F32): void {
  for (let i = 0; i < x.length; i++) {
    const s = sigmoidValue(x[i]);
    gx[i] += gy[i] * s * (1 + x[i] * (1 - s));
  }
}

export function hardsigmoidForward(x: F32, y: F32): void {
  for (let i = 0; i < x.length; i++) {
    const t = x[i] + 3;
    y[i] = (t <= 0 ? 0 : t >= 6 ? 6 : t) / 6;
  }
}

export function hardsigmoidBackward(x: F32, gy: F32, gx: F32): void {
  for (let i = 0; i < x.length; i++) if (x[i] > -3 && x[i] < 3) gx[i] += gy[i] / 6;
}

export function reluForward(x: F32, y: F32): void {
  for (let i = 0; i < x.length; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

export function reluBackward(x: F32, gy: F32, gx: F32): void {
  for (let i = 0; i < x.length; i++) if (x[i] > 0) gx[i] += gy[i];
}

export function expForward(x: F32, y: F32): void {
  for (let i = 0; i < x.length; i++) y[i] = Math.exp(x[i]);
}

export function expBackward(x: F32, gy: F32, gx: F32): void {
  for (let i = 0; i < x.length; i++) gx[i] += gy[i] * Math.exp(x[i]);
}

export function logForward(x: F32, y: F32): void {
  for (let i = 0; i < x.length; i++) y[i] = Math.log(x[i]);
}

export function logBackward(x: F32, gy: F32, gx: F32): void {
  for (let i = 0; i < x.length; i++) gx[i] += gy[i] / x[i];
}

export type UnaryOp = 'sigmoid' | 'silu' | 'hardsigmoid' | 'relu' | 'exp' | 'log';

/**
 * Each unary op's forward and backward kernel, by name (workers look them up here). Sigmoid and
 * SiLU take the bit-identical wasm path when it is available (logistic_fast.ts); the loops
 * above are its reference and the fallback.
 */
export const UNARY_KERNELS: {
  readonly [K in UnaryOp]: {
    forward: (x: F32, y: F32) => void;
    backward: (x: F32, gy: F32, gx: F32) => void;
  };
} = {
  sigmoid: {
    forward: (x, y) => (fastLogisticAvailable()
      ? logisticForwardFast('sigmoid', x, y) : sigmoidForward(x, y)),
    backward: (x, gy, gx) => (fastLogisticAvailable()
      ? logisticBackwardFast('sigmoid', x, gy, gx) : sigmoidBackward(x, gy, gx)),
  },
  silu: {
    forward: (x, y) => (fastLogisticAvailable()
      ? logisticForwardFast('silu', x, y) : siluForward(x, y)),
    backward: (x, gy, gx) => (fastLogisticAvailable()
      ? logisticBackwardFast('silu', x, gy, gx) : siluBackward(x, gy, gx)),
  },
  hardsigmoid: { forward: hardsigmoidForward, backward: hardsigmoidBackward },
  relu: { forward: reluForward, backward: reluBackward },
  exp: { forward: expForward, backward: expBackward },
  log: { forward: logForward, backward: logBackward },
};

export interface UnaryForwardArgs {
  op: UnaryOp;
  x: F32;
  y: F32;
}

export interface UnaryBackwardArgs {
  op: UnaryOp;
  x: F32;
  gy: F32;
  gx: F32;
}

/** The forward kernel on elements [lo, hi). */
export function unaryForwardRange(a: UnaryForwardArgs, lo: number, hi: number): void {
  UNARY_KERNELS[a.op].forward(a.x.subarray(lo, hi), a.y.subarray(lo, hi));
}

/** The backward kernel on elements [lo, hi). */
export function unaryBackwardRange(a: UnaryBackwardArgs, lo: number, hi: number): void {
  UNARY_KERNELS[a.op].backward(a.x.subarray(lo, hi), a.gy.subarray(lo, hi), a.gx.subarray(lo, hi));
}

/** Records a unary elementwise op; both directions run on all threads when large. */
function unary(op: UnaryOp, x: Tensor): Tensor {
  const y = Tensor.zeros(x.shape);
  parallelRange('unaryForward', { op, x: x.data, y: y.data }, x.size, 1);
  return record(op, [x], y, (gy) => {
    if (!x.requiresGrad) return;
    parallelRange('unaryBackward', { op, x: x.data, gy, gx: x.gradBuffer() }, x.size, 1);
  });
}

export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const silu = (x: Tensor): Tensor => unary('silu', x);
export const hardsigmoid = (x: Tensor): Tensor => unary('hardsigmoid', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
