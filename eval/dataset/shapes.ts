/**
 * @file The eight object classes of the generated dataset as geometry: a signed distance (pixels,
 * negative inside), a colour at each point (solid with shading, stripes or checkers), and the exact
 * bounding box.
 *
 * Geometry in image pixels; a pixel (x, y) is the square [x, x+1) × [y, y+1), sampled at its
 * centre (x + 0.5, y + 0.5). Anti-aliased coverage of a pixel = clamp(0.5 − sdf(centre), 0, 1)
 * (the area of the shape inside the pixel for a straight edge at any offset along an axis).
 * Local coordinates (u, v) are the image coordinates relative to the centre rotated by −angle.
 *
 * | class        | geometry (s = nominal size)                                     |
 * |--------------|-----------------------------------------------------------------|
 * | circle       | disc, radius s/2                                                |
 * | square       | rectangle s·√a × s/√a, a ∈ [0.75, 1.33], rotated ±15°           |
 * | triangle     | equilateral, side s, any rotation                               |
 * | star         | 5 points, outer radius s/2, inner 0.45·outer, any rotation      |
 * | ring         | annulus, outer s/2, inner 0.55·outer                            |
 * | cross        | plus sign, arms s long and 0.34·s wide, rotated ±20°            |
 * | striped_box  | rectangle (a ∈ [0.6, 1.6]) with two-colour stripes              |
 * | checker_disc | disc radius s/2 with a two-colour checkerboard                  |
 */
import type { Rng } from '../../engine/rng.js';

export type RGB = [number, number, number];

export const CLASS_COUNT = 8;

export interface ShapeInstance {
  cls: number;
  cx: number;
  cy: number;
  size: number;
  angle: number;
  color: RGB;
  /** Second colour of stripes and checkers. */
  color2: RGB;
  /** Linear shading across the shape: colour · (1 + shade · u / (s/2)). */
  shade: number;
  /** Stripe / checker period in pixels. */
  period: number;
  /** Either a polygon (vertices in image pixels, x0 y0 x1 y1 …) or a disc/annulus. */
  poly: Float64Array | null;
  radius: number;
  innerRadius: number;
  /** cos and sin of angle (for the local frame). */
  cos: number;
  sin: number;
}

/** Polygon vertices of a shape centred at the origin (local u, v), before rotation. */
function localPolygon(cls: number, s: number, aspect: number): number[] {
  const rect = (w: number, h: number): number[] =>
    [-w / 2, -h / 2, w / 2, -h / 2, w / 2, h / 2, -w / 2, h / 2];
  switch (cls) {
    case 1:
    case 6:
      return rect(s * Math.sqrt(aspect), s / Math.sqrt(aspect));
    case 2: {
      const R = s / Math.sqrt(3);
      const pts: number[] = [];
      for (let k = 0; k < 3; k++) {
        const a = -Math.PI / 2 + (2 * Math.PI * k) / 3;
        pts.push(R * Math.cos(a), R * Math.sin(a));
      }
      return pts;
    }
    case 3: {
      const pts: number[] = [];
      for (let k = 0; k < 10; k++) {
        const r = k % 2 === 0 ? s / 2 : 0.45 * (s / 2);
        const a = -Math.PI / 2 + (Math.PI * k) / 5;
        pts.push(r * Math.cos(a), r * Math.sin(a));
      }
      return pts;
    }
    case 5: {
      const L = s / 2;
      const t = 0.17 * s;
      return [-t, -L, t, -L, t, -t, L, -t, L, t, t, t, t, L, -t, L, -t, t, -L, t, -L, -t, -t, -t];
    }
    default:
      return [];
  }
}

/** Draws the class-specific geometry of a shape of class `cls`, size s, centred at (cx, cy). */
export function makeShape(
  rng: Rng,
  cls: number,
  cx: number,
  cy: number,
  s: number,
  color: RGB,
  color2: RGB,
): ShapeInstance {
  let angle = 0;
  let aspect = 1;
  if (cls === 1) {
    aspect = Math.exp(rng.range(Math.log(0.75), Math.log(1.33)));
    angle = rng.range(-15, 15) * (Math.PI / 180);
  } else if (cls === 6) {
    aspect = Math.exp(rng.range(Math.log(0.6), Math.log(1.6)));
    angle = rng.range(-15, 15) * (Math.PI / 180);
  } else if (cls === 5) {
    angle = rng.range(-20, 20) * (Math.PI / 180);
  } else {
    angle = rng.range(0, 2 * Math.PI);
  }
  const shade = rng.range(-0.2, 0.2);
  const period = Math.max(3, s / rng.range(4, 7));
  const local = localPolygon(cls, s, aspect);
  let poly: Float64Array | null = null;
  if (local.length > 0) {
    poly = new Float64Array(local.length);
    const c = Math.cos(angle);
    const sn = Math.sin(angle);
    for (let i = 0; i < local.length; i += 2) {
      poly[i] = cx + c * local[i] - sn * local[i + 1];
      poly[i + 1] = cy + sn * local[i] + c * local[i + 1];
    }
  }
  const radius = s / 2;
  const innerRadius = cls === 4 ? 0.55 * radius : 0;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  return {
    cls, cx, cy, size: s, angle, color, color2, shade, period, poly, radius, innerRadius, cos, sin,
  };
}

/** Signed distance from (x, y) to the polygon's boundary; negative inside (even–odd rule). */
function polygonSdf(poly: Float64Array, x: number, y: number): number {
  const n = poly.length / 2;
  let d2 = Infinity;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const ax = poly[2 * j];
    const ay = poly[2 * j + 1];
    const bx = poly[2 * i];
    const by = poly[2 * i + 1];
    const ex = bx - ax;
    const ey = by - ay;
    const wx = x - ax;
    const wy = y - ay;
    const t = Math.min(1, Math.max(0, (wx * ex + wy * ey) / (ex * ex + ey * ey)));
    const dx = wx - ex * t;
    const dy = wy - ey * t;
    d2 = Math.min(d2, dx * dx + dy * dy);
    if (ay > y !== by > y && x < ax + ((y - ay) * ex) / ey) inside = !inside;
  }
  const d = Math.sqrt(d2);
  return inside ? -d : d;
}

/** Signed distance (pixels) from the point (x, y) to the shape's outline. */
export function shapeSdf(sh: ShapeInstance, x: number, y: number): number {
  if (sh.poly !== null) return polygonSdf(sh.poly, x, y);
  const r = Math.hypot(x - sh.cx, y - sh.cy);
  if (sh.innerRadius === 0) return r - sh.radius;
  const mid = (sh.radius + sh.innerRadius) / 2;
  return Math.abs(r - mid) - (sh.radius - sh.innerRadius) / 2;
}

/** The exact extent [x0, y0, x1, y1] of the shape (not clipped to the image). */
export function shapeBounds(sh: ShapeInstance): [number, number, number, number] {
  if (sh.poly === null) {
    return [sh.cx - sh.radius, sh.cy - sh.radius, sh.cx + sh.radius, sh.cy + sh.radius];
  }
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < sh.poly.length; i += 2) {
    x0 = Math.min(x0, sh.poly[i]);
    x1 = Math.max(x1, sh.poly[i]);
    y0 = Math.min(y0, sh.poly[i + 1]);
    y1 = Math.max(y1, sh.poly[i + 1]);
  }
  return [x0, y0, x1, y1];
}

/** The shape's colour at (x, y), written to out[0..2] (0..255, float). */
export function shapeColor(sh: ShapeInstance, x: number, y: number, out: Float32Array): void {
  const u = sh.cos * (x - sh.cx) + sh.sin * (y - sh.cy);
  const v = -sh.sin * (x - sh.cx) + sh.cos * (y - sh.cy);
  let col = sh.color;
  if (sh.cls === 6) {
    if (Math.floor(u / sh.period) % 2 !== 0) col = sh.color2;
  } else if (sh.cls === 7) {
    if ((Math.floor(u / sh.period) + Math.floor(v / sh.period)) % 2 !== 0) col = sh.color2;
  }
  const g = 1 + (sh.shade * u) / (sh.size / 2);
  for (let k = 0; k < 3; k++) out[k] = Math.min(255, Math.max(0, col[k] * g));
}
