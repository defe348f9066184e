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
 *
 * sgemm_block:  C[r][n] = C[r][n] + a·b for k = 0, 1, …, kc−1 in that order, one f32 multiply and
 *   one f32 add per step (no fused multiply-add), so every element of C is the same sequential
 *   float32 sum however the caller tiles M, N or K and however many threads it uses.
 * igemm_block:  int8 A and B, exact int32 sums. Packed A holds int16 pairs (a[i][2k], a[i][2k+1]);
 *   packed B holds int8 pairs (b[2k][j], b[2k+1][j]) for j = 0..NR−1 (2·NR bytes per k pair).
 *   i32x4.dot_i16x8_s of the splatted A pair with the sign-extended B pairs gives, per lane j,
 *   a0·b0j + a1·b1j, added to the int32 accumulator (exact: |sum| < 2^31 for K < 2^16).
 */
import { Code, I32, ModuleBuilder, Op, Simd, V128, type FuncDef, type ValType } from './encoder.js';
import { packKernels } from './pack.js';

export interface KernelShape {
  /** Rows of the register tile. */
  mr: number;
  /** Columns of the register tile, a multiple of 4. */
  nr: number;
  /** k steps per iteration of the unrolled inner loop. */
  unroll: number;
}

/** The tile shapes the engine uses; 12 f32x4 accumulators fit x64's 16 vector registers. */
export const SGEMM_SHAPE: KernelShape = { mr: 6, nr: 8, unroll: 4 };
export const IGEMM_SHAPE: KernelShape = { mr: 6, nr: 8, unroll: 2 };

// Parameter and local indices shared by both kernels.
const PA = 0, PB = 1, PC = 2, MP = 3, NP = 4, KC = 5, LDC = 6;
const JR = 7, IR = 8, K = 9, AP = 10, BP = 11, CP = 12, BPANEL = 13, CCOL = 14, APANEL = 15;
const RP = 16, ASTRIDE = 17, BSTRIDE = 18;
const FIRST_V128 = 19;

type StepEmitter = (c: Code, u: number, acc: (i: number, v: number) => number,
  bv: (v: number) => number, a: number) => void;

/**
 * The shared loop nest: for each B panel (jr), for each A panel (ir): load the MR×NR tile of C,
 * run the k loop (unrolled by `unroll`, then a remainder loop), store the tile back.
 * `aStep`/`bStep` are the packed bytes consumed per k step; `step` emits one k step.
 */
function blockKernel(fname: string, s: KernelShape, aStep: number, bStep: number,
  step: StepEmitter): FuncDef {
  const nv = s.nr / 4;
  const accIdx = (i: number, v: number): number => FIRST_V128 + i * nv + v;
  const bIdx = (v: number): number => FIRST_V128 + s.mr * nv + v;
  const aIdx = FIRST_V128 + s.mr * nv + nv;
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
  const advance = (steps: number): void => {
    c.addTo(AP, steps * aStep).addTo(BP, steps * bStep).addTo(K, -steps);
  };
  // Bytes of one packed panel: kc steps of aStep (A) or bStep (B).
  c.get(KC).i32(aStep).op(Op.i32Mul).set(ASTRIDE);
  c.get(KC).i32(bStep).op(Op.i32Mul).set(BSTRIDE);
  c.get(PB).set(BPANEL).get(PC).set(CCOL).get(NP).set(JR);
  c.loop(); // jr
  c.get(PA).set(APANEL).get(CCOL).set(CP).get(MP).set(IR);
  c.loop(); // ir
  tile(false);
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
  c.get(APANEL).get(ASTRIDE).op(Op.i32Add).set(APANEL);
  c.get(CP).get(LDC).i32(s.mr).op(Op.i32Mul).op(Op.i32Add).set(CP);
  c.get(IR).i32(1).op(Op.i32Sub).tee(IR).brIf(0);
  c.end();
  c.get(BPANEL).get(BSTRIDE).op(Op.i32Add).set(BPANEL);
  c.addTo(CCOL, 4 * s.nr);
  c.get(JR).i32(1).op(Op.i32Sub).tee(JR).brIf(0);
  c.end();
  const locals: ValType[] = [...Array<ValType>(FIRST_V128 - 7).fill(I32),
    ...Array<ValType>(s.mr * nv + nv + 1).fill(V128)];
  return { name: fname, params: Array<ValType>(7).fill(I32), results: [], locals, code: c };
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
  });
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
  });
}

/** Memory limits of the shared memory every thread imports (64 KiB pages; max = 1 GiB). */
export const MEMORY_MAX_PAGES = 16384;

/**
 * The engine's kernel module, importing `env.memory` (shared, at least `minPages`): the two block
 * kernels and the float packers of pack.ts.
 */
export function buildGemmModule(minPages: number, sg = SGEMM_SHAPE,
  ig = IGEMM_SHAPE): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder({ module: 'env', field: 'memory', minPages,
    maxPages: MEMORY_MAX_PAGES, shared: true });
  mb.add(sgemmKernel(sg)).add(igemmKernel(ig));
  for (const f of packKernels(sg.mr, sg.nr)) mb.add(f);
  return mb.encode();
}
