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
 */

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
 * Written as a gather (one float64 sum per input element, kh then kw in increasing order), so
 * each gx element is updated once and the result does not depend on any work split.
 */
export function col2im(col: F32, g: ConvGeometry, gx: F32, gxOffset: number): void {
  const { C, H, W, KH, KW, S, P, OH, OW } = g;
  const OHW = OH * OW;
  for (let c = 0; c < C; c++) {
    const gxC = gxOffset + c * H * W;
    for (let h = 0; h < H; h++) {
      for (let w = 0; w < W; w++) {
        let acc = 0;
        for (let kh = 0; kh < KH; kh++) {
          // h = oh·S − P + kh  ⇔  oh = (h + P − kh) / S, which must be a whole number in range.
          const th = h + P - kh;
          if (th < 0 || th % S !== 0) continue;
          const oh = th / S;
          if (oh >= OH) continue;
          for (let kw = 0; kw < KW; kw++) {
            const tw = w + P - kw;
            if (tw < 0 || tw % S !== 0) continue;
            const ow = tw / S;
            if (ow >= OW) continue;
            acc += col[((c * KH + kh) * KW + kw) * OHW + oh * OW + ow];
          }
        }
        gx[gxC + h * W + w] += acc;
      }
    }
  }
}
