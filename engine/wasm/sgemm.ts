/**
 * @file The float32 GEMM driver: splits C into jobs, packs A and B panels into the thread's wasm
 * scratch region and runs the SIMD block kernel (`kernels.ts`, sgemm_block).
 *
 * Shape legend: C[M×N] (+)= op(A)[M×K] · op(B)[K×N] (index rules in engine/gemm.ts).
 *   job       a block of C, rows [m0, m0+mJob) × columns [n0, n0+nJob); jobs never overlap
 *   kc ≤ KC   depth of one packed block; mcb ≤ MC rows of A packed at a time
 *   MR×NR     the kernel's register tile; edge panels are zero-padded (extra rows/columns of the
 *             C block are computed and discarded), K is never padded
 * Packing: rows of A/B are memcpy'd into a staging matrix, then reordered by the wasm packers
 * (pack.ts); zero padding there makes every panel full. An implicit im2col B is packed straight
 * from shifted views of a padded copy of its image in wasm memory (shifted_image.ts), over
 * padded-width columns that the copy-out maps back to C's. When several column jobs would repack
 * the same rows of A, the main thread packs all of A once (packSharedA) and jobs only pack B.
 * Numerics: each C element is acc₀ = (accumulate ? C : 0), then acc ← f32(acc + f32(a·b)) for
 * k = 0…K−1 in order. The C block stays in wasm memory across the K blocks, so the float32 value is
 * carried exactly and the result does not depend on the block sizes, the job split or the thread.
 * Epilogue (GemmArgs scale/bias/act): the job writes its rows' (scale, bias) into its region's
 * table and the kernel applies z = f32(f32(acc·scale) + bias), then SiLU, to each tile as it is
 * stored after the last K block (kernels.ts) — elementwise, so still independent of the split.
 */
import type { GemmArgs } from '../gemm.js';
import { EPI_AFFINE, EPI_AFFINE_SILU, EPI_NONE, SGEMM_SHAPE, ZERO_START } from './kernels.js';
import { KC, MC, MJ, NC, region, S_PAD, type Kernels } from './runtime.js';
import { shiftedRowAddr, type ShiftedImage } from './shifted_image.js';

type Region = ReturnType<typeof region>;

const MR = SGEMM_SHAPE.mr, NR = SGEMM_SHAPE.nr;
const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/** How C is cut into jobs: mJobs × nJobs blocks of at most mJob × nJob elements. */
export interface JobPlan {
  mJob: number;
  nJob: number;
  mJobs: number;
  nJobs: number;
  /**
   * Set when an implicit im2col B was laid out in wasm memory as shifted views
   * (shifted_image.ts): the jobs then cut the img.nCols padded-width columns, not N.
   */
  img?: ShiftedImage;
}

/**
 * Jobs per thread to aim for. Small jobs keep the threads finishing together when one of them is
 * descheduled (shared machines); with A packed once per call they cost little extra.
 */
const JOBS_PER_THREAD = 6;

/**
 * Cut C into jobs: rows in blocks of at most MJ, columns in blocks of at most NC (and at least
 * 64 columns), enough of them for the threads to share the work evenly. Any plan gives the same
 * bits; the plan only affects speed.
 */
export function planJobs(M: number, N: number, threads: number, mr = MR, nr = NR): JobPlan {
  const mBlocks = Math.ceil(M / MJ);
  // Row blocks are whole MC blocks (so they line up with the shared packed A) unless M ≤ MC.
  const mJob = M <= MC ? roundUp(M, mr) : Math.min(MJ, roundUp(Math.ceil(M / mBlocks), MC));
  const mJobs = Math.ceil(M / mJob);
  const want = threads > 1 ? Math.ceil((JOBS_PER_THREAD * threads) / mJobs) : 1;
  const nBlocks = Math.max(Math.ceil(N / NC), Math.min(want, Math.ceil(N / 64)));
  const nJob = Math.min(NC, roundUp(Math.ceil(N / nBlocks), nr));
  return { mJob, nJob, mJobs, nJobs: Math.ceil(N / nJob) };
}

/** f[d…d+n) = src[s…s+n): a plain loop for short rows, a memcpy (`set`) for long ones. */
function copyRow(f: Float32Array, d: number, src: Float32Array, s: number, n: number): void {
  if (n < 32) for (let i = 0; i < n; i++) f[d + i] = src[s + i];
  else f.set(src.subarray(s, s + n), d);
}

/**
 * Stage `rows` rows of `len` elements (source row r at src[s0 + r·ld]) into the staging area as
 * rows of stride `lds` words, zero-filling each row's tail up to `width` and the rows up to
 * `rowsPad`. Returns the staging row stride in bytes.
 */
function stage(f: Float32Array, sw: number, src: Float32Array, s0: number, ld: number,
  rows: number, rowsPad: number, len: number, width: number): number {
  const lds = width + S_PAD;
  for (let r = 0; r < rows; r++) {
    copyRow(f, sw + r * lds, src, s0 + r * ld, len);
    if (width > len) f.fill(0, sw + r * lds + len, sw + r * lds + width);
  }
  if (rowsPad > rows) f.fill(0, sw + rows * lds, sw + rowsPad * lds);
  return lds * 4;
}

/** Pack op(A)[m0…m0+mcb, pc…pc+kc] as MR-row panels at byte address `dst`. */
function packA(g: GemmArgs, kern: Kernels, f: Float32Array, reg: Region, dst: number, m0: number,
  mcb: number, pc: number, kc: number): void {
  const ao = g.aOffset ?? 0, panels = Math.ceil(mcb / MR), mPad = panels * MR;
  if (g.transA) {
    // A is K×M: stage kc rows of mcb values, then each k's MR values form one panel step.
    const ld = stage(f, reg.s / 4, g.a, ao + pc * g.lda + m0, g.lda, kc, kc, mcb, mPad);
    kern.packARows(reg.s, ld, dst, kc, panels);
  } else {
    const ld = stage(f, reg.s / 4, g.a, ao + m0 * g.lda + pc, g.lda, mcb, mPad, kc, kc);
    kern.packACols(reg.s, ld, dst, kc, panels);
  }
}

/**
 * Pack op(B)[pc…pc+kc, n0…n0+nc] as NR-column panels at byte address reg.b. With `img`, B's
 * rows are shifted views of the image in wasm memory: a table of their addresses (from column
 * n0) goes to the staging area and pack_table reads the rows from there.
 */
function packB(g: GemmArgs, kern: Kernels, f: Float32Array, reg: Region, n0: number,
  nc: number, pc: number, kc: number, img: ShiftedImage | undefined): void {
  const bo = g.bOffset ?? 0, panels = Math.ceil(nc / NR), nPad = panels * NR;
  if (img !== undefined) {
    const table = new Int32Array(f.buffer, reg.s, kc);
    for (let r = 0; r < kc; r++) table[r] = shiftedRowAddr(img, pc + r) + 4 * n0;
    kern.packBTable(reg.s, 0, reg.b, kc, panels);
  } else if (g.bIm2col !== undefined) {
    throw new Error('sgemm: an implicit im2col B needs its shifted image (gemm places it)');
  } else if (g.transB) {
    const ld = stage(f, reg.s / 4, g.b, bo + n0 * g.ldb + pc, g.ldb, nc, nPad, kc, kc);
    kern.packBCols(reg.s, ld, reg.b, kc, panels);
  } else {
    // B is K×N: stage kc rows of nc values; each k's NR values form one panel step.
    const ld = stage(f, reg.s / 4, g.b, bo + pc * g.ldb + n0, g.ldb, kc, kc, nc, nPad);
    kern.packBRows(reg.s, ld, reg.b, kc, panels);
  }
}

/** The kernel's epilogue mode for these arguments. */
export function epilogueMode(g: GemmArgs): number {
  if (g.act === 'silu') return EPI_AFFINE_SILU;
  return g.scale !== undefined || g.bias !== undefined ? EPI_AFFINE : EPI_NONE;
}

/** Rows [m0, m0+rows) of the epilogue table at word `ew`; scale 1 / bias 0 when absent. */
function fillEpilogue(g: GemmArgs, f: Float32Array, ew: number, m0: number, rows: number): void {
  const rowsPad = roundUp(rows, MR);
  for (let r = 0; r < rowsPad; r++) {
    const inside = r < rows;
    f[ew + 2 * r] = inside ? (g.scale?.[m0 + r] ?? 1) : 0;
    f[ew + 2 * r + 1] = inside ? (g.bias?.[m0 + r] ?? 0) : 0;
  }
}

/** Depth of the K blocks: (nearly) equal blocks ≤ KC; changes speed only, never the bits. */
const kBlock = (K: number): number => Math.ceil(K / Math.ceil(K / KC));

/** Bytes of A packed once: ⌈M/MC⌉ blocks of MC rows × K. */
export const sharedABytes = (M: number, K: number): number => Math.ceil(M / MC) * MC * K * 4;

/** Byte address of block (rows from ic, a multiple of MC; depth from pc) of the shared A. */
const sharedABlock = (base: number, ic: number, pc: number, K: number): number =>
  base + ((ic / MC) * K + pc) * MC * 4;

/**
 * Pack all of op(A) once at byte address `base` (above every thread's region), using thread
 * 0's staging area; the jobs then read their A panels from there instead of repacking them.
 */
export function packSharedA(g: GemmArgs, kern: Kernels, base: number): void {
  const { M, K } = g, reg = region(0), f = new Float32Array(kern.memory.buffer);
  const kcMax = kBlock(K);
  for (let ic = 0; ic < M; ic += MC) {
    for (let pc = 0; pc < K; pc += kcMax) {
      packA(g, kern, f, reg, sharedABlock(base, ic, pc, K), ic, Math.min(MC, M - ic), pc,
        Math.min(kcMax, K - pc));
    }
  }
}

/**
 * Run job `job` of `plan` on thread `t` (its scratch region) with that thread's kernels.
 * `aShared` is the byte address of A packed by packSharedA, or −1 to pack A here.
 */
export function sgemmJob(g: GemmArgs, plan: JobPlan, aShared: number, job: number, kern: Kernels,
  t: number): void {
  const { M, K, c, ldc } = g, co = g.cOffset ?? 0, img = plan.img;
  const N = img !== undefined ? img.nCols : g.N;
  const jm = Math.floor(job / plan.nJobs), jn = job % plan.nJobs;
  const m0 = jm * plan.mJob, n0 = jn * plan.nJob;
  const mc = Math.min(plan.mJob, M - m0), nc = Math.min(plan.nJob, N - n0);
  const ldw = roundUp(nc, NR); // C block row stride in words
  const reg = region(t);
  const f = new Float32Array(kern.memory.buffer);
  const cw = reg.c / 4;
  // Accumulating: the block starts as C. Otherwise the kernel starts its tiles from zero on
  // the first K block (ZERO_START), so the block needs no clearing.
  if (g.accumulate && img !== undefined) {
    copyShiftedIn(f, cw, ldw, c, co + m0 * ldc, ldc, mc, n0, nc, img);
  } else if (g.accumulate) {
    for (let r = 0; r < mc; r++) {
      const s = co + (m0 + r) * ldc + n0, d = cw + r * ldw;
      f.set(c.subarray(s, s + nc), d);
    }
  }
  const epi = epilogueMode(g);
  if (epi !== EPI_NONE) fillEpilogue(g, f, reg.e / 4, m0, mc);
  const kcMax = kBlock(K);
  for (let pc = 0; pc < K; pc += kcMax) {
    const kc = Math.min(kcMax, K - pc);
    const last = pc + kc === K;
    packB(g, kern, f, reg, n0, nc, pc, kc, img);
    for (let ic = 0; ic < mc; ic += MC) {
      const mcb = Math.min(MC, mc - ic);
      let pa = reg.a;
      if (aShared >= 0) pa = sharedABlock(aShared, m0 + ic, pc, K);
      else packA(g, kern, f, reg, reg.a, m0 + ic, mcb, pc, kc);
      const mode = (last ? epi : EPI_NONE) + (pc === 0 && !g.accumulate ? ZERO_START : 0);
      kern.sgemmBlock(pa, reg.b, reg.c + ic * ldw * 4, Math.ceil(mcb / MR), ldw / NR, kc,
        ldw * 4, mode, reg.e + ic * 8);
    }
  }
  if (img !== undefined) {
    copyShiftedOut(kern, f, reg, ldw, c, co + m0 * ldc, ldc, mc, n0, nc, img);
    return;
  }
  for (let r = 0; r < mc; r++) {
    const d = co + (m0 + r) * ldc + n0, s = cw + r * ldw;
    c.set(f.subarray(s, s + nc), d);
  }
}

/**
 * The kept columns of a C block over padded-width columns n' ∈ [n0, n0+nc): n' = i·Hq·Wq +
 * oh·Wq + ow is column oh·OW + ow of image i's block of C (at i·cImageStride) when oh < OH and
 * ow < OW, dropped otherwise. As (block column, C offset, length) triples, one per output row
 * met, in increasing order; within one image their C offsets are contiguous. One triple when no
 * column is padding (one image, Wq = OW: 1-wide, stride-1 kernels).
 */
function keptSegments(n0: number, nc: number, img: ShiftedImage): number[] {
  const { Hq, Wq, OH, OW, images } = img;
  if (Wq === OW && images === 1) return [0, n0, nc];
  const seg: number[] = [];
  for (let n = n0; n < n0 + nc;) {
    const i = Math.floor(n / (Hq * Wq)), q = n - i * Hq * Wq;
    const oh = Math.floor(q / Wq), ow = q - oh * Wq;
    const end = Math.min(n0 + nc, i * Hq * Wq + (oh + 1) * Wq); // this row's part of the block
    const len = Math.min(OW, ow + end - n) - ow;
    if (len > 0 && oh < OH) seg.push(n - n0, i * img.cImageStride + oh * OW + ow, len);
    n = end;
  }
  return seg;
}

/** Copy C's values at the kept columns into the block (to accumulate onto them). */
function copyShiftedIn(f: Float32Array, cw: number, ldw: number, c: Float32Array, c0: number,
  ldc: number, mc: number, n0: number, nc: number, img: ShiftedImage): void {
  const seg = keptSegments(n0, nc, img);
  for (let r = 0; r < mc; r++) {
    for (let i = 0; i < seg.length; i += 3) {
      copyRow(f, cw + r * ldw + seg[i], c, c0 + r * ldc + seg[i + 1], seg[i + 2]);
    }
  }
}

/**
 * Copy the block's kept columns out to C. Segments whose C offsets follow on from each other
 * (one image's part of the block) are first gathered, in wasm, into rows of the staging area
 * (copy_rows_1 per segment over all rows), so each row of C then takes one contiguous copy per
 * image instead of one per output row.
 */
function copyShiftedOut(kern: Kernels, f: Float32Array, reg: Region, ldw: number,
  c: Float32Array, c0: number, ldc: number, mc: number, n0: number, nc: number,
  img: ShiftedImage): void {
  const seg = keptSegments(n0, nc, img);
  for (let g0 = 0; g0 < seg.length;) {
    // The run of segments [g0, g1) with contiguous C offsets.
    let g1 = g0 + 3, kept = seg[g0 + 2];
    while (g1 < seg.length && seg[g1 + 1] === seg[g1 - 2] + seg[g1 - 1]) {
      kept += seg[g1 + 2];
      g1 += 3;
    }
    const first = seg[g0 + 1];
    let src = reg.c / 4 + seg[g0], ld = ldw;
    if (g1 - g0 > 3) {
      for (let i = g0; i < g1; i += 3) {
        kern.copyRows1(reg.c + 4 * seg[i], 4 * ldw, reg.s + 4 * (seg[i + 1] - first), 4 * kept,
          mc, seg[i + 2]);
      }
      src = reg.s / 4;
      ld = kept;
    }
    for (let r = 0; r < mc; r++) copyRow(c, c0 + r * ldc + first, f, src + r * ld, kept);
    g0 = g1;
  }
}
