/**
 * @file General matrix multiply, the engine's hot kernel: C (+)= op(A) · op(B).
 *
 * Shapes (row-major, leading dimensions lda/ldb/ldc, element offsets aOffset/bOffset/cOffset):
 *   op(A) is M×K: A[m·lda + k] when !transA, A[k·lda + m] when transA
 *   op(B) is K×N: B[k·ldb + n] when !transB, B[n·ldb + k] when transB
 *   C is M×N:     C[m·ldc + n]
 *
 * Two paths, each deterministic on its own:
 * - fast (`gemm`, when WebAssembly SIMD128 and shared memory are available and M·N·K ≥ 4096):
 *   packed panels and a 3×8 f32x4 register tile in wasm (engine/wasm/), split over the thread
 *   pool (engine/threads/) by blocks of C. Each C element is accumulated in FLOAT32 in a fixed
 *   order: acc = (accumulate ? C : 0), then acc = f32(acc + f32(a_k·b_k)) for k = 0, 1, …, K−1
 *   (separate multiply and add, no FMA). So 1 and N threads give bit-identical results.
 * - reference (`gemmReference`, and `gemm` for tiny problems or without wasm SIMD): one float64
 *   sum over k in increasing order, rounded once to float32.
 * The two differ by float32 rounding of the running sum: per element
 *   |fast − reference| ≤ (K + 2)·2⁻²⁴·(|C₀| + Σ_k |a_k·b_k|)   (C₀ = C before, when accumulating)
 * (recursive summation's γ_K bound plus the product and final roundings); spec/gemm.spec.ts
 * checks it, and checks the fast path bit for bit against a Math.fround emulation.
 * Sums of power-of-two-scaled integers (fake-quant) stay exact on the fast path only while every
 * partial sum is below 2^24 units; use `gemmReference` (float64) or engine/gemm_int8.ts when
 * exactness must be guaranteed.
 *
 * Optional epilogue, per row m of C (not with `accumulate`):
 *   C[m][n] = act(scale[m]·(op(A)·op(B))[m][n] + bias[m]),  act = identity or SiLU (x·σ(x))
 * (scale defaults to 1, bias to 0). The reference computes it in float64 with Math.exp and rounds
 * once; the fast path rounds acc·scale and + bias to float32 and uses the SIMD SiLU of
 * engine/wasm/silu.ts (≤ 2.6e-7 relative), applied to each tile of C as the kernel stores it.
 * Per element, with z the exact pre-activation and S = Σ_k|a_k·b_k|:
 *   |z_fast − z_ref| ≤ (K + 2)·2⁻²⁴·|scale|·S + 2⁻²⁴·(|scale·acc| + |z|)
 * and SiLU's slope is in [−0.1, 1.1], so the activated outputs differ by at most 1.1× that plus
 * the SiLU's own relative error (spec/gemm_epilogue.spec.ts).
 * Optional implicit B (`bIm2col`): op(B) is the im2col matrix of an image; the fast path packs
 * it from shifted views of a padded copy of the image (engine/wasm/shifted_image.ts), never
 * writing the matrix, bit-identical to passing it.
 */
import { ensureShared, sharedCopy } from './memory.js';
import { getThreads, regionsInUse, runTask } from './threads/pool.js';
import {
  ensureMemoryBytes, mainThreadKernels, REGION_BYTES, wasmAvailable,
} from './wasm/runtime.js';
import { packSharedA, planJobs, sharedABytes, type JobPlan } from './wasm/sgemm.js';
import {
  im2colAt, shiftedImageLayout, writeShiftedImage, type ShiftedImage,
} from './wasm/shifted_image.js';

/** Arguments of a GEMM over element arrays `In` (A, B) and `Out` (C). */
export interface GemmArgsOf<In, Out> {
  M: number;
  N: number;
  K: number;
  a: In;
  aOffset?: number;
  lda: number;
  transA?: boolean;
  b: In;
  bOffset?: number;
  ldb: number;
  transB?: boolean;
  c: Out;
  cOffset?: number;
  ldc: number;
  /** Add to C instead of overwriting it. */
  accumulate?: boolean;
}

/**
 * op(B) given implicitly as the im2col matrix of one image x = b[xOffset …] of shape [C, H, W]
 * (definition in engine/wasm/shifted_image.ts): K = C·KH·KW, N = OH·OW; ldb, bOffset and transB
 * are then unused. The fast path reads B's rows as shifted views of a padded copy of x.
 * With `images` = I > 1, op(B) is I such matrices side by side (N = I·OH·OW): column
 * i·OH·OW + p reads image i at b[xOffset + i·xImageStride …], and C's column i·OH·OW + p of row
 * m is stored at c[cOffset + i·cImageStride + m·ldc + p] (GemmArgs.cImageStride): a conv's
 * [N, O, OH·OW] output for a whole batch in one GEMM. Each C element is the same sum as with
 * one image per call.
 */
export interface Im2colB {
  C: number; H: number; W: number; KH: number; KW: number; S: number; P: number;
  OH: number; OW: number; xOffset: number;
  /** Images side by side (default 1). */
  images?: number;
  /** Elements between consecutive images in b (default C·H·W). */
  xImageStride?: number;
}

/** Activations the GEMM epilogue can apply. */
export type GemmAct = 'silu';

export interface GemmArgs extends GemmArgsOf<Float32Array, Float32Array> {
  /** Epilogue: per-row factor of op(A)·op(B) (length ≥ M). */
  scale?: Float32Array;
  /** Epilogue: per-row term added after the scale (length ≥ M). */
  bias?: Float32Array;
  /** Epilogue: activation applied last. */
  act?: GemmAct;
  /** B is the im2col matrix of an image in `b` (see Im2colB). */
  bIm2col?: Im2colB;
  /** With bIm2col.images > 1: elements between consecutive images' blocks of C. */
  cImageStride?: number;
}

/** True when `g` asks for an epilogue. */
export function hasEpilogue(g: GemmArgs): boolean {
  return g.scale !== undefined || g.bias !== undefined || g.act !== undefined;
}

/** silu(z) = z·σ(z) = z / (1 + e^−z) in float64 (e^−z = ∞ gives −0 for very negative z). */
export function silu64(z: number): number {
  return z / (1 + Math.exp(-z));
}

type Numeric = { [i: number]: number };

/**
 * The naive loop behind both reference GEMMs: one sum per C element over k in increasing order,
 * accumulated in a float64 number and rounded once by the store into C's element type.
 */
export function gemmNaive<In extends Numeric, Out extends Numeric>(g: GemmArgsOf<In, Out>): void {
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

/** The plain-TypeScript reference GEMM (the readable oracle and the fallback). */
export function gemmReference(g: GemmArgs): void {
  if (g.bIm2col !== undefined && (g.bIm2col.images ?? 1) > 1) {
    checkIm2col(g, g.bIm2col);
    for (let i = 0; i < g.bIm2col.images!; i++) gemmReference(oneImage(g, g.bIm2col, i));
    return;
  }
  if (g.bIm2col !== undefined) {
    gemmReference(explicitB(g, g.bIm2col));
    return;
  }
  if (!hasEpilogue(g)) {
    gemmNaive(g);
    return;
  }
  checkEpilogue(g);
  const { M, N, K, a, b, c, lda, ldb, ldc } = g;
  const ao = g.aOffset ?? 0, bo = g.bOffset ?? 0, co = g.cOffset ?? 0;
  const aM = g.transA ? 1 : lda, aK = g.transA ? lda : 1;
  const bK = g.transB ? 1 : ldb, bN = g.transB ? ldb : 1;
  for (let m = 0; m < M; m++) {
    const scale = g.scale?.[m] ?? 1, bias = g.bias?.[m] ?? 0;
    for (let n = 0; n < N; n++) {
      let acc = 0;
      let ai = ao + m * aM, bi = bo + n * bN;
      for (let k = 0; k < K; k++, ai += aK, bi += bK) acc += a[ai] * b[bi];
      const z = scale * acc + bias;
      c[co + m * ldc + n] = g.act === 'silu' ? silu64(z) : z;
    }
  }
}

/** Image i of a multi-image implicit GEMM, as a one-image GEMM. */
function oneImage(g: GemmArgs, geom: Im2colB, i: number): GemmArgs {
  const OHW = geom.OH * geom.OW;
  const out: GemmArgs = { ...g, N: OHW, cOffset: (g.cOffset ?? 0) + i * (g.cImageStride ?? 0),
    bIm2col: { ...geom, images: 1,
      xOffset: geom.xOffset + i * (geom.xImageStride ?? geom.C * geom.H * geom.W) } };
  delete out.cImageStride;
  return out;
}

/** `g` with its implicit im2col B written out as a K×N matrix. */
function explicitB(g: GemmArgs, geom: Im2colB): GemmArgs {
  checkIm2col(g, geom);
  const col = new Float32Array(g.K * g.N);
  for (let k = 0; k < g.K; k++) for (let n = 0; n < g.N; n++) {
    col[k * g.N + n] = im2colAt(g.b, geom, k, n);
  }
  const out: GemmArgs = { ...g, b: col, bOffset: 0, ldb: g.N, transB: false };
  delete out.bIm2col;
  return out;
}

function checkIm2col(g: GemmArgs, geom: Im2colB): void {
  const I = geom.images ?? 1;
  if (g.K !== geom.C * geom.KH * geom.KW || g.N !== I * geom.OH * geom.OW || g.transB ||
    !Number.isInteger(I) || I < 1 || (I > 1 && g.cImageStride === undefined)) {
    throw new Error('gemm: bIm2col needs K = C·KH·KW, N = images·OH·OW, no transB, and ' +
      'cImageStride when images > 1');
  }
}

/** The epilogue replaces C: it cannot be combined with `accumulate`. */
function checkEpilogue(g: GemmArgs): void {
  if (g.accumulate) throw new Error('gemm: an epilogue (scale/bias/act) cannot accumulate');
  if ((g.scale !== undefined && g.scale.length < g.M) ||
    (g.bias !== undefined && g.bias.length < g.M)) {
    throw new Error(`gemm: epilogue scale/bias shorter than M = ${g.M}`);
  }
}

/** Problems below this many multiply-adds use the reference loop (set-up costs dominate). */
export const TINY_MACS = 4096;
/** Problems from this many multiply-adds are split over the thread pool. */
const PARALLEL_MACS = 1 << 20;

/** Largest A packed once per call (bytes of wasm memory); bigger ones are packed per job. */
const SHARED_A_MAX_BYTES = 64 << 20;

let fastEnabled = true;

/** Turn the fast path off (false) or back on; for debugging and benchmarks. */
export function setFastGemm(enabled: boolean): void {
  fastEnabled = enabled;
}

/** True when `gemm` uses the wasm SIMD path for problems that are not tiny. */
export function fastGemmAvailable(): boolean {
  return fastEnabled && wasmAvailable();
}

/** The GEMM every op calls: the fast path, or the reference for tiny problems / no wasm SIMD. */
export function gemm(g: GemmArgs): void {
  const { M, N, K } = g;
  if (M === 0 || N === 0) return;
  const macs = M * N * K;
  if (hasEpilogue(g)) checkEpilogue(g);
  if (g.bIm2col !== undefined) checkIm2col(g, g.bIm2col);
  // (K = 0 is tiny: the reference applies the epilogue, the kernel would have no K block.)
  if (macs < TINY_MACS || !fastGemmAvailable()) {
    gemmReference(g);
    return;
  }
  const threads = getThreads();
  const parallel = threads > 1 && macs >= PARALLEL_MACS;
  // An implicit im2col B: its image goes into wasm memory above the regions, padded and phase
  // split, so that B's rows are shifted views of it (wasm/shifted_image.ts); the jobs then cut
  // the padded-width columns.
  let free = regionsInUse() * REGION_BYTES;
  let img: ShiftedImage | undefined;
  if (g.bIm2col !== undefined) {
    img = shiftedImageLayout(g.bIm2col, free, g.cImageStride ?? 0);
    free += img.bytes;
    ensureMemoryBytes(free);
    writeShiftedImage(mainThreadKernels(), g.b, g.bIm2col, img);
  }
  const plan: JobPlan = planJobs(M, img?.nCols ?? N, parallel ? threads : 1);
  if (img !== undefined) plan.img = img;
  // When several column blocks would each repack the same rows of A, pack A once up front.
  let aShared = -1;
  if (plan.nJobs > 1 && K > 0 && sharedABytes(M, K) <= SHARED_A_MAX_BYTES) {
    aShared = free;
    ensureMemoryBytes(aShared + sharedABytes(M, K));
    packSharedA(g, mainThreadKernels(), aShared);
  }
  if (!parallel) {
    runTask({ kind: 'sgemm', g, plan, aShared }, false);
    return;
  }
  // Workers reach the arrays only through shared memory: copy any that are not shared.
  const c = g.c.buffer instanceof SharedArrayBuffer ? g.c : sharedCopy(g.c);
  const gs: GemmArgs = { ...g, a: ensureShared(g.a), b: ensureShared(g.b), c };
  if (g.scale !== undefined) gs.scale = ensureShared(g.scale);
  if (g.bias !== undefined) gs.bias = ensureShared(g.bias);
  runTask({ kind: 'sgemm', g: gs, plan, aShared });
  if (c !== g.c) g.c.set(c);
}
