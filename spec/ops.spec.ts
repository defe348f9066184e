/**
 * @file Gradient checks of every op against central finite differences (spec/gradcheck.ts explains
 * the noise budget and the default tolerance), plus forward values on hand-computable literals.
 * Cases are named by their parameters; all use batch > 1 and odd sizes, conv uses groups > 1
 * and stride 2.
 */
import { expect } from 'chai';
import { Tensor } from '../engine/tensor.js';
import { conv2d } from '../ops/conv.js';
import { batchNorm2d } from '../ops/batchnorm.js';
import { exp, hardsigmoid, log, relu, sigmoid, silu } from '../ops/activation.js';
import { maxPool2d } from '../ops/pool.js';
import { upsampleNearest2x } from '../ops/upsample.js';
import { concat, permute, reshape, slice, split } from '../ops/shape.js';
import { distinctTensor, gradcheckCases, randTensor, type GradCase } from './gradcheck.js';

/** Moves elements within `margin` of a kink to kink ± margin (FD across a kink is meaningless). */
function awayFrom(t: Tensor, kinks: number[], margin = 0.05): Tensor {
  for (let i = 0; i < t.size; i++) {
    for (const k of kinks) {
      if (Math.abs(t.data[i] - k) < margin) t.data[i] = t.data[i] < k ? k - margin : k + margin;
    }
  }
  return t;
}

const convCase = (
  x: number[], w: number[], s: number, p: number, g: number, bias: boolean,
): GradCase => ({
  name: `conv2d x=[${x}] w=[${w}] s=${s} p=${p} g=${g}${bias ? ' bias' : ''}`,
  inputs: () => [randTensor(x, 1), randTensor(w, 2), ...(bias ? [randTensor([w[0]], 3)] : [])],
  f: ([xx, ww, bb]) => conv2d(xx, ww, bb ?? null, { stride: s, padding: p, groups: g }),
});

describe('ops/conv: conv2d gradients', () => {
  gradcheckCases([
    convCase([2, 4, 7, 7], [6, 2, 3, 3], 2, 1, 2, true),
    convCase([2, 3, 5, 5], [4, 3, 1, 1], 1, 0, 1, true),
    convCase([3, 2, 6, 5], [2, 2, 3, 3], 1, 0, 1, false),
    convCase([2, 4, 5, 5], [4, 1, 3, 3], 2, 1, 4, true),
    convCase([2, 4, 6, 7], [6, 4, 1, 1], 2, 0, 1, false),
  ]);
});

describe('ops/batchnorm: batchNorm2d gradients', () => {
  const bn = (training: boolean, shape: number[]): GradCase => ({
    name: `batchNorm2d ${training ? 'train' : 'eval'} x=[${shape}] eps=1e-3 momentum=0.03`,
    inputs: () => [
      randTensor(shape, 4, -2, 3),
      randTensor([shape[1]], 5, 0.5, 1.5),
      randTensor([shape[1]], 6),
    ],
    // Fresh running stats per call: training mode updates them in place.
    f: ([x, g, b]) => batchNorm2d(x, g, b, Tensor.full([shape[1]], 0.2),
      Tensor.full([shape[1]], 1.7), { training, momentum: 0.03, eps: 1e-3 }),
  });
  gradcheckCases([bn(true, [3, 4, 3, 5]), bn(false, [3, 4, 3, 5]), bn(true, [2, 3, 1, 1])]);
});

describe('ops/activation: gradients', () => {
  const shape = [2, 3, 5, 3];
  const unary = (name: string, f: (x: Tensor) => Tensor, lo: number, hi: number,
    kinks: number[] = []): GradCase => ({
    name: `${name} x=[${shape}] in [${lo}, ${hi})`,
    inputs: () => [awayFrom(randTensor(shape, 7, lo, hi), kinks)],
    f: ([x]) => f(x),
  });
  gradcheckCases([
    unary('silu', silu, -6, 6),
    unary('sigmoid', sigmoid, -6, 6),
    unary('hardsigmoid', hardsigmoid, -5, 5, [-3, 3]),
    unary('relu', relu, -2, 2, [0]),
    unary('exp', exp, -2, 1.5),
    unary('log', log, 0.5, 4),
  ]);

  it('forward values on literals (hardsigmoid clamps, sigmoid is stable at ±100)', () => {
    const x = Tensor.from([-4, -3, 0, 1.5, 3, 100, -100], [7]);
    expect(Array.from(hardsigmoid(x).data)).to.deep.equal([0, 0, 0.5, 0.75, 1, 1, 0]);
    const s = sigmoid(x).data;
    expect(s[2]).to.equal(0.5);
    expect(s[5]).to.equal(1);
    expect(s[6]).to.be.greaterThan(0).and.lessThan(1e-40);
    expect(silu(x).data[3]).to.be.closeTo(1.5 / (1 + Math.exp(-1.5)), 1e-7);
  });

  it('hardsigmoid gradient is 0 at exactly ±3 (PyTorch: open interval)', () => {
    const x = Tensor.from([-3, 3, 2.5], [3], true);
    const y = hardsigmoid(x);
    y.producer!.backward(Float32Array.from([1, 1, 1]));
    expect(Array.from(x.grad!)).to.deep.equal([0, 0, Math.fround(1 / 6)]);
  });
});

describe('ops/pool: maxPool2d', () => {
  const pool = (x: number[], k: number, s: number, p: number): GradCase => ({
    name: `maxPool2d x=[${x}] k=${k} s=${s} p=${p}`,
    // Distinct values 0.05 apart: a ±1e-2 probe never changes which element wins a window.
    inputs: () => [distinctTensor(x, 8)],
    f: ([xx]) => maxPool2d(xx, { kernel: k, stride: s, padding: p }),
  });
  gradcheckCases([
    pool([2, 3, 7, 6], 5, 1, 2),
    pool([2, 2, 9, 10], 9, 1, 4),
    pool([2, 1, 13, 11], 13, 1, 6),
    pool([2, 3, 7, 7], 3, 2, 1),
  ]);

  it('padding acts as −∞ (all-negative input keeps its values); ties go to the first max', () => {
    const x = Tensor.from([-5, -7, -6, -9], [1, 1, 2, 2], true);
    const y = maxPool2d(x, { kernel: 3, stride: 1, padding: 1 });
    expect(Array.from(y.data)).to.deep.equal([-5, -5, -5, -5]);
    const t = Tensor.from([2, 2, 2, 2], [1, 1, 2, 2], true);
    const yt = maxPool2d(t, { kernel: 2, stride: 1, padding: 0 });
    yt.producer!.backward(Float32Array.from([3]));
    expect(Array.from(t.grad!)).to.deep.equal([3, 0, 0, 0]);
  });

  it('SPP shapes: k=5/9/13, s=1, p=k/2 keep H×W', () => {
    const x = randTensor([2, 2, 13, 11], 9);
    for (const k of [5, 9, 13]) {
      const y = maxPool2d(x, { kernel: k, stride: 1, padding: k >> 1 });
      expect(y.shape).to.deep.equal([2, 2, 13, 11]);
    }
  });
});

describe('ops/upsample and ops/shape: gradients', () => {
  gradcheckCases([
    {
      name: 'upsampleNearest2x x=[2,3,3,5]',
      inputs: () => [randTensor([2, 3, 3, 5], 10)],
      f: ([x]) => upsampleNearest2x(x),
    },
    {
      name: 'concat axis=1 of [2,1,3,3], [2,3,3,3], [2,2,3,3]',
      inputs: () => [randTensor([2, 1, 3, 3], 11), randTensor([2, 3, 3, 3], 12),
        randTensor([2, 2, 3, 3], 13)],
      f: (xs) => concat(xs, 1),
    },
    {
      name: 'Focus slices x=[2,3,6,4]: x[..., a::2, b::2] concatenated on channels',
      inputs: () => [randTensor([2, 3, 6, 4], 14)],
      f: ([x]) => concat([[0, 0], [1, 0], [0, 1], [1, 1]].map(([a, b]) =>
        slice(slice(x, 2, a, Infinity, 2), -1, b, Infinity, 2)), 1),
    },
    {
      name: 'slice axis=1 start=1 end=-1 step=3 of [2,9,3]',
      inputs: () => [randTensor([2, 9, 3], 15)],
      f: ([x]) => slice(x, 1, 1, -1, 3),
    },
    {
      name: 'reshape [2,3,4] → [4,-1]',
      inputs: () => [randTensor([2, 3, 4], 16)],
      f: ([x]) => reshape(x, [4, -1]),
    },
    {
      name: 'permute [2,3,4,5] by [0,2,3,1]',
      inputs: () => [randTensor([2, 3, 4, 5], 17)],
      f: ([x]) => permute(x, [0, 2, 3, 1]),
    },
    {
      name: 'split axis=2 sizes [1,3,1] of [2,3,5], recombined as concat(p2, p0, p1)',
      inputs: () => [randTensor([2, 3, 5], 18)],
      f: ([x]) => {
        const [p0, p1, p2] = split(x, 2, [1, 3, 1]);
        return concat([p2, p0, p1], 2);
      },
    },
  ]);

  it('shape-op forward values on literals', () => {
    const x = Tensor.from([0, 1, 2, 3, 4, 5], [1, 2, 3]);
    expect(Array.from(permute(x, [0, 2, 1]).data)).to.deep.equal([0, 3, 1, 4, 2, 5]);
    expect(Array.from(slice(x, 2, 0, 3, 2).data)).to.deep.equal([0, 2, 3, 5]);
    expect(slice(x, 2, 0, 3, 2).shape).to.deep.equal([1, 2, 2]);
    expect(split(x, 2, 2).map((t) => t.shape[2])).to.deep.equal([2, 1]);
    const u = upsampleNearest2x(Tensor.from([1, 2], [1, 1, 1, 2]));
    expect(Array.from(u.data)).to.deep.equal([1, 1, 2, 2, 1, 1, 2, 2]);
  });
});
