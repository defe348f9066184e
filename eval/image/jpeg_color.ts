/**
 * @file libjpeg-turbo's chroma upsampling and YCbCr → RGB conversion, applied to jpeg-js's raw
 * components, so a decoded JPEG matches OpenCV's imread (libjpeg-turbo) up to IDCT rounding.
 *
 * jpeg-js replicates subsampled chroma (nearest) and converts colour in floating point; libjpeg
 * (do_fancy_upsampling, the default) interpolates with a triangle filter and converts in 16-bit
 * fixed point. We decode with jpeg-js' colour transform off, take every sx-th / sy-th chroma sample
 * (exactly the subsampled plane, since replication is lossless), then, per libjpeg jdsample.c:
 *   h2v1: out(2i) = (3·c_i + c_{i−1} + 1) >> 2,  out(2i+1) = (3·c_i + c_{i+1} + 2) >> 2
 *         (first output = c_0, last output = c_last)
 *   h1v2: row 2j  = (3·c_j + c_{j−1} + 1) >> 2,  row 2j+1 = (3·c_j + c_{j+1} + 2) >> 2
 *         (rows above/below the image replicate the edge row)
 *   h2v2: column sums t_i = 3·c_{j,i} + c_{j∓1,i} (nearer row ×3), then
 *         out(2i) = (3·t_i + t_{i−1} + 8) >> 4,  out(2i+1) = (3·t_i + t_{i+1} + 7) >> 4
 *         (first column 4·t_0 + 8, last column 4·t_last + 7)
 *   other ratios: replication (libjpeg's int_upsample).
 * Colour (jdcolor.c, SCALEBITS 16, FIX(x) = round(x·2¹⁶)), with Cb, Cr centred on 128:
 *   R = Y + ((FIX(1.402)·Cr + 2¹⁵) >> 16),  B = Y + ((FIX(1.772)·Cb + 2¹⁵) >> 16),
 *   G = Y + ((−FIX(0.34414)·Cb − FIX(0.71414)·Cr + 2¹⁵) >> 16),  each clamped to 0..255.
 * Measured on dog.jpg (4:4:0): max 3, mean 0.14 levels from OpenCV (jpeg-js alone: 34, 0.91).
 */
import type { Image8 } from './image8.js';

/** Sampling factors of each component and whether the three components are YCbCr. */
export interface JpegLayout {
  readonly factors: readonly { h: number; v: number }[];
  readonly ycc: boolean;
}

/** Reads the frame header (SOFn) and Adobe APP14 of a JPEG; null if not found. */
export function jpegLayout(b: Uint8Array): JpegLayout | null {
  let p = 2;
  let adobeTransform = -1;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) return null;
    const m = b[p + 1];
    if (m === 0xff) {
      p += 1;
      continue;
    }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      p += 2;
      continue;
    }
    const len = (b[p + 2] << 8) | b[p + 3];
    if (m === 0xee && len >= 12 && String.fromCharCode(...b.subarray(p + 4, p + 9)) === 'Adobe') {
      adobeTransform = b[p + 15];
    }
    const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (isSof) {
      const n = b[p + 9];
      if (p + 10 + 3 * n > b.length) return null;
      const factors: { h: number; v: number }[] = [];
      const ids: number[] = [];
      for (let i = 0; i < n; i++) {
        ids.push(b[p + 10 + 3 * i]);
        const f = b[p + 11 + 3 * i];
        factors.push({ h: f >> 4, v: f & 15 });
      }
      // libjpeg: Adobe transform 0 means RGB; without Adobe, component ids 'R','G','B' mean RGB.
      const rgbIds = n === 3 && ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42;
      return { factors, ycc: n === 3 && adobeTransform !== 0 && !(adobeTransform < 0 && rgbIds) };
    }
    p += 2 + len;
  }
  return null;
}

/** A chroma plane (cw × ch) upsampled to W × H by the libjpeg rule for factors (sx, sy). */
export function upsampleChroma(
  c: Int32Array, cw: number, ch: number, sx: number, sy: number, W: number, H: number,
): Int32Array {
  const out = new Int32Array(W * H);
  const at = (x: number, y: number) =>
    c[Math.min(Math.max(y, 0), ch - 1) * cw + Math.min(Math.max(x, 0), cw - 1)];
  for (let y = 0; y < H; y++) {
    const j = Math.floor(y / sy);
    const far = y % 2 === 0 ? j - 1 : j + 1; // the farther row for vertical interpolation
    for (let x = 0; x < W; x++) {
      const i = Math.floor(x / sx);
      let v: number;
      if (sx === 2 && sy === 2) {
        const t = (k: number) => 3 * at(k, j) + at(k, far);
        if (x % 2 === 0) v = i === 0 ? (4 * t(0) + 8) >> 4 : (3 * t(i) + t(i - 1) + 8) >> 4;
        else v = i === cw - 1 ? (4 * t(i) + 7) >> 4 : (3 * t(i) + t(i + 1) + 7) >> 4;
      } else if (sx === 2 && sy === 1) {
        if (x % 2 === 0) v = i === 0 ? at(0, j) : (3 * at(i, j) + at(i - 1, j) + 1) >> 2;
        else v = i === cw - 1 ? at(i, j) : (3 * at(i, j) + at(i + 1, j) + 2) >> 2;
      } else if (sx === 1 && sy === 2) {
        v = (3 * at(i, j) + at(i, far) + (y % 2 === 0 ? 1 : 2)) >> 2;
      } else {
        v = at(i, j);
      }
      out[y * W + x] = v;
    }
  }
  return out;
}

const FIX = (x: number) => Math.floor(x * 65536 + 0.5);
const CR_R = FIX(1.402), CB_B = FIX(1.772), CB_G = FIX(0.34414), CR_G = FIX(0.71414);
const clamp8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/**
 * RGB from jpeg-js raw (colour-transform-off, chroma replicated) 3-component data, converted the
 * libjpeg way. Returns null when the layout is not YCbCr with luma at full resolution.
 */
export function libjpegColor(raw: Image8, layout: JpegLayout): Image8 | null {
  const f = layout.factors;
  if (!layout.ycc || f.length !== 3 || raw.channels !== 3) return null;
  const maxH = Math.max(...f.map((c) => c.h)), maxV = Math.max(...f.map((c) => c.v));
  if (f[0].h !== maxH || f[0].v !== maxV) return null;
  const { width: W, height: H, data } = raw;
  const planes = [1, 2].map((k) => {
    const sx = maxH / f[k].h, sy = maxV / f[k].v;
    if (!Number.isInteger(sx) || !Number.isInteger(sy)) return null;
    const cw = Math.ceil(W / sx), ch = Math.ceil(H / sy);
    if (sx === 1 && sy === 1) return Int32Array.from({ length: W * H }, (_, p) => data[3 * p + k]);
    const c = new Int32Array(cw * ch);
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) c[y * cw + x] = data[(y * sy * W + x * sx) * 3 + k];
    }
    return upsampleChroma(c, cw, ch, sx, sy, W, H);
  });
  const [cb, cr] = planes;
  if (cb === null || cr === null) return null;
  const out = new Uint8Array(W * H * 3);
  for (let p = 0; p < W * H; p++) {
    const y = data[3 * p], b = cb[p] - 128, r = cr[p] - 128;
    out[3 * p] = clamp8(y + ((CR_R * r + 32768) >> 16));
    out[3 * p + 1] = clamp8(y + ((-CB_G * b - CR_G * r + 32768) >> 16));
    out[3 * p + 2] = clamp8(y + ((CB_B * b + 32768) >> 16));
  }
  return { width: W, height: H, channels: 3, data: out };
}
