/**
 * @file GEMM benchmark: our fast path (wasm SIMD, the thread pool at its default size, and 1
 * thread) beside peers measured in the same run — tfjs-backend-wasm's matMul (XNNPACK, a dev
 * dependency), a plain-JS blocked kernel, and the naive triple loop (`gemmReference`).
 *
 * Shapes are YOLO-X Tiny convolutions as GEMMs at 416² (M = Cout, K = Cin·k², N = H·W):
 *   96×864×2704  dark3-like 3×3 conv at 52²   ·   192×864×676  dark4-like 3×3 conv at 26²
 *   96×96×2704   a 1×1 conv at 52²
 * The int8 GEMM is timed on the 192×864×676 shape beside our float GEMM.
 * Timings are medians of a few runs; the machine may be shared, so treat ratios as indicative.
 */
import { gemm, gemmReference, type GemmArgs } from '../engine/gemm.js';
import { gemmInt8 } from '../engine/gemm_int8.js';
import { allocF32 } from '../engine/memory.js';
import { Rng } from '../engine/rng.js';
import { getThreads, lastTaskJobs, setThreads } from '../engine/threads/pool.js';
import { medianMs, printRows, row, type BenchRow } from './report.js';

const SHAPES: Array<[number, number, number]> = [[96, 864, 2704], [192, 864, 676], [96, 96, 2704]];

/**
 * A plain-JS blocked GEMM (C = A·B, row-major, no transposes), the JS baseline: K and N blocked
 * for cache, four rows of C updated per pass over a row of B.
 */
export function gemmBlockedJs(M: number, N: number, K: number, a: Float32Array, b: Float32Array,
  c: Float32Array): void {
  const BK = 128, BN = 512;
  c.fill(0, 0, M * N);
  for (let k0 = 0; k0 < K; k0 += BK) {
    const k1 = Math.min(K, k0 + BK);
    for (let n0 = 0; n0 < N; n0 += BN) {
      const n1 = Math.min(N, n0 + BN);
      for (let m = 0; m < M; m += 4) {
        const rows = Math.min(4, M - m);
        const c0 = m * N, c1 = c0 + N, c2 = c1 + N, c3 = c2 + N;
        for (let k = k0; k < k1; k++) {
          const br = k * N;
          const a0 = a[m * K + k], a1 = rows > 1 ? a[(m + 1) * K + k] : 0;
          const a2 = rows > 2 ? a[(m + 2) * K + k] : 0, a3 = rows > 3 ? a[(m + 3) * K + k] : 0;
          if (rows === 4) {
            for (let n = n0; n < n1; n++) {
              const bv = b[br + n];
              c[c0 + n] += a0 * bv;
              c[c1 + n] += a1 * bv;
              c[c2 + n] += a2 * bv;
              c[c3 + n] += a3 * bv;
            }
          } else {
            for (let r = 0; r < rows; r++) {
              const ar = [a0, a1, a2, a3][r], cr = c0 + r * N;
              for (let n = n0; n < n1; n++) c[cr + n] += ar * b[br + n];
            }
          }
        }
      }
    }
  }
}

interface Tf {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  tensor2d(values: Float32Array, shape: [number, number]): TfTensor;
  matMul(a: TfTensor, b: TfTensor): TfTensor;
}
interface TfTensor {
  dataSync(): unknown;
  dispose(): void;
}

/** tfjs-core with the wasm backend, or null when it cannot be loaded. */
async function loadTf(): Promise<Tf | null> {
  try {
    const tf = (await import('@tensorflow/tfjs-core')) as unknown as Tf;
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) return null;
    await tf.ready();
    return tf;
  } catch {
    return null;
  }
}

const gflops = (M: number, N: number, K: number, ms: number): string =>
  (2 * M * N * K / ms / 1e6).toFixed(1);

/**
 * Start the pool's workers (lazily started, ~0.1–0.3 s) and warm them (JIT of the JS driver,
 * wasm tier-up, first touch of their scratch memory) before any timing: call a mid-size GEMM
 * for at least 0.5 s and until a worker has run a job (at most 3 s).
 */
async function warmPool(): Promise<void> {
  const n = 256, a = allocF32(n * n), c = allocF32(n * n);
  const t0 = performance.now();
  let used = false;
  while (performance.now() - t0 < 3000 && (!used || performance.now() - t0 < 500)) {
    gemm({ M: n, N: n, K: n, a, lda: n, b: a, ldb: n, c, ldc: n });
    used ||= getThreads() === 1 || (lastTaskJobs()[1] ?? 0) > 0;
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Time every shape; returns one row per (shape, comparison). */
export async function benchGemm(runs = 7): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const tf = await loadTf();
  const threads = getThreads();
  await warmPool();
  const rng = new Rng(7);
  for (const [M, K, N] of SHAPES) {
    const a = rng.fillUniform(allocF32(M * K), -1, 1), b = rng.fillUniform(allocF32(K * N), -1, 1);
    const c = allocF32(M * N);
    const g: GemmArgs = { M, N, K, a, lda: K, b, ldb: N, c, ldc: N };
    const name = `gemm.${M}x${K}x${N}`;
    const ours = await medianMs(() => gemm(g), runs, 2);
    setThreads(1); // stops the workers; warmPool restarts them before the next timing
    const ours1 = await medianMs(() => gemm(g), runs, 1);
    setThreads(threads);
    await warmPool();
    const blocked = await medianMs(() => gemmBlockedJs(M, N, K, a, b, c), 3, 1);
    const naive = await medianMs(() => gemmReference(g), 1, 0);
    const note = `ours ${gflops(M, N, K, ours)} GFLOP/s (${threads} thr), ` +
      `1 thr ${gflops(M, N, K, ours1)}, blocked JS ${gflops(M, N, K, blocked)}, ` +
      `naive ${gflops(M, N, K, naive)}`;
    if (tf !== null) {
      const ta = tf.tensor2d(a, [M, K]), tb = tf.tensor2d(b, [K, N]);
      const peer = await medianMs(() => {
        const t = tf.matMul(ta, tb);
        t.dataSync();
        t.dispose();
      }, runs, 2);
      ta.dispose();
      tb.dispose();
      rows.push(row(name, ours, 'tfjs-backend-wasm matMul (1 thread)', peer,
        `${note}, tfjs ${gflops(M, N, K, peer)}`));
    }
    rows.push(row(`${name}.vs-blocked-js`, ours, 'plain-JS blocked GEMM', blocked, note));
    rows.push(row(`${name}.1thread-vs-naive`, ours1, 'naive triple loop (gemmReference)', naive));
  }
  // int8: the quantized conv's GEMM against our float GEMM on the same shape.
  const [M, K, N] = [192, 864, 676];
  const a8 = new Int8Array(new SharedArrayBuffer(M * K));
  const b8 = new Int8Array(new SharedArrayBuffer(K * N));
  for (let i = 0; i < a8.length; i++) a8[i] = rng.int(256) - 128;
  for (let i = 0; i < b8.length; i++) b8[i] = rng.int(256) - 128;
  const c32 = new Int32Array(new SharedArrayBuffer(4 * M * N));
  const g8 = { M, N, K, a: a8, lda: K, b: b8, ldb: N, c: c32, ldc: N };
  const int8 = await medianMs(() => gemmInt8(g8), runs, 2);
  const fa = allocF32(M * K), fb = allocF32(K * N), fc = allocF32(M * N);
  const f32 = await medianMs(() => gemm({ M, N, K, a: fa, lda: K, b: fb, ldb: N, c: fc, ldc: N }),
    runs, 2);
  rows.push(row(`gemm_int8.${M}x${K}x${N}`, int8, 'our float32 gemm, same shape', f32,
    `${gflops(M, N, K, int8)} GOP/s`));
  return rows;
}

// Run directly: `node dist/bench/gemm.js`.
if (import.meta.url === `file://${process.argv[1]}`) {
  printRows(await benchGemm());
}
