/**
 * @file The serial loops of the threaded kernels as they were before threading (commit 621620a,
 * copied verbatim, only renamed ref…): the oracle of spec/threaded_ops.spec.ts. A training run
 * started on that code must be reproducible bit for bit, so the threaded ops must equal these.
 * Unchanged kernels (activation, binaryForward/Backward) are imported from ops/ instead.
 */
import type { BnDims } from '../ops/batchnorm.js';
import type { ConvGeometry } from '../ops/im2col.js';
import type { PoolDims } from '../ops/pool.js';

type F32 = Float32Array;
type F64 = Float64Array;

/** Batch mean and biased variance of each channel, in float64. Overwrites mean and variance. */
export function refBnBatchStats(x: F32, d: BnDims, mean: F64, variance: F64): void {
  const { N, C, HW } = d;
  const M = N * HW;
  for (let c = 0; c < C; c++) {
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
export function refBnForward(
  x: F32, gamma: F32, beta: F32, mean: F64, rstd: F64, y: F32, d: BnDims,
): void {
  const { N, C, HW } = d;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
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
export function refBnBackward(
  x: F32, gamma: F32, mean: F64, rstd: F64, gy: F32,
  gx: F32 | null, ggamma: F32 | null, gbeta: F32 | null, batchStats: boolean, d: BnDims,
): void {
  const { N, C, HW } = d;
  const M = N * HW;
  for (let c = 0; c < C; c++) {
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

/**
 * Writes the column matrix of x[xOffset …] (C channels of H×W) into col[0 … C·KH·KW·OH·OW).
 * Overwrites col (padding positions become 0).
 */
export function refIm2col(x: F32, xOffset: number, g: ConvGeometry, col: F32): void {
  const { C, H, W, KH, KW, S, P, OH, OW } = g;
  const OHW = OH * OW;
  for (let c = 0; c < C; c++) {
    const xC = xOffset + c * H * W;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const colRow = ((c * KH + kh) * KW + kw) * OHW;
        for (let oh = 0; oh < OH; oh++) {
          const h = oh * S - P + kh;
          const colOh = colRow + oh * OW;
          if (h < 0 || h >= H) {
            col.fill(0, colOh, colOh + OW);
            continue;
          }
          const xH = xC + h * W;
          for (let ow = 0; ow < OW; ow++) {
            const w = ow * S - P + kw;
            col[colOh + ow] = w >= 0 && w < W ? x[xH + w] : 0;
          }
        }
      }
    }
  }
}

/**
 * The adjoint of im2col: gx[xOffset + (c, h, w)] += Σ col entries that im2col read from (c, h, w).
 * Per channel, the entries are summed into a float64 plane in (kh, kw, oh, ow) order — so each
 * input element sums its contributions in increasing (kh, kw) — and the plane is then added to gx
 * once: one rounding per element, and a fixed order whatever the work split across channels.
 */
export function refCol2im(col: F32, g: ConvGeometry, gx: F32, gxOffset: number): void {
  const { C, H, W, KH, KW, S, P, OH, OW } = g;
  const OHW = OH * OW;
  const plane = new Float64Array(H * W);
  for (let c = 0; c < C; c++) {
    plane.fill(0);
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const colRow = ((c * KH + kh) * KW + kw) * OHW;
        for (let oh = 0; oh < OH; oh++) {
          const h = oh * S - P + kh;
          if (h < 0 || h >= H) continue;
          const colOh = colRow + oh * OW, pH = h * W;
          for (let ow = 0; ow < OW; ow++) {
            const w = ow * S - P + kw;
            if (w >= 0 && w < W) plane[pH + w] += col[colOh + ow];
          }
        }
      }
    }
    const gxC = gxOffset + c * H * W;
    for (let i = 0; i < H * W; i++) gx[gxC + i] += plane[i];
  }
}

/**
 * y = window maxima. Writes into `argmax` (same length as y) the flat index within the (n, c)
 * plane, h·W + w, of each window's first maximum.
 */
export function refMaxPoolForward(x: F32, y: F32, argmax: Int32Array, d: PoolDims): void {
  const { N, C, H, W, K, S, P, OH, OW } = d;
  for (let nc = 0; nc < N * C; nc++) {
    const xOff = nc * H * W, yOff = nc * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * S - P;
      for (let ow = 0; ow < OW; ow++) {
        const w0 = ow * S - P;
        let best = -Infinity, arg = -1;
        for (let kh = 0; kh < K; kh++) {
          const h = h0 + kh;
          if (h < 0 || h >= H) continue;
          for (let kw = 0; kw < K; kw++) {
            const w = w0 + kw;
            if (w < 0 || w >= W) continue;
            const v = x[xOff + h * W + w];
            // Strict '>' keeps the first maximum; the NaN test lets NaN win, as in PyTorch.
            if (v > best || Number.isNaN(v) || arg < 0) {
              best = v;
              arg = h * W + w;
              if (Number.isNaN(v)) break;
            }
          }
        }
        y[yOff + oh * OW + ow] = best;
        argmax[yOff + oh * OW + ow] = arg;
      }
    }
  }
}

/**
 * gx[argmax] += dy. Written as a scatter in output order (one input may win several windows, its
 * contributions are added in increasing output index), a fixed order. dy values are added in
 * float64 per input by first summing into a float64 scratch plane.
 */
export function refMaxPoolBackward(gy: F32, argmax: Int32Array, gx: F32, d: PoolDims): void {
  const { N, C, H, W, OH, OW } = d;
  const plane = new Float64Array(H * W);
  for (let nc = 0; nc < N * C; nc++) {
    plane.fill(0);
    const yOff = nc * OH * OW, xOff = nc * H * W;
    for (let i = 0; i < OH * OW; i++) plane[argmax[yOff + i]] += gy[yOff + i];
    for (let i = 0; i < H * W; i++) gx[xOff + i] += plane[i];
  }
}

/** Overwrites y. NC = N·C planes of H×W. */
export function refUpsampleNearest2xForward(
  x: F32, y: F32, NC: number, H: number, W: number,
): void {
  const W2 = 2 * W;
  for (let p = 0; p < NC; p++) {
    const xOff = p * H * W, yOff = p * 4 * H * W;
    for (let h = 0; h < H; h++) {
      const row0 = yOff + 2 * h * W2, row1 = row0 + W2;
      for (let w = 0; w < W; w++) {
        const v = x[xOff + h * W + w];
        y[row0 + 2 * w] = v;
        y[row0 + 2 * w + 1] = v;
        y[row1 + 2 * w] = v;
        y[row1 + 2 * w + 1] = v;
      }
    }
  }
}

/** Accumulates into gx. */
export function refUpsampleNearest2xBackward(
  gy: F32, gx: F32, NC: number, H: number, W: number,
): void {
  const W2 = 2 * W;
  for (let p = 0; p < NC; p++) {
    const xOff = p * H * W, yOff = p * 4 * H * W;
    for (let h = 0; h < H; h++) {
      const row0 = yOff + 2 * h * W2, row1 = row0 + W2;
      for (let w = 0; w < W; w++) {
        const i = 2 * w;
        gx[xOff + h * W + w] += gy[row0 + i] + gy[row0 + i + 1] + gy[row1 + i] + gy[row1 + i + 1];
      }
    }
  }
}


/** Gradient buffers the old batchNorm2d backward accumulated into. */
export interface RefBnGrads {
  gx: F32;
  ggamma: F32;
  gbeta: F32;
}

/**
 * The old batchNorm2d forward and backward on plain arrays (its wrapper's arithmetic, verbatim):
 * returns y, updates rm and rv in place (training) and accumulates into `grads` from gy.
 */
export function refBatchNorm(
  x: F32, gamma: F32, beta: F32, rm: F32, rv: F32, gy: F32, grads: RefBnGrads, d: BnDims,
  opts: { training: boolean; momentum: number; eps: number },
): F32 {
  const { training, momentum, eps } = opts;
  const M = d.N * d.HW;
  const mean = new Float64Array(d.C), rstd = new Float64Array(d.C);
  if (training) {
    const variance = new Float64Array(d.C);
    refBnBatchStats(x, d, mean, variance);
    for (let c = 0; c < d.C; c++) {
      rstd[c] = 1 / Math.sqrt(variance[c] + eps);
      rm[c] = (1 - momentum) * rm[c] + momentum * mean[c];
      rv[c] = (1 - momentum) * rv[c] + momentum * variance[c] * (M / (M - 1));
    }
  } else {
    for (let c = 0; c < d.C; c++) {
      mean[c] = rm[c];
      rstd[c] = 1 / Math.sqrt(rv[c] + eps);
    }
  }
  const y = new Float32Array(x.length);
  refBnForward(x, gamma, beta, mean, rstd, y, d);
  refBnBackward(x, gamma, mean, rstd, gy, grads.gx, grads.ggamma, grads.gbeta, training, d);
  return y;
}
