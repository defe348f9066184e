/**
 * @file The logistic activations of the training path, emitted as WebAssembly SIMD over float32
 * arrays in wasm memory, in float64: the same operations, in the same order, as the Math.exp
 * loops of ops/activation.ts, so the same bits (e^a from exp64.ts).
 *
 * Per element, x, gy, gx float32 (promoted exactly), arithmetic in float64:
 *   σ:  pos = x ≥ 0;  e = exp(pos ? −x : x) = exp(−|x|);  s = (pos ? 1 : e) / (1 + e)
 *   sigmoid_fwd:  y  = f32(s)
 *   sigmoid_bwd:  gx = f32(gx + (gy·s)·(1 − s))
 *   silu_fwd:     y  = f32(x·s)
 *   silu_bwd:     gx = f32(gx + (gy·s)·(1 + x·(1 − s)))
 * (x = NaN: pos is false and s is NaN, as in the loops.) f32(·) rounds to nearest even, as a
 * store into a Float32Array does.
 * Each step takes four floats as two independent f64x2 halves: the exp is a long dependency
 * chain (two divisions), and two chains per step let the core overlap them.
 *
 * Signatures (byte addresses; `quads` = ⌈n/4⌉ groups of four, the caller pads n):
 *   sigmoid_fwd(x, y, quads) · silu_fwd(x, y, quads)
 *   sigmoid_bwd(x, gy, gx, quads) · silu_bwd(x, gy, gx, quads)
 */
import { Code, I32, Op, Simd, V128, type FuncDef, type ValType } from './encoder.js';
import { emitExp64, EXP64_TEMPS, exp64Temps } from './exp64.js';

type Kind = 'sigmoid' | 'silu';

/** Byte lanes 8–15 moved down to 0–7: the upper two floats of a vector. */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
/** Bytes 0–7 of the first vector, then bytes 0–7 of the second. */
const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/** v128 locals per half: x, pos, a, e, s, gy, gx, out, then the exp's temps. */
const HALF_LOCALS = 8 + EXP64_TEMPS;

function logistic(kind: Kind, backward: boolean): FuncDef {
  const X = 0, GY = 1, OUT = backward ? 2 : 1, QUADS = backward ? 3 : 2;
  const nParams = backward ? 4 : 3;
  const V = nParams; // first v128 local: the loaded quad of x (then gy, gx), then the halves
  const QX = V, QGY = V + 1, QGX = V + 2;
  const half = (h: number) => {
    const b = V + 3 + h * HALF_LOCALS;
    return { x: b, pos: b + 1, a: b + 2, e: b + 3, s: b + 4, gy: b + 5, gx: b + 6, out: b + 7,
      temps: exp64Temps(b + 8) };
  };
  const c = new Code();
  /** local dst ← float64 of the low (h = 0) or high (h = 1) float pair of local quad q. */
  const promote = (q: number, h: number, dst: number): void => {
    c.get(q);
    if (h === 1) c.get(q).shuffle(HIGH_HALF);
    c.simd(Simd.f64x2PromoteLowF32x4).set(dst);
  };
  c.block();
  c.get(QUADS).op(Op.i32Eqz).brIf(0);
  c.loop();
  c.get(X).v128Load(0).set(QX);
  if (backward) c.get(GY).v128Load(0).set(QGY).get(OUT).v128Load(0).set(QGX);
  for (let h = 0; h < 2; h++) {
    const v = half(h);
    promote(QX, h, v.x);
    // s = σ(x)
    c.get(v.x).f64x2(0).simd(Simd.f64x2Ge).set(v.pos);
    // a = pos ? −x : x, i.e. −|x| (x = −0 gives a = −0 where the loop has +0: e^±0 = 1 both)
    c.get(v.x).simd(Simd.f64x2Abs).simd(Simd.f64x2Neg).set(v.a);
    emitExp64(c, v.a, v.e, v.temps);
    c.f64x2(1).get(v.e).get(v.pos).simd(Simd.v128Bitselect);
    c.f64x2(1).get(v.e).simd(Simd.f64x2Add).simd(Simd.f64x2Div).set(v.s);
    if (!backward) {
      if (kind === 'silu') c.get(v.x).get(v.s).simd(Simd.f64x2Mul);
      else c.get(v.s);
    } else {
      // gx + (gy·s)·(1 − s)   or   gx + (gy·s)·(1 + x·(1 − s))
      promote(QGX, h, v.gx);
      promote(QGY, h, v.gy);
      c.get(v.gx).get(v.gy).get(v.s).simd(Simd.f64x2Mul);
      if (kind === 'silu') {
        c.f64x2(1).get(v.x).f64x2(1).get(v.s).simd(Simd.f64x2Sub).simd(Simd.f64x2Mul)
          .simd(Simd.f64x2Add);
      } else {
        c.f64x2(1).get(v.s).simd(Simd.f64x2Sub);
      }
      c.simd(Simd.f64x2Mul).simd(Simd.f64x2Add);
    }
    c.simd(Simd.f32x4DemoteF64x2Zero).set(v.out);
  }
  c.get(OUT).get(half(0).out).get(half(1).out).shuffle(LOW_HALVES).v128Store(0);
  c.addTo(X, 16).addTo(OUT, 16);
  if (backward) c.addTo(GY, 16);
  c.get(QUADS).i32(1).op(Op.i32Sub).tee(QUADS).brIf(0);
  c.end();
  c.end();
  return { name: `${kind}_${backward ? 'bwd' : 'fwd'}`, params: Array<ValType>(nParams).fill(I32),
    results: [], locals: Array<ValType>(3 + 2 * HALF_LOCALS).fill(V128), code: c };
}

/**
 * exp_f64(a, out, pairs): out = e^a over float64 arrays (a ≤ 0 or NaN), the exp of the kernels
 * above on its own, so the tests can hold it to Math.exp in full double precision.
 */
function expF64(): FuncDef {
  const A = 0, OUT = 1, PAIRS = 2, XA = 3, E = 4, T0 = 5;
  const c = new Code();
  c.block();
  c.get(PAIRS).op(Op.i32Eqz).brIf(0);
  c.loop();
  c.get(A).v128Load(0).set(XA);
  emitExp64(c, XA, E, exp64Temps(T0));
  c.get(OUT).get(E).v128Store(0);
  c.addTo(A, 16).addTo(OUT, 16);
  c.get(PAIRS).i32(1).op(Op.i32Sub).tee(PAIRS).brIf(0);
  c.end();
  c.end();
  return { name: 'exp_f64', params: Array<ValType>(3).fill(I32), results: [],
    locals: Array<ValType>(2 + EXP64_TEMPS).fill(V128), code: c };
}

/** sigmoid_fwd, sigmoid_bwd, silu_fwd, silu_bwd, exp_f64. */
export function logisticKernels(): FuncDef[] {
  return [logistic('sigmoid', false), logistic('sigmoid', true), logistic('silu', false),
    logistic('silu', true), expF64()];
}
