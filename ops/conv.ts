/**
 * @file conv2d: 2-D convolution with stride, symmetric zero padding, groups and optional bias,
 * lowered to GEMM (engine/gemm.ts) through im2col, one image and one group at a time.
 *
 * Shape legend:
 *   x [N, C, H, W]    w [O, C/G, KH, KW]    b [O]    y [N, O, OH, OW]
 *   G groups; per group Cg = C/G input and Og = O/G output channels; Kc = Cg·KH·KW; OHW = OH·OW.
 *
 * Per image n and group g (col = im2col of x[n, group g], [Kc, OHW]):
 *   forward   y[n, g] (Og×OHW)  = b + W_g (Og×Kc) · col
 *   backward  dcol (Kc×OHW)     = W_gᵀ · dY[n, g],  then dX[n, g] += col2im(dcol)
 *             dW_g (Og×Kc)     += dY[n, g] · colᵀ
 *             db[o]            += Σ_{n, oh, ow} dY[n, o, oh, ow]
 * A 1×1, stride-1, unpadded conv uses x itself as col (and writes dX directly from the GEMM).
 * Backward recomputes col from x instead of keeping it from the forward (it is Kc/Cg times larger
 * than x). Reductions have a fixed order: within a GEMM as engine/gemm.ts documents, and dW and db
 * sum the per-image partials in float64 in image order (dW's additions run on all threads, one
 * element per addition, so the order per element is the same for any thread count).
 */
import { record } from '../engine/autograd.js';
import { ShapeError } from '../engine/errors.js';
import { fastGemmAvailable, gemm, TINY_MACS, type GemmArgs } from '../engine/gemm.js';
import { allocF32 } from '../engine/memory.js';
import { Tensor } from '../engine/tensor.js';
import { col2im, im2col, outSize, type ConvGeometry } from './im2col.js';
import { parallelRange } from './parallel.js';

type F32 = Float32Array;
type F64 = Float64Array;

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  groups?: number;
}

/** Every size a conv2d kernel needs. */
export interface Conv2dDims {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly O: number;
  readonly KH: number;
  readonly KW: number;
  readonly S: number;
  readonly P: number;
  readonly G: number;
  readonly OH: number;
  readonly OW: number;
}

/**
 * Scratch buffers reused across calls (slot 0: col, slot 1: dcol, slot 2: one image's dW),
 * grown on demand. Safe because kernels run to completion synchronously and every use
 * overwrites the whole buffer first.
 */
const scratch: Float32Array[] = [];
function scratchF32(slot: number, n: number): Float32Array {
  let s = scratch[slot];
  if (s === undefined || s.length < n) {
    s = allocF32(n);
    scratch[slot] = s;
  }
  return s.subarray(0, n);
}

let accScratch = new Float64Array(new SharedArrayBuffer(0));

/** A zeroed float64 array of n elements on shared memory, reused across calls (dW's sum). */
function accScratchF64(n: number): F64 {
  if (accScratch.length < n) accScratch = new Float64Array(new SharedArrayBuffer(8 * n));
  return accScratch.subarray(0, n).fill(0);
}

/** The per-group geometry im2col works with. */
function groupGeometry(d: Conv2dDims): ConvGeometry {
  return { C: d.C / d.G, H: d.H, W: d.W, KH: d.KH, KW: d.KW, S: d.S, P: d.P, OH: d.OH, OW: d.OW };
}

/** True when x can serve as its own column matrix (1×1 kernel, stride 1, no padding). */
function isPointwise(d: Conv2dDims): boolean {
  return d.KH === 1 && d.KW === 1 && d.S === 1 && d.P === 0;
}

/**
 * Bytes of wasm memory one image may take in a batched implicit GEMM (its padded, phase-split
 * copy plus the staged x): batches are cut so the copy stays under IMPLICIT_BATCH_BYTES.
 */
const IMPLICIT_BATCH_BYTES = 128 << 20;

/**
 * True when a conv's images go through the fast GEMM in batches. Not when one image's GEMM is
 * below TINY_MACS: gemm runs that on the float64 reference loop, and a batch would cross the
 * threshold onto the float32 kernel and change the bits.
 */
export function batchesImages(d: Conv2dDims): boolean {
  const Kc = (d.C / d.G) * d.KH * d.KW;
  return fastGemmAvailable() && (d.O / d.G) * d.OH * d.OW * Kc >= TINY_MACS;
}

/** How many images one implicit GEMM over the conv's input x takes (at least 1). */
export function imagesPerGemm(d: Conv2dDims): number {
  return imagesPerBatch(d.N, d.C / d.G, d.H, d.W, d.S, d.P);
}

/** Images of C×H×W (stride S, padding P) per implicit GEMM, within IMPLICIT_BATCH_BYTES. */
function imagesPerBatch(N: number, C: number, H: number, W: number, S: number, P: number): number {
  const Hq = Math.ceil((H + 2 * P) / S), Wq = Math.ceil((W + 2 * P) / S);
  const perImage = 4 * (S * S * C * Hq * Wq + C * H * W);
  return Math.max(1, Math.min(N, Math.floor(IMPLICIT_BATCH_BYTES / perImage)));
}

/** y = conv(x, w) + b. Overwrites y. */
export function conv2dForward(x: F32, w: F32, b: F32 | null, y: F32, d: Conv2dDims): void {
  const { N, C, H, W, O, G } = d;
  const Cg = C / G, Og = O / G, Kc = Cg * d.KH * d.KW, OHW = d.OH * d.OW;
  const geom = groupGeometry(d);
  const direct = isPointwise(d);
  // Start each output row at its bias so the GEMM's sum includes it (one rounding).
  const fillBias = (n: number, g: number): void => {
    if (b === null) return;
    const yOff = (n * O + g * Og) * OHW;
    for (let o = 0; o < Og; o++) y.fill(b[g * Og + o], yOff + o * OHW, yOff + (o + 1) * OHW);
  };
  if (batchesImages(d)) {
    // The fast GEMM gathers col's blocks straight from x (GemmArgs.bIm2col), for a batch of
    // images at once: the same bits as the written-out matrix, one image at a time, with or
    // without a bias to accumulate onto (spec/conv_fused, spec/ops_conv).
    const per = imagesPerGemm(d);
    for (let g = 0; g < G; g++) {
      for (let n0 = 0; n0 < N; n0 += per) {
        const I = Math.min(per, N - n0);
        for (let n = n0; n < n0 + I; n++) fillBias(n, g);
        gemm({
          M: Og, N: I * OHW, K: Kc,
          a: w, aOffset: g * Og * Kc, lda: Kc,
          b: x, ldb: OHW,
          c: y, cOffset: (n0 * O + g * Og) * OHW, ldc: OHW, cImageStride: O * OHW,
          accumulate: b !== null,
          bIm2col: { ...geom, xOffset: (n0 * C + g * Cg) * H * W, images: I,
            xImageStride: C * H * W },
        });
      }
    }
    return;
  }
  const col = direct ? null : scratchF32(0, Kc * OHW);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const xOff = (n * C + g * Cg) * H * W;
      fillBias(n, g);
      if (col !== null) im2col(x, xOff, geom, col);
      gemm({
        M: Og, N: OHW, K: Kc,
        a: w, aOffset: g * Og * Kc, lda: Kc,
        b: col ?? x, bOffset: col ? 0 : xOff, ldb: OHW,
        c: y, cOffset: (n * O + g * Og) * OHW, ldc: OHW,
        accumulate: b !== null,
      });
    }
  }
}

/** Accumulates dX, dW and db (each only when its buffer is given) from dY. */
export function conv2dBackward(
  x: F32, w: F32, gy: F32, gx: F32 | null, gw: F32 | null, gb: F32 | null, d: Conv2dDims,
): void {
  const { N, C, H, W, O, G } = d;
  const Cg = C / G, Og = O / G, Kc = Cg * d.KH * d.KW, OHW = d.OH * d.OW;
  const geom = groupGeometry(d);
  const direct = isPointwise(d);
  const col = direct || gw === null ? null : scratchF32(0, Kc * OHW);
  const dcol = direct || gx === null ? null : scratchF32(1, Kc * OHW);
  const gwPart = gw === null ? null : scratchF32(2, Og * Kc);
  const gwAcc = gw === null ? null : accScratchF64(gw.length);
  // A 1×1 conv's dX = Wᵀ·dY needs no col2im: for a batch of images at once, with dY's images
  // side by side as the implicit B (the im2col of a 1×1 conv is the image itself). The same
  // bits per image; not when one image's GEMM is tiny (batchesImages: the same M·N·K).
  const batchDx = gx !== null && direct && batchesImages(d);
  if (batchDx && gx !== null) {
    const per = imagesPerBatch(N, Og, d.OH, d.OW, 1, 0);
    for (let g = 0; g < G; g++) {
      for (let n0 = 0; n0 < N; n0 += per) {
        const I = Math.min(per, N - n0);
        gemm({
          M: Kc, N: I * OHW, K: Og,
          a: w, aOffset: g * Og * Kc, lda: Kc, transA: true,
          b: gy, ldb: OHW,
          c: gx, cOffset: (n0 * C + g * Cg) * H * W, ldc: OHW, cImageStride: C * H * W,
          accumulate: true,
          bIm2col: { C: Og, H: d.OH, W: d.OW, KH: 1, KW: 1, S: 1, P: 0, OH: d.OH, OW: d.OW,
            xOffset: (n0 * O + g * Og) * OHW, images: I, xImageStride: O * OHW },
        });
      }
    }
  }
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const xOff = (n * C + g * Cg) * H * W;
      const yOff = (n * O + g * Og) * OHW;
      if (gw !== null && gwPart !== null && gwAcc !== null) {
        if (col !== null) im2col(x, xOff, geom, col);
        gemm({
          M: Og, N: Kc, K: OHW,
          a: gy, aOffset: yOff, lda: OHW,
          b: col ?? x, bOffset: col ? 0 : xOff, ldb: OHW, transB: true,
          c: gwPart, ldc: Kc,
        });
        const acc = { src: gwPart, dst: gwAcc, dstOffset: g * Og * Kc };
        parallelRange('convAddToF64', acc, Og * Kc, 2);
      }
      if (gx !== null && !batchDx) {
        gemm({
          M: Kc, N: OHW, K: Og,
          a: w, aOffset: g * Og * Kc, lda: Kc, transA: true,
          b: gy, bOffset: yOff, ldb: OHW,
          c: dcol ?? gx, cOffset: dcol ? 0 : xOff, ldc: OHW,
          accumulate: dcol === null,
        });
        if (dcol !== null) col2im(dcol, geom, gx, xOff);
      }
    }
  }
  if (gw !== null && gwAcc !== null) {
    parallelRange('convAddF64To', { src: gwAcc, dst: gw, dstOffset: 0 }, gw.length, 2);
  }
  if (gb !== null) {
    for (let o = 0; o < O; o++) {
      let acc = 0;
      for (let n = 0; n < N; n++) {
        const off = (n * O + o) * OHW;
        for (let i = 0; i < OHW; i++) acc += gy[off + i];
      }
      gb[o] += acc;
    }
  }
}

/** dst[dstOffset + i] += src[i] for i in a range: dW's per-image partials into its float64 sum. */
export interface ConvAddToF64Args {
  src: F32;
  dst: F64;
  dstOffset: number;
}

/** dst[dstOffset + i] += src[i] for i in a range: the float64 sum into the gradient. */
export interface ConvAddF64ToArgs {
  src: F64;
  dst: F32;
  dstOffset: number;
}

/**
 * Elements [lo, hi) of convAddToF64 / convAddF64To (threads: ops/parallel.ts). Each element is
 * one addition, whatever the range, so the bits do not depend on the split.
 */
export function convAddToF64Range(a: ConvAddToF64Args, lo: number, hi: number): void {
  const { src, dst, dstOffset } = a;
  for (let i = lo; i < hi; i++) dst[dstOffset + i] += src[i];
}

export function convAddF64ToRange(a: ConvAddF64ToArgs, lo: number, hi: number): void {
  const { src, dst, dstOffset } = a;
  for (let i = lo; i < hi; i++) dst[dstOffset + i] += src[i];
}

/** Checks shapes and derives the kernel sizes; throws ShapeError naming conv2d. */
export function conv2dDims(
  x: readonly number[], w: readonly number[], b: readonly number[] | null, opts: Conv2dOptions,
): Conv2dDims {
  const S = opts.stride ?? 1, P = opts.padding ?? 0, G = opts.groups ?? 1;
  const shapes = b === null ? [x, w] : [x, w, b];
  const fail = (detail: string): never => {
    throw new ShapeError('conv2d', detail, shapes);
  };
  if (x.length !== 4) fail('x must be [N, C, H, W]');
  if (w.length !== 4) fail('w must be [O, C/groups, KH, KW]');
  if (!Number.isInteger(S) || S < 1) fail(`stride must be a positive integer, got ${S}`);
  if (!Number.isInteger(P) || P < 0) fail(`padding must be a non-negative integer, got ${P}`);
  if (!Number.isInteger(G) || G < 1) fail(`groups must be a positive integer, got ${G}`);
  const [N, C, H, W] = x;
  const [O, Cw, KH, KW] = w;
  if (C % G !== 0) fail(`input channels ${C} not divisible by groups ${G}`);
  if (O % G !== 0) fail(`output channels ${O} not divisible by groups ${G}`);
  if (Cw !== C / G) fail(`weight has ${Cw} input channels, expected C/groups = ${C / G}`);
  if (b !== null && (b.length !== 1 || b[0] !== O)) fail(`bias must be [${O}]`);
  const OH = outSize(H, KH, S, P), OW = outSize(W, KW, S, P);
  if (OH < 1 || OW < 1) fail(`kernel ${KH}×${KW} larger than padded input`);
  return { N, C, H, W, O, KH, KW, S, P, G, OH, OW };
}

/** The recorded op. Attrs {stride, padding, groups}; inputs [x, w] or [x, w, b]. */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const d = conv2dDims(x.shape, w.shape, b === null ? null : b.shape, opts);
  const y = Tensor.zeros([d.N, d.O, d.OH, d.OW]);
  conv2dForward(x.data, w.data, b === null ? null : b.data, y.data, d);
  const inputs = b === null ? [x, w] : [x, w, b];
  return record('conv2d', inputs, y, (gy) => {
    conv2dBackward(
      x.data, w.data, gy,
      x.requiresGrad ? x.gradBuffer() : null,
      w.requiresGrad ? w.gradBuffer() : null,
      b !== null && b.requiresGrad ? b.gradBuffer() : null,
      d,
    );
  }, { stride: d.S, padding: d.P, groups: d.G });
}
