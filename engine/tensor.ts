/**
 * @file The tensor: float32 storage in row-major (C) order, plus its place on the autograd tape.
 *
 * Element (i0, …, i_{d−1}) of a tensor of shape [n0, …, n_{d−1}] lives at
 *   data[(((i0·n1 + i1)·n2 + i2)·…)·n_{d−1} + i_{d−1}].
 * Tensors are always contiguous: ops that reorder elements (permute, slice) write a new tensor.
 * Images and feature maps are NCHW.
 */
import { ShapeError } from './errors.js';
import { allocF32, ensureShared } from './memory.js';

/** One recorded op on the tape: what it read and how to send a gradient back to its inputs. */
export interface TapeNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Receives dL/d(output) and accumulates dL/d(input) into each input that requires grad. */
  readonly backward: (gradOutput: Float32Array) => void;
}

export class Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  /** True for parameters and for anything computed from them while grad is enabled. */
  requiresGrad: boolean;
  /** dL/d(this), same layout as `data`; null until backward reaches this tensor. */
  grad: Float32Array | null = null;
  /** The op that produced this tensor; null for leaves (inputs, parameters). */
  producer: TapeNode | null = null;
  /** Keep `grad` of a non-leaf after backward (leaves always keep theirs). */
  retainGrad = false;

  constructor(data: Float32Array, shape: readonly number[], requiresGrad = false) {
    const n = sizeOf(shape);
    if (data.length !== n) {
      throw new ShapeError('Tensor', `data has ${data.length} elements, shape needs ${n}`, [shape]);
    }
    this.data = ensureShared(data);
    this.shape = Object.freeze([...shape]);
    this.requiresGrad = requiresGrad;
  }

  /** A zero tensor of the given shape. */
  static zeros(shape: readonly number[], requiresGrad = false): Tensor {
    return new Tensor(allocF32(sizeOf(shape)), shape, requiresGrad);
  }

  /** A tensor filled with `value`. */
  static full(shape: readonly number[], value: number, requiresGrad = false): Tensor {
    const t = Tensor.zeros(shape, requiresGrad);
    t.data.fill(value);
    return t;
  }

  /** A tensor holding a copy of `values`. */
  static from(values: ArrayLike<number>, shape: readonly number[], requiresGrad = false): Tensor {
    const data = allocF32(values.length);
    data.set(values);
    return new Tensor(data, shape, requiresGrad);
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The gradient buffer, allocated (zeroed) on first use so backward rules can accumulate. */
  gradBuffer(): Float32Array {
    if (this.grad === null) this.grad = allocF32(this.data.length);
    return this.grad;
  }

  /** A new leaf sharing nothing with this tensor: same values, no tape. */
  detach(): Tensor {
    return Tensor.from(this.data, this.shape);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new ShapeError('item', 'needs exactly one element', [this.shape]);
    return this.data[0];
  }
}

/** Number of elements of a shape (1 for a scalar shape []). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError('shape', `bad dimension ${d}`, [shape]);
    n *= d;
  }
  return n;
}

/** Row-major strides of a shape: stride[i] = Π_{j>i} shape[j]. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
