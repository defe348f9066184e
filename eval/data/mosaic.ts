/**
 * @file Mosaic + random affine (`MosaicDetection.__getitem__` and `random_affine` of YOLOX), the
 * default training augmentation of YOLOX (mosaic_prob 1.0; off in the last no-aug epochs).
 *
 * Mosaic for a training size H × W:
 *   centre yc = int(U(0.5H, 1.5H)), xc = int(U(0.5W, 1.5W)); images idx and 3 × randint[0, n−1];
 *   each is pulled resized to fit H × W, pasted on a 2H × 2W canvas of 114 around the centre
 *   (top-left, top-right, bottom-left, bottom-right), boxes shifted and clipped to the canvas.
 * Random affine to H × W (yolox `get_affine_matrix`), draws in this order:
 *   angle = U(−deg, deg), s = U(scale), shear_x = tan(U(±shear)°), shear_y = tan(U(±shear)°),
 *   tx = U(±translate)·W, ty = U(±translate)·H;
 *   R = [[s·cos a, s·sin a], [−s·sin a, s·cos a]];
 *   M row0 = R0 + shear_y·R1, row1 = R1 + shear_x·R0, M[:, 2] = (tx, ty).
 *   Pixels: dst(x, y) = src(M⁻¹ (x, y)), bilinear, taps outside the source read 114.
 *   Boxes: the 4 corners mapped by M, their min/max, clipped to [0, W] × [0, H]; no filter here
 *   (TrainTransform drops min(w, h) ≤ 1 later).
 * Not bit-exact with cv2.warpAffine (OpenCV quantises coordinates to 1/32 px): float64 bilinear,
 * rounded half to even. MixUp (off for yolox-tiny) is not implemented.
 */
import type { Rng } from '../../engine/rng.js';
import { roundHalfEven } from '../../engine/round.js';
import type { TargetRow } from './augment.js';
import { PAD_VALUE } from '../preprocess.js';
import { newImage8, pasteImage8, type Image8 } from './image.js';
import { resizeLinear } from '../image/resize.js';

/** What mosaic needs from a dataset: items already resized to fit the training size. */
export interface DetectionSource {
  readonly length: number;
  /** The image resized by r = min(H/h, W/w) and its targets (x1, y1, x2, y2, class) times r. */
  pullItem(index: number, inputH: number, inputW: number): { image: Image8; targets: TargetRow[] };
}

export interface MosaicOptions {
  degrees: number;
  translate: number;
  /** U(lo, hi) zoom of the affine. */
  scale: [number, number];
  shear: number;
}

/** yolox_base.py defaults. */
export const MOSAIC_DEFAULTS: MosaicOptions = {
  degrees: 10,
  translate: 0.1,
  scale: [0.5, 1.5],
  shear: 2,
};

/** The 2×3 affine matrix M (row-major, maps source to destination) drawn as YOLOX does. */
export function drawAffine(rng: Rng, W: number, H: number, o: MosaicOptions): number[] {
  const deg = Math.PI / 180;
  const angle = rng.range(-o.degrees, o.degrees) * deg;
  const s = rng.range(o.scale[0], o.scale[1]);
  const shx = Math.tan(rng.range(-o.shear, o.shear) * deg);
  const shy = Math.tan(rng.range(-o.shear, o.shear) * deg);
  const tx = rng.range(-o.translate, o.translate) * W;
  const ty = rng.range(-o.translate, o.translate) * H;
  const a = s * Math.cos(angle);
  const b = s * Math.sin(angle);
  // R = [[a, b, 0], [−b, a, 0]]
  return [a + shy * -b, b + shy * a, tx, -b + shx * a, a + shx * b, ty];
}

/** warpAffine(src, M, (W, H)), bilinear, constant border 114 (see the file header). */
export function warpAffine(src: Image8, M: readonly number[], W: number, H: number): Image8 {
  const [a, b, c, d, e, f] = M;
  const det = a * e - b * d;
  // Inverse of [[a, b, c], [d, e, f]]: x_s = ia·x + ib·y + ic, y_s = id·x + ie·y + if.
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  const ic = -(ia * c + ib * f);
  const iff = -(id * c + ie * f);
  const C = src.channels;
  const out = newImage8(W, H, C, PAD_VALUE);
  const sw = src.width;
  const sh = src.height;
  const sd = src.data;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const xs = ia * x + ib * y + ic;
      const ys = id * x + ie * y + iff;
      const x0 = Math.floor(xs);
      const y0 = Math.floor(ys);
      if (x0 < -1 || y0 < -1 || x0 >= sw || y0 >= sh) continue; // all four taps are border
      const fx = xs - x0;
      const fy = ys - y0;
      const o = (y * W + x) * C;
      // Tap offsets, or −1 for a tap outside the source (it reads the border value 114).
      const inX0 = x0 >= 0;
      const inX1 = x0 + 1 < sw;
      const inY0 = y0 >= 0;
      const inY1 = y0 + 1 < sh;
      const p00 = inX0 && inY0 ? (y0 * sw + x0) * C : -1;
      const p10 = inX1 && inY0 ? (y0 * sw + x0 + 1) * C : -1;
      const p01 = inX0 && inY1 ? ((y0 + 1) * sw + x0) * C : -1;
      const p11 = inX1 && inY1 ? ((y0 + 1) * sw + x0 + 1) * C : -1;
      for (let ch = 0; ch < C; ch++) {
        const v00 = p00 < 0 ? PAD_VALUE : sd[p00 + ch];
        const v10 = p10 < 0 ? PAD_VALUE : sd[p10 + ch];
        const v01 = p01 < 0 ? PAD_VALUE : sd[p01 + ch];
        const v11 = p11 < 0 ? PAD_VALUE : sd[p11 + ch];
        const top = v00 * (1 - fx) + v10 * fx;
        const bot = v01 * (1 - fx) + v11 * fx;
        out.data[o + ch] = Math.min(255, roundHalfEven(top * (1 - fy) + bot * fy));
      }
    }
  }
  return out;
}

/** Boxes mapped by M through their 4 corners, then clipped to [0, W] × [0, H]. */
export function affineTargets(
  targets: readonly TargetRow[],
  M: readonly number[],
  W: number,
  H: number,
): TargetRow[] {
  const [a, b, c, d, e, f] = M;
  return targets.map(([x1, y1, x2, y2, cls]): TargetRow => {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const [x, y] of [[x1, y1], [x2, y2], [x1, y2], [x2, y1]]) {
      xs.push(a * x + b * y + c);
      ys.push(d * x + e * y + f);
    }
    const clip = (v: number, hi: number): number => Math.min(hi, Math.max(0, v));
    return [
      clip(Math.min(...xs), W),
      clip(Math.min(...ys), H),
      clip(Math.max(...xs), W),
      clip(Math.max(...ys), H),
      cls,
    ];
  });
}

/**
 * One mosaic sample of size H × W starting from item `index`: the image (RGB) and its targets,
 * ready for TrainTransform (with maxLabels 120).
 */
export function mosaicSample(
  source: DetectionSource,
  index: number,
  H: number,
  W: number,
  rng: Rng,
  options: Partial<MosaicOptions> = {},
): { image: Image8; targets: TargetRow[] } {
  const o = { ...MOSAIC_DEFAULTS, ...options };
  const yc = Math.trunc(rng.range(0.5 * H, 1.5 * H));
  const xc = Math.trunc(rng.range(0.5 * W, 1.5 * W));
  const indices = [index, rng.int(source.length), rng.int(source.length), rng.int(source.length)];
  const canvas = newImage8(2 * W, 2 * H, 3, PAD_VALUE);
  const all: TargetRow[] = [];
  indices.forEach((idx, k) => {
    const item = source.pullItem(idx, H, W);
    const h0 = item.image.height;
    const w0 = item.image.width;
    const scale = Math.min(H / h0, W / w0);
    const img = resizeLinear(item.image, Math.trunc(w0 * scale), Math.trunc(h0 * scale));
    const { width: w, height: h } = img;
    // Large-canvas rectangle [lx1, lx2) and the matching crop [sx1, sx2) of the small image.
    let lx1: number, ly1: number, lx2: number, ly2: number, sx1: number, sy1: number;
    if (k === 0) [lx1, ly1, lx2, ly2] = [Math.max(xc - w, 0), Math.max(yc - h, 0), xc, yc];
    else if (k === 1) [lx1, ly1, lx2, ly2] = [xc, Math.max(yc - h, 0), Math.min(xc + w, 2 * W), yc];
    else if (k === 2) [lx1, ly1, lx2, ly2] = [Math.max(xc - w, 0), yc, xc, Math.min(2 * H, yc + h)];
    else [lx1, ly1, lx2, ly2] = [xc, yc, Math.min(xc + w, 2 * W), Math.min(2 * H, yc + h)];
    sx1 = k === 0 || k === 2 ? w - (lx2 - lx1) : 0;
    sy1 = k === 0 || k === 1 ? h - (ly2 - ly1) : 0;
    // Paste the crop: shifting the whole small image by (lx1 − sx1, ly1 − sy1) and clipping to
    // the rectangle is the same as the official slice assignment.
    const padw = lx1 - sx1;
    const padh = ly1 - sy1;
    const crop = cropImage8(img, sx1, sy1, lx2 - lx1, ly2 - ly1);
    pasteImage8(canvas, crop, lx1, ly1);
    for (const [x1, y1, x2, y2, c] of item.targets) {
      all.push([scale * x1 + padw, scale * y1 + padh, scale * x2 + padw, scale * y2 + padh, c]);
    }
  });
  for (const t of all) {
    t[0] = Math.min(2 * W, Math.max(0, t[0]));
    t[1] = Math.min(2 * H, Math.max(0, t[1]));
    t[2] = Math.min(2 * W, Math.max(0, t[2]));
    t[3] = Math.min(2 * H, Math.max(0, t[3]));
  }
  const M = drawAffine(rng, W, H, o);
  return { image: warpAffine(canvas, M, W, H), targets: affineTargets(all, M, W, H) };
}

/** The w × h block of `img` whose top-left corner is (x0, y0). */
function cropImage8(img: Image8, x0: number, y0: number, w: number, h: number): Image8 {
  const C = img.channels;
  const out = newImage8(Math.max(0, w), Math.max(0, h), C);
  for (let y = 0; y < h; y++) {
    const s = ((y0 + y) * img.width + x0) * C;
    out.data.set(img.data.subarray(s, s + w * C), y * w * C);
  }
  return out;
}
