/**
 * @file Specs of the GEMM kernels: the wasm emitter, the fast float32 path against two oracles,
 * and the int8 GEMM against a naive loop.
 *
 * Oracles for the float path:
 * 1. `sequentialF32`: Math.fround emulation of the documented fast-path numerics
 *    (acc = f32(acc + f32(a·b)) for k in order). The fast path must equal it BIT FOR BIT.
 * 2. `gemmReference` (float64 accumulation): |fast − ref| ≤ (K + 2)·2⁻²⁴·Σ_k|a_k·b_k| per element
 *    (recursive-summation bound γ_K plus one rounding for the product and one for the
 *    reference's final store), so a wrong index or a dropped k fails it at once.
 */
import { expect } from 'chai';
import { gemm, gemmReference, fastGemmAvailable, type GemmArgs } from '../engine/gemm.js';
import { gemmInt8, gemmInt8Reference } from '../engine/gemm_int8.js';
import { Code, I32, ModuleBuilder, sleb, Simd, uleb, V128 } from '../engine/wasm/encoder.js';
import { gemmModuleBytes, kernelModule } from '../engine/wasm/runtime.js';
import { setThreads } from '../engine/threads/pool.js';
import { caseName, makeF32, makeI8, type Case } from './gemm_cases.js';

const cloneC = (g: GemmArgs): GemmArgs => ({ ...g, c: g.c.slice() });

/** Element accessors of op(A) and op(B). */
function opA(g: GemmArgs, m: number, k: number): number {
  return g.a[(g.aOffset ?? 0) + (g.transA ? k * g.lda + m : m * g.lda + k)];
}
function opB(g: GemmArgs, k: number, n: number): number {
  return g.b[(g.bOffset ?? 0) + (g.transB ? n * g.ldb + k : k * g.ldb + n)];
}

/** Oracle 1: the fast path's documented float32 recurrence, emulated with Math.fround. */
function sequentialF32(g: GemmArgs): void {
  const co = g.cOffset ?? 0;
  for (let m = 0; m < g.M; m++) {
    for (let n = 0; n < g.N; n++) {
      let acc = g.accumulate ? g.c[co + m * g.ldc + n] : 0;
      for (let k = 0; k < g.K; k++) {
        acc = Math.fround(acc + Math.fround(opA(g, m, k) * opB(g, k, n)));
      }
      g.c[co + m * g.ldc + n] = acc;
    }
  }
}

/** Oracle 2 check: fast within (K+2)·2⁻²⁴·Σ|a·b| (+ |C₀| when accumulating) of the reference. */
function expectWithinBound(g: GemmArgs, fast: Float32Array, ref: Float32Array): void {
  const co = g.cOffset ?? 0;
  for (let m = 0; m < g.M; m++) {
    for (let n = 0; n < g.N; n++) {
      const i = co + m * g.ldc + n;
      let s = g.accumulate ? Math.abs(g.c[i]) : 0;
      for (let k = 0; k < g.K; k++) s += Math.abs(opA(g, m, k) * opB(g, k, n));
      const bound = (g.K + 2) * 2 ** -24 * s;
      if (!(Math.abs(fast[i] - ref[i]) <= bound)) {
        throw new Error(`C[${m}][${n}]: fast ${fast[i]} ref ${ref[i]} bound ${bound}`);
      }
    }
  }
}

/** Everything outside the C block (padding, offset) must be untouched. */
function expectOutsideUntouched(g: GemmArgs, before: Float32Array, after: Float32Array): void {
  const co = g.cOffset ?? 0;
  for (let i = 0; i < after.length; i++) {
    const r = Math.floor((i - co) / g.ldc), n = (i - co) - r * g.ldc;
    const inside = i >= co && r < g.M && n < g.N;
    if (!inside && !Object.is(before[i], after[i])) throw new Error(`wrote outside C at ${i}`);
  }
}

/** YOLO-X-like shapes (conv as GEMM: M = Cout, K = Cin·k², N = H·W) and odd edge cases. */
export const SHAPES: Case[] = [
  { M: 96, K: 864, N: 169 }, // dark4-like 3×3, small map
  { M: 48, K: 216, N: 676 }, // dark3 3×3 at 26² (N > NC splits columns)
  { M: 250, K: 24, N: 70 }, // M > one job's rows
  { M: 7, K: 13, N: 11 },
  { M: 25, K: 97, N: 131 },
  { M: 1, K: 800, N: 37 }, // K crosses the K blocks (KC = 384); a single row
  { M: 33, K: 1, N: 130 },
  { M: 190, K: 5, N: 9 },
  { M: 3, K: 2, N: 2 }, // tiny: the reference path
];

describe('engine/wasm encoder', () => {
  it('LEB128: known encodings from the spec', () => {
    expect(uleb(0)).to.deep.equal([0]);
    expect(uleb(624485)).to.deep.equal([0xe5, 0x8e, 0x26]);
    expect(sleb(-123456)).to.deep.equal([0xc0, 0xbb, 0x78]);
    expect(sleb(-1)).to.deep.equal([0x7f]);
    expect(sleb(64)).to.deep.equal([0xc0, 0x00]);
  });

  it('a hand-built module: f32x4 add of two vectors in shared memory', () => {
    const c = new Code().get(0).get(0).v128Load(0).get(0).v128Load(16).simd(Simd.f32x4Add)
      .v128Store(32);
    const bytes = new ModuleBuilder({ module: 'env', field: 'memory', minPages: 1, maxPages: 1,
      shared: true }).add({ name: 'f', params: [I32], results: [], locals: [V128], code: c })
      .encode();
    expect(WebAssembly.validate(bytes)).to.equal(true);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    const f = new Float32Array(memory.buffer);
    f.set([1, 2, 3, 4, 10, 20, 30, 40], 4);
    (inst.exports.f as (p: number) => void)(16);
    expect(Array.from(f.subarray(12, 16))).to.deep.equal([11, 22, 33, 44]);
  });

  it('the GEMM module is emitted by the encoder, validates, and is what runs', () => {
    const bytes = gemmModuleBytes();
    expect(Array.from(bytes.subarray(0, 8))).to.deep.equal([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    expect(WebAssembly.validate(bytes)).to.equal(true);
    // Corrupting the emitted bytes must break validation (the check is not vacuous).
    const bad = bytes.slice();
    bad[bad.length - 1] = 0xff;
    expect(WebAssembly.validate(bad)).to.equal(false);
    const mod = new WebAssembly.Module(bytes);
    const names = (m: WebAssembly.Module): string[] =>
      WebAssembly.Module.exports(m).map((e) => e.name).sort();
    // Packers for A panels of MR = 3 rows and B panels of NR = 8 columns (kernels.ts).
    expect(names(mod)).to.deep.equal(['copy_rows_1', 'copy_rows_2', 'exp_f64', 'igemm_block',
      'pack_cols_3', 'pack_cols_8', 'pack_pairs_8', 'pack_rows_3', 'pack_rows_8', 'pack_table_8',
      'sgemm_block', 'sigmoid_bwd', 'sigmoid_fwd', 'silu_bwd', 'silu_fwd']);
    expect(names(kernelModule())).to.deep.equal(names(mod));
    expect(WebAssembly.Module.imports(mod)).to.deep.equal(
      [{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(fastGemmAvailable()).to.equal(true);
  });
});

describe('engine/gemm fast path (float32)', () => {
  before(() => setThreads(2));
  const combos: Array<Pick<Case, 'transA' | 'transB'>> = [
    {}, { transA: true }, { transB: true }, { transA: true, transB: true }];
  let seed = 1;
  for (const shape of SHAPES) {
    for (const tr of combos) {
      for (const extra of [{}, { accumulate: true, pad: 3 }]) {
        const c: Case = { ...shape, ...tr, ...extra };
        const s = seed++;
        it(caseName(c), () => {
          const g = makeF32(c, s);
          const before = g.c.slice();
          const oracle = cloneC(g), ref = cloneC(g);
          gemm(g);
          gemmReference(ref);
          expectOutsideUntouched(g, before, g.c);
          expectWithinBound({ ...g, c: before }, g.c, ref.c);
          if (c.M * c.N * c.K >= 4096) {
            sequentialF32(oracle);
            expect(Buffer.from(g.c.buffer).equals(Buffer.from(oracle.c.buffer))).to.equal(true);
          }
        });
      }
    }
  }

  it('plain (non-shared) Float32Arrays are copied for the threads and give the same bits', () => {
    const c: Case = { M: 64, K: 300, N: 200, transB: true, accumulate: true, pad: 1 };
    const shared = makeF32(c, 77), plain = makeF32(c, 77, true);
    gemm(shared);
    gemm(plain);
    expect(plain.c.buffer).to.be.instanceOf(ArrayBuffer);
    expect(Array.from(plain.c)).to.deep.equal(Array.from(shared.c));
  });

  it('K = 0 writes zeros (or keeps C when accumulating)', () => {
    const g = makeF32({ M: 70, K: 0, N: 90 }, 5);
    const kept = makeF32({ M: 70, K: 0, N: 90, accumulate: true }, 5);
    const c0 = kept.c.slice();
    gemm(g);
    gemm(kept);
    expect(g.c.every((v) => v === 0)).to.equal(true);
    expect(Array.from(kept.c)).to.deep.equal(Array.from(c0));
  });
});

describe('engine/gemm_int8 (exact)', () => {
  before(() => setThreads(2));
  const cases: Case[] = [
    { M: 96, K: 864, N: 169 }, { M: 48, K: 217, N: 676, transB: true },
    { M: 25, K: 97, N: 131, transA: true, accumulate: true, pad: 2 },
    { M: 250, K: 3, N: 70, transA: true, transB: true, pad: 1 },
    { M: 7, K: 801, N: 11, accumulate: true }, { M: 13, K: 9, N: 45, accumulate: true, pad: 3 },
    { M: 3, K: 5, N: 2 }, { M: 100, K: 301, N: 700, transA: true, pad: 1 },
  ];
  cases.forEach((c, i) => {
    it(`${caseName(c)} equals the naive loop`, () => {
      const g = makeI8(c, 100 + i), ref = { ...g, c: g.c.slice() };
      gemmInt8(g);
      gemmInt8Reference(ref);
      expect(Buffer.from(g.c.buffer).equals(Buffer.from(ref.c.buffer))).to.equal(true);
    });
  });

  it('plain (non-shared) int8 arrays are copied for the threads', () => {
    const c: Case = { M: 64, K: 300, N: 200, accumulate: true };
    const g = makeI8(c, 11);
    const plain = { ...g, a: g.a.slice(), b: g.b.slice(), c: g.c.slice() };
    const ref = { ...g, c: g.c.slice() };
    gemmInt8(plain);
    gemmInt8Reference(ref);
    expect(plain.c.buffer).to.be.instanceOf(ArrayBuffer);
    expect(Array.from(plain.c)).to.deep.equal(Array.from(ref.c));
  });

  it('all −128: the largest products sum exactly', () => {
    const g = makeI8({ M: 12, K: 1000, N: 16 }, 9);
    g.a.fill(-128);
    g.b.fill(-128);
    gemmInt8(g);
    expect(g.c.every((v) => v === 1000 * 16384)).to.equal(true);
  });
});
