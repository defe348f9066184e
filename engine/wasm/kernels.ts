/**
 * @file The GEMM macro-kernels, emitted as WebAssembly SIMD128 by the encoder in `encoder.ts`.
 *
 * Shape legend (one call works on one packed block; sizes in elements unless noted):
 *   MR×NR    register tile of C held in f32x4 / i32x4 accumulators (NR = 4·NV lanes)
 *   mp, np   number of MR-row panels of A and NR-column panels of B in the block
 *   kc       depth of the block (k steps; k *pairs* for the int8 kernel)
 *   pa       packed A: panel p, step k, row i at pa + 4·(p·kc·MR + k·MR + i)
 *   pb       packed B: panel q, step k, lane j at pb + 4·(q·kc·NR + k·NR + j)
 *   pc, ldc  C block: row r, column n at pc + r·ldc + 4·n (ldc in bytes)
 *   epi, et  epilogue mode (0 none, 1 affine, 2 affine then SiLU), plus ZERO_START (4) when the
 *            tiles start from zero instead of C; and the epilogue's row table: row r of the
 *            block has (scale, bias) as two f32 at et + 8·r
 *
 * sgemm_block:  C[r][n] = C[r][n] + a·b for k = 0, 1, …, kc−1 in that order, one f32 multiply and
 *   one f32 add per step (no fused multiply-add), so every element of C is the same sequential
 *   float32 sum however the caller tiles M, N or K and however many threads it uses.
 *   Epilogue (the caller sets epi ≠ 0 on the last K block only): right after a tile is stored,
 *   while it is in L1, each element becomes z = f32(f32(C·scale_r) + bias_r), then silu(z) for
 *   mode 2 (silu.ts). Elementwise, so it keeps the result independent of tiling and threads.
 * igemm_block:  int8 A and B, exact int32 sums. Packed A holds int16 pairs (a[i][2k], a[i][2k+1]);
 *   packed B holds int8 pairs (b[2k][j], b[2k+1][j]) for j = 0..NR−1 (2·NR bytes per k pair).
 *   i32x4.dot_i16x8_s of the splatted A pair with the sign-extended B pairs gives, per lane j,
 *   a0·b0j + a1·b1j, added to the int32 accumulator (exact: |sum| < 2^31 for K < 2^16).
 */
import { Code, I32, ModuleBuilder, Op, Simd, V128, type FuncDef, type ValType } from './encoder.js';
import { copyKernels } from './copy.js';
import { logisticKernels } from './logistic.js';
import { packKernels } from './pack.js';
import { emitSilu, SILU_TEMPS, siluTemps } from './silu.js';

export interface KernelShape {
  /** Rows of the register tile. */
  mr: number;
  /** Columns of the register tile, a multiple of 4. */
  nr: number;
  /** k steps per iteration of the unrolled inner loop. */
  unroll: number;
}

/**
 * The tile shapes the engine uses: 3×8 (6 accumulators), one k step per loop iteration.
 * Why so small: V8's optimising compiler keeps the wasm loads in program order ahead of the
 * arithmetic (loads sit on the effect chain, the multiplies and adds are placed just before
 * their first use), so every value a loop iteration loads is live at once next to the
 * accumulators, and x64 has 15 allocatable vector registers. 6×8 with 4 steps per iteration
 * loads 32 values per iteration and spills most of them to the stack; 4×8 avoids the spills but
 * gets register-rotating moves on every back edge. 3×8 needs 6 + 2 (B) + 3 (A) + 1 (product)
 * = 12 registers and compiles to a spill-free, move-free loop (V8 unrolls it itself).
 * Measured on 192×864×676, one thread: 6×8/4 steps 25–31 GFLOP/s, 4×8/1 31–34, 3×8/1 38–43.
 * The tile changes speed only: every C element is the same ordered float32 sum.
 */
export const SGEMM_SHAPE: KernelShape = { mr: 3, nr: 8, unroll: 1 };
export const IGEMM_SHAPE: KernelShape = { mr: 3, nr: 8, unroll: 1 };

// Parameter and local indices shared by both kernels (igemm_block ignores EPI and ET).
const PA = 0, PB = 1, PC = 2, MP = 3, NP = 4, KC = 5, LDC = 6, EPI = 7, ET = 8;
const N_PARAMS = 9;
const JR = 9, IR = 10, K = 11, AP = 12, BP = 13, CP = 14, BPANEL = 15, CCOL = 16, APANEL = 17;
const RP = 18, ASTRIDE = 19, BSTRIDE = 20, EPANEL = 21, EROW = 22, ROWS = 23, ZS = 24;
const FIRST_V128 = 25;

/** Epilogue modes (the EPI parameter). */
export const EPI_NONE = 0, EPI_AFFINE = 1, EPI_AFFINE_SILU = 2;
/**
 * Flag added to EPI (sgemm only): the tiles start from zero instead of loading C (the first K
 * block of a non-accumulating GEMM; the same +0 start as loading a zeroed C, so the same bits).
 */
export const ZERO_START = 4;

type StepEmitter = (c: Code, u: number, acc: (i: number, v: number) => number,
  bv: (v: number) => number, a: number) => void;

/**
 * The float epilogue over the MR×NR tile just stored at CP, rows' (scale, bias) from EPANEL:
 * z = C·scale + bias, then SiLU when EPI = 2. `v0` is the first of its 3 + SILU_TEMPS v128 locals.
 */
function emitEpilogue(c: Code, s: KernelShape, v0: number): void {
  const nv = s.nr / 4, SC = v0, BI = v0 + 1, Z = v0 + 2, temps = siluTemps(v0 + 3);
  c.get(EPI).if();
  c.get(CP).set(RP).get(EPANEL).set(EROW).i32(s.mr).set(ROWS);
  c.loop(); // rows of the tile
  c.get(EROW).load32Splat(0).set(SC).get(EROW).load32Splat(4).set(BI);
  for (let v = 0; v < nv; v++) {
    c.get(RP).v128Load(16 * v).get(SC).simd(Simd.f32x4Mul).get(BI).simd(Simd.f32x4Add).set(Z);
    c.get(EPI).i32(EPI_AFFINE_SILU).op(Op.i32Eq).if();
    emitSilu(c, Z, temps);
    c.end();
    c.get(RP).get(Z).v128Store(16 * v);
  }
  c.get(RP).get(LDC).op(Op.i32Add).set(RP).addTo(EROW, 8);
  c.get(ROWS).i32(1).op(Op.i32Sub).tee(ROWS).brIf(0);
  c.end();
  c.end();
}

/** v128 locals of the epilogue. */
const EPILOGUE_V128 = 3 + SILU_TEMPS;

/**
 * The shared loop nest: for each B panel (jr), for each A panel (ir): load the MR×NR tile of C,
 * run the k loop (unrolled by `unroll`, then a remainder loop), store the tile back (then run the
 * float epilogue when `epilogue`). `aStep`/`bStep` are the packed bytes consumed per k step;
 * `step` emits one k step.
 */
function blockKernel(fname: string, s: KernelShape, aStep: number, bStep: number,
  step: StepEmitter, epilogue: boolean): FuncDef {
  const nv = s.nr / 4;
  const accIdx = (i: number, v: number): number => FIRST_V128 + i * nv + v;
  const bIdx = (v: number): number => FIRST_V128 + s.mr * nv + v;
  const aIdx = FIRST_V128 + s.mr * nv + nv;
  const epiIdx = aIdx + 1;
  const c = new Code();
  const tile = (store: boolean): void => {
    c.get(CP).set(RP);
    for (let i = 0; i < s.mr; i++) {
      for (let v = 0; v < nv; v++) {
        if (store) c.get(RP).get(accIdx(i, v)).v128Store(16 * v);
        else c.get(RP).v128Load(16 * v).set(accIdx(i, v));
      }
      if (i + 1 < s.mr) c.get(RP).get(LDC).op(Op.i32Add).set(RP);
    }
  };
  const loadTile = (): void => {
    if (!epilogue) {
      tile(false);
      return;
    }
    c.get(ZS).if(); // ZERO_START: acc = +0
    for (let i = 0; i < s.mr; i++) for (let v = 0; v < nv; v++) c.f32x4(0).set(accIdx(i, v));
    c.op(Op.else);
    tile(false);
    c.end();
  };
  const advance = (steps: number): void => {
    c.addTo(AP, steps * aStep).addTo(BP, steps * bStep).addTo(K, -steps);
  };
  // Bytes of one packed panel: kc steps of aStep (A) or bStep (B).
  c.get(KC).i32(aStep).op(Op.i32Mul).set(ASTRIDE);
  c.get(KC).i32(bStep).op(Op.i32Mul).set(BSTRIDE);
  if (epilogue) {
    // Split EPI into the ZERO_START flag and the epilogue mode.
    c.get(EPI).i32(ZERO_START).op(Op.i32And).set(ZS);
    c.get(EPI).i32(ZERO_START - 1).op(Op.i32And).set(EPI);
  }
  c.get(PB).set(BPANEL).get(PC).set(CCOL).get(NP).set(JR);
  c.loop(); // jr
  c.get(PA).set(APANEL).get(CCOL).set(CP).get(MP).set(IR).get(ET).set(EPANEL);
  c.loop(); // ir
  loadTile();
  c.get(APANEL).set(AP).get(BPANEL).set(BP).get(KC).set(K);
  c.block().loop(); // unrolled k loop: while (k >= unroll)
  c.get(K).i32(s.unroll).op(Op.i32LtS).brIf(1);
  for (let u = 0; u < s.unroll; u++) step(c, u, accIdx, bIdx, aIdx);
  advance(s.unroll);
  c.br(0).end().end();
  c.block().loop(); // remainder: while (k != 0)
  c.get(K).op(Op.i32Eqz).brIf(1);
  step(c, 0, accIdx, bIdx, aIdx);
  advance(1);
  c.br(0).end().end();
  tile(true);
  if (epilogue) {
    emitEpilogue(c, s, epiIdx);
    c.addTo(EPANEL, 8 * s.mr);
  }
  c.get(APANEL).get(ASTRIDE).op(Op.i32Add).set(APANEL);
  c.get(CP).get(LDC).i32(s.mr).op(Op.i32Mul).op(Op.i32Add).set(CP);
  c.get(IR).i32(1).op(Op.i32Sub).tee(IR).brIf(0);
  c.end();
  c.get(BPANEL).get(BSTRIDE).op(Op.i32Add).set(BPANEL);
  c.addTo(CCOL, 4 * s.nr);
  c.get(JR).i32(1).op(Op.i32Sub).tee(JR).brIf(0);
  c.end();
  const locals: ValType[] = [...Array<ValType>(FIRST_V128 - N_PARAMS).fill(I32),
    ...Array<ValType>(s.mr * nv + nv + 1 + (epilogue ? EPILOGUE_V128 : 0)).fill(V128)];
  return { name: fname, params: Array<ValType>(N_PARAMS).fill(I32), results: [], locals,
    code: c };
}

/** f32 step u: b_v = B[k+u][4v..4v+3]; for each row i: acc[i][v] += splat(A[k+u][i]) · b_v. */
function sgemmKernel(s: KernelShape): FuncDef {
  const nv = s.nr / 4;
  return blockKernel('sgemm_block', s, 4 * s.mr, 4 * s.nr, (c, u, acc, bv, a) => {
    for (let v = 0; v < nv; v++) c.get(BP).v128Load(4 * (u * s.nr + 4 * v)).set(bv(v));
    for (let i = 0; i < s.mr; i++) {
      c.get(AP).load32Splat(4 * (u * s.mr + i)).set(a);
      for (let v = 0; v < nv; v++) {
        c.get(acc(i, v)).get(a).get(bv(v)).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(acc(i, v));
      }
    }
  }, true);
}

/** int8 step u (one k pair): b_v = 4 columns × 2 k, sign-extended; acc += dot(A pair, b_v). */
function igemmKernel(s: KernelShape): FuncDef {
  const nv = s.nr / 4;
  return blockKernel('igemm_block', s, 4 * s.mr, 2 * s.nr, (c, u, acc, bv, a) => {
    for (let v = 0; v < nv; v++) c.get(BP).load8x8S(u * 2 * s.nr + 8 * v).set(bv(v));
    for (let i = 0; i < s.mr; i++) {
      c.get(AP).load32Splat(4 * (u * s.mr + i)).set(a);
      for (let v = 0; v < nv; v++) {
        c.get(acc(i, v)).get(a).get(bv(v)).simd(Simd.i32x4DotI16x8S).simd(Simd.i32x4Add)
          .set(acc(i, v));
      }
    }
  }, false);
}

/** Memory limits of the shared memory every thread imports (64 KiB pages; max = 1 GiB). */
export const MEMORY_MAX_PAGES = 16384;

/**
 * The engine's kernel module, importing `env.memory` (shared, at least `minPages`): the two block
 * kernels, the float packers of pack.ts, the row copies of copy.ts and the float64 sigmoid/SiLU
 * of logistic.ts.
 */
export function buildGemmModule(minPages: number, sg = SGEMM_SHAPE,
  ig = IGEMM_SHAPE): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder({ module: 'env', field: 'memory', minPages,
    maxPages: MEMORY_MAX_PAGES, shared: true });
  mb.add(sgemmKernel(sg)).add(igemmKernel(ig));
  for (const f of [...packKernels(sg.mr, sg.nr), ...copyKernels(), ...logisticKernels()]) {
    mb.add(f);
  }
  return mb.encode();
}
