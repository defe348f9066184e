/**
 * @file maxPool2d: the maximum over each KH×KW window (YOLO-X's SPP uses kernels 5, 9, 13 with
 * stride 1 and "same" padding k/2).
 *
 * Shape legend: x [N, C, H, W], y [N, C, OH, OW], K kernel, S stride, P padding,
 *   OH = ⌊(H + 2P − K)/S⌋ + 1 (likewise OW).
 * Padding acts as −∞: it never wins a window (a window always holds at least one real value when
 * P ≤ K/2, which the op checks as PyTorch does).
 *
 * Backward sends each dy to one input: the FIRST maximum of its window in scan order (kh, then
 * kw, increasing; a later equal value does not replace it). This is PyTorch's CPU rule (it
 * replaces the running max only when `val > max`), so tied windows route identically.
 *
 * Threads: the recorded op splits the N·C planes over the pool (ops/parallel.ts); each plane is
 * computed whole by one job, so the bits do not depend on the thread count. When no backward
 * can follow (grad off, or x needs no gradient), the op skips argmax and runs the separable
 * maxPoolValues on the calling thread: the same values, bit for bit.
 */
import { isGradEnabled, record } from '../engine/autograd.js';
import { ShapeError } from '../engine/errors.js';
import { Tensor } from '../engine/tensor.js';
import { outSize } from './im2col.js';
import { parallelRange, threadScratchF64 } from './parallel.js';

type F32 = Float32Array;

export interface MaxPoolOptions {
  kernel: number;
  /** Defaults to the kernel size (PyTorch's default). */
  stride?: number;
  padding?: number;
}

export interface PoolDims {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly K: number;
  readonly S: number;
  readonly P: number;
  readonly OH: number;
  readonly OW: number;
}

/**
 * y = window maxima. Writes into `argmax` (same length as y) the flat index within the (n, c)
 * plane, h·W + w, of each window's first maximum.
 */
export function maxPoolForward(x: F32, y: F32, argmax: Int32Array, d: PoolDims): void {
  maxPoolForwardRange({ x, y, argmax, d }, 0, d.N * d.C);
}

/** What a threaded maxPool forward job reads and writes. */
export interface MaxPoolForwardArgs {
  x: F32;
  y: F32;
  argmax: Int32Array;
  d: PoolDims;
}

/** maxPoolForward for planes nc ∈ [p0, p1). */
export function maxPoolForwardRange(a: MaxPoolForwardArgs, p0: number, p1: number): void {
  const { x, y, argmax, d } = a;
  const { H, W, K, S, P, OH, OW } = d;
  for (let nc = p0; nc < p1; nc++) {
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
 * Window maxima only (no argmax), for a forward no backward can follow. Separable: a row pass
 * r[h][ow] = max over kw of x[h][ow·S − P + kw], then y[oh][ow] = max over kh of
 * r[oh·S − P + kh][ow]; 2K comparisons per output instead of K². Both passes keep the first
 * maximum (strict '>') and let NaN win, so the chosen element is the first maximum in (kh, kw)
 * scan order, the same element maxPoolForward picks: the same bits, signed zeros included.
 */
export function maxPoolValues(x: F32, y: F32, d: PoolDims): void {
  const { N, C, H, W, K, S, P, OH, OW } = d;
  const r = new Float32Array(H * OW);
  for (let nc = 0; nc < N * C; nc++) {
    const xOff = nc * H * W, yOff = nc * OH * OW;
    for (let h = 0; h < H; h++) {
      const xRow = xOff + h * W;
      for (let ow = 0; ow < OW; ow++) {
        const w0 = ow * S - P, lo = Math.max(0, w0), hi = Math.min(W, w0 + K);
        let best = x[xRow + lo];
        for (let w = lo + 1; w < hi; w++) {
          const v = x[xRow + w];
          if (v > best || v !== v) best = v;
        }
        r[h * OW + ow] = best;
      }
    }
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * S - P, lo = Math.max(0, h0), hi = Math.min(H, h0 + K);
      for (let ow = 0; ow < OW; ow++) {
        let best = r[lo * OW + ow];
        for (let h = lo + 1; h < hi; h++) {
          const v = r[h * OW + ow];
          if (v > best || v !== v) best = v;
        }
        y[yOff + oh * OW + ow] = best;
      }
    }
  }
}

/**
 * gx[argmax] += dy. Written as a scatter in output order (one input may win several windows, its
 * contributions are added in increasing output index), a fixed order. dy values are added in
 * float64 per input by first summing into a float64 scratch plane.
 */
export function maxPoolBackward(gy: F32, argmax: Int32Array, gx: F32, d: PoolDims): void {
  maxPoolBackwardRange({ gy, argmax, gx, d }, 0, d.N * d.C);
}

/** What a threaded maxPool backward job reads and writes. */
export interface MaxPoolBackwardArgs {
  gy: F32;
  argmax: Int32Array;
  gx: F32;
  d: PoolDims;
}

/** maxPoolBackward for planes nc ∈ [p0, p1). */
export function maxPoolBackwardRange(a: MaxPoolBackwardArgs, p0: number, p1: number): void {
  const { gy, argmax, gx, d } = a;
  const { H, W, OH, OW } = d;
  const plane = threadScratchF64(H * W);
  for (let nc = p0; nc < p1; nc++) {
    plane.fill(0);
    const yOff = nc * OH * OW, xOff = nc * H * W;
    for (let i = 0; i < OH * OW; i++) plane[argmax[yOff + i]] += gy[yOff + i];
    for (let i = 0; i < H * W; i++) gx[xOff + i] += plane[i];
  }
}

/** The recorded op; attrs {kernel, stride, padding}. */
export function maxPool2d(x: Tensor, opts: MaxPoolOptions): Tensor {
  const K = opts.kernel, S = opts.stride ?? opts.kernel, P = opts.padding ?? 0;
  const fail = (detail: string): never => {
    throw new ShapeError('maxPool2d', detail, [x.shape]);
  };
  if (x.rank !== 4) fail('x must be [N, C, H, W]');
  if (!Number.isInteger(K) || K < 1) fail(`kernel must be a positive integer, got ${K}`);
  if (!Number.isInteger(S) || S < 1) fail(`stride must be a positive integer, got ${S}`);
  if (!Number.isInteger(P) || P < 0 || 2 * P > K) fail(`padding ${P} must be in [0, kernel/2]`);
  const [N, C, H, W] = x.shape;
  const OH = outSize(H, K, S, P), OW = outSize(W, K, S, P);
  if (OH < 1 || OW < 1) fail(`kernel ${K} larger than padded input`);
  const d: PoolDims = { N, C, H, W, K, S, P, OH, OW };
  const y = Tensor.zeros([N, C, OH, OW]);
  if (!isGradEnabled() || !x.requiresGrad) {
    // No backward can run: the values alone, by the separable kernel (same bits).
    maxPoolValues(x.data, y.data, d);
    return record('maxPool2d', [x], y, () => undefined, { kernel: K, stride: S, padding: P });
  }
  // On shared memory: the pool's workers write it.
  const argmax = new Int32Array(new SharedArrayBuffer(4 * y.size));
  parallelRange('maxPoolForward', { x: x.data, y: y.data, argmax, d }, N * C, OH * OW * K * K);
  return record('maxPool2d', [x], y, (gy) => {
    if (!x.requiresGrad) return;
    parallelRange('maxPoolBackward', { gy, argmax, gx: x.gradBuffer(), d }, N * C,
      OH * OW + 2 * H * W);
  }, { kernel: K, stride: S, padding: P });
}
