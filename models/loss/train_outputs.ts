/**
 * @file The head's training-mode output (official `get_output_and_grid` + concat over levels):
 * raw per-level predictions → one [B, A, 5+C] tensor with decoded boxes and raw logits.
 *
 * Shape legend: B batch, C classes, level k of size h×w with stride s, A = Σ h·w anchors.
 *   reg [B,4,h,w], obj [B,1,h,w], cls [B,C,h,w]  →  out [B, A, 5+C] with, for anchor (row, col):
 *   out[..,0] = (t_x + col)·s, out[..,1] = (t_y + row)·s, out[..,2] = exp(t_w)·s,
 *   out[..,3] = exp(t_h)·s, out[..,4] = obj logit, out[..,5+c] = cls logit c.
 *   originPreds [B, A, 4] = the raw (t_x, t_y, t_w, t_h) (input of the L1 loss).
 * Each is one fused autograd op (a gather plus an elementwise decode): backward scatters the
 * gradient back to the level tensors, with ∂out_xy/∂t = s and ∂out_wh/∂t = exp(t)·s = out_wh.
 * The forward rounds like the official float32 code: (t + col) then ·s, exp then ·s.
 */
import { record } from '../../engine/autograd.js';
import { ShapeError } from '../../engine/errors.js';
import { Tensor } from '../../engine/tensor.js';
import { anchorGrid, type AnchorGrid } from './anchors.js';

const f32 = Math.fround;

/** The three raw prediction maps of one level, as the head produces them. */
export interface HeadLevelOutput {
  readonly reg: Tensor;
  readonly obj: Tensor;
  readonly cls: Tensor;
}

export interface TrainOutputs {
  /** [B, A, 5+C]: decoded boxes (cx, cy, w, h in input pixels), obj logit, class logits. */
  readonly output: Tensor;
  /** [B, A, 4]: raw box regressions. */
  readonly originPreds: Tensor;
  readonly grid: AnchorGrid;
}

function checkLevels(levels: readonly HeadLevelOutput[], strides: readonly number[]): number[] {
  if (levels.length !== strides.length || levels.length === 0) {
    const n = `${levels.length} levels for ${strides.length} strides`;
    throw new ShapeError('trainOutputs', n, []);
  }
  const [B, , , ] = levels[0].reg.shape;
  const C = levels[0].cls.shape[1];
  for (const { reg, obj, cls } of levels) {
    const [h, w] = reg.shape.slice(2);
    const ok = reg.rank === 4 && obj.rank === 4 && cls.rank === 4
      && reg.shape[0] === B && obj.shape[0] === B && cls.shape[0] === B
      && reg.shape[1] === 4 && obj.shape[1] === 1 && cls.shape[1] === C
      && obj.shape[2] === h && obj.shape[3] === w && cls.shape[2] === h && cls.shape[3] === w;
    if (!ok) {
      const want = 'want reg [B,4,h,w], obj [B,1,h,w], cls [B,C,h,w]';
      throw new ShapeError('trainOutputs', want, [reg.shape, obj.shape, cls.shape]);
    }
  }
  return [B, C];
}

/** Builds the training output, the raw regressions and the anchor grid from the head's levels. */
export function trainOutputs(
  levels: readonly HeadLevelOutput[],
  strides: readonly number[] = [8, 16, 32],
): TrainOutputs {
  const [B, C] = checkLevels(levels, strides);
  const hws = levels.map((l) => [l.reg.shape[2], l.reg.shape[3]] as [number, number]);
  const grid = anchorGrid(hws, strides);
  const A = grid.numAnchors, D = 5 + C;
  const out = Tensor.zeros([B, A, D]);
  const origin = Tensor.zeros([B, A, 4]);
  const o = out.data, og = origin.data;
  levels.forEach(({ reg, obj, cls }, k) => {
    const { h, w, stride: s, offset } = grid.levels[k];
    const hw = h * w;
    for (let b = 0; b < B; b++) {
      for (let row = 0; row < h; row++) {
        for (let col = 0; col < w; col++) {
          const i = row * w + col;
          const ob = (b * A + offset + i) * D;
          const tx = reg.data[(b * 4 + 0) * hw + i], ty = reg.data[(b * 4 + 1) * hw + i];
          const tw = reg.data[(b * 4 + 2) * hw + i], th = reg.data[(b * 4 + 3) * hw + i];
          o[ob] = f32(f32(tx + col) * s);
          o[ob + 1] = f32(f32(ty + row) * s);
          o[ob + 2] = f32(f32(Math.exp(tw)) * s);
          o[ob + 3] = f32(f32(Math.exp(th)) * s);
          o[ob + 4] = obj.data[b * hw + i];
          for (let c = 0; c < C; c++) o[ob + 5 + c] = cls.data[(b * C + c) * hw + i];
          const og0 = (b * A + offset + i) * 4;
          og[og0] = tx; og[og0 + 1] = ty; og[og0 + 2] = tw; og[og0 + 3] = th;
        }
      }
    }
  });
  const inputs = levels.flatMap((l) => [l.reg, l.obj, l.cls]);
  record('yoloxTrainOutput', inputs, out, (g) => {
    levels.forEach(({ reg, obj, cls }, k) => {
      const { h, w, stride: s, offset } = grid.levels[k];
      const hw = h * w;
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < hw; i++) {
          const ob = (b * A + offset + i) * D;
          if (reg.requiresGrad) {
            const gr = reg.gradBuffer();
            const r = b * 4 * hw + i;
            gr[r] += g[ob] * s;
            gr[r + hw] += g[ob + 1] * s;
            // d(exp(t)·s)/dt = exp(t)·s, recomputed in float64 rather than read back rounded.
            gr[r + 2 * hw] += g[ob + 2] * Math.exp(reg.data[r + 2 * hw]) * s;
            gr[r + 3 * hw] += g[ob + 3] * Math.exp(reg.data[r + 3 * hw]) * s;
          }
          if (obj.requiresGrad) obj.gradBuffer()[b * hw + i] += g[ob + 4];
          if (cls.requiresGrad) {
            const gc = cls.gradBuffer();
            for (let c = 0; c < C; c++) gc[(b * C + c) * hw + i] += g[ob + 5 + c];
          }
        }
      }
    });
  }, { strides: [...strides] });
  record('yoloxOriginPreds', levels.map((l) => l.reg), origin, (g) => {
    levels.forEach(({ reg }, k) => {
      if (!reg.requiresGrad) return;
      const { h, w, offset } = grid.levels[k];
      const hw = h * w, gr = reg.gradBuffer();
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < hw; i++) {
          const og0 = (b * A + offset + i) * 4;
          for (let j = 0; j < 4; j++) gr[(b * 4 + j) * hw + i] += g[og0 + j];
        }
      }
    });
  });
  return { output: out, originPreds: origin, grid };
}
