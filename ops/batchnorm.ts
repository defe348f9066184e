/**
 * @file batchNorm2d: per-channel normalisation of NCHW feature maps.
 *
 * Shape legend: x, y [N, C, H, W]; gamma, beta, running mean/var, mean, rstd [C];
 * per channel the statistics run over M = N·H·W values.
 *
 * Training (batch statistics):
 *   μ = Σx / M,  σ² = Σ(x − μ)² / M (biased),  r = 1/√(σ² + eps),  x̂ = (x − μ)·r,  y = γ·x̂ + β
 *   running mean ← (1 − momentum)·running mean + momentum·μ
 *   running var  ← (1 − momentum)·running var  + momentum·σ²·M/(M − 1)   (unbiased: PyTorch's rule)
 *   backward, with ĝ = dy·γ (the full batch-statistic gradient, μ and σ² depend on x):
 *     dx = r · (ĝ − mean(ĝ) − x̂ · mean(ĝ·x̂))      means over the channel's M values
 * Evaluation (running statistics, constants for autograd):
 *   r = 1/√(running var + eps),  x̂ = (x − running mean)·r,  y = γ·x̂ + β,  dx = dy·γ·r
 * Both modes: dγ = Σ dy·x̂, dβ = Σ dy. Statistics are accumulated in float64 (two passes for σ²).
 * YOLO-X uses eps = 1e-3, momentum = 0.03.
 *
 * Threads: every kernel has a channel-range form (…Channels(…, c0, c1)); the recorded op splits
 * channels over the pool (ops/parallel.ts). A channel's sums stay whole in one job, in the same
 * order, so the bits do not depend on the thread count.
 */
import { record } from '../engine/autograd.js';
import { ShapeError } from '../engine/errors.js';
import { Tensor } from '../engine/tensor.js';
import { parallelRange } from './parallel.js';

type F32 = Float32Array;
type F64 = Float64Array;

export interface BatchNormOptions {
  training: boolean;
  momentum: number;
  eps: number;
}

/** Sizes: N images, C channels, HW pixels per channel plane. */
export interface BnDims {
  readonly N: number;
  readonly C: number;
  readonly HW: number;
}

/** Batch mean and biased variance of each channel, in float64. Overwrites mean and variance. */
export function bnBatchStats(x: F32, d: BnDims, mean: F64, variance: F64): void {
  bnBatchStatsChannels(x, d, mean, variance, 0, d.C);
}

/** bnBatchStats for channels [c0, c1). */
export function bnBatchStatsChannels(
  x: F32, d: BnDims, mean: F64, variance: F64, c0: number, c1: number,
): void {
  const { N, C, HW } = d;
  const M = N * HW;
  for (let c = c0; c < c1; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) {
      const off = (n * C + c) * HW;
      for (let i = 0; i < HW; i++) s += x[off + i];
    }
    const mu = s / M;
    let ss = 0;
    for (let n = 0; n < N; n++) {
      const off = (n * C + c) * HW;
      for (let i = 0; i < HW; i++) {
        const t = x[off + i] - mu;
        ss += t * t;
      }
    }
    mean[c] = mu;
    variance[c] = ss / M;
  }
}

/** y = γ·(x − mean)·rstd + β per channel. Overwrites y. */
export function bnForward(
  x: F32, gamma: F32, beta: F32, mean: F64, rstd: F64, y: F32, d: BnDims,
): void {
  bnForwardChannels(x, gamma, beta, mean, rstd, y, d, 0, d.C);
}

/** bnForward for channels [c0, c1). */
export function bnForwardChannels(
  x: F32, gamma: F32, beta: F32, mean: F64, rstd: F64, y: F32, d: BnDims, c0: number, c1: number,
): void {
  const { N, C, HW } = d;
  for (let n = 0; n < N; n++) {
    for (let c = c0; c < c1; c++) {
      const off = (n * C + c) * HW;
      const scale = gamma[c] * rstd[c], mu = mean[c], shift = beta[c];
      for (let i = 0; i < HW; i++) y[off + i] = (x[off + i] - mu) * scale + shift;
    }
  }
}

/**
 * Accumulates dx (if given), dγ and dβ (if given). `batchStats` selects the training-mode dx
 * (mean and rstd were computed from x) over the evaluation-mode dx (they were constants).
 */
export function bnBackward(
  x: F32, gamma: F32, mean: F64, rstd: F64, gy: F32,
  gx: F32 | null, ggamma: F32 | null, gbeta: F32 | null, batchStats: boolean, d: BnDims,
): void {
  bnBackwardChannels(x, gamma, mean, rstd, gy, gx, ggamma, gbeta, batchStats, d, 0, d.C);
}

/** bnBackward for channels [c0, c1). */
export function bnBackwardChannels(
  x: F32, gamma: F32, mean: F64, rstd: F64, gy: F32,
  gx: F32 | null, ggamma: F32 | null, gbeta: F32 | null, batchStats: boolean, d: BnDims,
  c0: number, c1: number,
): void {
  const { N, C, HW } = d;
  const M = N * HW;
  for (let c = c0; c < c1; c++) {
    const mu = mean[c], r = rstd[c];
    // Σ dy and Σ dy·x̂ over the channel: dβ and dγ, and (times γ/M) the two means of dx.
    let sumGy = 0, sumGyXhat = 0;
    for (let n = 0; n < N; n++) {
      const off = (n * C + c) * HW;
      for (let i = 0; i < HW; i++) {
        sumGy += gy[off + i];
        sumGyXhat += gy[off + i] * (x[off + i] - mu) * r;
      }
    }
    if (ggamma !== null) ggamma[c] += sumGyXhat;
    if (gbeta !== null) gbeta[c] += sumGy;
    if (gx === null) continue;
    const gr = gamma[c] * r;
    // mean(ĝ) = γ·Σdy/M and mean(ĝ·x̂) = γ·Σdy·x̂/M, zero in evaluation mode.
    const meanG = batchStats ? sumGy / M : 0, meanGX = batchStats ? sumGyXhat / M : 0;
    for (let n = 0; n < N; n++) {
      const off = (n * C + c) * HW;
      for (let i = 0; i < HW; i++) {
        const xhat = (x[off + i] - mu) * r;
        gx[off + i] += gr * (gy[off + i] - meanG - xhat * meanGX);
      }
    }
  }
}

/** Everything a threaded BN forward job reads and writes (plain data, shared arrays). */
export interface BnForwardArgs extends BnDims {
  x: F32;
  gamma: F32;
  beta: F32;
  mean: F64;
  rstd: F64;
  y: F32;
}

/** Training forward: also the batch variance it fills, and eps for rstd. */
export interface BnTrainForwardArgs extends BnForwardArgs {
  variance: F64;
  eps: number;
}

export interface BnBackwardArgs extends BnDims {
  x: F32;
  gamma: F32;
  mean: F64;
  rstd: F64;
  gy: F32;
  gx: F32 | null;
  ggamma: F32 | null;
  gbeta: F32 | null;
  batchStats: boolean;
}

/** Channels [c0, c1) of the evaluation forward (mean and rstd given). */
export function bnForwardRange(a: BnForwardArgs, c0: number, c1: number): void {
  bnForwardChannels(a.x, a.gamma, a.beta, a.mean, a.rstd, a.y, a, c0, c1);
}

/** Channels [c0, c1) of the training forward: batch statistics, rstd = 1/√(σ² + eps), then y. */
export function bnTrainForwardRange(a: BnTrainForwardArgs, c0: number, c1: number): void {
  bnBatchStatsChannels(a.x, a, a.mean, a.variance, c0, c1);
  for (let c = c0; c < c1; c++) a.rstd[c] = 1 / Math.sqrt(a.variance[c] + a.eps);
  bnForwardChannels(a.x, a.gamma, a.beta, a.mean, a.rstd, a.y, a, c0, c1);
}

/** Channels [c0, c1) of the backward. */
export function bnBackwardRange(a: BnBackwardArgs, c0: number, c1: number): void {
  bnBackwardChannels(a.x, a.gamma, a.mean, a.rstd, a.gy, a.gx, a.ggamma, a.gbeta, a.batchStats,
    a, c0, c1);
}

/** A float64 array on shared memory (the pool's workers write statistics into it). */
function sharedF64(n: number): F64 {
  return new Float64Array(new SharedArrayBuffer(8 * n));
}

function checkShapes(x: Tensor, params: readonly Tensor[]): BnDims {
  const shapes = [x.shape, ...params.map((p) => p.shape)];
  if (x.rank !== 4) throw new ShapeError('batchNorm2d', 'x must be [N, C, H, W]', shapes);
  const [N, C, H, W] = x.shape;
  for (const p of params) {
    if (p.rank !== 1 || p.shape[0] !== C) {
      throw new ShapeError('batchNorm2d', `gamma, beta and running stats must be [${C}]`, shapes);
    }
  }
  return { N, C, HW: H * W };
}

/**
 * The recorded op. Inputs [x, gamma, beta, runningMean, runningVar]; attrs {eps, momentum}.
 * Training updates runningMean and runningVar in place (they never receive gradients).
 */
export function batchNorm2d(
  x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
  opts: BatchNormOptions,
): Tensor {
  const d = checkShapes(x, [gamma, beta, runningMean, runningVar]);
  const { training, momentum, eps } = opts;
  const M = d.N * d.HW;
  if (training && M < 2) {
    throw new ShapeError('batchNorm2d', 'training needs > 1 value per channel', [x.shape]);
  }
  const mean = sharedF64(d.C), rstd = sharedF64(d.C);
  const y = Tensor.zeros(x.shape);
  const fwd = { ...d, x: x.data, gamma: gamma.data, beta: beta.data, mean, rstd, y: y.data };
  if (training) {
    const variance = sharedF64(d.C);
    parallelRange('bnTrainForward', { ...fwd, variance, eps }, d.C, M);
    const rm = runningMean.data, rv = runningVar.data;
    for (let c = 0; c < d.C; c++) {
      rm[c] = (1 - momentum) * rm[c] + momentum * mean[c];
      rv[c] = (1 - momentum) * rv[c] + momentum * variance[c] * (M / (M - 1));
    }
  } else {
    for (let c = 0; c < d.C; c++) {
      mean[c] = runningMean.data[c];
      rstd[c] = 1 / Math.sqrt(runningVar.data[c] + eps);
    }
    parallelRange('bnForward', fwd, d.C, M);
  }
  return record('batchNorm2d', [x, gamma, beta, runningMean, runningVar], y, (gy) => {
    parallelRange('bnBackward', {
      N: d.N, C: d.C, HW: d.HW, x: x.data, gamma: gamma.data, mean, rstd, gy,
      gx: x.requiresGrad ? x.gradBuffer() : null,
      ggamma: gamma.requiresGrad ? gamma.gradBuffer() : null,
      gbeta: beta.requiresGrad ? beta.gradBuffer() : null,
      batchStats: training,
    }, d.C, 2 * M);
  }, { eps, momentum });
}
