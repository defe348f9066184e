/**
 * @file SiLU on four float32 lanes, emitted as WebAssembly SIMD (the GEMM epilogue's activation).
 *
 *   silu(x) = x·σ(x) = x / (1 + e^−x)            for x ≥ 0
 *           = x·e^x / (1 + e^x)                  for x < 0
 * Both branches need only E = e^t with t = −|x| ≤ 0, so E ∈ (0, 1] never overflows:
 *   t = max(−|x|, −120)           (below −120, silu(x) rounds to −0 in float32 anyway)
 *   n = nearest(t·log2 e),  r = (t − n·C1) − n·C2        (Cody–Waite: C1 + C2 = ln 2, C1 has 9
 *                                 significant bits so n·C1 is exact; |r| ≤ ln2/2 + tiny)
 *   p = 1 + r + r²·(c0 + c1·r + c2·r² + c3·r³ + c4·r⁴) ≈ e^r     (degree 6)
 *   E = p·2^n  as (p·2^n1)·2^n2 with n1 = n >> 1, n2 = n − n1, so each factor is a normal float
 *               even when 2^n is not (n ≥ −174); E may underflow gracefully, which is harmless
 *   y = (x ≥ 0 ? x : t·p) / (1 + E),  then for x < 0: y ← (y·2^n1)·2^n2
 * The last scaling makes the one rounding into the subnormal range happen at the very end, so
 * outputs near −0 (x ≲ −88) keep full relative accuracy while they are normal floats.
 *
 * Polynomial: c0…c4 minimise the maximum relative error of p on [−ln2/2, ln2/2] (Lawson-weighted
 * least squares in float64, then rounded to float32): 3.1e-9 before rounding of the arithmetic.
 * Measured against x / (1 + Math.exp(−x)) (float64, rounded once) over every 61st float32 bit
 * pattern of both signs (70 M inputs): max relative error 2.6e-7 (≈ 2.2 ulp) where the exact
 * result is a normal float, ≤ 1 subnormal ulp (2^−149) where it is subnormal; silu(x) = x for
 * large x, −0 for x ≤ −120, and no NaN or ∞ for any finite input (spec/gemm_epilogue.spec.ts).
 */
import { Code, Simd } from './encoder.js';

const LOG2E = 1.4426950408889634;
/** ln 2 = C1 + C2, C1 = 355/512 exactly. */
const C1 = 0.693359375;
const C2 = -2.12194440e-4;
/** Lower clamp of t = −|x|. */
const T_MIN = -120;
/** c0…c4 of p(r) = 1 + r + r²·(c0 + c1 r + c2 r² + c3 r³ + c4 r⁴). */
const COEFFS = [0.4999999403953552, 0.1666652113199234, 0.04166838899254799,
  0.008368713781237602, 0.0013814616249874234];

/** Seven v128 scratch locals the emitted code may overwrite. */
export interface SiluTemps {
  t: number;
  n: number;
  r: number;
  p: number;
  s1: number;
  s2: number;
  neg: number;
}

/** Number of v128 scratch locals `emitSilu` needs. */
export const SILU_TEMPS = 7;

/** Scratch locals numbered from `first`. */
export function siluTemps(first: number): SiluTemps {
  return { t: first, n: first + 1, r: first + 2, p: first + 3, s1: first + 4, s2: first + 5,
    neg: first + 6 };
}

/** 2^k for the i32x4 on the stack (k ≥ −126): (k + 127) << 23 as float bits. */
function pow2(c: Code): void {
  c.i32x4(127).simd(Simd.i32x4Add).i32(23).simd(Simd.i32x4Shl);
}

/** local x ← silu(local x), lane-wise (f32x4). */
export function emitSilu(c: Code, x: number, v: SiluTemps): void {
  // t = max(−|x|, T_MIN); neg = (x < 0) lane mask
  c.get(x).simd(Simd.f32x4Abs).simd(Simd.f32x4Neg).f32x4(T_MIN).simd(Simd.f32x4Max).set(v.t);
  c.get(x).f32x4(0).simd(Simd.f32x4Lt).set(v.neg);
  // n = nearest(t·log2 e); r = (t − n·C1) − n·C2
  c.get(v.t).f32x4(LOG2E).simd(Simd.f32x4Mul).simd(Simd.f32x4Nearest).set(v.n);
  c.get(v.t).get(v.n).f32x4(C1).simd(Simd.f32x4Mul).simd(Simd.f32x4Sub);
  c.get(v.n).f32x4(C2).simd(Simd.f32x4Mul).simd(Simd.f32x4Sub).set(v.r);
  // p = r²·q(r) + (r + 1), q by Horner from the highest coefficient
  c.f32x4(COEFFS[COEFFS.length - 1]);
  for (let i = COEFFS.length - 2; i >= 0; i--) {
    c.get(v.r).simd(Simd.f32x4Mul).f32x4(COEFFS[i]).simd(Simd.f32x4Add);
  }
  c.get(v.r).get(v.r).simd(Simd.f32x4Mul).simd(Simd.f32x4Mul);
  c.get(v.r).f32x4(1).simd(Simd.f32x4Add).simd(Simd.f32x4Add).set(v.p);
  // s1 = 2^(n >> 1), s2 = 2^(n − (n >> 1)); n is integral and in [−174, 0]
  c.get(v.n).simd(Simd.i32x4TruncSatF32x4S).set(v.n);
  c.get(v.n).i32(1).simd(Simd.i32x4ShrS).set(v.s1);
  c.get(v.n).get(v.s1).simd(Simd.i32x4Sub);
  pow2(c);
  c.set(v.s2);
  c.get(v.s1);
  pow2(c);
  c.set(v.s1);
  // x ← (neg ? t·p : x) / (1 + (p·s1)·s2)
  c.get(v.t).get(v.p).simd(Simd.f32x4Mul).get(x).get(v.neg).simd(Simd.v128Bitselect);
  c.get(v.p).get(v.s1).simd(Simd.f32x4Mul).get(v.s2).simd(Simd.f32x4Mul);
  c.f32x4(1).simd(Simd.f32x4Add).simd(Simd.f32x4Div);
  // neg lanes: ·s1·s2 (the scale by e^(n·ln2) deferred to here); other lanes: ·1·1 (exact)
  c.get(v.s1).f32x4(1).get(v.neg).simd(Simd.v128Bitselect).simd(Simd.f32x4Mul);
  c.get(v.s2).f32x4(1).get(v.neg).simd(Simd.v128Bitselect).simd(Simd.f32x4Mul).set(x);
}
