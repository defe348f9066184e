/**
 * @file Shared GEMM test cases: random arguments (float and int8) with padded leading dimensions
 * and offsets, named by their parameters. Used by gemm.spec.ts, threads.spec.ts and the bench.
 */
import type { GemmArgs } from '../engine/gemm.js';
import type { GemmInt8Args } from '../engine/gemm_int8.js';
import { allocF32 } from '../engine/memory.js';
import { Rng } from '../engine/rng.js';

/** A GEMM problem with padded leading dims and offsets; arrays sized to fit. */
export interface Case {
  M: number; N: number; K: number;
  transA?: boolean; transB?: boolean; accumulate?: boolean;
  /** Extra elements per row (lda/ldb/ldc beyond the minimum) and leading offset. */
  pad?: number;
}

export function caseName(c: Case): string {
  return `M=${c.M} K=${c.K} N=${c.N} tA=${c.transA ? 1 : 0} tB=${c.transB ? 1 : 0}` +
    ` acc=${c.accumulate ? 1 : 0} pad=${c.pad ?? 0}`;
}

/** Random float arguments for a case (shared storage unless `plain`). */
export function makeF32(c: Case, seed: number, plain = false): GemmArgs {
  const rng = new Rng(seed), pad = c.pad ?? 0;
  const lda = (c.transA ? c.M : c.K) + pad, ldb = (c.transB ? c.K : c.N) + pad, ldc = c.N + pad;
  const rowsA = c.transA ? c.K : c.M, rowsB = c.transB ? c.N : c.K;
  const alloc = (n: number): Float32Array => (plain ? new Float32Array(n) : allocF32(n));
  const a = rng.fillUniform(alloc(pad + rowsA * lda), -1, 1);
  const b = rng.fillUniform(alloc(pad + rowsB * ldb), -1, 1);
  const cc = rng.fillUniform(alloc(pad + c.M * ldc), -1, 1);
  return { M: c.M, N: c.N, K: c.K, a, b, c: cc, lda, ldb, ldc, aOffset: pad, bOffset: pad,
    cOffset: pad, transA: c.transA, transB: c.transB, accumulate: c.accumulate };
}

/** Random int8 arguments, including the extremes −128 and 127. */
export function makeI8(c: Case, seed: number): GemmInt8Args {
  const rng = new Rng(seed), pad = c.pad ?? 0;
  const lda = (c.transA ? c.M : c.K) + pad, ldb = (c.transB ? c.K : c.N) + pad, ldc = c.N + pad;
  const fill = (x: Int8Array): Int8Array => {
    for (let i = 0; i < x.length; i++) x[i] = rng.int(256) - 128;
    return x;
  };
  const a = fill(new Int8Array(new SharedArrayBuffer(pad + (c.transA ? c.K : c.M) * lda)));
  const b = fill(new Int8Array(new SharedArrayBuffer(pad + (c.transB ? c.N : c.K) * ldb)));
  const cc = new Int32Array(new SharedArrayBuffer(4 * (pad + c.M * ldc)));
  for (let i = 0; i < cc.length; i++) cc[i] = rng.int(1 << 20) - (1 << 19);
  return { M: c.M, N: c.N, K: c.K, a, b, c: cc, lda, ldb, ldc, aOffset: pad, bOffset: pad,
    cOffset: pad, transA: c.transA, transB: c.transB, accumulate: c.accumulate };
}
