/**
 * @file Backgrounds and clutter of the generated images, painted into a float RGB canvas
 * (HWC, 0..255). Clutter is deliberately unlike the object classes: thin anti-aliased lines and
 * soft Gaussian blobs (no crisp filled shapes), so it is not an object but still has to be
 * ignored by the detector.
 *
 * Background kinds (equally likely):
 *   0 linear gradient between two colours along a random direction;
 *   1 radial gradient around a random centre;
 *   2 smooth value noise: random colours on a coarse grid (cell 16–48 px), smoothstep-blended;
 *   3 flat colour with coarse grain (per-pixel noise σ 8–18, drawn once).
 */
import type { Rng } from '../../engine/rng.js';

export type Canvas = { width: number; height: number; data: Float32Array };

function randomColor(rng: Rng): [number, number, number] {
  return [rng.range(0, 256), rng.range(0, 256), rng.range(0, 256)];
}

/**
 * Zero-mean noise with standard deviation ≈ sigma, two values per random uint32: each value is
 * (a + b − 255)/255 from two random bytes (triangular, variance 1/6, hence the 0.408 = √(1/6)).
 */
export function fillGrain(rng: Rng, out: Float32Array, sigma: number): Float32Array {
  const k = sigma / 255 / 0.408;
  for (let i = 0; i < out.length; i += 2) {
    const r = rng.nextU32();
    out[i] = ((r & 255) + ((r >>> 8) & 255) - 255) * k;
    if (i + 1 < out.length) out[i + 1] = (((r >>> 16) & 255) + (r >>> 24) - 255) * k;
  }
  return out;
}

const smooth = (t: number): number => t * t * (3 - 2 * t);

/** Fills the canvas with one of the four background kinds. */
export function paintBackground(rng: Rng, cv: Canvas): void {
  const { width: W, height: H, data } = cv;
  const kind = rng.int(4);
  const c0 = randomColor(rng);
  const c1 = randomColor(rng);
  if (kind === 0 || kind === 1) {
    const a = rng.range(0, 2 * Math.PI);
    const dx = Math.cos(a);
    const dy = Math.sin(a);
    const px = rng.range(0, W);
    const py = rng.range(0, H);
    const span = rng.range(0.5, 1.5) * Math.max(W, H);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const t0 = kind === 0
          ? ((x - W / 2) * dx + (y - H / 2) * dy) / span + 0.5
          : Math.hypot(x - px, y - py) / span;
        const t = Math.min(1, Math.max(0, t0));
        const o = (y * W + x) * 3;
        for (let k = 0; k < 3; k++) data[o + k] = c0[k] + (c1[k] - c0[k]) * t;
      }
    }
  } else if (kind === 2) {
    const cell = rng.range(16, 48);
    const gw = Math.ceil(W / cell) + 2;
    const gh = Math.ceil(H / cell) + 2;
    const grid = new Float32Array(gw * gh * 3);
    for (let i = 0; i < gw * gh; i++) {
      const t = rng.uniform();
      for (let k = 0; k < 3; k++) {
        grid[i * 3 + k] = c0[k] + (c1[k] - c0[k]) * t + rng.range(-30, 30);
      }
    }
    for (let y = 0; y < H; y++) {
      const gy = y / cell;
      const iy = Math.floor(gy);
      const fy = smooth(gy - iy);
      for (let x = 0; x < W; x++) {
        const gx = x / cell;
        const ix = Math.floor(gx);
        const fx = smooth(gx - ix);
        const o = (y * W + x) * 3;
        const g00 = (iy * gw + ix) * 3;
        const g10 = g00 + 3;
        const g01 = g00 + gw * 3;
        const g11 = g01 + 3;
        for (let k = 0; k < 3; k++) {
          const top = grid[g00 + k] * (1 - fx) + grid[g10 + k] * fx;
          const bot = grid[g01 + k] * (1 - fx) + grid[g11 + k] * fx;
          data[o + k] = top * (1 - fy) + bot * fy;
        }
      }
    }
  } else {
    const noise = fillGrain(rng, new Float32Array(W * H), rng.range(8, 18));
    for (let i = 0; i < W * H; i++) {
      for (let k = 0; k < 3; k++) data[i * 3 + k] = c0[k] + noise[i];
    }
  }
}

/** Blends `color` into the canvas pixel `i` with weight `alpha`. */
function blend(data: Float32Array, i: number, color: readonly number[], alpha: number): void {
  const o = i * 3;
  for (let k = 0; k < 3; k++) data[o + k] += (color[k] - data[o + k]) * alpha;
}

/** An anti-aliased line segment of the given half thickness. */
function paintLine(rng: Rng, cv: Canvas): void {
  const { width: W, height: H } = cv;
  const ax = rng.range(-10, W + 10);
  const ay = rng.range(-10, H + 10);
  const len = rng.range(20, 1.2 * W);
  const a = rng.range(0, 2 * Math.PI);
  const bx = ax + len * Math.cos(a);
  const by = ay + len * Math.sin(a);
  const half = rng.range(0.4, 1.2);
  const color = randomColor(rng);
  const alpha = rng.range(0.4, 1);
  const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - half - 1));
  const x1 = Math.min(W - 1, Math.ceil(Math.max(ax, bx) + half + 1));
  const y0 = Math.max(0, Math.floor(Math.min(ay, by) - half - 1));
  const y1 = Math.min(H - 1, Math.ceil(Math.max(ay, by) + half + 1));
  const ex = bx - ax;
  const ey = by - ay;
  const ee = ex * ex + ey * ey;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const wx = x + 0.5 - ax;
      const wy = y + 0.5 - ay;
      const t = Math.min(1, Math.max(0, (wx * ex + wy * ey) / ee));
      const d = Math.hypot(wx - ex * t, wy - ey * t) - half;
      const cov = Math.min(1, Math.max(0, 0.5 - d));
      if (cov > 0) blend(cv.data, y * W + x, color, cov * alpha);
    }
  }
}

/** A soft Gaussian blob: weight alpha·exp(−r²/2σ²), no hard edge. */
function paintBlob(rng: Rng, cv: Canvas): void {
  const { width: W, height: H } = cv;
  const cx = rng.range(0, W);
  const cy = rng.range(0, H);
  const sigma = rng.range(3, 16);
  const color = randomColor(rng);
  const alpha = rng.range(0.3, 0.7);
  const reach = 3 * sigma;
  const x0 = Math.max(0, Math.floor(cx - reach));
  const x1 = Math.min(W - 1, Math.ceil(cx + reach));
  const y0 = Math.max(0, Math.floor(cy - reach));
  const y1 = Math.min(H - 1, Math.ceil(cy + reach));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const r2 = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2;
      blend(cv.data, y * W + x, color, alpha * Math.exp(-r2 / (2 * sigma * sigma)));
    }
  }
}

/** 0–7 clutter items (lines or blobs). */
export function paintClutter(rng: Rng, cv: Canvas): void {
  const n = rng.int(8);
  for (let i = 0; i < n; i++) {
    if (rng.uniform() < 0.6) paintLine(rng, cv);
    else paintBlob(rng, cv);
  }
}
