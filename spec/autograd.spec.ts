/**
 * @file Autograd through real ops: a tensor used twice (diamond), a reused parameter, a
 * concat/split round trip, noGrad, and what an op listener (graph capture) sees.
 * Gradient oracles: finite differences (spec/gradcheck.ts) and exact identities.
 */
import { expect } from 'chai';
import { backward, noGrad, withOpListener } from '../engine/autograd.js';
import { Tensor } from '../engine/tensor.js';
import { add, mul } from '../ops/elementwise.js';
import { silu } from '../ops/activation.js';
import { conv2d } from '../ops/conv.js';
import { batchNorm2d } from '../ops/batchnorm.js';
import { maxPool2d } from '../ops/pool.js';
import { upsampleNearest2x } from '../ops/upsample.js';
import { concat, slice, split } from '../ops/shape.js';
import { gradcheckCases, randTensor } from './gradcheck.js';

describe('autograd through ops', () => {
  gradcheckCases([
    {
      // x feeds silu, the conv and the shortcut add (CSP-style): three paths into one tensor.
      name: 'diamond: y = silu(x) · conv(x) + x, x=[2,3,5,5] w=[3,3,3,3] p=1',
      inputs: () => [randTensor([2, 3, 5, 5], 61), randTensor([3, 3, 3, 3], 62)],
      f: ([x, w]) => add(mul(silu(x), conv2d(x, w, null, { padding: 1 })), x),
    },
    {
      name: 'reused parameter: w in two stacked convs, x=[2,2,6,6] w=[2,2,3,3] s=1 p=1',
      inputs: () => [randTensor([2, 2, 6, 6], 63), randTensor([2, 2, 3, 3], 64)],
      f: ([x, w]) => conv2d(silu(conv2d(x, w, null, { padding: 1 })), w, null, { padding: 1 }),
    },
  ]);

  it('concat/split round trip: split along channels and re-joined gives back dL/dy exactly', () => {
    const x = randTensor([2, 5, 3, 3], 65);
    const [a, b, c] = split(x, 1, [2, 1, 2]);
    const y = concat([a, b, c], 1);
    expect(Array.from(y.data)).to.deep.equal(Array.from(x.data));
    const seed = Float32Array.from({ length: y.size }, (_, i) => (y.data[i] + 1) ** 2 + i);
    backward(y, seed);
    expect(Array.from(x.grad!)).to.deep.equal(Array.from(seed));
  });

  it('a tensor used twice in one concat receives both halves of the gradient', () => {
    const x = Tensor.from([1, 2], [1, 2], true);
    const y = concat([x, x], 0);
    backward(y, Float32Array.from([1, 10, 100, 1000]));
    expect(Array.from(x.grad!)).to.deep.equal([101, 1010]);
  });

  it('noGrad: ops record nothing and outputs do not require grad', () => {
    const x = randTensor([1, 2, 4, 4], 66);
    const y = noGrad(() => maxPool2d(silu(x), { kernel: 3, stride: 1, padding: 1 }));
    expect(y.requiresGrad).to.equal(false);
    expect(y.producer).to.equal(null);
  });

  it('an op listener sees each op with its attrs (the names graph capture relies on)', () => {
    const seen: string[] = [];
    const l = {
      onOp: (op: string, inputs: readonly Tensor[], _o: Tensor, attrs: object): void => {
        seen.push(`${op}/${inputs.length} ${JSON.stringify(attrs)}`);
      },
    };
    const x = randTensor([2, 4, 6, 6], 67, -1, 1, false);
    withOpListener(l, () => {
      const f = slice(x, 2, 0, 6, 2);
      const c = conv2d(f, randTensor([4, 2, 3, 3], 68), randTensor([4], 69),
        { stride: 2, padding: 1, groups: 2 });
      const p = Tensor.zeros([4]);
      const b = batchNorm2d(c, p, p, p, Tensor.full([4], 1),
        { training: false, momentum: 0.03, eps: 1e-3 });
      upsampleNearest2x(maxPool2d(concat([b, b], 1), { kernel: 5, stride: 1, padding: 2 }));
    });
    expect(seen).to.deep.equal([
      'slice/1 {"axis":2,"start":0,"end":6,"step":2}',
      'conv2d/3 {"stride":2,"padding":1,"groups":2}',
      'batchNorm2d/5 {"eps":0.001,"momentum":0.03}',
      'concat/2 {"axis":1}',
      'maxPool2d/1 {"kernel":5,"stride":1,"padding":2}',
      'upsampleNearest2x/1 {}',
    ]);
  });
});
