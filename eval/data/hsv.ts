/**
 * @file YOLOX's colour augmentation (`augment_hsv` of yolox/data/data_augment.py, current version):
 * integer offsets added to an 8-bit HSV image, then back to RGB.
 *
 * Offsets: g = U(−1, 1)³ · (hgain 5, sgain 30, vgain 30), each kept with probability ½ (the
 * official `randint(0, 2, 3)` mask), truncated toward zero (numpy `astype(int16)`).
 *   H' = (H + dh) mod 180 (non-negative, Python modulo),  S' = clamp(S + ds, 0, 255),
 *   V' = clamp(V + dv, 0, 255).
 * The 8-bit HSV conversions follow OpenCV's formulas for CV_8U (H in [0, 180), S, V in [0, 255]):
 *   V = max, S = rhe(diff·255/V) as a 12-bit fixed-point division, H = 30·(sector + fraction)
 *   the same way; back: float32 sector arithmetic, then rounded ×255. Not checked bit-exact
 *   against OpenCV (no OpenCV here); a colour augmentation only needs the same distribution.
 */
import { roundHalfEven } from '../../engine/round.js';
import type { Rng } from '../../engine/rng.js';
import type { Image8 } from './image.js';

export interface HsvGains {
  hgain: number;
  sgain: number;
  vgain: number;
}

export const YOLOX_HSV_GAINS: HsvGains = { hgain: 5, sgain: 30, vgain: 30 };

const SHIFT = 12;
const HALF = 1 << (SHIFT - 1);
// OpenCV's division tables: sdiv[v] = rhe(255·2^12 / v), hdiv[d] = rhe(180·2^12 / (6·d)).
const SDIV = new Int32Array(256);
const HDIV = new Int32Array(256);
for (let i = 1; i < 256; i++) {
  SDIV[i] = roundHalfEven((255 << SHIFT) / i);
  HDIV[i] = roundHalfEven((180 << SHIFT) / (6 * i));
}

/** One RGB pixel to 8-bit HSV, written to out[0..2]. */
export function rgbToHsv8(r: number, g: number, b: number, out: Int32Array): void {
  const v = Math.max(r, g, b);
  const diff = v - Math.min(r, g, b);
  const s = (diff * SDIV[v] + HALF) >> SHIFT;
  let h: number;
  if (v === r) h = g - b;
  else if (v === g) h = b - r + 2 * diff;
  else h = r - g + 4 * diff;
  h = (h * HDIV[diff] + HALF) >> SHIFT;
  if (h < 0) h += 180;
  out[0] = h;
  out[1] = s;
  out[2] = v;
}

// (b, g, r) take tab[SECTOR[k][0..2]] with tab = [v, v(1−s), v(1−s·f), v(1−s(1−f))].
const SECTOR = new Int32Array([1, 3, 0, 1, 0, 2, 3, 0, 1, 0, 2, 1, 0, 1, 3, 2, 1, 0]);
const TAB = new Float32Array(4);

/** One 8-bit HSV pixel back to RGB, written to out[0..2]. */
export function hsv8ToRgb(h: number, s: number, v: number, out: Int32Array): void {
  const f32 = Math.fround;
  const sf = f32(s * f32(1 / 255));
  const vf = f32(v * f32(1 / 255));
  let hf = f32(h * f32(6 / 180));
  let b: number;
  let g: number;
  let r: number;
  if (sf === 0) {
    b = g = r = vf;
  } else {
    while (hf < 0) hf = f32(hf + 6);
    while (hf >= 6) hf = f32(hf - 6);
    let sector = Math.floor(hf);
    hf = f32(hf - sector);
    if (sector < 0 || sector >= 6) {
      sector = 0;
      hf = 0;
    }
    TAB[0] = vf;
    TAB[1] = vf * f32(1 - sf);
    TAB[2] = vf * f32(1 - f32(sf * hf));
    TAB[3] = vf * f32(1 - f32(sf * f32(1 - hf)));
    b = TAB[SECTOR[3 * sector]];
    g = TAB[SECTOR[3 * sector + 1]];
    r = TAB[SECTOR[3 * sector + 2]];
  }
  out[0] = to8(r);
  out[1] = to8(g);
  out[2] = to8(b);
}

/** float32(x·255) rounded half to even and clamped to 0..255. */
function to8(x: number): number {
  const v = roundHalfEven(Math.fround(x * 255));
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Draws the three offsets as the official code does (uniform, ½-probability mask, truncation). */
export function drawHsvOffsets(
  rng: Rng,
  gains: HsvGains = YOLOX_HSV_GAINS,
): [number, number, number] {
  const u = [rng.range(-1, 1), rng.range(-1, 1), rng.range(-1, 1)];
  const keep = [rng.int(2), rng.int(2), rng.int(2)];
  const g = [gains.hgain, gains.sgain, gains.vgain];
  return [0, 1, 2].map((i) => Math.trunc(u[i] * g[i] * keep[i])) as [number, number, number];
}

/** A new RGB image with the HSV offsets (dh, ds, dv) applied (see the file header). */
export function applyHsvOffsets(img: Image8, [dh, ds, dv]: readonly number[]): Image8 {
  const out = new Uint8Array(img.data.length);
  const hsv = new Int32Array(3);
  const rgb = new Int32Array(3);
  const C = img.channels;
  for (let p = 0; p < img.data.length; p += C) {
    rgbToHsv8(img.data[p], img.data[p + 1], img.data[p + 2], hsv);
    const h = (((hsv[0] + dh) % 180) + 180) % 180;
    const s = Math.min(255, Math.max(0, hsv[1] + ds));
    const v = Math.min(255, Math.max(0, hsv[2] + dv));
    hsv8ToRgb(h, s, v, rgb);
    out[p] = rgb[0];
    out[p + 1] = rgb[1];
    out[p + 2] = rgb[2];
    for (let c = 3; c < C; c++) out[p + c] = img.data[p + c];
  }
  return { width: img.width, height: img.height, channels: C, data: out };
}

/** `augment_hsv`: random offsets from `rng`, applied to a copy. */
export function augmentHsv(img: Image8, rng: Rng, gains: HsvGains = YOLOX_HSV_GAINS): Image8 {
  return applyHsvOffsets(img, drawHsvOffsets(rng, gains));
}
