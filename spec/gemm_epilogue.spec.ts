/**
 * @file Specs of the GEMM epilogue C = act(scale[m]·(A·B) + bias[m]) (engine/gemm.ts) and of the
 * SIMD SiLU the wasm kernel applies (engine/wasm/silu.ts).
 *
 * Oracles:
 * 1. `silu32`: a Math.fround emulation of the documented SIMD algorithm (Cody–Waite, degree-6
 *    polynomial, split 2^n scaling). The kernel must equal it BIT FOR BIT.
 * 2. x / (1 + Math.exp(−x)) in float64 rounded once: relative error ≤ 4e-7 where the exact result
 *    is a normal float (measured 2.6e-7 ≈ 2.2 ulp; the bound is the brief's ~3 ulp), absolute
 *    error ≤ 2^−148 (2 subnormal ulps; measured 1) where it is subnormal.
 * 3. `gemmReference` (float64 sum, float64 epilogue, one rounding): per element
 *      |z_fast − z_ref| ≤ (K + 3)·u·|s|·Σ_k|a_k·b_k| + 2u·|z|       (u = 2⁻²⁴)
 *    (the GEMM's recursive-summation bound γ_K scaled by |s|, plus the roundings of acc·s and of
 *    + bias), and after SiLU (slope in [−0.1, 1.1]): ≤ 1.1·that + 4e-7·|y| + 2^−148.
 */
import { expect } from 'chai';
import { gemm, gemmReference, silu64, type GemmArgs } from '../engine/gemm.js';
import { allocF32 } from '../engine/memory.js';
import { Rng } from '../engine/rng.js';
import { roundHalfEven } from '../engine/round.js';
import { getThreads, setThreads } from '../engine/threads/pool.js';
import { fastGemmAvailable } from '../engine/gemm.js';

const f = Math.fround;
const U = 2 ** -24;
const SUBNORMAL_TOL = 2 ** -148;
const SILU_REL_TOL = 4e-7;

/** Oracle 1: the SIMD SiLU of engine/wasm/silu.ts, operation by operation in float32. */
const COEFFS = [0.4999999403953552, 0.1666652113199234, 0.04166838899254799,
  0.008368713781237602, 0.0013814616249874234].map(f);
function pow2(k: number): number {
  return new Float32Array(Int32Array.of((k + 127) << 23).buffer)[0];
}
function silu32(x: number): number {
  const t = Math.max(-Math.abs(x), -120);
  const n = roundHalfEven(f(t * f(Math.LOG2E)));
  const r = f(f(t - f(n * f(0.693359375))) - f(n * f(-2.12194440e-4)));
  let q = COEFFS[4];
  for (let i = 3; i >= 0; i--) q = f(f(q * r) + COEFFS[i]);
  const p = f(f(q * f(r * r)) + f(r + 1));
  const n1 = n >> 1, s1 = pow2(n1), s2 = pow2(n - n1);
  const den = f(f(f(p * s1) * s2) + 1);
  if (!(x < 0)) return f(x / den);
  return f(f(f(f(t * p) / den) * s1) * s2);
}

/** silu of every x through the fast GEMM: M = 1, K = 1, A = [1] (so z = x exactly, −0 → +0). */
function siluViaGemm(xs: Float32Array): Float32Array {
  const out = allocF32(xs.length);
  gemm({ M: 1, N: xs.length, K: 1, a: Float32Array.of(1), lda: 1, b: xs, ldb: xs.length,
    c: out, ldc: xs.length, act: 'silu' });
  return out;
}

/** Inputs: a bit-pattern sweep of both signs, a dense [−30, 30], the subnormal band, extremes. */
function siluInputs(): Float32Array {
  const xs: number[] = [];
  const bits = new Uint32Array(1), asF = new Float32Array(bits.buffer);
  for (let b = 0; b < 0x7f800000; b += 4099) {
    bits[0] = b;
    xs.push(asF[0], -asF[0]);
  }
  for (let i = 0; i <= 200_000; i++) xs.push(-30 + (60 * i) / 200_000);
  for (let i = 0; i <= 50_000; i++) xs.push(-115 + (30 * i) / 50_000);
  const max = 3.4028234663852886e38;
  xs.push(0, -0, 2 ** -149, -(2 ** -149), 2 ** -126, -(2 ** -126), 1, -1, max, -max,
    16.6, 17, -87.3, -88.72, -91.4, -103.9, -108.8, -119.99, -120, -120.01, -1e6);
  while (xs.length % 4 !== 0) xs.push(0);
  const out = allocF32(xs.length);
  out.set(xs);
  return out;
}

describe('engine/wasm SIMD SiLU (GEMM epilogue act)', function () {
  this.timeout(120_000);
  before(function () {
    if (!fastGemmAvailable()) this.skip();
  });
  const xs = siluInputs();
  let ys: Float32Array;

  it('equals its float32 emulation bit for bit (sweep of both signs, dense, extremes)', () => {
    ys = siluViaGemm(xs);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i] === 0 ? 0 : xs[i]; // the GEMM turns −0 into 0 + (−0) = +0
      const want = silu32(x);
      if (!Object.is(ys[i], want)) throw new Error(`silu(${x}) = ${ys[i]}, emulation ${want}`);
    }
  });

  it('is within 4e-7 relative (normal results) / 2^−148 (subnormal) of float64 Math.exp', () => {
    let worst = 0;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i], y = ys[i], ref = f(silu64(x));
      if (!Number.isFinite(y)) throw new Error(`silu(${x}) = ${y}`);
      const err = Math.abs(y - ref);
      if (Math.abs(ref) >= 2 ** -126) {
        worst = Math.max(worst, err / Math.abs(ref));
        if (err > SILU_REL_TOL * Math.abs(ref)) throw new Error(`silu(${x}): ${y} vs ${ref}`);
      } else if (err > SUBNORMAL_TOL) {
        throw new Error(`silu(${x}): ${y} vs ${ref} (subnormal)`);
      }
    }
    expect(worst).to.be.greaterThan(0); // the comparison really ran
  });

  it('limits: silu(x) = x for x ≥ 17, −0 for x ≤ −120, 0 at 0', () => {
    const probe = allocF32(8);
    probe.set([17, 1e10, 3.4e38, -120, -1e10, -3.4e38, 0, 100]);
    const y = siluViaGemm(probe);
    expect([y[0], y[1], y[2], y[7]]).to.deep.equal([probe[0], probe[1], probe[2], probe[7]]);
    for (const i of [3, 4, 5]) expect(Object.is(y[i], -0), `silu(${probe[i]})`).to.equal(true);
    expect(y[6]).to.equal(0);
  });
});

interface EpiCase {
  M: number; N: number; K: number; transA?: boolean; transB?: boolean;
  scale?: boolean; bias?: boolean; act?: boolean;
}
const caseName = (c: EpiCase): string => `M=${c.M} K=${c.K} N=${c.N} tA=${c.transA ? 1 : 0} ` +
  `tB=${c.transB ? 1 : 0} scale=${c.scale ? 1 : 0} bias=${c.bias ? 1 : 0} silu=${c.act ? 1 : 0}`;

/** Random arguments with offsets and padded leading dimensions; scale of both signs. */
function makeCase(c: EpiCase, seed: number): GemmArgs {
  const rng = new Rng(seed), pad = 3;
  const lda = (c.transA ? c.M : c.K) + pad, ldb = (c.transB ? c.K : c.N) + pad, ldc = c.N + pad;
  const a = rng.fillUniform(allocF32(pad + (c.transA ? c.K : c.M) * lda), -1, 1);
  const b = rng.fillUniform(allocF32(pad + (c.transB ? c.N : c.K) * ldb), -1, 1);
  const g: GemmArgs = { M: c.M, N: c.N, K: c.K, a, b, c: allocF32(pad + c.M * ldc), lda, ldb,
    ldc, aOffset: pad, bOffset: pad, cOffset: pad, transA: c.transA, transB: c.transB };
  if (c.scale) g.scale = rng.fillUniform(allocF32(c.M), -2, 2);
  if (c.bias) g.bias = rng.fillUniform(allocF32(c.M), -3, 3);
  if (c.act) g.act = 'silu';
  return g;
}

const opA = (g: GemmArgs, m: number, k: number): number =>
  g.a[(g.aOffset ?? 0) + (g.transA ? k * g.lda + m : m * g.lda + k)];
const opB = (g: GemmArgs, k: number, n: number): number =>
  g.b[(g.bOffset ?? 0) + (g.transB ? n * g.ldb + k : k * g.ldb + n)];

/** Oracle 1 for the whole fast path: sequential float32 sum, f32 affine, silu32. */
function emulateFast(g: GemmArgs, m: number, n: number): number {
  let acc = 0;
  for (let k = 0; k < g.K; k++) acc = f(acc + f(opA(g, m, k) * opB(g, k, n)));
  const z = f(f(acc * (g.scale?.[m] ?? 1)) + (g.bias?.[m] ?? 0));
  return g.act === 'silu' ? silu32(z) : z;
}

const CASES: EpiCase[] = [
  { M: 7, N: 130, K: 9, bias: true, act: true },
  { M: 13, N: 77, K: 300, scale: true, bias: true, act: true },
  { M: 100, N: 150, K: 20, scale: true, bias: true, act: true, transB: true },
  { M: 30, N: 50, K: 40, transA: true, scale: true, bias: true },
  { M: 9, N: 600, K: 17, act: true },
  { M: 97, N: 33, K: 270, scale: true, transA: true, transB: true },
];

describe('engine/gemm epilogue: act(scale·A·B + bias) per row', function () {
  this.timeout(120_000);
  const saved = getThreads();
  after(() => setThreads(saved));

  for (const [i, c] of CASES.entries()) {
    it(`${caseName(c)}: = float32 emulation bit for bit; within the bound of the reference`, () => {
      const g = makeCase(c, 100 + i);
      const fast = g.c.slice(), ref = g.c.slice();
      gemm({ ...g, c: fast });
      gemmReference({ ...g, c: ref });
      const co = g.cOffset ?? 0;
      for (let m = 0; m < g.M; m++) {
        const s = g.scale?.[m] ?? 1;
        for (let n = 0; n < g.N; n++) {
          const j = co + m * g.ldc + n;
          if (fastGemmAvailable() && !Object.is(fast[j], emulateFast(g, m, n))) {
            throw new Error(`C[${m}][${n}] ${fast[j]} vs emulation ${emulateFast(g, m, n)}`);
          }
          let sAbs = 0, z = 0;
          for (let k = 0; k < g.K; k++) {
            sAbs += Math.abs(opA(g, m, k) * opB(g, k, n));
            z += opA(g, m, k) * opB(g, k, n);
          }
          z = s * z + (g.bias?.[m] ?? 0);
          const zb = (g.K + 3) * U * Math.abs(s) * sAbs + 2 * U * Math.abs(z);
          const bound = g.act === 'silu'
            ? 1.1 * zb + SILU_REL_TOL * Math.abs(ref[j]) + SUBNORMAL_TOL : zb;
          if (!(Math.abs(fast[j] - ref[j]) <= bound)) {
            throw new Error(`C[${m}][${n}]: fast ${fast[j]} ref ${ref[j]} bound ${bound}`);
          }
        }
      }
      // Padding before C and the row tails were not written.
      for (let j = 0; j < co; j++) expect(fast[j]).to.equal(g.c[j]);
      for (let m = 0; m < g.M; m++) {
        for (let j = co + m * g.ldc + g.N; j < co + (m + 1) * g.ldc; j++) {
          expect(fast[j]).to.equal(g.c[j]);
        }
      }
    });
  }

  it('1 and 2 threads give bit-identical results (parallel-sized, 2 K blocks)', () => {
    const g = makeCase({ M: 150, N: 700, K: 290, scale: true, bias: true, act: true }, 7);
    const c1 = g.c.slice(), c2 = g.c.slice();
    setThreads(1);
    gemm({ ...g, c: c1 });
    setThreads(2);
    gemm({ ...g, c: c2 });
    expect(Buffer.from(c2.buffer).equals(Buffer.from(c1.buffer))).to.equal(true);
  });

  it('an epilogue with accumulate, or a short scale, is an error', () => {
    const g = makeCase({ M: 4, N: 4, K: 4, bias: true }, 1);
    expect(() => gemm({ ...g, accumulate: true })).to.throw(/cannot accumulate/);
    expect(() => gemmReference({ ...g, accumulate: true })).to.throw(/cannot accumulate/);
    expect(() => gemm({ ...g, scale: allocF32(3) })).to.throw(/shorter than M/);
  });
});
