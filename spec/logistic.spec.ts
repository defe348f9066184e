/**
 * ops/logistic_fast.ts (wasm sigmoid and SiLU, engine/wasm/logistic.ts + exp64.ts) against the
 * Math.exp loops of ops/activation.ts. Exact: the wasm path promises the loops' bits (the
 * training path, and so the committed checkpoint, depends on it), so every output must have
 * the same 32-bit pattern; NaN only has to stay NaN (payload bits are not promised).
 *
 * Inputs: every 4099th float32 bit pattern (~1.05 M values over both signs, all exponents),
 * plus the edges of fdlibm's branches (2^−28, ½ln2, 1.5·ln2, the k = −1021 switch near −707.7,
 * the underflow bound −745.13), subnormals, ±0, ±∞ and NaN.
 * Exhaustive check, run once outside the suite (all 2^32 float32 patterns through silu_fwd and
 * sigmoid_fwd, 2026-11-27, Node 20.20.2): 0 mismatches.
 */
import { expect } from 'chai';
import {
  sigmoidBackward, sigmoidForward, siluBackward, siluForward,
} from '../ops/activation.js';
import {
  fastLogisticAvailable, logisticBackwardFast, logisticForwardFast, type LogisticKind,
} from '../ops/logistic_fast.js';
import { Rng } from '../engine/rng.js';
import { region, threadKernels } from '../engine/wasm/runtime.js';

const REF = {
  silu: { forward: siluForward, backward: siluBackward },
  sigmoid: { forward: sigmoidForward, backward: sigmoidBackward },
};

/** Index of the first element whose bits differ (both NaN counts as equal), or −1. */
function firstDiff(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) {
    if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  }
  return -1;
}

/** The sampled bit patterns plus the branch edges and special values. */
function inputs(): Float32Array {
  const edges = [0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 1.17e-38, -1.17e-38,
    2 ** -28, -(2 ** -28), 2 ** -29, 0.5 * Math.LN2, -0.5 * Math.LN2, 0.34657, -0.34658,
    1.5 * Math.LN2, -1.5 * Math.LN2, 1.0397, -1.0398, -707.7, -707.71, -708, 707.8, -709.78,
    -709.79, -745.13, -745.14, 745.2, -88.7, 88.7, -104, 104, 3.4e38, -3.4e38, 20, -20];
  const step = 4099, n = Math.floor(2 ** 32 / step);
  const u = new Uint32Array(n + edges.length);
  for (let i = 0; i < n; i++) u[i] = i * step;
  const x = new Float32Array(u.buffer);
  x.set(edges, n);
  return x;
}

describe('ops/logistic_fast: wasm sigmoid and SiLU = the Math.exp loops, bit for bit', () => {
  const x = inputs();
  const kinds: LogisticKind[] = ['silu', 'sigmoid'];

  it('is the path the ops take', () => {
    expect(fastLogisticAvailable()).to.equal(true);
  });

  for (const kind of kinds) {
    it(`${kind} forward on ${x.length} inputs`, () => {
      const want = new Float32Array(x.length), got = new Float32Array(x.length);
      REF[kind].forward(x, want);
      logisticForwardFast(kind, x, got);
      const i = firstDiff(want, got);
      expect(i, i < 0 ? '' : `x = ${x[i]}: loop ${want[i]}, wasm ${got[i]}`).to.equal(-1);
    });

    it(`${kind} backward (accumulating into gx) on ${x.length} inputs`, () => {
      const rng = new Rng(kind.length);
      const gy = rng.fillUniform(new Float32Array(x.length), -2, 2);
      const want = rng.fillUniform(new Float32Array(x.length), -1, 1), got = want.slice();
      REF[kind].backward(x, gy, want);
      logisticBackwardFast(kind, x, gy, got);
      const i = firstDiff(want, got);
      expect(i, i < 0 ? '' : `x = ${x[i]}: loop ${want[i]}, wasm ${got[i]}`).to.equal(-1);
    });
  }

  it('the exp alone equals Math.exp in float64 on a ≤ 0 (every branch, incl. k < −1021)', () => {
    // Doubles a = −m·2^e over the whole negative range: the branches the float32 outputs above
    // cannot see (results below 2^−149, the tiny-argument rule) are checked here.
    const rng = new Rng(5), n = 200000;
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = -(1 + rng.uniform()) * 2 ** (rng.int(41) - 31);
    a.set([-0, 0, -Infinity, -745.13, -745.1332191019411, -745.1332191019412, -708.39641853226,
      -707.7, -(2 ** -28), -(2 ** -28) * 0.999, -0.5 * Math.LN2, -1.5 * Math.LN2, -1e-300]);
    const { kern, index } = threadKernels();
    const w = region(index).s / 8, f = new Float64Array(kern.memory.buffer);
    let bad = -1;
    for (let lo = 0; lo < n && bad < 0; lo += 8192) {
      const len = Math.min(8192, n - lo);
      f.set(a.subarray(lo, lo + len), w);
      kern.expF64(8 * w, 8 * (w + 8192), len / 2);
      for (let i = 0; i < len && bad < 0; i++) {
        if (!Object.is(f[w + 8192 + i], Math.exp(a[lo + i]))) bad = lo + i;
      }
    }
    expect(bad, bad < 0 ? '' : `a = ${a[bad]}`).to.equal(-1);
  });

  it('any length: the padding to groups of four and the 16384-element chunks', () => {
    const rng = new Rng(11);
    for (const n of [1, 2, 3, 5, 7, 16383, 16384, 16385, 40001]) {
      const xs = rng.fillUniform(new Float32Array(n), -12, 12);
      const gy = rng.fillUniform(new Float32Array(n), -1, 1);
      for (const kind of kinds) {
        const want = new Float32Array(n), got = new Float32Array(n).fill(NaN);
        REF[kind].forward(xs, want);
        logisticForwardFast(kind, xs, got);
        expect(firstDiff(want, got), `${kind} forward n=${n}`).to.equal(-1);
        const gw = rng.fillUniform(new Float32Array(n), -1, 1), gg = gw.slice();
        REF[kind].backward(xs, gy, gw);
        logisticBackwardFast(kind, xs, gy, gg);
        expect(firstDiff(gw, gg), `${kind} backward n=${n}`).to.equal(-1);
      }
    }
  });
});
