import { expect } from 'chai';
import * as path from 'node:path';
import { Tensor } from '../engine/tensor.js';
import { backward, noGrad, record } from '../engine/autograd.js';
import { Rng } from '../engine/rng.js';
import { roundHalfEven } from '../engine/round.js';
import { formatNpy, parseNpy } from '../engine/formats/npy.js';
import { readNpy } from '../engine/formats/files.js';
import { UserError } from '../engine/errors.js';

import { SHARED } from './fixtures.js';

/** y = a·b elementwise, recorded by hand so these tests do not depend on ops/. */
function mul(a: Tensor, b: Tensor): Tensor {
  const out = Tensor.zeros(a.shape);
  for (let i = 0; i < a.size; i++) out.data[i] = a.data[i] * b.data[i];
  return record('mul', [a, b], out, (g) => {
    if (a.requiresGrad) { const ga = a.gradBuffer(); for (let i = 0; i < g.length; i++) ga[i] += g[i] * b.data[i]; }
    if (b.requiresGrad) { const gb = b.gradBuffer(); for (let i = 0; i < g.length; i++) gb[i] += g[i] * a.data[i]; }
  });
}

describe('engine/autograd', () => {
  it('diamond graph: x used twice accumulates both paths (d(x·x·x)/dx = 3x²)', () => {
    const x = Tensor.from([2, -3], [2], true);
    const sq = mul(x, x); // x used twice by one op
    const cube = mul(sq, x); // and again by another
    backward(cube, Float32Array.from([1, 0.5]));
    expect(Array.from(x.grad!)).to.deep.equal([3 * 4, 0.5 * 3 * 9]);
  });

  it('noGrad records nothing', () => {
    const x = Tensor.from([1], [1], true);
    const y = noGrad(() => mul(x, x));
    expect(y.requiresGrad).to.equal(false);
    expect(y.producer).to.equal(null);
  });

  it('frees intermediate gradients unless retained', () => {
    const x = Tensor.from([1.5], [1], true);
    const a = mul(x, x);
    const b = mul(x, x);
    b.retainGrad = true;
    backward(mul(a, b));
    expect(a.grad).to.equal(null);
    expect(b.grad![0]).to.equal(2.25);
  });
});

describe('engine/rng', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = new Rng(7), b = new Rng(7), c = new Rng(8);
    const va = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).to.deep.equal(va);
    expect(Array.from({ length: 5 }, () => c.nextU32())).to.not.deep.equal(va);
  });

  it('uniform lies in [0, 1) with mean ≈ 1/2 (10^5 draws: 4σ = 0.0037)', () => {
    const r = new Rng(1);
    let s = 0;
    for (let i = 0; i < 1e5; i++) { const u = r.uniform(); expect(u).to.be.within(0, 1 - 1e-16); s += u; }
    expect(Math.abs(s / 1e5 - 0.5)).to.be.below(0.0037);
  });
});

describe('engine/round', () => {
  it('rounds ties to even and everything else to nearest', () => {
    const cases: [number, number][] = [[0.5, 0], [1.5, 2], [2.5, 2], [-0.5, -0], [-1.5, -2], [-2.5, -2],
      [2.4999999999999996, 2], [2.5000000000000004, 3], [-127.5, -128], [126.5, 126], [7, 7]];
    for (const [x, want] of cases) expect(roundHalfEven(x), `x=${x}`).to.equal(want);
  });
});

describe('engine/formats/npy', () => {
  it('round-trips every supported dtype', () => {
    const arrays = [
      { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) },
      { dtype: 'int64', shape: [3], data: BigInt64Array.from([1n, -2n, 3n]) },
      { dtype: 'int32', shape: [1, 2], data: Int32Array.from([7, -8]) },
      { dtype: 'int8', shape: [2], data: Int8Array.from([-128, 127]) },
      { dtype: 'uint8', shape: [2], data: Uint8Array.from([0, 255]) },
      { dtype: 'bool', shape: [], data: Uint8Array.from([1]) },
    ] as const;
    for (const a of arrays) {
      const back = parseNpy(formatNpy(a));
      expect(back.dtype).to.equal(a.dtype);
      expect(back.shape).to.deep.equal(a.shape);
      expect(Array.from(back.data as ArrayLike<number>)).to.deep.equal(Array.from(a.data as ArrayLike<number>));
    }
  });

  it('reads the fixture written by numpy', () => {
    const r = readNpy(path.join(SHARED, 'fixtures/yolox_tiny/eval_416/ratio.npy'));
    expect(r.dtype).to.equal('float32');
    expect(r.data.length).to.equal(1);
  });

  it('refuses bad magic, unknown dtypes and truncation with a UserError', () => {
    const good = formatNpy({ dtype: 'float32', shape: [4], data: new Float32Array(4) });
    expect(() => parseNpy(Uint8Array.from([1, 2, 3]))).to.throw(UserError, /magic/);
    const text = new TextDecoder('latin1').decode(good).replace('<f4', '>f4');
    expect(() => parseNpy(Uint8Array.from(text, (c) => c.charCodeAt(0)))).to.throw(UserError, />f4/);
    expect(() => parseNpy(good.subarray(0, good.length - 1))).to.throw(UserError, /truncated/);
  });
});
