/**
 * @file Elementwise arithmetic with broadcasting, reductions and losses: gradients against
 * central finite differences (spec/gradcheck.ts states eps and tolerance) and forward values on
 * literals (broadcast results, BCE's −100 clamp, the stable logits form at ±100).
 */
import { expect } from 'chai';
import { Tensor } from '../engine/tensor.js';
import { ShapeError } from '../engine/errors.js';
import { add, addScalar, div, mul, mulScalar, neg, sub } from '../ops/elementwise.js';
import { mean, sum } from '../ops/reduce.js';
import { bce, bceWithLogits, l1Loss, type Reduction } from '../ops/loss.js';
import { gradcheckCases, randTensor, type GradCase } from './gradcheck.js';

type Bin = (a: Tensor, b: Tensor) => Tensor;

const binCase = (name: string, f: Bin, as: number[], bs: number[], blo = -1, bhi = 1)
  : GradCase => ({
  name: `${name} a=[${as}] b=[${bs}]`,
  inputs: () => [randTensor(as, 21), randTensor(bs, 22, blo, bhi)],
  f: ([a, b]) => f(a, b),
});

describe('ops/elementwise: gradients with broadcasting', () => {
  gradcheckCases([
    binCase('add', add, [2, 3, 4], [2, 3, 4]),
    binCase('add', add, [2, 3, 4], [3, 1]),
    binCase('sub', sub, [2, 1, 5], [4, 1]),
    binCase('sub', sub, [3], [2, 3, 3]),
    binCase('mul', mul, [2, 3, 5], [1, 3, 1]),
    binCase('mul', mul, [2, 3, 3], []),
    binCase('div', div, [2, 3, 5], [3, 1], 0.5, 2),
    binCase('div', div, [3, 1, 5], [2, 1], 0.5, 2),
    {
      name: 'addScalar(x, 0.7), mulScalar(·, −1.3), neg(·) chained, x=[2,3,5]',
      inputs: () => [randTensor([2, 3, 5], 23)],
      f: ([x]) => neg(mulScalar(addScalar(x, 0.7), -1.3)),
    },
  ]);

  it('broadcast forward values and shape errors', () => {
    const a = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = Tensor.from([10, 20], [2, 1]);
    expect(add(a, b).shape).to.deep.equal([2, 3]);
    expect(Array.from(add(a, b).data)).to.deep.equal([11, 12, 13, 24, 25, 26]);
    expect(Array.from(sub(a, Tensor.from([1, 2, 3], [3])).data)).to.deep.equal([0, 0, 0, 3, 3, 3]);
    expect(() => mul(a, Tensor.zeros([2]))).to.throw(ShapeError, /^mul: .*\[2, 3\], \[2\]/);
  });
});

describe('ops/reduce: gradients', () => {
  const x = [2, 3, 4, 5];
  gradcheckCases([
    { name: `sum x=[${x}] axes=[0,2]`, inputs: () => [randTensor(x, 24)],
      f: ([t]) => sum(t, [0, 2]) },
    { name: `mean x=[${x}] axes=[-1] keepDims`, inputs: () => [randTensor(x, 25)],
      f: ([t]) => mean(t, [-1], true) },
    { name: `sum x=[${x}] all axes`, inputs: () => [randTensor(x, 26)], f: ([t]) => sum(t) },
    { name: `mean x=[${x}] axes=[1,3]`, inputs: () => [randTensor(x, 27)],
      f: ([t]) => mean(t, [1, 3]) },
  ]);

  it('forward values and shapes', () => {
    const t = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(Array.from(sum(t, [0]).data)).to.deep.equal([5, 7, 9]);
    expect(mean(t, [1], true).shape).to.deep.equal([2, 1]);
    expect(Array.from(mean(t, [1], true).data)).to.deep.equal([2, 5]);
    expect(sum(t).shape).to.deep.equal([]);
    expect(sum(t).item()).to.equal(21);
    expect(() => sum(t, [2])).to.throw(ShapeError, /^sum: bad axes/);
  });
});

describe('ops/loss: gradients', () => {
  const shape = [2, 3, 5];
  const reductions: Reduction[] = ['none', 'sum', 'mean'];
  const cases: GradCase[] = [];
  for (const r of reductions) {
    cases.push({
      name: `bceWithLogits x=[${shape}] soft targets reduction=${r}`,
      inputs: () => [randTensor(shape, 28, -4, 4), randTensor(shape, 29, 0, 1)],
      f: ([x, t]) => bceWithLogits(x, t, r),
    });
    cases.push({
      name: `bce p=[${shape}] in [0.05, 0.95] reduction=${r}`,
      // p ∈ [0.05, 0.95]: |ℓ'''| ≤ 2/p³ = 1.6e4, so eps = 2e-3 keeps the truncation
      // eps²/6·|ℓ'''| ≤ 1.1e-2 against a gradient ≈ 1/p = 20 there (relative 6e-4); the scalar
      // 'sum' output (|L| ≈ 20) rounds by ≈ 1.2e-6, i.e. 3e-4 after /(2·eps). Hence atol 2e-3,
      // rtol 1e-2 (measured max error 8e-4).
      inputs: () => [randTensor(shape, 30, 0.05, 0.95), randTensor(shape, 31, 0, 1)],
      f: ([p, t]) => bce(p, t, r),
      eps: 2e-3,
      atol: 2e-3,
      rtol: 1e-2,
    });
    cases.push({
      name: `l1Loss a=[${shape}] reduction=${r}`,
      inputs: () => {
        // |a − b| ≥ 0.1 everywhere, so the ±1e-2 probe never crosses the kink at a = b.
        const a = randTensor(shape, 32), b = randTensor(shape, 33, 0.1, 1);
        for (let i = 0; i < a.size; i++) b.data[i] = a.data[i] + (i % 2 ? b.data[i] : -b.data[i]);
        return [a, b];
      },
      f: ([a, b]) => l1Loss(a, b, r),
    });
  }
  gradcheckCases(cases);

  it('BCE clamps its logs at −100; the logits form is exact at ±100', () => {
    const p = Tensor.from([0, 1, 0.5], [3]), t = Tensor.from([1, 0, 1], [3]);
    const l = bce(p, t, 'none').data;
    expect(l[0]).to.equal(100);
    expect(l[1]).to.equal(100);
    expect(l[2]).to.be.closeTo(Math.LN2, 1e-7);
    const z = bceWithLogits(Tensor.from([100, -100, 0], [3]), Tensor.from([0, 1, 1], [3]), 'none');
    expect(Array.from(z.data)).to.deep.equal([100, 100, Math.fround(Math.LN2)]);
    expect(bce(p, t, 'mean').shape).to.deep.equal([]);
    expect(bce(p, t, 'sum').item()).to.be.closeTo(200 + Math.LN2, 1e-4);
  });

  it('bad shapes throw ShapeError naming the op', () => {
    expect(() => l1Loss(Tensor.zeros([2, 3]), Tensor.zeros([3, 2]), 'mean'))
      .to.throw(ShapeError, /^l1Loss: .*\[2, 3\], \[3, 2\]/);
  });
});
