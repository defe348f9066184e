/**
 * @file im2col and col2im: the data rearrangements that turn a convolution into a GEMM.
 * Shared by conv2d's forward and backward (and by the fast kernels, which reuse these layouts).
 *
 * Shape legend (one image, one group of channels):
 *   C  input channels of the group      H, W   input height and width
 *   KH, KW kernel size                  S, P   stride and symmetric zero padding
 *   OH = ⌊(H + 2P − KH) / S⌋ + 1        OW = ⌊(W + 2P − KW) / S⌋ + 1
 *
 * The column matrix is [C·KH·KW, OH·OW], row-major:
 *   col[((c·KH + kh)·KW + kw)·OH·OW + oh·OW + ow] = x[c, oh·S − P + kh, ow·S − P + kw]
 * with zeros where the input index falls in the padding.
 *
 * Threads: both split channels over the pool (ops/parallel.ts). A job for channels [c0, c1)
 * writes only their rows of col (im2col) or their planes of gx (col2im), so the result does not
 * depend on the split.
 */
import { parallelRange, threadScratchF64 } from './parallel.js';

type F32 = Float32Array;

/** Geometry of one 2-D convolution (or pooling) window scan. */
export interface ConvGeometry {
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly KH: number;
  readonly KW: number;
  readonly S: number;
  readonly P: number;
  readonly OH: number;
  readonly OW: number;
}

/** Output size of a window scan along one axis: ⌊(n + 2P − k) / S⌋ + 1. */
export function outSize(n: number, k: number, s: number, p: number): number {
  return Math.floor((n + 2 * p - k) / s) + 1;
}

/**
 * Writes the column matrix of x[xOffset …] (C channels of H×W) into col[0 … C·KH·KW·OH·OW).
 * Overwrites col (padding positions become 0).
 */
export function im2col(x: F32, xOffset: number, g: ConvGeometry, col: F32): void {
  parallelRange('im2col', { x, xOffset, g, col }, g.C, g.KH * g.KW * g.OH * g.OW);
}

/** What a threaded im2col job reads and writes. */
export interface Im2colArgs {
  x: F32;
  xOffset: number;
  g: ConvGeometry;
  col: F32;
}

/** im2col for channels [c0, c1): rows c0·KH·KW … c1·KH·KW − 1 of col. */
export function im2colRange(a: Im2colArgs, c0: number, c1: number): void {
  const { x, xOffset, g, col } = a;
  const { H, W, KH, KW, S, P, OH, OW } = g;
  const OHW = OH * OW;
  for (let c = c0; c < c1; c++) {
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
export function col2im(col: F32, g: ConvGeometry, gx: F32, gxOffset: number): void {
  parallelRange('col2im', { col, g, gx, gxOffset }, g.C, g.KH * g.KW * g.OH * g.OW + g.H * g.W);
}

/** What a threaded col2im job reads and writes. */
export interface Col2imArgs {
  col: F32;
  g: ConvGeometry;
  gx: F32;
  gxOffset: number;
}

/** col2im for channels [c0, c1): reads their rows of col, adds into their planes of gx only. */
export function col2imRange(a: Col2imArgs, c0: number, c1: number): void {
  const { col, g, gx, gxOffset } = a;
  const { H, W, KH, KW, S, P, OH, OW } = g;
  const OHW = OH * OW;
  const plane = threadScratchF64(H * W);
  for (let c = c0; c < c1; c++) {
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
