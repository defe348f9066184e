/**
 * @file The evaluation-mode fused conv: y = act(scale[o]·conv(x, w)[o] + shift[o]), one GEMM per
 * image and group with the per-row epilogue of engine/gemm.ts (applied by the wasm kernel to each
 * tile of y as it is stored). With scale = γ/√(var + eps) and shift = β − mean·scale (see
 * BatchNorm2d.evalAffine) and act = SiLU it is YOLO-X's BaseConv (conv → BN eval → SiLU) in one
 * pass over the output instead of three.
 *
 * Shape legend:
 *   x [N, C, H, W]    w [O, C/G, KH, KW]    scale, shift [O]    y [N, O, OH, OW]
 *   G groups; Cg = C/G, Og = O/G, Kc = Cg·KH·KW, OHW = OH·OW
 * Per group g, for a batch of images at once (GemmArgs.bIm2col.images):
 *   y[n, g] (Og×OHW) = act(scale_g ⊙ (W_g (Og×Kc) · col_n (Kc×OHW)) + shift_g)
 * where col_n = im2col(x[n, g]) is never written out: the GEMM packs its rows from shifted views
 * of a padded copy of the images in wasm memory (engine/wasm/shifted_image.ts).
 *
 * Forward only: nothing is recorded on the autograd tape and only a passive op listener (the
 * profiler) is told, as 'conv_fused', so callers use it only when no gradient and no graph
 * capture is wanted (models/blocks.ts BaseConv).
 * Numerics: per element, |fused − reference| follows engine/gemm.ts's epilogue bound.
 */
import { notifyOp } from '../engine/autograd.js';
import { gemm, type GemmAct, type GemmArgs } from '../engine/gemm.js';
import { allocF32Overwritten } from '../engine/memory.js';
import { Tensor, sizeOf } from '../engine/tensor.js';
import {
  batchesImages, conv2dDims, imagesPerGemm, type Conv2dDims, type Conv2dOptions,
} from './conv.js';

type F32 = Float32Array;

/** y = act(scale ⊙ conv(x, w) + shift) per output channel. Overwrites y. */
export function conv2dAffineActForward(x: F32, w: F32, scale: F32, shift: F32,
  act: GemmAct | null, y: F32, d: Conv2dDims): void {
  const { N, C, H, W, O, G } = d;
  const Cg = C / G, Og = O / G, Kc = Cg * d.KH * d.KW, OHW = d.OH * d.OW;
  // One image per GEMM when an image's GEMM is tiny (the reference loop's bits; conv.ts).
  const per = batchesImages(d) ? imagesPerGemm(d) : 1;
  for (let g = 0; g < G; g++) {
    for (let n0 = 0; n0 < N; n0 += per) {
      const I = Math.min(per, N - n0);
      const args: GemmArgs = {
        M: Og, N: I * OHW, K: Kc,
        a: w, aOffset: g * Og * Kc, lda: Kc,
        b: x, ldb: OHW,
        c: y, cOffset: (n0 * O + g * Og) * OHW, ldc: OHW, cImageStride: O * OHW,
        scale: scale.subarray(g * Og, (g + 1) * Og),
        bias: shift.subarray(g * Og, (g + 1) * Og),
        // Every conv, 1×1 included, and a batch of images at once: the fast path packs B
        // straight from one copy of the images in wasm memory (engine/wasm/shifted_image.ts).
        bIm2col: { C: Cg, H, W, KH: d.KH, KW: d.KW, S: d.S, P: d.P, OH: d.OH, OW: d.OW,
          xOffset: (n0 * C + g * Cg) * H * W, images: I, xImageStride: C * H * W },
      };
      if (act !== null) args.act = act;
      gemm(args);
    }
  }
}

/**
 * The fused op on tensors (forward only, see the file header). `scale` and `shift` are plain
 * per-output-channel arrays of length O.
 */
export function conv2dAffineAct(x: Tensor, w: Tensor, scale: F32, shift: F32,
  act: GemmAct | null, opts: Conv2dOptions = {}): Tensor {
  const d = conv2dDims(x.shape, w.shape, null, opts);
  if (scale.length !== d.O || shift.length !== d.O) {
    throw new Error(`conv2dAffineAct: scale/shift must have ${d.O} elements`);
  }
  // Every element of y is written by the GEMM: no need to clear a recycled buffer.
  const shape = [d.N, d.O, d.OH, d.OW];
  const y = new Tensor(allocF32Overwritten(sizeOf(shape)), shape);
  conv2dAffineActForward(x.data, w.data, scale, shift, act, y.data, d);
  notifyOp('conv_fused', [x, w], y, { stride: d.S, padding: d.P, groups: d.G, act });
  return y;
}
