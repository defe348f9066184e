/**
 * @file batchNorm2d beyond the gradient checks of ops.spec.ts: running statistics against a hand
 * computation (PyTorch's rule: unbiased variance in the running estimate), evaluation with
 * running statistics, the train-mode gradient's defining property, and shape errors.
 */
import { expect } from 'chai';
import { backward } from '../engine/autograd.js';
import { ShapeError } from '../engine/errors.js';
import { Tensor } from '../engine/tensor.js';
import { record } from '../engine/autograd.js';
import { batchNorm2d, bnBackward, bnBatchStats, bnForward } from '../ops/batchnorm.js';
import { gradcheck, randTensor } from './gradcheck.js';

describe('ops/batchnorm: batchNorm2d statistics', () => {
  // x [2, 2, 1, 2]: channel 0 holds {1, 2, 3, 6}, channel 1 holds {−1, −1, 4, 2}.
  const xs = [1, 2, -1, -1, 3, 6, 4, 2];

  it('training: output uses biased batch variance; running stats follow PyTorch\'s rule', () => {
    const x = Tensor.from(xs, [2, 2, 1, 2]);
    const gamma = Tensor.from([2, 0.5], [2]), beta = Tensor.from([0.25, -1], [2]);
    const rm = Tensor.from([0.5, -0.5], [2]), rv = Tensor.from([2, 1], [2]);
    const y = batchNorm2d(x, gamma, beta, rm, rv, { training: true, momentum: 0.1, eps: 1e-3 });
    // Channel 0: μ = 3, biased σ² = (4 + 1 + 0 + 9)/4 = 3.5, unbiased = 14/3.
    // Channel 1: μ = 1, biased σ² = (4 + 4 + 9 + 1)/4 = 4.5, unbiased = 6.
    // running mean = 0.9·old + 0.1·μ; running var = 0.9·old + 0.1·unbiased.
    // Tolerance: float32 storage of the results, 1 ulp at these magnitudes < 3e-7.
    expect(rm.data[0]).to.be.closeTo(0.9 * 0.5 + 0.1 * 3, 3e-7);
    expect(rm.data[1]).to.be.closeTo(0.9 * -0.5 + 0.1 * 1, 3e-7);
    expect(rv.data[0]).to.be.closeTo(0.9 * 2 + 0.1 * (14 / 3), 3e-7);
    expect(rv.data[1]).to.be.closeTo(0.9 * 1 + 0.1 * 6, 3e-7);
    const want = [
      [1, 0, 3.5, 2, 0.25], [2, 0, 3.5, 2, 0.25], [-1, 1, 4.5, 0.5, -1], [-1, 1, 4.5, 0.5, -1],
      [3, 0, 3.5, 2, 0.25], [6, 0, 3.5, 2, 0.25], [4, 1, 4.5, 0.5, -1], [2, 1, 4.5, 0.5, -1],
    ].map(([v, c, s2, g, b]) => g * (v - (c === 0 ? 3 : 1)) / Math.sqrt(s2 + 1e-3) + b);
    for (let i = 0; i < 8; i++) expect(y.data[i]).to.be.closeTo(want[i], 1e-6);
  });

  it('evaluation: normalises with the running stats and leaves them unchanged', () => {
    const x = Tensor.from(xs, [2, 2, 1, 2]);
    const gamma = Tensor.from([2, 0.5], [2]), beta = Tensor.from([0.25, -1], [2]);
    const rm = Tensor.from([0.5, -0.5], [2]), rv = Tensor.from([2, 1], [2]);
    const y = batchNorm2d(x, gamma, beta, rm, rv, { training: false, momentum: 0.1, eps: 1e-3 });
    expect(Array.from(rm.data)).to.deep.equal([0.5, -0.5]);
    expect(Array.from(rv.data)).to.deep.equal([2, 1]);
    const c = [0, 0, 1, 1, 0, 0, 1, 1];
    for (let i = 0; i < 8; i++) {
      const [m, v, g, b] = c[i] === 0 ? [0.5, 2, 2, 0.25] : [-0.5, 1, 0.5, -1];
      expect(y.data[i]).to.be.closeTo(g * (xs[i] - m) / Math.sqrt(v + 1e-3) + b, 1e-6);
    }
  });

  it('training gradient sums to zero per channel (the batch statistics absorb shifts)', () => {
    // y is invariant to adding a constant to a channel of x, so Σ_{n,h,w} dL/dx = 0 for any
    // upstream gradient; the evaluation-form gradient dy·γ·r would not satisfy this.
    const x = randTensor([3, 2, 3, 5], 51, -2, 3);
    const y = batchNorm2d(x, Tensor.from([1.5, 0.7], [2]), Tensor.from([0.1, 0.2], [2]),
      Tensor.zeros([2]), Tensor.full([2], 1), { training: true, momentum: 0.03, eps: 1e-3 });
    const seed = Float32Array.from({ length: y.size }, (_, i) => (y.data[i] + 1) ** 2);
    backward(y, seed);
    for (let c = 0; c < 2; c++) {
      let s = 0, mag = 0;
      for (let n = 0; n < 3; n++) {
        for (let i = 0; i < 15; i++) {
          const g = x.grad![(n * 2 + c) * 15 + i];
          s += g;
          mag += Math.abs(g);
        }
      }
      // Each float32 gradient carries ≤ 2⁻²⁴ relative rounding: |Σ| ≤ 1e-6·Σ|g| is generous.
      expect(Math.abs(s)).to.be.at.most(1e-6 * mag);
      expect(mag).to.be.greaterThan(1);
    }
  });

  it('the gradient check rejects the evaluation-form gradient in training mode', () => {
    // The anti-pattern of DESIGN's table: reusing dx = dy·γ·r where μ and σ² depend on x.
    // The same forward, recorded with bnBackward(batchStats = false), must fail gradcheck.
    const wrongBn = (x: Tensor, g: Tensor, b: Tensor): Tensor => {
      const d = { N: x.shape[0], C: x.shape[1], HW: x.shape[2] * x.shape[3] };
      const mean = new Float64Array(d.C), v = new Float64Array(d.C);
      bnBatchStats(x.data, d, mean, v);
      const rstd = v.map((s2) => 1 / Math.sqrt(s2 + 1e-3));
      const y = Tensor.zeros(x.shape);
      bnForward(x.data, g.data, b.data, mean, rstd, y.data, d);
      return record('batchNorm2d', [x, g, b], y, (gy) => bnBackward(x.data, g.data, mean, rstd,
        gy, x.gradBuffer(), null, null, false, d));
    };
    const r = gradcheck({
      name: 'eval-form BN gradient in training mode',
      inputs: () => [randTensor([3, 2, 3, 3], 52, -2, 3), randTensor([2], 53, 0.5, 1.5, false),
        randTensor([2], 54, -1, 1, false)],
      f: ([x, g, b]) => wrongBn(x, g, b),
    });
    expect(r.worst).to.be.greaterThan(10);
  });

  it('bad shapes throw ShapeError naming batchNorm2d', () => {
    const p = Tensor.zeros([3]);
    expect(() => batchNorm2d(Tensor.zeros([2, 4, 3, 3]), p, p, p, p,
      { training: false, momentum: 0.03, eps: 1e-3 }))
      .to.throw(ShapeError, /^batchNorm2d: .*\[2, 4, 3, 3\], \[3\]/);
    expect(() => batchNorm2d(Tensor.zeros([2, 3]), p, p, p, p,
      { training: false, momentum: 0.03, eps: 1e-3 })).to.throw(ShapeError, /^batchNorm2d: x must/);
    expect(() => batchNorm2d(Tensor.zeros([1, 3, 1, 1]), p, p, p, p,
      { training: true, momentum: 0.03, eps: 1e-3 }))
      .to.throw(ShapeError, /^batchNorm2d: training/);
  });
});
