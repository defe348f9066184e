/**
 * @file Inference decode of the head (official `YOLOXHead.decode_outputs`, eval mode):
 * raw per-level maps → [B, A, 5 + C] = (cx, cy, w, h, σ(obj), σ(cls_0 … cls_{C−1})).
 *
 * Legend: B batch, C classes, level k of h×w cells with stride s, A = Σ_k h·w; anchor index within a
 * level = row·w + col, levels in stride order (8, 16, 32).
 *   cx = (t_x + col)·s,  cy = (t_y + row)·s,  w = exp(t_w)·s,  h = exp(t_h)·s  (cell corner, no +0.5),
 *   obj = σ(t_obj),  cls_c = σ(t_c).
 * Rounded like the official float32 code: (t + col) then ·s; exp then ·s; σ rounded once.
 */
import { ShapeError } from '../engine/errors.js';
import { Tensor } from '../engine/tensor.js';

const f32 = Math.fround;

/** The raw prediction maps of one level: reg [B,4,h,w], obj [B,1,h,w], cls [B,C,h,w]. */
export interface RawLevel {
  readonly reg: Tensor;
  readonly obj: Tensor;
  readonly cls: Tensor;
}

/** σ(x) = 1 / (1 + e^−x), in float64 and rounded to float32 by the caller's store. */
export function sigmoid64(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Decodes the head's raw levels into [B, A, 5 + C] (see the file header). */
export function decodeOutputs(levels: readonly RawLevel[], strides: readonly number[] = [8, 16, 32]): Tensor {
  if (levels.length !== strides.length || levels.length === 0) {
    throw new ShapeError('decodeOutputs', `${levels.length} levels for ${strides.length} strides`, []);
  }
  const B = levels[0].reg.shape[0];
  const C = levels[0].cls.shape[1];
  const D = 5 + C;
  let A = 0;
  for (const { reg, obj, cls } of levels) {
    const [b, , h, w] = reg.shape;
    const ok = reg.rank === 4 && reg.shape[1] === 4 && b === B
      && obj.shape.join() === [B, 1, h, w].join() && cls.shape.join() === [B, C, h, w].join();
    if (!ok) throw new ShapeError('decodeOutputs', 'want reg [B,4,h,w], obj [B,1,h,w], cls [B,C,h,w]',
      [reg.shape, obj.shape, cls.shape]);
    A += h * w;
  }
  const out = Tensor.zeros([B, A, D]);
  const o = out.data;
  let a0 = 0; // first anchor of the current level
  levels.forEach(({ reg, obj, cls }, k) => {
    const s = strides[k];
    const [, , h, w] = reg.shape;
    const hw = h * w;
    for (let b = 0; b < B; b++) {
      const rb = b * 4 * hw, ob = b * hw, cb = b * C * hw;
      for (let row = 0; row < h; row++) {
        for (let col = 0; col < w; col++) {
          const i = row * w + col;
          const d = (b * A + a0 + i) * D;
          o[d] = f32(f32(reg.data[rb + i] + col) * s);
          o[d + 1] = f32(f32(reg.data[rb + hw + i] + row) * s);
          o[d + 2] = f32(f32(Math.exp(reg.data[rb + 2 * hw + i])) * s);
          o[d + 3] = f32(f32(Math.exp(reg.data[rb + 3 * hw + i])) * s);
          o[d + 4] = sigmoid64(obj.data[ob + i]);
          for (let c = 0; c < C; c++) o[d + 5 + c] = sigmoid64(cls.data[cb + c * hw + i]);
        }
      }
    }
    a0 += hw;
  });
  return out;
}
