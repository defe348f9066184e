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
 * Several images (Im2colB.images = I): plane (phase, c) holds the I images' Hq×Wq blocks one
 * after another, and the GEMM's columns run across them, n' = i·Hq·Wq + oh·Wq + ow; columns with
 * oh ≥ OH (the rows between two images' outputs) or ow ≥ OW are discarded. Row k of B is still
 * one contiguous run from rowAddr(k), and each kept column is the same sum as with one image.
 */
import type { Im2colB } from '../gemm.js';
import type { RowCopier } from './copy.js';
import type { Kernels } from './runtime.js';

/** Elements between consecutive images of x (Im2colB.xImageStride, default C·H·W). */
export const xImageStride = (g: Im2colB): number => g.xImageStride ?? g.C * g.H * g.W;

/**
 * B[k][n] of the implicit column matrix (the readable definition; the reference GEMM's). With
 * several images, n = i·OH·OW + oh·OW + ow reads image i.
 */
export function im2colAt(x: Float32Array, g: Im2colB, k: number, n: number): number {
  const kw = k % g.KW, kh = Math.floor(k / g.KW) % g.KH, c = Math.floor(k / (g.KW * g.KH));
  const i = Math.floor(n / (g.OH * g.OW)), p = n - i * g.OH * g.OW;
  const ow = p % g.OW, oh = Math.floor(p / g.OW);
  const ih = oh * g.S - g.P + kh, iw = ow * g.S - g.P + kw;
  if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) return 0;
  return x[g.xOffset + i * xImageStride(g) + (c * g.H + ih) * g.W + iw];
}

/** Where and how the padded, phase-split image sits in wasm memory. */
export interface ShiftedImage {
  /** Byte address of Q_00[0][0][0]. */
  base: number;
  C: number; S: number; KH: number; KW: number; OH: number; OW: number;
  Hq: number; Wq: number;
  /** Images side by side: plane (phase, c) holds image i's Hq×Wq block at i·Hq·Wq. */
  images: number;
  /** Elements between consecutive images' blocks of C (0 for one image). */
  cImageStride: number;
  /** Columns of the GEMM over the padded width: (images − 1)·Hq·Wq + OH·Wq. */
  nCols: number;
  /** Byte address of the staged copy of x that the wasm row copies read (after the image). */
  stage: number;
  /** Bytes the image, its slack and the staged copy occupy from `base`. */
  bytes: number;
}

const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64;

/** True when the padded image is x itself (no padding, stride 1): it is copied in directly. */
const isDirect = (g: Im2colB): boolean => g.S === 1 && g.P === 0;

/**
 * The layout of `g`'s image(s) placed at byte address `base` (64-byte aligned by the caller);
 * `cImageStride` is the GEMM's (GemmArgs.cImageStride, used by the copy-out).
 */
export function shiftedImageLayout(g: Im2colB, base: number, cImageStride = 0): ShiftedImage {
  const Hq = Math.ceil((g.H + 2 * g.P) / g.S), Wq = Math.ceil((g.W + 2 * g.P) / g.S);
  const I = g.images ?? 1;
  // Slack: the furthest read is a discarded column up to one panel (8) plus a row beyond.
  const words = g.S * g.S * g.C * I * Hq * Wq + 2 * Wq + 64;
  const imageBytes = align64(4 * words);
  // The staged x, plus 16 bytes that copy_rows_2's last group may read past it.
  const stageBytes = isDirect(g) ? 0 : align64(4 * I * g.C * g.H * g.W + 16);
  return { base, C: g.C, S: g.S, KH: g.KH, KW: g.KW, OH: g.OH, OW: g.OW, Hq, Wq, images: I,
    cImageStride, nCols: (I - 1) * Hq * Wq + g.OH * Wq, stage: base + imageBytes,
    bytes: imageBytes + stageBytes };
}

/** Byte address of row k of B (column n' = 0). */
export function shiftedRowAddr(L: ShiftedImage, k: number): number {
  const kw = k % L.KW, kh = Math.floor(k / L.KW) % L.KH, c = Math.floor(k / (L.KW * L.KH));
  const a = kh % L.S, b = kw % L.S, dh = (kh - a) / L.S, dw = (kw - b) / L.S;
  const plane = ((a * L.S + b) * L.C + c) * L.images * L.Hq * L.Wq;
  return L.base + 4 * (plane + dh * L.Wq + dw);
}

/**
 * Write the padded, phase-split image of x (geometry g) into wasm memory at L.base, zeros
 * everywhere else in the image's span (padding, phase overhang, slack). x is first copied into
 * wasm memory whole (one memcpy, at L.stage); then, per phase (a, b) and channel c, the block
 * of rows Q_ab[c][u][v] = x[c][u·S + a − P][v·S + b − P] that falls inside x is one wasm row
 * copy (copy.ts: every value for S = 1, every second one for S = 2; a plain loop otherwise).
 */
export function writeShiftedImage(kern: Kernels, x: Float32Array, g: Im2colB,
  L: ShiftedImage): void {
  const f = new Float32Array(kern.memory.buffer);
  const { C, H, W, P, S, xOffset } = g, { Hq, Wq } = L, I = L.images, w0 = L.base / 4;
  const image = C * H * W, xis = xImageStride(g), end = L.stage / 4;
  const full = S * S * C * I * Hq * Wq;
  if (isDirect(g)) {
    // No padding: the images themselves (a 1×1 conv's B), plane c holding image i at i·H·W.
    if (I === 1) f.set(x.subarray(xOffset, xOffset + image), w0);
    for (let i = 0; i < I && I > 1; i++) {
      for (let c = 0; c < C; c++) {
        const src = xOffset + i * xis + c * H * W;
        f.set(x.subarray(src, src + H * W), w0 + (c * I + i) * H * W);
      }
    }
    f.fill(0, w0 + full, end);
    return;
  }
  for (let i = 0; i < I; i++) {
    f.set(x.subarray(xOffset + i * xis, xOffset + i * xis + image), L.stage / 4 + i * image);
  }
  f.fill(0, w0, end);
  const copy = S === 1 ? kern.copyRows1 : S === 2 ? kern.copyRows2 : stridedCopy(f, S);
  for (let a = 0; a < S; a++) {
    // Rows u and columns v whose source row / column is inside x.
    const uLo = Math.max(0, Math.ceil((P - a) / S));
    const uHi = Math.min(Hq, Math.floor((H - 1 + P - a) / S) + 1);
    for (let b = 0; b < S; b++) {
      const vLo = Math.max(0, Math.ceil((P - b) / S));
      const vHi = Math.min(Wq, Math.floor((W - 1 + P - b) / S) + 1);
      if (uHi <= uLo || vHi <= vLo) continue;
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < I; i++) {
          const plane = L.base + 4 * (((a * S + b) * C + c) * I + i) * Hq * Wq;
          const src = L.stage + 4 * (i * image + (c * H + uLo * S + a - P) * W + vLo * S + b - P);
          copy(src, 4 * S * W, plane + 4 * (uLo * Wq + vLo), 4 * Wq, uHi - uLo, vHi - vLo);
        }
      }
    }
  }
}

/** copy_rows_S as a plain loop over the memory view `f`, for strides the wasm has no copy for. */
function stridedCopy(f: Float32Array, S: number): RowCopier {
  return (src, srcRow, dst, dstRow, rows, n) => {
    for (let r = 0; r < rows; r++) {
      const s = (src + r * srcRow) / 4, d = (dst + r * dstRow) / 4;
      for (let i = 0; i < n; i++) f[d + i] = f[s + i * S];
    }
  };
}
