/**
 * @file conv2d against a naive direct-convolution loop, im2col/col2im as adjoints, the reference
 * GEMM against a naive triple loop, and conv2d's shape errors.
 */
import { expect } from 'chai';
import { ShapeError } from '../engine/errors.js';
import { gemmReference, type GemmArgs } from '../engine/gemm.js';
import { allocF32 } from '../engine/memory.js';
import { Rng } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';
import { conv2d } from '../ops/conv.js';
import { col2im, im2col, outSize, type ConvGeometry } from '../ops/im2col.js';
import { randTensor } from './gradcheck.js';

/**
 * The oracle: y[n, o, oh, ow] = b[o] + Σ_{ci, kh, kw} w[o, ci, kh, kw] · x[n, g·Cg + ci, ih, iw]
 * with ih = oh·s − p + kh, iw = ow·s − p + kw, g = ⌊o / Og⌋, out-of-range x = 0; in float64.
 * Also returns Σ|terms| per output (for the rounding bound).
 */
function naiveConv(x: Tensor, w: Tensor, b: Tensor | null, s: number, p: number, G: number)
  : { y: Float64Array; mag: Float64Array } {
  const [N, C, H, W] = x.shape;
  const [O, Cg, KH, KW] = w.shape;
  const OH = Math.floor((H + 2 * p - KH) / s) + 1, OW = Math.floor((W + 2 * p - KW) / s) + 1;
  const Og = O / G;
  const y = new Float64Array(N * O * OH * OW), mag = new Float64Array(y.length);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let acc = b ? b.data[o] : 0, m = Math.abs(acc);
          for (let ci = 0; ci < Cg; ci++) {
            for (let kh = 0; kh < KH; kh++) {
              for (let kw = 0; kw < KW; kw++) {
                const ih = oh * s - p + kh, iw = ow * s - p + kw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const t = w.data[((o * Cg + ci) * KH + kh) * KW + kw] *
                  x.data[((n * C + g * Cg + ci) * H + ih) * W + iw];
                acc += t;
                m += Math.abs(t);
              }
            }
          }
          const i = ((n * O + o) * OH + oh) * OW + ow;
          y[i] = acc;
          mag[i] = m;
        }
      }
    }
  }
  return { y, mag };
}

interface ConvCase { x: number[]; w: number[]; s: number; p: number; g: number; bias: boolean }

const cases: ConvCase[] = [
  { x: [2, 4, 7, 7], w: [6, 2, 3, 3], s: 2, p: 1, g: 2, bias: true },
  { x: [3, 3, 5, 6], w: [4, 3, 1, 1], s: 1, p: 0, g: 1, bias: true },
  { x: [2, 6, 9, 5], w: [6, 1, 3, 3], s: 1, p: 1, g: 6, bias: false },
  { x: [2, 4, 8, 7], w: [4, 4, 3, 3], s: 2, p: 0, g: 1, bias: true },
  { x: [2, 3, 9, 9], w: [8, 3, 5, 3], s: 3, p: 2, g: 1, bias: true },
  { x: [2, 4, 6, 6], w: [6, 4, 1, 1], s: 2, p: 0, g: 1, bias: false },
  // Large enough (M·N·K ≥ 4096 per GEMM) to take the fast float32 GEMM path when available.
  { x: [2, 8, 11, 9], w: [16, 4, 3, 3], s: 1, p: 1, g: 2, bias: true },
];

describe('ops/conv: conv2d equals a naive direct convolution', () => {
  for (const c of cases) {
    const name = `x=[${c.x}] w=[${c.w}] s=${c.s} p=${c.p} g=${c.g}${c.bias ? ' bias' : ''}`;
    it(name, () => {
      const x = randTensor(c.x, 41, -1, 1, false), w = randTensor(c.w, 42, -1, 1, false);
      const b = c.bias ? randTensor([c.w[0]], 43, -1, 1, false) : null;
      const y = conv2d(x, w, b, { stride: c.s, padding: c.p, groups: c.g });
      const ref = naiveConv(x, w, b, c.s, c.p, c.g);
      expect(y.shape).to.deep.equal([c.x[0], c.w[0], outSize(c.x[2], c.w[2], c.s, c.p),
        outSize(c.x[3], c.w[3], c.s, c.p)]);
      // Tolerance per element: the GEMM may accumulate in float32 (engine/gemm.ts), whose error
      // is ≤ (K + 2)·2⁻²⁴·Σ|terms| (recursive summation plus the final rounding), K = Cg·KH·KW + 1.
      const K = c.w[1] * c.w[2] * c.w[3] + 1;
      for (let i = 0; i < y.size; i++) {
        const bound = (K + 2) * 2 ** -24 * ref.mag[i];
        if (!(Math.abs(y.data[i] - ref.y[i]) <= bound)) {
          expect.fail(`element ${i}: conv ${y.data[i]} naive ${ref.y[i]} bound ${bound}`);
        }
      }
    });
  }
});

describe('ops/im2col: col2im is the adjoint of im2col', () => {
  // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for every x, c: checks that col2im's gather visits exactly
  // the positions im2col reads, with padding and stride. Dot products in float64; col2im rounds
  // each gx element once to float32, so |lhs − rhs| ≤ 2⁻²⁴·Σ|x·gx| (+1e-12 for summation order).
  const geoms: ConvGeometry[] = [
    { C: 2, H: 7, W: 6, KH: 3, KW: 3, S: 2, P: 1, OH: 0, OW: 0 },
    { C: 3, H: 5, W: 5, KH: 5, KW: 3, S: 1, P: 2, OH: 0, OW: 0 },
    { C: 1, H: 9, W: 8, KH: 2, KW: 4, S: 3, P: 0, OH: 0, OW: 0 },
  ].map((g) => ({ ...g, OH: outSize(g.H, g.KH, g.S, g.P), OW: outSize(g.W, g.KW, g.S, g.P) }));
  for (const g of geoms) {
    it(`C=${g.C} H=${g.H} W=${g.W} K=${g.KH}×${g.KW} S=${g.S} P=${g.P}`, () => {
      const rng = new Rng(5);
      const x = rng.fillUniform(allocF32(g.C * g.H * g.W + 3), -1, 1);
      const c = rng.fillUniform(allocF32(g.C * g.KH * g.KW * g.OH * g.OW), -1, 1);
      const col = allocF32(c.length);
      im2col(x, 3, g, col);
      const gx = allocF32(x.length);
      col2im(c, g, gx, 3);
      let lhs = 0, rhs = 0, mag = 0;
      for (let i = 0; i < c.length; i++) lhs += col[i] * c[i];
      for (let i = 3; i < x.length; i++) {
        rhs += x[i] * gx[i];
        mag += Math.abs(x[i] * gx[i]);
      }
      expect(gx[0] + gx[1] + gx[2]).to.equal(0); // nothing written before the offset
      expect(Math.abs(lhs - rhs)).to.be.at.most(2 ** -24 * mag + 1e-12);
    });
  }
});

describe('engine/gemm: gemmReference equals a naive triple loop', () => {
  // Same float64 sum in the same k order, one rounding: the results must be bit-identical.
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const accumulate of [false, true]) {
        it(`M=5 N=7 K=6 transA=${transA} transB=${transB} accumulate=${accumulate}`, () => {
          const M = 5, N = 7, K = 6, rng = new Rng(9);
          const lda = (transA ? M : K) + 2, ldb = (transB ? K : N) + 3, ldc = N + 1;
          const aOffset = 4, bOffset = 1, cOffset = 2;
          const a = rng.fillUniform(allocF32(aOffset + (transA ? K : M) * lda), -1, 1);
          const b = rng.fillUniform(allocF32(bOffset + (transB ? N : K) * ldb), -1, 1);
          const c0 = rng.fillUniform(allocF32(cOffset + M * ldc), -1, 1);
          const args: GemmArgs = { M, N, K, a, b, c: c0.slice(), lda, ldb, ldc, aOffset, bOffset,
            cOffset, transA, transB, accumulate };
          gemmReference(args);
          const want = c0.slice();
          for (let m = 0; m < M; m++) {
            for (let n = 0; n < N; n++) {
              let acc = accumulate ? c0[cOffset + m * ldc + n] : 0;
              for (let k = 0; k < K; k++) {
                const av = transA ? a[aOffset + k * lda + m] : a[aOffset + m * lda + k];
                const bv = transB ? b[bOffset + n * ldb + k] : b[bOffset + k * ldb + n];
                acc += av * bv;
              }
              want[cOffset + m * ldc + n] = acc;
            }
          }
          // Also checks that padding columns and the offset prefix are untouched.
          expect(Array.from(args.c)).to.deep.equal(Array.from(want));
        });
      }
    }
  }
});

describe('ops/conv: shape errors name the op and the shapes', () => {
  const x = Tensor.zeros([2, 4, 5, 5]);
  const bad: [string, () => unknown, RegExp][] = [
    ['channels not divisible by groups', () => conv2d(x, Tensor.zeros([6, 1, 3, 3]), null,
      { groups: 3 }), /^conv2d: input channels 4 not divisible by groups 3/],
    ['weight in-channels ≠ C/groups', () => conv2d(x, Tensor.zeros([6, 4, 3, 3]), null,
      { groups: 2 }), /^conv2d: weight has 4 input channels.*\[2, 4, 5, 5\], \[6, 4, 3, 3\]/],
    ['out channels not divisible by groups', () => conv2d(x, Tensor.zeros([5, 2, 3, 3]), null,
      { groups: 2 }), /^conv2d: output channels 5/],
    ['bias length', () => conv2d(x, Tensor.zeros([6, 4, 3, 3]), Tensor.zeros([5]), {}),
      /^conv2d: bias must be \[6\]/],
    ['rank-3 input', () => conv2d(Tensor.zeros([4, 5, 5]), Tensor.zeros([6, 4, 3, 3]), null, {}),
      /^conv2d: x must be/],
    ['kernel larger than input', () => conv2d(x, Tensor.zeros([6, 4, 7, 7]), null, {}),
      /^conv2d: kernel 7×7 larger/],
  ];
  for (const [name, f, re] of bad) it(name, () => expect(f).to.throw(ShapeError, re));
});
