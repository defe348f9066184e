/**
 * @file Integer GEMM for the quantized path: C[M×N] (+)= op(A)·op(B) with int8 A and B and int32
 * C, exact (every product and sum is an integer; sums wrap modulo 2^32 exactly like int32
 * arithmetic, which cannot happen for K ≤ 131071 from a zero start since |a·b| ≤ 2^14).
 *
 * Index rules are those of engine/gemm.ts: op(A)[m][k] = A[m·lda + k] (or A[k·lda + m] when
 * transA), op(B)[k][n] = B[k·ldb + n] (or B[n·ldb + k] when transB), C[m·ldc + n], with offsets.
 * The fast path is the wasm SIMD kernel (i32x4.dot_i16x8_s) over the thread pool; the plain loop
 * `gemmInt8Reference` is its oracle and fallback. Both give identical results.
 */
import { gemmNaive, type GemmArgsOf } from './gemm.js';
import { getThreads, regionsInUse, runTask } from './threads/pool.js';
import { packSharedA8, sharedA8Bytes } from './wasm/igemm.js';
import { IGEMM_SHAPE } from './wasm/kernels.js';
import {
  ensureMemoryBytes, mainThreadKernels, REGION_BYTES, wasmAvailable,
} from './wasm/runtime.js';
import { planJobs } from './wasm/sgemm.js';

export type GemmInt8Args = GemmArgsOf<Int8Array, Int32Array>;

/** The naive triple loop (oracle and fallback). */
// |acc| < 2^53 stays exact in the float64 sum; the Int32Array store wraps like int32 arithmetic.
export function gemmInt8Reference(g: GemmInt8Args): void {
  gemmNaive(g);
}

/** Problems below this many multiply-adds use the plain loop. */
const TINY_MACS = 4096;
/** Problems from this many multiply-adds are split over the thread pool. */
const PARALLEL_MACS = 1 << 20;
/** Largest A packed once per call (bytes of wasm memory). */
const SHARED_A_MAX_BYTES = 64 << 20;

function shared<T extends Int8Array | Int32Array>(x: T): T {
  if (x.buffer instanceof SharedArrayBuffer) return x;
  const copy = new (x.constructor as new (b: SharedArrayBuffer) => T)(
    new SharedArrayBuffer(x.byteLength));
  copy.set(x as never);
  return copy;
}

/** The int8 GEMM every quantized op calls. */
export function gemmInt8(g: GemmInt8Args): void {
  const { M, N, K } = g;
  if (M === 0 || N === 0) return;
  const macs = M * N * K;
  if (macs < TINY_MACS || !wasmAvailable()) {
    gemmInt8Reference(g);
    return;
  }
  const parallel = getThreads() > 1 && macs >= PARALLEL_MACS;
  const plan = planJobs(M, N, parallel ? getThreads() : 1, IGEMM_SHAPE.mr, IGEMM_SHAPE.nr);
  // As in gemm(): pack A once when several column jobs would each repack it.
  let aShared = -1;
  if (plan.nJobs > 1 && K > 0 && sharedA8Bytes(M, K) <= SHARED_A_MAX_BYTES) {
    aShared = regionsInUse() * REGION_BYTES;
    ensureMemoryBytes(aShared + sharedA8Bytes(M, K));
    packSharedA8(g, mainThreadKernels(), aShared);
  }
  if (!parallel) {
    runTask({ kind: 'igemm', g, plan, aShared }, false);
    return;
  }
  const c = shared(g.c);
  runTask({ kind: 'igemm', g: { ...g, a: shared(g.a), b: shared(g.b), c }, plan, aShared });
  if (c !== g.c) g.c.set(c);
}
