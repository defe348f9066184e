/**
 * @file One generated image: background, clutter, 1–6 objects drawn with anti-aliasing in z-order
 * (larger first), sensor noise; and each object's COCO annotation from what is actually visible.
 *
 * Visibility: an object's visible coverage of a pixel is its coverage times (1 − coverage) of
 * every object drawn above it. COCO `area` = Σ visible coverage (a mask area, like COCO's).
 * `bbox`: per side, when the visible pixels reach as far as the unoccluded shape's pixels
 * (coverage > 0.02) the exact shape extent is used (clipped to the image); when an occluder hides
 * that side, the edge of the visible pixels (visible coverage ≥ 0.5) is used instead.
 * Placement rules: at most 15 % of an object's extent leaves the image, an object stays ≥ 50 %
 * visible after everything above it is drawn, and its colour differs from what lies beneath it
 * (RGB distance ≥ 90, best of 40 tries), so every object is learnable.
 */
import type { Rng } from '../../engine/rng.js';
import { roundHalfEven } from '../../engine/round.js';
import { fillGrain, paintBackground, paintClutter, type Canvas } from './background.js';
import {
  CLASS_COUNT,
  makeShape,
  shapeBounds,
  shapeColor,
  shapeSdf,
  type RGB,
  type ShapeInstance,
} from './shapes.js';

export interface RenderedObject {
  /** Class index 0..7 (category id − 1). */
  cls: number;
  /** COCO [x, y, w, h] of the visible object. */
  bbox: [number, number, number, number];
  area: number;
}

export interface RenderedImage {
  width: number;
  height: number;
  /** RGB, HWC. */
  rgb: Uint8Array;
  objects: RenderedObject[];
}

/** An object on the canvas: its pixel window, coverage and visible coverage there (exported with
 * rasterise/occlude/annotate for the tests). */
export interface Placed {
  shape: ShapeInstance;
  x0: number;
  y0: number;
  w: number;
  h: number;
  cov: Float32Array;
  vis: Float32Array;
  /** Σ coverage of the whole shape, inside the image or not. */
  fullArea: number;
}

// Nominal size ranges (pixels, for a 160 px image; scaled with the image size).
const SIZE_CLASSES = [
  { p: 0.3, lo: 12, hi: 28 },
  { p: 0.5, lo: 32, hi: 84 },
  { p: 0.2, lo: 100, hi: 148 },
];
const OBJECT_COUNT_WEIGHTS = [0.14, 0.24, 0.26, 0.2, 0.1, 0.06]; // 1..6 objects

function pickWeighted(rng: Rng, weights: readonly number[]): number {
  let u = rng.uniform() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return weights.length - 1;
}

/** Rasterises coverage of `shape` over its (clipped) window. */
export function rasterise(shape: ShapeInstance, W: number, H: number): Placed | null {
  const [bx0, by0, bx1, by1] = shapeBounds(shape);
  const fx0 = Math.floor(bx0) - 1;
  const fy0 = Math.floor(by0) - 1;
  const fx1 = Math.ceil(bx1) + 1;
  const fy1 = Math.ceil(by1) + 1;
  const x0 = Math.max(0, fx0);
  const y0 = Math.max(0, fy0);
  const w = Math.min(W, fx1) - x0;
  const h = Math.min(H, fy1) - y0;
  if (w <= 0 || h <= 0) return null;
  const cov = new Float32Array(w * h);
  let fullArea = 0;
  for (let y = fy0; y < fy1; y++) {
    for (let x = fx0; x < fx1; x++) {
      const c = Math.min(1, Math.max(0, 0.5 - shapeSdf(shape, x + 0.5, y + 0.5)));
      fullArea += c;
      if (x >= x0 && y >= y0 && x < x0 + w && y < y0 + h) cov[(y - y0) * w + (x - x0)] = c;
    }
  }
  return { shape, x0, y0, w, h, cov, vis: cov.slice(), fullArea };
}

/** The pixel rectangle [xs, xe) × [ys, ye) where the bounding boxes of a and b overlap. */
function overlap(a: Placed, b: Placed): { xs: number; xe: number; ys: number; ye: number } {
  return {
    xs: Math.max(a.x0, b.x0),
    xe: Math.min(a.x0 + a.w, b.x0 + b.w),
    ys: Math.max(a.y0, b.y0),
    ye: Math.min(a.y0 + a.h, b.y0 + b.h),
  };
}

/** Σ over the overlap of a's visible coverage that b (drawn above a) would hide. */
function hiddenBy(a: Placed, b: Placed): number {
  let hidden = 0;
  const { xs, xe, ys, ye } = overlap(a, b);
  for (let y = ys; y < ye; y++) {
    for (let x = xs; x < xe; x++) {
      hidden += a.vis[(y - a.y0) * a.w + (x - a.x0)] * b.cov[(y - b.y0) * b.w + (x - b.x0)];
    }
  }
  return hidden;
}

/** Hides `a` under `b` (drawn above it): a.vis ×= 1 − b.cov on their overlap. */
export function occlude(a: Placed, b: Placed): void {
  const { xs, xe, ys, ye } = overlap(a, b);
  for (let y = ys; y < ye; y++) {
    for (let x = xs; x < xe; x++) {
      a.vis[(y - a.y0) * a.w + (x - a.x0)] *= 1 - b.cov[(y - b.y0) * b.w + (x - b.x0)];
    }
  }
}

function sumOf(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}
const dist = (a: readonly number[], b: readonly number[]): number =>
  Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

/** The coverage-weighted mean canvas colour under a placed window. */
function meanUnder(cv: Canvas, p: Placed): RGB {
  const m: RGB = [0, 0, 0];
  let wsum = 0;
  for (let y = 0; y < p.h; y++) {
    for (let x = 0; x < p.w; x++) {
      const c = p.cov[y * p.w + x];
      const o = ((p.y0 + y) * cv.width + p.x0 + x) * 3;
      for (let k = 0; k < 3; k++) m[k] += c * cv.data[o + k];
      wsum += c;
    }
  }
  return m.map((v) => v / Math.max(wsum, 1e-9)) as RGB;
}

/** A colour at RGB distance ≥ minDist from every colour in `avoid` (best of 40 tries). */
function contrastingColor(rng: Rng, avoid: readonly RGB[], minDist: number): RGB {
  let best: RGB = [0, 0, 0];
  let bestD = -1;
  for (let t = 0; t < 40; t++) {
    const c: RGB = [rng.range(0, 256), rng.range(0, 256), rng.range(0, 256)];
    const d = Math.min(...avoid.map((a) => dist(a, c)));
    if (d > bestD) [best, bestD] = [c, d];
    if (d >= minDist) break;
  }
  return best;
}

/** Composites a placed object onto the canvas (coverage as alpha). */
function composite(cv: Canvas, p: Placed): void {
  const col = new Float32Array(3);
  for (let y = 0; y < p.h; y++) {
    for (let x = 0; x < p.w; x++) {
      const a = p.cov[y * p.w + x];
      if (a === 0) continue;
      shapeColor(p.shape, p.x0 + x + 0.5, p.y0 + y + 0.5, col);
      const o = ((p.y0 + y) * cv.width + p.x0 + x) * 3;
      for (let k = 0; k < 3; k++) cv.data[o + k] += (col[k] - cv.data[o + k]) * a;
    }
  }
}

/** COCO bbox and area of a placed object from its visible coverage, or null if too little shows. */
export function annotate(p: Placed, W: number, H: number): RenderedObject | null {
  const area = sumOf(p.vis);
  if (area < 12) return null;
  const ext = (m: Float32Array, thr: number): number[] | null => {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let y = 0; y < p.h; y++) {
      for (let x = 0; x < p.w; x++) {
        if (m[y * p.w + x] < thr) continue;
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x + 1);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y + 1);
      }
    }
    return x0 === Infinity ? null : [x0 + p.x0, y0 + p.y0, x1 + p.x0, y1 + p.y0];
  };
  const full = ext(p.cov, 0.02);
  const seen = ext(p.vis, 0.02);
  const half = ext(p.vis, 0.5) ?? seen;
  if (full === null || seen === null || half === null) return null;
  const [ax0, ay0, ax1, ay1] = shapeBounds(p.shape);
  const exact = [Math.max(0, ax0), Math.max(0, ay0), Math.min(W, ax1), Math.min(H, ay1)];
  const box = [0, 1, 2, 3].map((k) => (seen[k] === full[k] ? exact[k] : half[k]));
  const r2 = (v: number): number => roundHalfEven(v * 100) / 100;
  const bw = r2(box[2]) - r2(box[0]);
  const bh = r2(box[3]) - r2(box[1]);
  if (bw < 2 || bh < 2) return null;
  return { cls: p.shape.cls, bbox: [r2(box[0]), r2(box[1]), r2(bw), r2(bh)], area: r2(area) };
}

/** Renders the image of `rng` at size × size. */
export function renderImage(rng: Rng, size: number): RenderedImage {
  const W = size;
  const H = size;
  const cv: Canvas = { width: W, height: H, data: new Float32Array(W * H * 3) };
  paintBackground(rng, cv);
  paintClutter(rng, cv);
  const scale = size / 160;
  const n = 1 + pickWeighted(rng, OBJECT_COUNT_WEIGHTS);
  const sizes: number[] = [];
  let large = 0;
  for (let i = 0; i < n; i++) {
    let k = pickWeighted(rng, SIZE_CLASSES.map((c) => c.p));
    if (k === 2 && large++ > 0) k = 1;
    const { lo, hi } = SIZE_CLASSES[k];
    sizes.push(Math.exp(rng.range(Math.log(lo), Math.log(hi))) * scale);
  }
  sizes.sort((a, b) => b - a);
  const placed: Placed[] = [];
  for (const s of sizes) {
    const cls = rng.int(CLASS_COUNT);
    for (let attempt = 0; attempt < 20; attempt++) {
      const m = 0.35 * s;
      const cx = rng.range(Math.min(m, W / 2), Math.max(W - m, W / 2));
      const cy = rng.range(Math.min(m, H / 2), Math.max(H - m, H / 2));
      const geom = makeShape(rng, cls, cx, cy, s, [0, 0, 0], [0, 0, 0]);
      const p = rasterise(geom, W, H);
      if (p === null || sumOf(p.cov) < 0.6 * p.fullArea) continue;
      if (placed.some((q) => sumOf(q.vis) - hiddenBy(q, p) < 0.5 * q.fullArea)) continue;
      const under = meanUnder(cv, p);
      geom.color = contrastingColor(rng, [under], 90);
      geom.color2 = contrastingColor(rng, [under, geom.color], 70);
      for (const q of placed) occlude(q, p);
      composite(cv, p);
      placed.push(p);
      break;
    }
  }
  const noise = fillGrain(rng, new Float32Array(W * H * 3), rng.range(0, 5));
  const rgb = new Uint8Array(W * H * 3);
  for (let i = 0; i < rgb.length; i++) {
    const v = roundHalfEven(cv.data[i] + noise[i]);
    rgb[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  const objects: RenderedObject[] = [];
  for (const p of placed) {
    const a = annotate(p, W, H);
    if (a !== null) objects.push(a);
  }
  return { width: W, height: H, rgb, objects };
}
