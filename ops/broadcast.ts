/**
 * @file numpy broadcasting: the output shape of a binary op and, for each output element, the
 * element of an input it reads.
 *
 * Shapes are aligned at their last dimension; each aligned pair must be equal or contain a 1,
 * and the output takes the larger. An input dimension of 1 (or a missing leading dimension) is
 * read with stride 0. Backward reduces a gradient over exactly those dimensions.
 */
import { ShapeError } from '../engine/errors.js';
import { sizeOf, stridesOf } from '../engine/tensor.js';

/** The broadcast output shape of a and b, or a ShapeError naming `op`. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const R = Math.max(a.length, b.length);
  const out = new Array<number>(R);
  for (let k = 0; k < R; k++) {
    const da = a[a.length - R + k] ?? 1, db = b[b.length - R + k] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(op, `cannot broadcast dimension ${k} (${da} vs ${db})`, [a, b]);
    }
    out[k] = da === 1 ? db : da;
  }
  return out;
}

/**
 * For every output element (row-major over outShape), the flat index of the input element it
 * reads; null when the input already has the output's shape (the identity map).
 */
export function broadcastIndex(outShape: readonly number[], inShape: readonly number[])
  : Int32Array | null {
  const R = outShape.length;
  if (inShape.length === R && inShape.every((d, k) => d === outShape[k])) return null;
  const inStrides = stridesOf(inShape);
  // Stride of the input along each output dimension; 0 where the input is broadcast.
  const step = outShape.map((_, k) => {
    const j = inShape.length - R + k;
    return j >= 0 && inShape[j] !== 1 ? inStrides[j] : 0;
  });
  const n = sizeOf(outShape);
  const index = new Int32Array(n);
  const idx = new Array<number>(R).fill(0);
  let src = 0;
  for (let i = 0; i < n; i++) {
    index[i] = src;
    for (let k = R - 1; k >= 0; k--) {
      idx[k]++;
      src += step[k];
      if (idx[k] < outShape[k]) break;
      src -= step[k] * outShape[k];
      idx[k] = 0;
    }
  }
  return index;
}

/**
 * gx[index[i]] += contrib[i] summed in float64 in increasing i (the reduction over broadcast
 * dimensions); with a null index, gx[i] += contrib[i].
 */
export function reduceToInput(contrib: Float64Array, index: Int32Array | null, gx: Float32Array)
  : void {
  if (index === null) {
    for (let i = 0; i < contrib.length; i++) gx[i] += contrib[i];
    return;
  }
  const acc = new Float64Array(gx.length);
  for (let i = 0; i < contrib.length; i++) acc[index[i]] += contrib[i];
  for (let j = 0; j < gx.length; j++) gx[j] += acc[j];
}
