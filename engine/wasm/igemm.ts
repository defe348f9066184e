/**
 * @file The int8×int8→int32 GEMM driver: same job split as sgemm.ts, with k taken in pairs so
 * the kernel can use i32x4.dot_i16x8_s (see kernels.ts, igemm_block).
 *
 * Shape legend: C[M×N] (+)= op(A)[M×K] · op(B)[K×N], A and B int8, C int32.
 *   kp = ⌈kc/2⌉   k pairs in a packed block; an odd last k is paired with a zero
 *   packed A      panel p, pair k2, row i: int16 (a[i][2k2], a[i][2k2+1]) — 4 bytes
 *   packed B      panel q, pair k2, column j: int8 (b[2k2][j], b[2k2+1][j]) — 2 bytes
 * Integer sums are exact, so the result equals a naive loop whatever the split.
 */
import type { GemmInt8Args } from '../gemm_int8.js';
import { IGEMM_SHAPE } from './kernels.js';
import { KC, MC, region, type Kernels } from './runtime.js';
import type { JobPlan } from './sgemm.js';

const MR = IGEMM_SHAPE.mr, NR = IGEMM_SHAPE.nr;
const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/** Pack op(A)[m0…m0+mcb, pc…pc+kc] as int16 pairs into `h` (Int16Array over wasm memory). */
function packA(g: GemmInt8Args, h: Int16Array, dst: number, m0: number, mcb: number, pc: number,
  kc: number): void {
  const a = g.a, lda = g.lda, ao = g.aOffset ?? 0, kp = Math.ceil(kc / 2);
  // Element strides of op(A) along m and k.
  const sM = g.transA ? 1 : lda, sK = g.transA ? lda : 1;
  for (let p = 0; p * MR < mcb; p++) {
    const d0 = dst + 2 * p * kp * MR;
    const rows = Math.min(MR, mcb - p * MR);
    if (rows < MR || kc % 2 === 1) h.fill(0, d0, d0 + 2 * kp * MR);
    for (let i = 0; i < rows; i++) {
      const s = ao + (m0 + p * MR + i) * sM + pc * sK;
      for (let k = 0; k < kc; k++) h[d0 + 2 * ((k >> 1) * MR + i) + (k & 1)] = a[s + k * sK];
    }
  }
}

/** Pack op(B)[pc…pc+kc, n0…n0+nc] as int8 pairs into `q8` (Int8Array over wasm memory). */
function packB(g: GemmInt8Args, q8: Int8Array, dst: number, n0: number, nc: number, pc: number,
  kc: number): void {
  const b = g.b, ldb = g.ldb, bo = g.bOffset ?? 0, kp = Math.ceil(kc / 2);
  const sK = g.transB ? 1 : ldb, sN = g.transB ? ldb : 1;
  for (let q = 0; q * NR < nc; q++) {
    const d0 = dst + 2 * q * kp * NR;
    const cols = Math.min(NR, nc - q * NR);
    if (cols < NR || kc % 2 === 1) q8.fill(0, d0, d0 + 2 * kp * NR);
    for (let k = 0; k < kc; k++) {
      const s = bo + (pc + k) * sK + (n0 + q * NR) * sN, d = d0 + 2 * (k >> 1) * NR + (k & 1);
      for (let j = 0; j < cols; j++) q8[d + 2 * j] = b[s + j * sN];
    }
  }
}

/** Run job `job` of `plan` on thread `t` with that thread's kernels. */
export function igemmJob(g: GemmInt8Args, plan: JobPlan, job: number, kern: Kernels,
  t: number): void {
  const { M, N, K, c, ldc } = g, co = g.cOffset ?? 0;
  const jm = Math.floor(job / plan.nJobs), jn = job % plan.nJobs;
  const m0 = jm * plan.mJob, n0 = jn * plan.nJob;
  const mc = Math.min(plan.mJob, M - m0), nc = Math.min(plan.nJob, N - n0);
  const ldw = roundUp(nc, NR);
  const reg = region(t), buf = kern.memory.buffer;
  const i32 = new Int32Array(buf), h = new Int16Array(buf), q8 = new Int8Array(buf);
  const cw = reg.c / 4;
  for (let r = 0; r < mc; r++) {
    const s = co + (m0 + r) * ldc + n0, d = cw + r * ldw;
    if (g.accumulate) i32.set(c.subarray(s, s + nc), d);
    else i32.fill(0, d, d + nc);
  }
  for (let pc = 0; pc < K; pc += KC) {
    const kc = Math.min(KC, K - pc);
    packB(g, q8, reg.b, n0, nc, pc, kc);
    for (let ic = 0; ic < mc; ic += MC) {
      const mcb = Math.min(MC, mc - ic);
      packA(g, h, reg.a / 2, m0 + ic, mcb, pc, kc);
      kern.igemmBlock(reg.a, reg.b, reg.c + ic * ldw * 4, Math.ceil(mcb / MR), ldw / NR,
        Math.ceil(kc / 2), ldw * 4);
    }
  }
  for (let r = 0; r < mc; r++) {
    const d = co + (m0 + r) * ldc + n0, s = cw + r * ldw;
    c.set(i32.subarray(s, s + nc), d);
  }
}
