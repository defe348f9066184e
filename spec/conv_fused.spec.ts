/**
 * @file Specs of the evaluation-mode fused conv (ops/conv_fused.ts) and of BaseConv's choice
 * between it and the conv2d → batchNorm2d → silu chain (models/blocks.ts).
 *
 * Oracle: a naive float64 loop, y64 = silu(s·Σ w·x + t) with s = γ/√(var + eps), t = β − mean·s
 * in float64. Per element, with S = Σ|w·x| over the Kc = Cg·KH·KW terms and u = 2⁻²⁴:
 *   fused:  |z − z64| ≤ (Kc + 4)·u·|s|·S + 2u·|t| + u·|z|   (GEMM sum γ_Kc, product, rounding of
 *           s and t to float32, the acc·s and + t roundings), then after SiLU (slope ∈ [−0.1,
 *           1.1]) ≤ 1.1·that + 4e-7·|y| + 2^−148 (the SIMD SiLU's error, spec/gemm_epilogue).
 *   chain:  |z − z64| ≤ (Kc + 2)·u·|s|·S + 2u·(|z| + |s·mean| + |β|) (float32 conv output, BN's
 *           float32 result), then ≤ 1.1·that + 2u·|y| after the float64 SiLU.
 * Fused vs chain is held to the sum of both bounds (triangle inequality through y64).
 * The implicit im2col (GEMM B gathered from the image while packing) must give the same bits as
 * the GEMM on ops/im2col's explicit column matrix, and the reference GEMM's own im2col the same
 * float64 result.
 */
import { expect } from 'chai';
import { noGrad, withOpListener } from '../engine/autograd.js';
import { allocF32 } from '../engine/memory.js';
import { Rng } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';
import { getThreads, setThreads } from '../engine/threads/pool.js';
import { BaseConv, setFusedBaseConv } from '../models/blocks.js';
import { silu } from '../ops/activation.js';
import { batchNorm2d } from '../ops/batchnorm.js';
import { conv2d } from '../ops/conv.js';
import { conv2dAffineAct } from '../ops/conv_fused.js';
import { im2col, outSize } from '../ops/im2col.js';
import { gemm, gemmReference, type GemmArgs } from '../engine/gemm.js';

const U = 2 ** -24;
const EPS = 1e-3;

interface ConvCase { x: number[]; w: number[]; s: number; p: number; g: number }
const name = (c: ConvCase): string =>
  `x=[${c.x.join(',')}] w=[${c.w.join(',')}] s=${c.s} p=${c.p} g=${c.g}`;

const CASES: ConvCase[] = [
  { x: [2, 5, 9, 11], w: [7, 5, 3, 3], s: 2, p: 1, g: 1 },
  { x: [3, 16, 13, 13], w: [24, 16, 1, 1], s: 1, p: 0, g: 1 },
  { x: [2, 9, 11, 11], w: [10, 9, 1, 1], s: 2, p: 0, g: 1 },
  { x: [2, 8, 10, 10], w: [12, 4, 3, 3], s: 1, p: 1, g: 2 },
  { x: [2, 6, 7, 7], w: [5, 6, 3, 3], s: 2, p: 1, g: 1 },
  { x: [1, 20, 24, 24], w: [100, 20, 1, 1], s: 1, p: 0, g: 1 },
  { x: [2, 32, 40, 40], w: [48, 32, 3, 3], s: 1, p: 1, g: 1 },
];

/** BN parameters of `O` channels: γ of both signs, positive variance. */
interface Bn { gamma: Tensor; beta: Tensor; mean: Tensor; variance: Tensor }
function randomBn(O: number, rng: Rng): Bn {
  const t = (lo: number, hi: number) => new Tensor(rng.fillUniform(allocF32(O), lo, hi), [O]);
  const gamma = t(0.5, 1.5);
  for (let o = 0; o < O; o += 3) gamma.data[o] = -gamma.data[o];
  return { gamma, beta: t(-1, 1), mean: t(-0.5, 0.5), variance: t(0.1, 2) };
}

/** scale/shift in float64 (the oracle's) and rounded to float32 (the fused op's input). */
function affine64(bn: Bn): { s: Float64Array; t: Float64Array } {
  const O = bn.gamma.size, s = new Float64Array(O), t = new Float64Array(O);
  for (let o = 0; o < O; o++) {
    s[o] = bn.gamma.data[o] / Math.sqrt(bn.variance.data[o] + EPS);
    t[o] = bn.beta.data[o] - bn.mean.data[o] * s[o];
  }
  return { s, t };
}

/** Per output element: the float64 result y64 and the two bounds of the file header. */
function oracle(c: ConvCase, x: Float32Array, w: Float32Array, bn: Bn):
  { y: Float64Array; fusedTol: Float64Array; chainTol: Float64Array } {
  const [N, C, H, W] = c.x, [O, Cg, KH, KW] = c.w;
  const OH = outSize(H, KH, c.s, c.p), OW = outSize(W, KW, c.s, c.p), Og = O / c.g;
  const Kc = Cg * KH * KW;
  const { s, t } = affine64(bn);
  const n = N * O * OH * OW;
  const y = new Float64Array(n), fusedTol = new Float64Array(n), chainTol = new Float64Array(n);
  let i = 0;
  for (let b = 0; b < N; b++) {
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++, i++) {
          let sum = 0, sAbs = 0;
          for (let ci = 0; ci < Cg; ci++) {
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * c.s - c.p + kh;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * c.s - c.p + kw;
                if (iw < 0 || iw >= W) continue;
                const v = w[((o * Cg + ci) * KH + kh) * KW + kw] *
                  x[((b * C + g * Cg + ci) * H + ih) * W + iw];
                sum += v;
                sAbs += Math.abs(v);
              }
            }
          }
          const z = s[o] * sum + t[o];
          y[i] = z / (1 + Math.exp(-z));
          const zf = (Kc + 4) * U * Math.abs(s[o]) * sAbs + 2 * U * Math.abs(t[o]) +
            U * Math.abs(z);
          fusedTol[i] = 1.1 * zf + 4e-7 * Math.abs(y[i]) + 2 ** -148;
          const zc = (Kc + 2) * U * Math.abs(s[o]) * sAbs +
            2 * U * (Math.abs(z) + Math.abs(s[o] * bn.mean.data[o]) + Math.abs(bn.beta.data[o]));
          chainTol[i] = 1.1 * zc + 2 * U * Math.abs(y[i]);
        }
      }
    }
  }
  return { y, fusedTol, chainTol };
}

function expectWithin(got: Float32Array, want: ArrayLike<number>, tol: ArrayLike<number>,
  what: string): void {
  expect(got.length).to.equal(want.length);
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol[i])) {
      throw new Error(`${what}[${i}]: ${got[i]} vs ${want[i]} (tolerance ${tol[i]})`);
    }
  }
}

const sameBits = (a: Float32Array, b: Float32Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength)
    .equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function fused(c: ConvCase, x: Tensor, w: Tensor, bn: Bn): Tensor {
  const { s, t } = affine64(bn);
  return conv2dAffineAct(x, w, Float32Array.from(s), Float32Array.from(t), 'silu',
    { stride: c.s, padding: c.p, groups: c.g });
}

function chain(c: ConvCase, x: Tensor, w: Tensor, bn: Bn): Tensor {
  const y = conv2d(x, w, null, { stride: c.s, padding: c.p, groups: c.g });
  return silu(batchNorm2d(y, bn.gamma, bn.beta, bn.mean, bn.variance,
    { training: false, momentum: 0.03, eps: EPS }));
}

describe('ops/conv_fused: act(scale·conv + shift) vs float64 and vs the 3-op chain', function () {
  this.timeout(120_000);
  const saved = getThreads();
  after(() => setThreads(saved));

  for (const [k, c] of CASES.entries()) {
    it(name(c), () => {
      const rng = new Rng(40 + k);
      const x = new Tensor(rng.fillUniform(allocF32(c.x.reduce((a, b) => a * b)), -2, 2), c.x);
      const w = new Tensor(rng.fillUniform(allocF32(c.w.reduce((a, b) => a * b)), -0.5, 0.5),
        c.w);
      const bn = randomBn(c.w[0], rng);
      const o = oracle(c, x.data, w.data, bn);
      setThreads(1);
      const y1 = noGrad(() => fused(c, x, w, bn)).data;
      expectWithin(y1, o.y, o.fusedTol, 'fused vs float64');
      const yc = noGrad(() => chain(c, x, w, bn)).data;
      expectWithin(yc, o.y, o.chainTol, 'chain vs float64');
      const both = o.fusedTol.map((v, i) => v + o.chainTol[i]);
      expectWithin(y1, yc, both, 'fused vs chain');
      setThreads(2);
      const y2 = noGrad(() => fused(c, x, w, bn)).data;
      expect(sameBits(y1, y2), '1 vs 2 threads').to.equal(true);
    });
  }
});

/** A BaseConv with random BN state (so BN is not the identity). */
function randomBaseConv(cin: number, cout: number, k: number, s: number, seed: number): BaseConv {
  const rng = new Rng(seed);
  const m = new BaseConv(cin, cout, k, s, rng);
  const bn = randomBn(cout, rng);
  m.bn.weight.data.set(bn.gamma.data);
  m.bn.bias.data.set(bn.beta.data);
  m.bn.runningMean.data.set(bn.mean.data);
  m.bn.runningVar.data.set(bn.variance.data);
  return m;
}

/** BaseConv's three-op chain written out, in the module's current mode. */
function chainOf(m: BaseConv, x: Tensor): Tensor {
  const c = m.conv, b = m.bn;
  const y = conv2d(x, c.weight, null, { stride: c.stride, padding: c.padding });
  return silu(batchNorm2d(y, b.weight, b.bias, b.runningMean, b.runningVar,
    { training: b.training, momentum: b.momentum, eps: b.eps }));
}

/** What the fused path must produce: the fused op on the module's current tensors. */
function fusedOf(m: BaseConv, x: Tensor): Tensor {
  const { scale, shift } = m.bn.evalAffine();
  return conv2dAffineAct(x, m.conv.weight, scale, shift, 'silu',
    { stride: m.conv.stride, padding: m.conv.padding });
}

describe('models/blocks BaseConv: fused in eval without grad or listener, chain otherwise', () => {
  const x = new Tensor(new Rng(5).fillUniform(allocF32(2 * 6 * 15 * 13), -2, 2), [2, 6, 15, 13]);
  afterEach(() => setFusedBaseConv(true));

  it('eval + noGrad: the fused op (bit for bit), within its bound of float64', () => {
    const m = randomBaseConv(6, 10, 3, 2, 1).eval();
    const y = noGrad(() => m.call(x));
    expect(y.producer).to.equal(null);
    expect(sameBits(y.data, noGrad(() => fusedOf(m, x)).data)).to.equal(true);
    const c = { x: [2, 6, 15, 13], w: [10, 6, 3, 3], s: 2, p: 1, g: 1 };
    const bn = { gamma: m.bn.weight, beta: m.bn.bias, mean: m.bn.runningMean,
      variance: m.bn.runningVar };
    const o = oracle(c, x.data, m.conv.weight.data, bn);
    expectWithin(y.data, o.y, o.fusedTol, 'BaseConv eval vs float64');
  });

  it('training mode: bit-identical to the chain, running stats updated identically', () => {
    const a = randomBaseConv(6, 10, 3, 2, 2), b = randomBaseConv(6, 10, 3, 2, 2);
    const ya = noGrad(() => a.call(x)), yb = noGrad(() => chainOf(b, x));
    expect(sameBits(ya.data, yb.data)).to.equal(true);
    expect(sameBits(a.bn.runningMean.data, b.bn.runningMean.data)).to.equal(true);
    expect(sameBits(a.bn.runningVar.data, b.bn.runningVar.data)).to.equal(true);
    expect(a.bn.numBatchesTracked.value).to.equal(1);
  });

  it('eval with grad enabled (parameters require grad): the chain, recorded on the tape', () => {
    const m = randomBaseConv(6, 8, 1, 1, 3).eval();
    const y = m.call(x);
    expect(y.producer?.op).to.equal('silu');
    expect(sameBits(y.data, noGrad(() => chainOf(m, x)).data)).to.equal(true);
  });

  it('under an op listener (graph capture): conv2d, batchNorm2d, silu, as the chain', () => {
    const m = randomBaseConv(6, 8, 3, 1, 4).eval();
    const ops: string[] = [];
    const y = withOpListener({ onOp: (op) => ops.push(op) }, () => noGrad(() => m.call(x)));
    expect(ops).to.deep.equal(['conv2d', 'batchNorm2d', 'silu']);
    expect(sameBits(y.data, noGrad(() => chainOf(m, x)).data)).to.equal(true);
  });

  it('under a passive listener (the profiler): the fused path, reported as conv_fused', () => {
    const m = randomBaseConv(6, 8, 3, 1, 4).eval();
    const ops: string[] = [];
    const y = withOpListener({ passive: true, onOp: (op) => ops.push(op) },
      () => noGrad(() => m.call(x)));
    expect(ops).to.deep.equal(['conv_fused']);
    expect(sameBits(y.data, noGrad(() => fusedOf(m, x)).data)).to.equal(true);
  });

  it('setFusedBaseConv(false): the chain', () => {
    const m = randomBaseConv(6, 8, 3, 1, 5).eval();
    setFusedBaseConv(false);
    expect(sameBits(noGrad(() => m.call(x)).data, noGrad(() => chainOf(m, x)).data))
      .to.equal(true);
  });

  it('never stale: in-place weight/BN edits and loadStateDict change the next output', () => {
    const m = randomBaseConv(6, 8, 3, 1, 6).eval();
    const y0 = noGrad(() => m.call(x)).data;
    // In place, as an optimizer step would: one conv weight and one running variance.
    m.conv.weight.data[7] += 0.25;
    m.bn.runningVar.data[3] *= 2;
    const y1 = noGrad(() => m.call(x)).data;
    expect(sameBits(y1, y0)).to.equal(false);
    expect(sameBits(y1, noGrad(() => fusedOf(m, x)).data)).to.equal(true);
    const c = { x: [2, 6, 15, 13], w: [8, 6, 3, 3], s: 1, p: 1, g: 1 };
    const bnOf = (b: BaseConv) => ({ gamma: b.bn.weight, beta: b.bn.bias, mean: b.bn.runningMean,
      variance: b.bn.runningVar });
    const o1 = oracle(c, x.data, m.conv.weight.data, bnOf(m));
    expectWithin(y1, o1.y, o1.fusedTol, 'after in-place edits');
    // A new state dict (another module's weights).
    const other = randomBaseConv(6, 8, 3, 1, 7).eval();
    m.loadStateDict(other.stateDict());
    const y2 = noGrad(() => m.call(x)).data;
    expect(sameBits(y2, noGrad(() => other.call(x)).data)).to.equal(true);
    const o2 = oracle(c, x.data, other.conv.weight.data, bnOf(other));
    expectWithin(y2, o2.y, o2.fusedTol, 'after loadStateDict');
  });
});

describe('engine/gemm implicit im2col B (bIm2col) = GEMM on ops/im2col\'s matrix, bitwise', () => {
  const geoms = [
    { C: 3, H: 9, W: 11, KH: 3, KW: 3, S: 2, P: 1 },
    { C: 30, H: 12, W: 7, KH: 3, KW: 3, S: 1, P: 1 }, // K = 270: two K blocks
    { C: 4, H: 13, W: 13, KH: 5, KW: 5, S: 1, P: 2 },
    { C: 5, H: 10, W: 9, KH: 1, KW: 1, S: 2, P: 0 },
    { C: 2, H: 6, W: 5, KH: 3, KW: 3, S: 3, P: 2 },
    { C: 6, H: 40, W: 37, KH: 3, KW: 3, S: 1, P: 1 }, // N = 1480: several column jobs
  ];
  for (const [i, q] of geoms.entries()) {
    const OH = outSize(q.H, q.KH, q.S, q.P), OW = outSize(q.W, q.KW, q.S, q.P);
    it(`x=[${q.C},${q.H},${q.W}] k=${q.KH} s=${q.S} p=${q.P} (OH=${OH} OW=${OW})`, () => {
      const rng = new Rng(70 + i), M = 40, K = q.C * q.KH * q.KW, N = OH * OW, xOff = 5;
      const x = rng.fillUniform(allocF32(xOff + q.C * q.H * q.W), -1, 1);
      const a = rng.fillUniform(allocF32(M * K), -1, 1);
      const col = allocF32(K * N);
      im2col(x, xOff, { ...q, OH, OW }, col);
      const base: GemmArgs = { M, N, K, a, lda: K, b: col, ldb: N, c: allocF32(M * N), ldc: N,
        bias: rng.fillUniform(allocF32(M), -1, 1), act: 'silu' };
      const implicit = { ...base, b: x, bIm2col: { ...q, OH, OW, xOffset: xOff } };
      for (const threads of [1, 2]) {
        setThreads(threads);
        const want = allocF32(M * N), got = allocF32(M * N);
        gemm({ ...base, c: want });
        gemm({ ...implicit, c: got });
        expect(sameBits(got, want), `${threads} thread(s)`).to.equal(true);
      }
      const want = allocF32(M * N), got = allocF32(M * N);
      gemmReference({ ...base, c: want });
      gemmReference({ ...implicit, c: got });
      expect(sameBits(got, want), 'reference').to.equal(true);
      // Accumulating into a non-zero C (no epilogue): the same bits as the explicit matrix.
      const plain = { ...base, accumulate: true } as GemmArgs;
      delete plain.bias;
      delete plain.act;
      for (const threads of [1, 2]) {
        setThreads(threads);
        const c0 = rng.fillUniform(allocF32(M * N), -1, 1);
        const w = Float32Array.from(c0), g2 = Float32Array.from(c0);
        const ww = allocF32(M * N), gg = allocF32(M * N);
        ww.set(w);
        gg.set(g2);
        gemm({ ...plain, c: ww });
        gemm({ ...plain, b: x, bIm2col: { ...q, OH, OW, xOffset: xOff }, c: gg });
        expect(sameBits(gg, ww), `accumulate, ${threads} thread(s)`).to.equal(true);
      }
    });
  }
});
