/**
 * @file Implicit im2col for the GEMM driver: stage a block of the column matrix of one image
 * straight from the image into the wasm staging area, so a conv never writes (and re-reads) its
 * whole column matrix. The staged values are exactly the column matrix's, so the GEMM result is
 * bit-identical to running it on an explicit im2col.
 *
 * Shape legend (B = col is K×N, row-major):
 *   x      one image [C, H, W] at x[xOffset …]
 *   k      = (c·KH + kh)·KW + kw,  K = C·KH·KW
 *   n      = oh·OW + ow,           N = OH·OW
 *   B[k][n] = x[xOffset + (c·H + ih)·W + iw],  ih = oh·S − P + kh,  iw = ow·S − P + kw,
 *             and 0 where ih ∉ [0, H) or iw ∉ [0, W) (zero padding)
 */
import type { Im2colB } from '../gemm.js';

/** B[k][n] of the implicit column matrix (the readable definition; the reference GEMM's). */
export function im2colAt(x: Float32Array, g: Im2colB, k: number, n: number): number {
  const kw = k % g.KW, kh = Math.floor(k / g.KW) % g.KH, c = Math.floor(k / (g.KW * g.KH));
  const ow = n % g.OW, oh = Math.floor(n / g.OW);
  const ih = oh * g.S - g.P + kh, iw = ow * g.S - g.P + kw;
  if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) return 0;
  return x[g.xOffset + (c * g.H + ih) * g.W + iw];
}

/**
 * Write B[pc…pc+kc][n0…n0+nc] into f as kc rows of stride `lds` words from word `sw`, each row
 * zero-filled from nc up to `width`.
 */
export function stageIm2col(f: Float32Array, sw: number, lds: number, x: Float32Array,
  g: Im2colB, pc: number, kc: number, n0: number, nc: number, width: number): void {
  const { H, W, KH, KW, S, P, OW } = g;
  for (let r = 0; r < kc; r++) {
    const k = pc + r;
    const kw = k % KW, kh = Math.floor(k / KW) % KH, c = Math.floor(k / (KW * KH));
    // Output columns whose input column iw = ow·S − P + kw lies inside [0, W).
    const owLo = Math.max(0, Math.ceil((P - kw) / S));
    const owHi = Math.min(OW, Math.floor((W - 1 + P - kw) / S) + 1);
    const plane = g.xOffset + c * H * W;
    let d = sw + r * lds;
    let n = n0;
    const nEnd = n0 + nc;
    while (n < nEnd) {
      const oh = Math.floor(n / OW), ow0 = n - oh * OW;
      const ow1 = Math.min(OW, ow0 + (nEnd - n)); // this output row's part of the block
      const ih = oh * S - P + kh;
      if (ih < 0 || ih >= H) {
        f.fill(0, d, d + (ow1 - ow0));
        d += ow1 - ow0;
      } else {
        const src = plane + ih * W - P + kw; // + ow·S
        const lo = Math.min(Math.max(ow0, owLo), ow1), hi = Math.max(Math.min(ow1, owHi), lo);
        for (let ow = ow0; ow < lo; ow++) f[d++] = 0;
        if (S === 1 && hi - lo >= 32) {
          f.set(x.subarray(src + lo, src + hi), d); // a memcpy beats the loop on long runs
          d += hi - lo;
        } else if (S === 1) {
          for (let ow = lo; ow < hi; ow++) f[d++] = x[src + ow];
        } else {
          for (let ow = lo; ow < hi; ow++) f[d++] = x[src + ow * S];
        }
        for (let ow = hi; ow < ow1; ow++) f[d++] = 0;
      }
      n += ow1 - ow0;
    }
    if (width > nc) f.fill(0, sw + r * lds + nc, sw + r * lds + width);
  }
}
