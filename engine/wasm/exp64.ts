/**
 * @file e^a on two float64 lanes, emitted as WebAssembly SIMD, giving exactly the bits of
 * JavaScript's Math.exp for every a ≤ 0 (±0 included; NaN gives a NaN). Math.exp in V8 is the
 * fdlibm algorithm (e_exp.c) in plain double arithmetic; this is the same sequence of IEEE ops,
 * each correctly rounded in wasm as in C, with fdlibm's branches turned into lane selects.
 * The training path's sigmoid and SiLU (logistic.ts) use it, so they stay bit-identical to the
 * Math.exp loops of ops/activation.ts: spec/logistic.spec.ts compares the two over a fixed
 * sample of float32 inputs, and an exhaustive run over all 2^32 float32 patterns was made once
 * (logistic.spec.ts header).
 *
 * fdlibm's method for a ≤ 0 (constants below):
 *   a NaN → NaN;   a < U_TH (≈ −745.13, −∞ included) → +0;   |a| < 2^−28 → 1 + a
 *   k = 0 when |a| ≤ ½ln2 (|a|'s high word ≤ 0x3FD62E42): r = a
 *   otherwise k = −1 when |a| < 1.5·ln2 (high word < 0x3FF0A2B2), else k = trunc(a/ln2 − ½)
 *     (the second formula also gives −1 there, so the code uses it throughout);
 *     hi = a − k·LN2_HI (exact), lo = k·LN2_LO, r = hi − lo
 *   c = r − r²·(P1 + r²·(P2 + r²·(P3 + r²·(P4 + r²·P5))))
 *   k = 0: e^a = 1 − ((r·c)/(c − 2) − r);   else y = 1 − ((lo − (r·c)/(2 − c)) − hi), then
 *   e^a = y·2^k for k ≥ −1021, (y·2^(k+1000))·2^−1000 below (2^k as the bits (k + 1023) << 52).
 * C's (int) conversion of k is f64x2.trunc here (the same integer, kept as a double).
 * The high-word tests become comparisons of |a| with the doubles whose high word is the bound
 * and low word 0 (for non-negative doubles, bit order is value order). For k = −1 fdlibm writes
 * hi = a − (−LN2_HI) and lo = −LN2_LO: the same operations as the general formulas with k = −1.
 */
import { Code, Simd } from './encoder.js';

const LN2_HI = 6.93147180369123816490e-01;
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = 1.44269504088896338700e+00;
const P = [1.66666666666666019037e-01, -2.77777777770155933842e-03, 6.61375632143793436117e-05,
  -1.65339022054652515390e-06, 4.13813679705723846039e-08];
const U_TH = -7.45133219101941108420e+02;
const TWO_M1000 = 2 ** -1000;
/** 1.5·2^52 and its bit pattern: adding it to a small integral double exposes the integer. */
const MAGIC = 6755399441055744;
const MAGIC_BITS = 0x4338000000000000n;

/** The double whose high 32 bits are `hi` and low 32 bits are 0. */
function fromHighWord(hi: number): number {
  const d = new DataView(new ArrayBuffer(8));
  d.setUint32(0, hi);
  return d.getFloat64(0);
}
/** |a| ≥ this ⇔ high word of |a| > 0x3FD62E42 (|a| > ½ln2 in fdlibm's test). */
const K_NONZERO = fromHighWord(0x3fd62e43);
/** |a| < this ⇔ high word < 0x3E300000 (|a| < 2^−28). */
const TINY = fromHighWord(0x3e300000);

/** Scratch v128 locals the emitted code overwrites. */
export interface Exp64Temps {
  big: number; t: number; hi: number; lo: number; r: number; tt: number; c: number; q: number;
  y: number;
}

/** Number of v128 scratch locals `emitExp64` needs. */
export const EXP64_TEMPS = 9;

export function exp64Temps(first: number): Exp64Temps {
  return { big: first, t: first + 1, hi: first + 2, lo: first + 3, r: first + 4, tt: first + 5,
    c: first + 6, q: first + 7, y: first + 8 };
}

/** Push select(mask, a, b) where a, b, mask are emitted by the callbacks (v128.bitselect). */
function select(c: Code, a: () => void, b: () => void, mask: () => void): void {
  a();
  b();
  mask();
  c.simd(Simd.v128Bitselect);
}

/** local `out` ← e^a for the f64x2 in local `a` (lanes a ≤ 0, ±0 or NaN); `a` is kept. */
export function emitExp64(c: Code, a: number, out: number, v: Exp64Temps): void {
  const abs = (): void => { c.get(a).simd(Simd.f64x2Abs); };
  // big: k ≠ 0 lanes. t = k as a double: trunc(a·(1/ln2) − ½).
  abs();
  c.f64x2(K_NONZERO).simd(Simd.f64x2Ge).set(v.big);
  // (f64x2.trunc is C's (double)(int) conversion wherever k fits an int, i.e. on every lane
  // whose result is kept. Below 1.5·ln2 the formula itself gives −1: there a/ln2 − ½ lies in
  // (−1.9999997, −1.0000001).)
  c.get(a).f64x2(INV_LN2).simd(Simd.f64x2Mul).f64x2(-0.5).simd(Simd.f64x2Add)
    .simd(Simd.f64x2Trunc).set(v.t);
  // hi = a − t·LN2_HI, lo = t·LN2_LO, r = hi − lo (k ≠ 0) or a (k = 0)
  c.get(a).get(v.t).f64x2(LN2_HI).simd(Simd.f64x2Mul).simd(Simd.f64x2Sub).set(v.hi);
  c.get(v.t).f64x2(LN2_LO).simd(Simd.f64x2Mul).set(v.lo);
  select(c, () => c.get(v.hi).get(v.lo).simd(Simd.f64x2Sub), () => c.get(a),
    () => c.get(v.big));
  c.set(v.r);
  // c = r − tt·(P1 + tt·(P2 + tt·(P3 + tt·(P4 + tt·P5)))), tt = r²
  c.get(v.r).get(v.r).simd(Simd.f64x2Mul).set(v.tt);
  c.get(v.tt).f64x2(P[4]).simd(Simd.f64x2Mul);
  for (let i = 3; i >= 0; i--) {
    c.f64x2(P[i]).simd(Simd.f64x2Add);
    if (i > 0) c.get(v.tt).simd(Simd.f64x2Mul);
  }
  c.set(v.q); // P1 + tt·(…)
  c.get(v.r).get(v.tt).get(v.q).simd(Simd.f64x2Mul).simd(Simd.f64x2Sub).set(v.c);
  // q = (r·c)/(2 − c) for k ≠ 0, (r·c)/(c − 2) for k = 0
  c.get(v.r).get(v.c).simd(Simd.f64x2Mul);
  select(c, () => c.f64x2(2).get(v.c).simd(Simd.f64x2Sub),
    () => c.get(v.c).f64x2(2).simd(Simd.f64x2Sub), () => c.get(v.big));
  c.simd(Simd.f64x2Div).set(v.q);
  // k ≠ 0: y = 1 − ((lo − q) − hi), scaled by 2^k (two steps below k = −1021)
  c.f64x2(1).get(v.lo).get(v.q).simd(Simd.f64x2Sub).get(v.hi).simd(Simd.f64x2Sub)
    .simd(Simd.f64x2Sub).set(v.y);
  c.get(v.t).f64x2(-1021).simd(Simd.f64x2Lt).set(v.hi); // hi is free now: the "small" mask
  // 2^k (or 2^(k+1000)) as the bits (k + bias) << 52. k comes from t exactly: t + 1.5·2^52 has
  // the bits of 1.5·2^52 plus k, for the small integers t that reach here.
  c.get(v.y);
  c.get(v.t).f64x2(MAGIC).simd(Simd.f64x2Add);
  select(c, () => c.i64x2(1023n + 1000n - MAGIC_BITS), () => c.i64x2(1023n - MAGIC_BITS),
    () => c.get(v.hi));
  c.simd(Simd.i64x2Add).i32(52).simd(Simd.i64x2Shl).simd(Simd.f64x2Mul).set(v.y);
  // ·2^−1000 on the small lanes only (·1, exact, elsewhere): an unconditional product would
  // underflow on every lane, and subnormal results are slow on x64.
  c.get(v.y);
  select(c, () => c.f64x2(TWO_M1000), () => c.f64x2(1), () => c.get(v.hi));
  c.simd(Simd.f64x2Mul).set(v.y);
  // k = 0: 1 − (q − r)
  select(c, () => c.get(v.y), () => {
    c.f64x2(1).get(v.q).get(v.r).simd(Simd.f64x2Sub).simd(Simd.f64x2Sub);
  }, () => c.get(v.big));
  c.set(out);
  // Special lanes, the later select winning: tiny → 1 + a; underflow → +0. (A NaN lane is
  // NaN through every formula, as fdlibm's a + a is; its payload bits are not kept.)
  select(c, () => c.f64x2(1).get(a).simd(Simd.f64x2Add), () => c.get(out),
    () => { abs(); c.f64x2(TINY).simd(Simd.f64x2Lt); });
  c.set(out);
  select(c, () => c.f64x2(0), () => c.get(out),
    () => c.get(a).f64x2(U_TH).simd(Simd.f64x2Lt));
  c.set(out);
}
