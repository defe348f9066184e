/**
 * @file The anchor grid of YOLO-X's training loss: one anchor per cell of each output level.
 *
 * Anchors are ordered level by level (stride 8, 16, 32), row-major within a level, so anchor
 * `offset_k + row·w_k + col` is cell (row, col) of level k. The official head calls the three
 * per-anchor values x_shifts (= col), y_shifts (= row) and expanded_strides (= the level's stride).
 * Decoding uses the cell corner, `(t + col)·s`; SimOTA's centre prior uses the cell centre,
 * `(col + 0.5)·s`.
 */
import { UserError } from '../../engine/errors.js';

/** One output level: its feature-map size and stride, and where its anchors start. */
export interface AnchorLevel {
  readonly h: number;
  readonly w: number;
  readonly stride: number;
  /** Index of the level's first anchor in the concatenated [A] order. */
  readonly offset: number;
}

/** Per-anchor shifts and strides, [A] each (A = Σ h_k·w_k). */
export interface AnchorGrid {
  readonly levels: readonly AnchorLevel[];
  readonly numAnchors: number;
  /** col of each anchor's cell. */
  readonly xShifts: Float32Array;
  /** row of each anchor's cell. */
  readonly yShifts: Float32Array;
  /** stride of each anchor's level. */
  readonly strides: Float32Array;
}

/** The grid for levels of sizes `hw[k] = [h, w]` with strides `strides[k]`. */
export function anchorGrid(
  hw: readonly (readonly [number, number])[],
  strides: readonly number[],
): AnchorGrid {
  if (hw.length !== strides.length) {
    throw new UserError(`anchorGrid: ${hw.length} level sizes but ${strides.length} strides`);
  }
  const levels: AnchorLevel[] = [];
  let a = 0;
  for (let k = 0; k < hw.length; k++) {
    levels.push({ h: hw[k][0], w: hw[k][1], stride: strides[k], offset: a });
    a += hw[k][0] * hw[k][1];
  }
  const xShifts = new Float32Array(a);
  const yShifts = new Float32Array(a);
  const st = new Float32Array(a);
  for (const lv of levels) {
    for (let row = 0; row < lv.h; row++) {
      for (let col = 0; col < lv.w; col++) {
        const i = lv.offset + row * lv.w + col;
        xShifts[i] = col;
        yShifts[i] = row;
        st[i] = lv.stride;
      }
    }
  }
  return { levels, numAnchors: a, xShifts, yShifts, strides: st };
}

/** The grid of a square-or-not input of size H×W for the given strides (H, W multiples of 32). */
export function anchorGridForInput(
  H: number,
  W: number,
  strides: readonly number[] = [8, 16, 32],
): AnchorGrid {
  const hw = strides.map((s) => [Math.floor(H / s), Math.floor(W / s)] as [number, number]);
  return anchorGrid(hw, strides);
}
