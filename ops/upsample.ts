/**
 * @file upsampleNearest2x: nearest-neighbour upsampling by 2 in height and width (YOLO-X's PAFPN
 * `nn.Upsample(scale_factor=2, mode="nearest")`).
 *
 * Shape legend: x [N, C, H, W], y [N, C, 2H, 2W];  y[n, c, 2h + i, 2w + j] = x[n, c, h, w]
 * for i, j ∈ {0, 1}. Backward: dx[n, c, h, w] = Σ_{i,j} dy[n, c, 2h + i, 2w + j] (float64,
 * in the order (0,0), (0,1), (1,0), (1,1)).
 * Threads: the recorded op splits the N·C planes over the pool (ops/parallel.ts).
 */
import { record } from '../engine/autograd.js';
import { ShapeError } from '../engine/errors.js';
import { Tensor } from '../engine/tensor.js';
import { parallelRange } from './parallel.js';

type F32 = Float32Array;

/** Overwrites y. NC = N·C planes of H×W. */
export function upsampleNearest2xForward(x: F32, y: F32, NC: number, H: number, W: number): void {
  upsampleForwardRange({ x, y, H, W }, 0, NC);
}

/** What a threaded upsample forward job reads and writes. */
export interface UpsampleForwardArgs {
  x: F32;
  y: F32;
  H: number;
  W: number;
}

/** The forward for planes [p0, p1). */
export function upsampleForwardRange(a: UpsampleForwardArgs, p0: number, p1: number): void {
  const { x, y, H, W } = a;
  const W2 = 2 * W;
  for (let p = p0; p < p1; p++) {
    const xOff = p * H * W, yOff = p * 4 * H * W;
    for (let h = 0; h < H; h++) {
      const row0 = yOff + 2 * h * W2, row1 = row0 + W2;
      for (let w = 0; w < W; w++) {
        const v = x[xOff + h * W + w];
        y[row0 + 2 * w] = v;
        y[row0 + 2 * w + 1] = v;
        y[row1 + 2 * w] = v;
        y[row1 + 2 * w + 1] = v;
      }
    }
  }
}

/** Accumulates into gx. */
export function upsampleNearest2xBackward(
  gy: F32, gx: F32, NC: number, H: number, W: number,
): void {
  upsampleBackwardRange({ gy, gx, H, W }, 0, NC);
}

/** What a threaded upsample backward job reads and writes. */
export interface UpsampleBackwardArgs {
  gy: F32;
  gx: F32;
  H: number;
  W: number;
}

/** The backward for planes [p0, p1). */
export function upsampleBackwardRange(a: UpsampleBackwardArgs, p0: number, p1: number): void {
  const { gy, gx, H, W } = a;
  const W2 = 2 * W;
  for (let p = p0; p < p1; p++) {
    const xOff = p * H * W, yOff = p * 4 * H * W;
    for (let h = 0; h < H; h++) {
      const row0 = yOff + 2 * h * W2, row1 = row0 + W2;
      for (let w = 0; w < W; w++) {
        const i = 2 * w;
        gx[xOff + h * W + w] += gy[row0 + i] + gy[row0 + i + 1] + gy[row1 + i] + gy[row1 + i + 1];
      }
    }
  }
}

/** The recorded op (no attrs). */
export function upsampleNearest2x(x: Tensor): Tensor {
  if (x.rank !== 4) throw new ShapeError('upsampleNearest2x', 'x must be [N, C, H, W]', [x.shape]);
  const [N, C, H, W] = x.shape;
  const y = Tensor.zeros([N, C, 2 * H, 2 * W]);
  parallelRange('upsampleForward', { x: x.data, y: y.data, H, W }, N * C, 5 * H * W);
  return record('upsampleNearest2x', [x], y, (gy) => {
    if (!x.requiresGrad) return;
    parallelRange('upsampleBackward', { gy, gx: x.gradBuffer(), H, W }, N * C, 5 * H * W);
  });
}
