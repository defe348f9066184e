/**
 * @file The float32 GEMM driver: splits C into jobs, packs A and B panels into the thread's wasm
 * scratch region and runs the SIMD block kernel (`kernels.ts`, sgemm_block).
 *
 * Shape legend: C[M×N] (+)= op(A)[M×K] · op(B)[K×N] (index rules in engine/gemm.ts).
 *   job       a block of C: rows [m0, m0+mJob) × columns [n0, n0+nJob); jobs never share a C element
 *   kc ≤ KC   depth of one packed block; mcb ≤ MC rows of A packed at a time
 *   MR×NR     the kernel's register tile; edge panels are zero-padded (extra rows/columns of the
 *             C block are computed and discarded), K is never padded
 * Numerics: each C element is acc₀ = (accumulate ? C : 0), then acc ← f32(acc + f32(a·b)) for
 * k = 0…K−1 in order. The C block stays in wasm memory across the K blocks, so the float32 value is
 * carried exactly and the result does not depend on the block sizes, the job split or the thread.
 */
import type { GemmArgs } from '../gemm.js';
import { SGEMM_SHAPE } from './kernels.js';
import { KC, MC, MJ, NC, region, type Kernels } from './runtime.js';

const MR = SGEMM_SHAPE.mr, NR = SGEMM_SHAPE.nr;
const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/** How C is cut into jobs: mJobs × nJobs blocks of at most mJob × nJob elements. */
export interface JobPlan {
  mJob: number;
  nJob: number;
  mJobs: number;
  nJobs: number;
}

/**
 * Cut C into jobs: rows in blocks of at most MJ, columns in blocks of at most NC, and enough
 * blocks (about 3 per thread) for the threads to share the work evenly. Any plan gives the
 * same bits; the plan only affects speed.
 */
export function planJobs(M: number, N: number, threads: number, mr = MR, nr = NR): JobPlan {
  const mBlocks = Math.ceil(M / MJ);
  const mJob = Math.min(MJ, roundUp(Math.ceil(M / mBlocks), mr));
  const mJobs = Math.ceil(M / mJob);
  const want = threads > 1 ? Math.ceil((3 * threads) / mJobs) : 1;
  const nBlocks = Math.max(Math.ceil(N / NC), Math.min(want, Math.ceil(N / 64)));
  const nJob = Math.min(NC, roundUp(Math.ceil(N / nBlocks), nr));
  return { mJob, nJob, mJobs, nJobs: Math.ceil(N / nJob) };
}

/** Pack op(A)[m0…m0+mcb, pc…pc+kc] as MR-row panels (k-major inside a panel) at word `dst`. */
function packA(g: GemmArgs, f: Float32Array, dst: number, m0: number, mcb: number, pc: number,
  kc: number): void {
  const a = g.a, lda = g.lda, ao = g.aOffset ?? 0;
  for (let p = 0; p * MR < mcb; p++) {
    const d0 = dst + p * kc * MR;
    const rows = Math.min(MR, mcb - p * MR);
    if (rows < MR) f.fill(0, d0, d0 + kc * MR);
    if (g.transA) {
      // A is K×M: the MR values of one k are contiguous.
      for (let k = 0; k < kc; k++) {
        const s = ao + (pc + k) * lda + m0 + p * MR, d = d0 + k * MR;
        for (let i = 0; i < rows; i++) f[d + i] = a[s + i];
      }
    } else {
      for (let i = 0; i < rows; i++) {
        const s = ao + (m0 + p * MR + i) * lda + pc;
        for (let k = 0, d = d0 + i; k < kc; k++, d += MR) f[d] = a[s + k];
      }
    }
  }
}

/** Pack op(B)[pc…pc+kc, n0…n0+nc] as NR-column panels (k-major inside a panel) at word `dst`. */
function packB(g: GemmArgs, f: Float32Array, dst: number, n0: number, nc: number, pc: number,
  kc: number): void {
  const b = g.b, ldb = g.ldb, bo = g.bOffset ?? 0;
  for (let q = 0; q * NR < nc; q++) {
    const d0 = dst + q * kc * NR;
    const cols = Math.min(NR, nc - q * NR);
    if (cols < NR) f.fill(0, d0, d0 + kc * NR);
    if (g.transB) {
      for (let j = 0; j < cols; j++) {
        const s = bo + (n0 + q * NR + j) * ldb + pc;
        for (let k = 0, d = d0 + j; k < kc; k++, d += NR) f[d] = b[s + k];
      }
    } else if (cols === NR) {
      // B is K×N: the NR values of one k are contiguous (the common, full-panel case).
      for (let k = 0, s = bo + pc * ldb + n0 + q * NR, d = d0; k < kc; k++, s += ldb, d += NR) {
        f[d] = b[s]; f[d + 1] = b[s + 1]; f[d + 2] = b[s + 2]; f[d + 3] = b[s + 3];
        f[d + 4] = b[s + 4]; f[d + 5] = b[s + 5]; f[d + 6] = b[s + 6]; f[d + 7] = b[s + 7];
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const s = bo + (pc + k) * ldb + n0 + q * NR, d = d0 + k * NR;
        for (let j = 0; j < cols; j++) f[d + j] = b[s + j];
      }
    }
  }
}

/** Run job `job` of `plan` on thread `t` (its scratch region) with that thread's kernels. */
export function sgemmJob(g: GemmArgs, plan: JobPlan, job: number, kern: Kernels, t: number): void {
  const { M, N, K, c, ldc } = g, co = g.cOffset ?? 0;
  const jm = Math.floor(job / plan.nJobs), jn = job % plan.nJobs;
  const m0 = jm * plan.mJob, n0 = jn * plan.nJob;
  const mc = Math.min(plan.mJob, M - m0), nc = Math.min(plan.nJob, N - n0);
  const ldw = roundUp(nc, NR); // C block row stride in words
  const reg = region(t);
  const f = new Float32Array(kern.memory.buffer);
  const aw = reg.a / 4, bw = reg.b / 4, cw = reg.c / 4;
  for (let r = 0; r < mc; r++) {
    const s = co + (m0 + r) * ldc + n0, d = cw + r * ldw;
    if (g.accumulate) f.set(c.subarray(s, s + nc), d);
    else f.fill(0, d, d + nc);
  }
  for (let pc = 0; pc < K; pc += KC) {
    const kc = Math.min(KC, K - pc);
    packB(g, f, bw, n0, nc, pc, kc);
    for (let ic = 0; ic < mc; ic += MC) {
      const mcb = Math.min(MC, mc - ic);
      packA(g, f, aw, m0 + ic, mcb, pc, kc);
      kern.sgemmBlock(reg.a, reg.b, reg.c + ic * ldw * 4, Math.ceil(mcb / MR), ldw / NR, kc,
        ldw * 4);
    }
  }
  for (let r = 0; r < mc; r++) {
    const d = co + (m0 + r) * ldc + n0, s = cw + r * ldw;
    c.set(f.subarray(s, s + nc), d);
  }
}
