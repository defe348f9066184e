/**
 * @file Implicit im2col without a gather: the conv's column matrix as shifted views of one
 * zero-padded, phase-split copy of the image in wasm memory (the fast path of GemmArgs.bIm2col).
 *
 * Shape legend (B = col is K×N, row-major; image x [C, H, W] at x[xOffset …], kernel KH×KW,
 * stride S, padding P, output OH×OW):
 *   k       = (c·KH + kh)·KW + kw,  K = C·KH·KW;   n = oh·OW + ow,  N = OH·OW
 *   B[k][n] = x[xOffset + (c·H + ih)·W + iw],  ih = oh·S − P + kh,  iw = ow·S − P + kw,
 *             and 0 where ih ∉ [0, H) or iw ∉ [0, W) (zero padding): `im2colAt`
 *   Xp      the image padded with P zeros on each side: Xp[c][i][j] = x[c][i − P][j − P]
 *   phase   (a, b) ∈ [0, S)²: plane Q_ab[c][u][v] = Xp[c][u·S + a][v·S + b] (0 outside Xp),
 *           u < Hq = ⌈(H + 2P)/S⌉, v < Wq = ⌈(W + 2P)/S⌉; stored phase-major, then c, u, v
 *   n'      a GEMM column over the padded width: n' = oh·Wq + ow, N' = OH·Wq; columns with
 *           ow ≥ OW are computed and discarded (copy-out skips them)
 * With kh = S·dh + a and kw = S·dw + b, the column matrix entry is
 *   B[k][oh·OW + ow] = Xp[c][oh·S + kh][ow·S + kw] = Q_ab[c][oh + dh][ow + dw]
 *                    = Q_ab_flat[c·Hq·Wq + dh·Wq + dw + n']
 * so row k of B (over n') is a contiguous run starting at rowAddr(k): the packer copies whole
 * f32x4 vectors from there (pack_table_W) instead of gathering element by element. Values,
 * zeros of the padding included, are exactly the column matrix's, so each C element is the same
 * float32 sum in the same k order: bit-identical to the explicit im2col GEMM.
 * Columns ow ≥ OW read past their output row (and the last rows past the plane, into the slack
 * at the end); those values reach only discarded columns.
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

/** Where and how the padded, phase-split image sits in wasm memory. */
export interface ShiftedImage {
  /** Byte address of Q_00[0][0][0]. */
  base: number;
  C: number; S: number; KH: number; KW: number; OW: number;
  Hq: number; Wq: number;
  /** Columns of the GEMM over the padded width: OH·Wq. */
  nCols: number;
  /** Bytes the image and its slack occupy from `base`. */
  bytes: number;
}

/** The layout of `g`'s image placed at byte address `base` (64-byte aligned by the caller). */
export function shiftedImageLayout(g: Im2colB, base: number): ShiftedImage {
  const Hq = Math.ceil((g.H + 2 * g.P) / g.S), Wq = Math.ceil((g.W + 2 * g.P) / g.S);
  // Slack: the furthest read is a discarded column up to one panel (8) plus a row beyond.
  const words = g.S * g.S * g.C * Hq * Wq + 2 * Wq + 64;
  return { base, C: g.C, S: g.S, KH: g.KH, KW: g.KW, OW: g.OW, Hq, Wq, nCols: g.OH * Wq,
    bytes: Math.ceil((4 * words) / 64) * 64 };
}

/** Byte address of row k of B (column n' = 0). */
export function shiftedRowAddr(L: ShiftedImage, k: number): number {
  const kw = k % L.KW, kh = Math.floor(k / L.KW) % L.KH, c = Math.floor(k / (L.KW * L.KH));
  const a = kh % L.S, b = kw % L.S, dh = (kh - a) / L.S, dw = (kw - b) / L.S;
  const plane = ((a * L.S + b) * L.C + c) * L.Hq * L.Wq;
  return L.base + 4 * (plane + dh * L.Wq + dw);
}

/**
 * Write the padded, phase-split image of x (geometry g) into the wasm memory view `f` at
 * L.base, zeros everywhere else in L.bytes (padding, phase overhang, slack).
 */
export function writeShiftedImage(f: Float32Array, x: Float32Array, g: Im2colB,
  L: ShiftedImage): void {
  const { C, H, W, P, S, xOffset } = g, { Hq, Wq } = L, w0 = L.base / 4;
  const image = S * S * C * Hq * Wq, end = w0 + L.bytes / 4;
  if (S === 1 && P === 0) {
    // No padding: the image itself (a 1×1 conv's B), then zero slack.
    f.set(x.subarray(xOffset, xOffset + image), w0);
    f.fill(0, w0 + image, end);
    return;
  }
  if (S === 1) {
    // One pass: per plane, zero the top and bottom border rows; per row, write the left and
    // right border zeros and the image row (a memcpy only pays off for long rows: a call costs
    // about as much as copying ~64 floats in a loop).
    for (let c = 0; c < C; c++) {
      const plane = w0 + c * Hq * Wq;
      f.fill(0, plane, plane + P * Wq);
      f.fill(0, plane + (P + H) * Wq, plane + Hq * Wq);
      for (let ih = 0; ih < H; ih++) {
        const row = plane + (ih + P) * Wq, dst = row + P, src = xOffset + (c * H + ih) * W;
        for (let i = 0; i < P; i++) f[row + i] = 0;
        for (let i = P + W; i < Wq; i++) f[row + i] = 0;
        if (W >= 64) f.set(x.subarray(src, src + W), dst);
        else for (let iw = 0; iw < W; iw++) f[dst + iw] = x[src + iw];
      }
    }
    f.fill(0, w0 + image, end);
    return;
  }
  f.fill(0, w0, end);
  for (let a = 0; a < S; a++) {
    for (let b = 0; b < S; b++) {
      // Q_ab[c][u][v] = x[c][u·S + a − P][v·S + b − P]: v range with the source column inside.
      const vLo = Math.max(0, Math.ceil((P - b) / S));
      const vHi = Math.min(Wq, Math.floor((W - 1 + P - b) / S) + 1);
      for (let c = 0; c < C; c++) {
        const plane = w0 + ((a * S + b) * C + c) * Hq * Wq;
        for (let u = 0; u < Hq; u++) {
          const ih = u * S + a - P;
          if (ih < 0 || ih >= H || vHi <= vLo) continue;
          const src = xOffset + (c * H + ih) * W + b - P, dst = plane + u * Wq;
          if (S === 1) {
            f.set(x.subarray(src + vLo, src + vHi), dst + vLo);
          } else {
            for (let v = vLo; v < vHi; v++) f[dst + v] = x[src + v * S];
          }
        }
      }
    }
  }
}
