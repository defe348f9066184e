/**
 * @file General matrix multiply, the engine's hot kernel: C (+)= op(A) · op(B).
 *
 * Shapes (row-major, leading dimensions lda/ldb/ldc, element offsets aOffset/bOffset/cOffset):
 *   op(A) is M×K: A[m·lda + k] when !transA, A[k·lda + m] when transA
 *   op(B) is K×N: B[k·ldb + n] when !transB, B[n·ldb + k] when transB
 *   C is M×N:     C[m·ldc + n]
 * Each C element is one float64 sum over k in increasing order, rounded once to float32, so the
 * result is independent of how the work is split (by rows or columns of C, never by k).
 */

export interface GemmArgs {
  M: number;
  N: number;
  K: number;
  a: Float32Array;
  aOffset?: number;
  lda: number;
  transA?: boolean;
  b: Float32Array;
  bOffset?: number;
  ldb: number;
  transB?: boolean;
  c: Float32Array;
  cOffset?: number;
  ldc: number;
  /** Add to C instead of overwriting it. */
  accumulate?: boolean;
}

/** The plain-TypeScript reference GEMM (the readable oracle and the fallback). */
export function gemmReference(g: GemmArgs): void {
  const { M, N, K, a, b, c, lda, ldb, ldc } = g;
  const ao = g.aOffset ?? 0, bo = g.bOffset ?? 0, co = g.cOffset ?? 0;
  // Element strides of op(A) along m and k, and of op(B) along k and n.
  const aM = g.transA ? 1 : lda, aK = g.transA ? lda : 1;
  const bK = g.transB ? 1 : ldb, bN = g.transB ? ldb : 1;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc = g.accumulate ? c[co + m * ldc + n] : 0;
      let ai = ao + m * aM, bi = bo + n * bN;
      for (let k = 0; k < K; k++, ai += aK, bi += bK) acc += a[ai] * b[bi];
      c[co + m * ldc + n] = acc;
    }
  }
}

/** The GEMM every op calls. The fast-kernel work replaces its body, keeping this signature. */
export function gemm(g: GemmArgs): void {
  gemmReference(g);
}
