/**
 * @file The int8×int8→int32 GEMM driver: same job split as sgemm.ts, with k taken in pairs so
 * the kernel can use i32x4.dot_i16x8_s (see kernels.ts, igemm_block).
 *
 * Shape legend: C[M×N] (+)= op(A)[M×K] · op(B)[K×N], A and B int8, C int32.
 *   kp = ⌈kc/2⌉   k pairs in a packed block; an odd last k is paired with a zero
 *   packed A      panel p, pair k2, row i: int16 (a[i][2k2], a[i][2k2+1]) — 4 bytes
 *   packed B      panel q, pair k2, column j: int8 (b[2k2][j], b[2k2+1][j]) — 2 bytes
 * Packing stages rows in wasm memory and reorders them with the wasm packers (pack.ts).
 * Integer sums are exact, so the result equals a naive loop whatever the split.
 */
import type { GemmInt8Args } from '../gemm_int8.js';
import { IGEMM_SHAPE, SGEMM_SHAPE } from './kernels.js';
import { KC, MC, region, type Kernels } from './runtime.js';

type Region = ReturnType<typeof region>;
// The wasm packers used here are built for A panels of SGEMM_SHAPE.mr rows and B panels of 8.
if (IGEMM_SHAPE.mr !== SGEMM_SHAPE.mr || IGEMM_SHAPE.nr !== 8) throw new Error('igemm tile');
import type { JobPlan } from './sgemm.js';

const MR = IGEMM_SHAPE.mr, NR = IGEMM_SHAPE.nr;
const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/**
 * Pack op(A)[m0…m0+mcb, pc…pc+kc] as int16 pairs at byte address `dst`. Untransposed A is staged
 * as int16 rows (Int16Array.set sign-extends the int8 values), so each k pair is one 32-bit word
 * and the float packer pack_cols_MR builds the panels; transposed A is packed in JS.
 */
function packA(g: GemmInt8Args, kern: Kernels, buf: SharedArrayBuffer, reg: Region, dst: number,
  m0: number, mcb: number, pc: number, kc: number): void {
  const a = g.a, lda = g.lda, ao = g.aOffset ?? 0, kp = Math.ceil(kc / 2);
  const panels = Math.ceil(mcb / MR);
  const h = new Int16Array(buf);
  if (!g.transA) {
    const ld = 2 * kp + 8, s0 = reg.s / 2; // staging row stride in int16 elements
    for (let i = 0; i < mcb; i++) {
      const s = ao + (m0 + i) * lda + pc;
      h.set(a.subarray(s, s + kc), s0 + i * ld);
      if (kc % 2 === 1) h[s0 + i * ld + kc] = 0;
    }
    h.fill(0, s0 + mcb * ld, s0 + panels * MR * ld);
    kern.packACols(reg.s, 2 * ld, dst, kp, panels);
    return;
  }
  for (let p = 0; p < panels; p++) {
    const d0 = dst / 2 + 2 * p * kp * MR;
    const rows = Math.min(MR, mcb - p * MR);
    if (rows < MR || kc % 2 === 1) h.fill(0, d0, d0 + 2 * kp * MR);
    for (let i = 0; i < rows; i++) {
      const s = ao + pc * lda + m0 + p * MR + i;
      for (let k = 0; k < kc; k++) h[d0 + 2 * ((k >> 1) * MR + i) + (k & 1)] = a[s + k * lda];
    }
  }
}

/**
 * Pack op(B)[pc…pc+kc, n0…n0+nc] as int8 pairs at byte address reg.b. Untransposed B is staged as
 * int8 rows (an odd kc gets a zero row) and interleaved by pack_pairs_8; transposed B in JS.
 */
function packB(g: GemmInt8Args, kern: Kernels, buf: SharedArrayBuffer, reg: Region, n0: number,
  nc: number, pc: number, kc: number): void {
  const b = g.b, ldb = g.ldb, bo = g.bOffset ?? 0, kp = Math.ceil(kc / 2);
  const panels = Math.ceil(nc / NR), nPad = panels * NR;
  const q8 = new Int8Array(buf);
  if (!g.transB) {
    const ld = nPad + 16, s0 = reg.s; // staging row stride in bytes
    for (let k = 0; k < kc; k++) {
      const s = bo + (pc + k) * ldb + n0, d = s0 + k * ld;
      q8.set(b.subarray(s, s + nc), d);
      if (nPad > nc) q8.fill(0, d + nc, d + nPad);
    }
    if (kc % 2 === 1) q8.fill(0, s0 + kc * ld, s0 + kc * ld + nPad);
    kern.packB8Pairs(reg.s, ld, reg.b, kp, panels);
    return;
  }
  for (let q = 0; q < panels; q++) {
    const d0 = reg.b + 2 * q * kp * NR;
    const cols = Math.min(NR, nc - q * NR);
    if (cols < NR || kc % 2 === 1) q8.fill(0, d0, d0 + 2 * kp * NR);
    for (let j = 0; j < cols; j++) {
      const s = bo + (n0 + q * NR + j) * ldb + pc;
      for (let k = 0; k < kc; k++) q8[d0 + 2 * ((k >> 1) * NR + j) + (k & 1)] = b[s + k];
    }
  }
}

/** Run job `job` of `plan` on thread `t` with that thread's kernels. */
/** Bytes of A packed once: ⌈M/MC⌉ blocks of MC rows × ⌈K/2⌉ pairs × 4 bytes (KC is even). */
export const sharedA8Bytes = (M: number, K: number): number =>
  Math.ceil(M / MC) * MC * Math.ceil(K / 2) * 4;

/** Byte address of block (rows from ic, a multiple of MC; depth from pc) of the shared A. */
const sharedABlock = (base: number, ic: number, pc: number, K: number): number =>
  base + ((ic / MC) * Math.ceil(K / 2) + pc / 2) * MC * 4;

/** Pack all of op(A) once at byte address `base`, with thread 0's staging area (cf. sgemm.ts). */
export function packSharedA8(g: GemmInt8Args, kern: Kernels, base: number): void {
  const { M, K } = g, reg = region(0), buf = kern.memory.buffer as unknown as SharedArrayBuffer;
  for (let ic = 0; ic < M; ic += MC) {
    for (let pc = 0; pc < K; pc += KC) {
      packA(g, kern, buf, reg, sharedABlock(base, ic, pc, K), ic, Math.min(MC, M - ic), pc,
        Math.min(KC, K - pc));
    }
  }
}

/**
 * Run job `job` of `plan` on thread `t` with that thread's kernels; `aShared` is the byte
 * address of A packed by packSharedA8, or −1 to pack A here.
 */
export function igemmJob(g: GemmInt8Args, plan: JobPlan, aShared: number, job: number,
  kern: Kernels, t: number): void {
  const { M, N, K, c, ldc } = g, co = g.cOffset ?? 0;
  const jm = Math.floor(job / plan.nJobs), jn = job % plan.nJobs;
  const m0 = jm * plan.mJob, n0 = jn * plan.nJob;
  const mc = Math.min(plan.mJob, M - m0), nc = Math.min(plan.nJob, N - n0);
  const ldw = roundUp(nc, NR);
  const reg = region(t), buf = kern.memory.buffer as unknown as SharedArrayBuffer;
  const i32 = new Int32Array(buf);
  const cw = reg.c / 4;
  for (let r = 0; r < mc; r++) {
    const s = co + (m0 + r) * ldc + n0, d = cw + r * ldw;
    if (g.accumulate) i32.set(c.subarray(s, s + nc), d);
    else i32.fill(0, d, d + nc);
  }
  for (let pc = 0; pc < K; pc += KC) {
    const kc = Math.min(KC, K - pc);
    packB(g, kern, buf, reg, n0, nc, pc, kc);
    for (let ic = 0; ic < mc; ic += MC) {
      const mcb = Math.min(MC, mc - ic);
      let pa = reg.a;
      if (aShared >= 0) pa = sharedABlock(aShared, m0 + ic, pc, K);
      else packA(g, kern, buf, reg, reg.a, m0 + ic, mcb, pc, kc);
      kern.igemmBlock(pa, reg.b, reg.c + ic * ldw * 4, Math.ceil(mcb / MR), ldw / NR,
        Math.ceil(kc / 2), ldw * 4, 0, 0);
    }
  }
  for (let r = 0; r < mc; r++) {
    const d = co + (m0 + r) * ldc + n0, s = cw + r * ldw;
    c.set(i32.subarray(s, s + nc), d);
  }
}
