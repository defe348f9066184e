/**
 * @file The wasm path of the sigmoid and SiLU kernels (engine/wasm/logistic.ts), behind the same
 * signatures as the loops of activation.ts and bit-identical to them: the same float64
 * operations in the same order, with e^a computed exactly as Math.exp does (exp64.ts).
 * Data moves through the calling thread's scratch region (the staging area): a chunk of x (and
 * gy, gx) is copied in, the kernel runs, and the chunk of y (or gx) is copied back.
 *
 * Why: Math.exp costs ~12 ns per call from JavaScript, and the training step evaluates σ for
 * every activation twice (SiLU forward and backward); the wasm kernel does four elements per
 * step without a call.
 */
import {
  threadKernels, region, wasmAvailable, type Kernels, type LogisticBackward,
  type LogisticForward,
} from '../engine/wasm/runtime.js';

type F32 = Float32Array;
export type LogisticKind = 'sigmoid' | 'silu';

/** Elements per staged chunk: three arrays of 64 KiB, well inside the staging area. */
const CHUNK = 16384;

let enabled = true;

/** Turn the wasm path off (false: the Math.exp loops) or back on; for tests and benchmarks. */
export function setFastLogistic(on: boolean): void {
  enabled = on;
}

/** True when sigmoid and SiLU run on the wasm path. */
export function fastLogisticAvailable(): boolean {
  return enabled && wasmAvailable();
}

function forwardKernel(k: Kernels, kind: LogisticKind): LogisticForward {
  return kind === 'silu' ? k.siluFwd : k.sigmoidFwd;
}

function backwardKernel(k: Kernels, kind: LogisticKind): LogisticBackward {
  return kind === 'silu' ? k.siluBwd : k.sigmoidBwd;
}

/** Copy src[lo…lo+len) into wasm memory at word w, zero-padded to a multiple of 4. */
function stageIn(f: F32, w: number, src: F32, lo: number, len: number): void {
  f.set(src.subarray(lo, lo + len), w);
  for (let i = len; i % 4 !== 0; i++) f[w + i] = 0;
}

/** y = sigmoid(x) or silu(x), elementwise. */
export function logisticForwardFast(kind: LogisticKind, x: F32, y: F32): void {
  const { kern, index } = threadKernels();
  const run = forwardKernel(kern, kind), xs = region(index).s, ys = xs + 4 * CHUNK;
  const f = new Float32Array(kern.memory.buffer);
  for (let lo = 0; lo < x.length; lo += CHUNK) {
    const len = Math.min(CHUNK, x.length - lo);
    stageIn(f, xs / 4, x, lo, len);
    run(xs, ys, (len + 3) >> 2);
    y.set(f.subarray(ys / 4, ys / 4 + len), lo);
  }
}

/** gx += gy · d/dx of sigmoid or silu at x, elementwise. */
export function logisticBackwardFast(kind: LogisticKind, x: F32, gy: F32, gx: F32): void {
  const { kern, index } = threadKernels();
  const run = backwardKernel(kern, kind), xs = region(index).s;
  const gys = xs + 4 * CHUNK, gxs = gys + 4 * CHUNK;
  const f = new Float32Array(kern.memory.buffer);
  for (let lo = 0; lo < x.length; lo += CHUNK) {
    const len = Math.min(CHUNK, x.length - lo);
    stageIn(f, xs / 4, x, lo, len);
    stageIn(f, gys / 4, gy, lo, len);
    stageIn(f, gxs / 4, gx, lo, len);
    run(xs, gys, gxs, (len + 3) >> 2);
    gx.set(f.subarray(gxs / 4, gxs / 4 + len), lo);
  }
}
