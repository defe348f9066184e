/**
 * @file upsampleNearest2x: nearest-neighbour upsampling by 2 in height and width (YOLO-X's PAFPN
 * `nn.Upsample(scale_factor=2, mode="nearest")`).
 *
 * Shape legend: x [N, C, H, W], y [N, C, 2H, 2W];  y[n, c, 2h + i, 2w + j] = x[n, c, h, w]
 * for i, j ∈ {0, 1}. Backward: dx[n, c, h, w] = Σ_{i,j} dy[n, c, 2h + i, 2w + j] (float64,
 * in the order (0,0), (0,1), (1,0), (1,1)).
 */
import { record } from '../engine/autograd.js';
import { ShapeError } from '../engine/errors.js';
import { Tensor } from '../engine/tensor.js';

type F32 = Float32Array;

/** Overwrites y. NC = N·C planes of H×W. */
export function upsampleNearest2xForward(x: F32, y: F32, NC: number, H: number, W: number): void {
  const W2 = 2 * W;
  for (let p = 0; p < NC; p++) {
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
  const W2 = 2 * W;
  for (let p = 0; p < NC; p++) {
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
  upsampleNearest2xForward(x.data, y.data, N * C, H, W);
  return record('upsampleNearest2x', [x], y, (gy) => {
    if (x.requiresGrad) upsampleNearest2xBackward(gy, x.gradBuffer(), N * C, H, W);
  });
}
