/**
 * @file Inference decode of the head (official `YOLOXHead.decode_outputs`, eval mode): the
 * per-level eval concatenations [B, 5 + C, h, w] = (reg, σ(obj), σ(cls)) → [B, A, 5 + C] =
 * (cx, cy, w, h, σ(obj), σ(cls_0 … cls_{C−1})).
 *
 * Legend: B batch, C classes, level k of h×w cells with stride s, A = Σ_k h·w; anchor index
 * within a level = row·w + col, levels in stride order (8, 16, 32).
 *   cx = (t_x + col)·s,  cy = (t_y + row)·s,  w = exp(t_w)·s,  h = exp(t_h)·s
 *   (the cell corner, no +0.5).
 * Rounded like the official float32 code: (t + col) then ·s; exp then ·s. Plain FP32
 * post-processing (not on the autograd tape, not quantized).
 */
import { ShapeError } from '../engine/errors.js';
import { Tensor } from '../engine/tensor.js';
import { sigmoidValue } from '../ops/activation.js';

const f32 = Math.fround;

/** The raw prediction maps of one level: reg [B,4,h,w], obj [B,1,h,w], cls [B,C,h,w]. */
export interface RawLevel {
  readonly reg: Tensor;
  readonly obj: Tensor;
  readonly cls: Tensor;
}

/** Decodes per-level eval concatenations [B, 5 + C, h, w] into [B, A, 5 + C]. */
export function decodeCats(
  cats: readonly Tensor[], strides: readonly number[] = [8, 16, 32],
): Tensor {
  if (cats.length !== strides.length || cats.length === 0) {
    throw new ShapeError('decode', `${cats.length} levels for ${strides.length} strides`, []);
  }
  const [B, D] = cats[0].shape;
  let A = 0;
  for (const t of cats) {
    if (t.rank !== 4 || t.shape[0] !== B || t.shape[1] !== D || D < 5) {
      throw new ShapeError('decode', 'levels must be [B, 5 + C, h, w]', cats.map((c) => c.shape));
    }
    A += t.shape[2] * t.shape[3];
  }
  const out = Tensor.zeros([B, A, D]);
  const o = out.data;
  let a0 = 0; // first anchor of the current level
  cats.forEach((t, k) => {
    const s = strides[k];
    const [, , h, w] = t.shape;
    const hw = h * w;
    const x = t.data;
    for (let b = 0; b < B; b++) {
      const xb = b * D * hw;
      for (let row = 0; row < h; row++) {
        for (let col = 0; col < w; col++) {
          const i = row * w + col;
          const d = (b * A + a0 + i) * D;
          o[d] = f32(f32(x[xb + i] + col) * s);
          o[d + 1] = f32(f32(x[xb + hw + i] + row) * s);
          o[d + 2] = f32(f32(Math.exp(x[xb + 2 * hw + i])) * s);
          o[d + 3] = f32(f32(Math.exp(x[xb + 3 * hw + i])) * s);
          for (let c = 4; c < D; c++) o[d + c] = x[xb + c * hw + i];
        }
      }
    }
    a0 += hw;
  });
  return out;
}

/** The eval concatenation [reg, σ(obj), σ(cls)] of one level, computed directly (no tape). */
export function evalCat({ reg, obj, cls }: RawLevel): Tensor {
  const [B, , h, w] = reg.shape;
  const C = cls.shape[1];
  const ok = reg.rank === 4 && reg.shape[1] === 4 && obj.shape.join() === [B, 1, h, w].join()
    && cls.shape.join() === [B, C, h, w].join();
  if (!ok) {
    throw new ShapeError('decode', 'want reg [B,4,h,w], obj [B,1,h,w], cls [B,C,h,w]',
      [reg.shape, obj.shape, cls.shape]);
  }
  const hw = h * w;
  const out = Tensor.zeros([B, 5 + C, h, w]);
  for (let b = 0; b < B; b++) {
    const o = b * (5 + C) * hw;
    out.data.set(reg.data.subarray(b * 4 * hw, (b + 1) * 4 * hw), o);
    for (let i = 0; i < hw; i++) out.data[o + 4 * hw + i] = sigmoidValue(obj.data[b * hw + i]);
    for (let i = 0; i < C * hw; i++) {
      out.data[o + 5 * hw + i] = sigmoidValue(cls.data[b * C * hw + i]);
    }
  }
  return out;
}

/** Decodes raw head levels: `decodeCats` of their eval concatenations. */
export function decodeOutputs(
  levels: readonly RawLevel[], strides: readonly number[] = [8, 16, 32],
): Tensor {
  return decodeCats(levels.map(evalCat), strides);
}
