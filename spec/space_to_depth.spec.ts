/**
 * ops/shape spaceToDepth2 (Focus's slices + concat as one copy) against the ops it replaces:
 * concat of the four strided slices in Focus's parity order, bit for bit (tolerance 0: copies),
 * batch 2, non-square planes; odd sizes are refused.
 */
import { expect } from 'chai';
import { ShapeError } from '../engine/errors.js';
import { Rng } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';
import { concat, slice, spaceToDepth2 } from '../ops/shape.js';

describe('ops/shape spaceToDepth2 = Focus slices + concat', () => {
  for (const shape of [[2, 3, 6, 10], [1, 1, 2, 2], [1, 5, 8, 4]]) {
    it(`x=[${shape}]`, () => {
      const x = new Tensor(new Rng(3).fillUniform(new Float32Array(shape.reduce((a, b) => a * b)),
        -1, 1), shape);
      const parts = [[0, 0], [1, 0], [0, 1], [1, 1]].map(([r, c]) =>
        slice(slice(x, 2, r, Infinity, 2), 3, c, Infinity, 2));
      const want = concat(parts, 1), got = spaceToDepth2(x);
      expect(got.shape).to.deep.equal(want.shape);
      expect(Array.from(got.data)).to.deep.equal(Array.from(want.data));
    });
  }
  it('odd H or W is a ShapeError', () => {
    expect(() => spaceToDepth2(Tensor.zeros([1, 3, 5, 4]))).to.throw(ShapeError);
  });
});
