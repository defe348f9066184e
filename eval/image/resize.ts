/**
 * @file Bilinear resize of an 8-bit image, bit-exact with OpenCV's `cv2.resize(..., INTER_LINEAR)`
 * for uint8 (the fixed-point rule measured in shared/reference/yolox.md §2.1).
 *
 * Legend: W, H source size; w, h destination size; C channels; x/y destination, sx/sy source.
 * Per destination column x (rows alike, with H and h):
 *   scale = 1 / (w / W)  (float64),   fx = f32((x + 0.5)·scale − 0.5),   sx = floor(fx),  fx −= sx;
 *   sx < 0 → (sx, fx) = (0, 0);   sx ≥ W − 1 → (sx, fx) = (W − 1, 0);
 *   a0 = rhe(2048·f32(1 − fx)),  a1 = rhe(2048·fx)     (OpenCV keeps 1 − fx in a float32).
 * Horizontal pass (int): T[x] = p[sx]·a0 + p[sx + 1]·a1.
 * Vertical pass, the SIMD formula OpenCV actually runs for uint8:
 *   v = ((T0 >> 4)·b0 >> 16) + ((T1 >> 4)·b1 >> 16),   out = clamp((v + 2) >> 2, 0, 255).
 * Equal sizes copy; an exact 2× shrink of both axes switches to INTER_AREA (rounded 2×2 mean), as
 * OpenCV does.
 */
import { roundHalfEven } from '../../engine/round.js';
import type { Image8 } from './image8.js';

/** Per destination position: first source tap (the second is tap + 1, clamped) and weights. */
interface AxisTaps {
  readonly src: Int32Array;
  readonly w0: Int32Array;
  readonly w1: Int32Array;
}

function axisTaps(srcLen: number, dstLen: number): AxisTaps {
  const scale = 1 / (dstLen / srcLen);
  const src = new Int32Array(dstLen);
  const w0 = new Int32Array(dstLen);
  const w1 = new Int32Array(dstLen);
  for (let d = 0; d < dstLen; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f -= s; // exact in float32
    if (s < 0) {
      s = 0;
      f = 0;
    }
    if (s >= srcLen - 1) {
      s = srcLen - 1;
      f = 0;
    }
    src[d] = s;
    w0[d] = roundHalfEven(2048 * Math.fround(1 - f));
    w1[d] = roundHalfEven(2048 * f);
  }
  return { src, w0, w1 };
}

/** OpenCV INTER_AREA for an exact factor-2 shrink: out = (a + b + c + d + 2) >> 2. */
function halve(img: Image8): Image8 {
  const { width: W, channels: C } = img;
  const w = W / 2;
  const h = img.height / 2;
  const out = new Uint8Array(w * h * C);
  const row = W * C;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = 2 * y * row + 2 * x * C;
      const q = (y * w + x) * C;
      for (let c = 0; c < C; c++) {
        const s = img.data[p + c] + img.data[p + C + c]
          + img.data[p + row + c] + img.data[p + row + C + c];
        out[q + c] = (s + 2) >> 2;
      }
    }
  }
  return { width: w, height: h, channels: C, data: out };
}

/** `img` resized to w × h with OpenCV's uint8 INTER_LINEAR (see the file header). */
export function resizeLinear(img: Image8, w: number, h: number): Image8 {
  const { width: W, height: H, channels: C } = img;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w <= 0 || h <= 0) {
    throw new Error(`resizeLinear: bad size ${w}×${h}`);
  }
  if (w === W && h === H) return { width: W, height: H, channels: C, data: img.data.slice() };
  if (2 * w === W && 2 * h === H) return halve(img);
  const xt = axisTaps(W, w);
  const yt = axisTaps(H, h);
  // Horizontal pass of every source row, computed lazily: T[sy][x·C + c].
  const rows: (Int32Array | undefined)[] = new Array(H);
  const hRow = (sy: number): Int32Array => {
    let t = rows[sy];
    if (t !== undefined) return t;
    t = new Int32Array(w * C);
    const base = sy * W * C;
    for (let x = 0; x < w; x++) {
      const s0 = base + xt.src[x] * C;
      const s1 = xt.src[x] + 1 < W ? s0 + C : s0;
      const a0 = xt.w0[x];
      const a1 = xt.w1[x];
      for (let c = 0; c < C; c++) t[x * C + c] = img.data[s0 + c] * a0 + img.data[s1 + c] * a1;
    }
    rows[sy] = t;
    return t;
  };
  const out = new Uint8Array(w * h * C);
  for (let y = 0; y < h; y++) {
    const sy = yt.src[y];
    const t0 = hRow(sy);
    const t1 = hRow(sy + 1 < H ? sy + 1 : sy);
    const b0 = yt.w0[y];
    const b1 = yt.w1[y];
    const o = y * w * C;
    for (let i = 0; i < w * C; i++) {
      const v = (((t0[i] >> 4) * b0) >> 16) + (((t1[i] >> 4) * b1) >> 16);
      const r = (v + 2) >> 2;
      out[o + i] = r < 0 ? 0 : r > 255 ? 255 : r;
    }
  }
  return { width: w, height: h, channels: C, data: out };
}
