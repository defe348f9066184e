/**
 * ops/pool maxPoolValues (the separable, no-argmax kernel of a forward without backward) against
 * maxPoolForward (the scan-order kernel the tape uses): bit-identical (tolerance 0), on inputs
 * with many ties between +0 and −0 (which element wins decides the sign), NaNs, every padding
 * up to K/2 and strides 1 to 3; and against a naive float64 max for the values.
 */
import { expect } from 'chai';
import { noGrad } from '../engine/autograd.js';
import { Rng } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';
import { outSize } from '../ops/im2col.js';
import { maxPool2d, maxPoolForward, maxPoolValues, type PoolDims } from '../ops/pool.js';

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe('ops/pool maxPoolValues = maxPoolForward, bit for bit', () => {
  const cases = [
    [2, 3, 13, 13, 5, 1, 2], [1, 2, 13, 13, 9, 1, 4], [1, 2, 13, 13, 13, 1, 6],
    [2, 2, 9, 11, 3, 2, 1], [1, 3, 10, 7, 2, 2, 0], [1, 1, 8, 9, 4, 3, 2],
  ];
  for (const [i, [N, C, H, W, K, S, P]] of cases.entries()) {
    it(`x=[${N},${C},${H},${W}] k=${K} s=${S} p=${P}`, () => {
      const rng = new Rng(40 + i);
      const x = new Float32Array(N * C * H * W);
      // Values in {−1, −0, +0, 0.5} (ties everywhere) and a few NaNs.
      const choices = [-1, -0, 0, 0.5];
      for (let j = 0; j < x.length; j++) {
        x[j] = rng.uniform() < 0.01 ? NaN : choices[Math.floor(rng.uniform() * 4)];
      }
      const OH = outSize(H, K, S, P), OW = outSize(W, K, S, P);
      const d: PoolDims = { N, C, H, W, K, S, P, OH, OW };
      const want = new Float32Array(N * C * OH * OW), got = new Float32Array(want.length);
      maxPoolForward(x, want, new Int32Array(want.length), d);
      maxPoolValues(x, got, d);
      expect(Array.from(bits(got))).to.deep.equal(Array.from(bits(want)));
      // Values vs a naive max (NaN if the window holds one).
      const windows = N * C * OH * OW;
      for (let q = 0; q < windows; q++) {
        const ow = q % OW, oh = Math.floor(q / OW) % OH, nc = Math.floor(q / (OH * OW));
        let m = -Infinity, nan = false;
        for (let kh = 0; kh < K; kh++) for (let kw = 0; kw < K; kw++) {
          const h = oh * S - P + kh, w = ow * S - P + kw;
          if (h < 0 || h >= H || w < 0 || w >= W) continue;
          const v = x[(nc * H + h) * W + w];
          if (Number.isNaN(v)) nan = true; else m = Math.max(m, v);
        }
        const g = got[q];
        if (nan) expect(Number.isNaN(g)).to.equal(true);
        else expect(g === m).to.equal(true);
      }
    });
  }

  it('the op under noGrad takes the values path and matches the taped op', () => {
    const x = new Tensor(new Rng(7).fillUniform(new Float32Array(2 * 4 * 13 * 13), -1, 1),
      [2, 4, 13, 13], true);
    const taped = maxPool2d(x, { kernel: 9, stride: 1, padding: 4 });
    expect(taped.producer).to.not.equal(null);
    const fast = noGrad(() => maxPool2d(x, { kernel: 9, stride: 1, padding: 4 }));
    expect(Array.from(bits(fast.data))).to.deep.equal(Array.from(bits(taped.data)));
  });
});
