/**
 * @file quant/integer: the integer reference. Exact rounding (ties to even with quotient and
 * remainder), the ops against the float ops on integer-valued inputs, and the whole graph: its
 * codes times the scale equal the fake-quant float path for all 278 activation quantizers
 * (PTQ graph and frozen NPU graph, a 64×64 crop) and the fixture's fq.* tensors at 416.
 */
import { expect } from 'chai';
import { noGrad } from '../engine/autograd.js';
import { Rng } from '../engine/rng.js';
import { roundHalfEven } from '../engine/round.js';
import { Tensor } from '../engine/tensor.js';
import { conv2d } from '../ops/conv.js';
import { loadYoloxCheckpoint } from '../models/checkpoint.js';
import { freezeForNpu } from '../quant/freeze.js';
import type { Graph } from '../quant/graph/graph.js';
import { runGraph } from '../quant/graph/interpreter.js';
import { divRoundHalfEven, requantize } from '../quant/integer/exact.js';
import { intConv, intHardsigmoid } from '../quant/integer/int_ops.js';
import { runInteger } from '../quant/integer/run.js';
import { loadQuantizedGraph } from '../quant/ptq.js';
import { fixtureF32, fixturePath } from './fixtures.js';

describe('quant/integer: exact arithmetic', () => {
  it('divRoundHalfEven: ties to even, negative numerators, = roundHalfEven(n/d) if exact', () => {
    expect([5, 7, -5, -7, 9, 1, -1].map((n) => divRoundHalfEven(n, 2)))
      .to.deep.equal([2, 4, -2, -4, 4, 0, 0]);
    expect([7, 8, 9, -7, -9, 15].map((n) => divRoundHalfEven(n, 6)))
      .to.deep.equal([1, 1, 2, -1, -2, 2]);
    const rng = new Rng(3);
    for (let i = 0; i < 2000; i++) {
      const n = Math.floor(rng.range(-1e6, 1e6)), d = 2 ** (i % 12);
      expect(divRoundHalfEven(n, d)).to.equal(roundHalfEven(n / d) + 0); // n/d exact for 2^k
    }
  });

  it('requantize clamps after rounding and applies the zero point', () => {
    const e = { num: Float64Array.from([3, 5, 1000, -1000, 0]), den: 2, exp: 0, shape: [5] };
    // values 1.5, 2.5, 500, −500, 0 at pos 0: rhe → 2, 2, clamp 127, clamp −128, 0
    expect(Array.from(requantize(e, 0, 0, -128, 127).q)).to.deep.equal([2, 2, 127, -128, 0]);
    expect(Array.from(requantize(e, 0, -128, -128, 127).q))
      .to.deep.equal([-126, -126, 127, -128, -128]);
  });

  it('intHardsigmoid = clamp(v + 3, 0, 6)/6 as an exact rational', () => {
    const h = intHardsigmoid({ num: Float64Array.from([-100, -12, 0, 5, 12, 100]), den: 1, exp: -2,
      shape: [6] });
    // v = n/4: −25, −3, 0, 1.25, 3, 25 → clamp(v+3, 0, 6)/6 = 0, 0, 1/2, 17/24, 1, 1
    const vals = Array.from(h.num, (n) => (n / h.den) * 2 ** h.exp);
    expect(vals).to.deep.equal([0, 0, 0.5, 17 / 24, 1, 1]);
  });

  it('intConv equals the float conv on integer codes (exact there) with bias shifts', () => {
    const rng = new Rng(8);
    const codes = (n: number, lo: number, hi: number) =>
      Int32Array.from({ length: n }, () => Math.floor(rng.range(lo, hi)));
    const x = { q: codes(2 * 3 * 6 * 6, -128, 128), pos: 3, z: 0, shape: [2, 3, 6, 6] };
    const w = { q: codes(4 * 3 * 3 * 3, -128, 128), pos: 7, z: 0, shape: [4, 3, 3, 3] };
    const b = { q: codes(4, -128, 128), pos: 4, z: 0, shape: [4] };
    const r = intConv(x, w, b, { stride: 2, padding: 1, groups: 1 });
    const f = (c: typeof x) => new Tensor(Float32Array.from(c.q, (v) => v * 2 ** -c.pos), c.shape);
    const y = conv2d(f(x), f(w), f(b), { stride: 2, padding: 1 });
    expect(r.shape).to.deep.equal(y.shape);
    expect(Array.from(r.num, (n) => n * 2 ** r.exp)).to.deep.equal(Array.from(y.data));
  });
});

describe('quant/integer: the whole graph vs the fake-quant path (ptq_416 scales)', function () {
  this.timeout(180_000);
  const model = loadYoloxCheckpoint(fixturePath('yolox_tiny', 'weights', 'ckpt.pth'));
  const eval416 = fixtureF32('yolox_tiny', 'eval_416', 'input.npy');
  const crop = (S: number) => {
    const d = new Float32Array(3 * S * S), o = (416 - S) / 2;
    for (let c = 0; c < 3; c++) {
      for (let h = 0; h < S; h++) {
        const src = (c * 416 + h + o) * 416 + o, dst = (c * S + h) * S;
        for (let w = 0; w < S; w++) d[dst + w] = eval416[src + w];
      }
    }
    return new Tensor(d, [1, 3, S, S]);
  };
  const graphAt = (S: number) => loadQuantizedGraph(model, fixturePath('yolox_tiny', 'ptq_416'),
    { example: Tensor.zeros([1, 3, S, S]) });
  /** The quantizers whose (q − z)·s differs from the float path anywhere. */
  const mismatches = (g: Graph, x: Tensor): string[] => {
    const ints = runInteger(g, x);
    const fq = new Map<string, Float32Array>();
    noGrad(() => runGraph(g, x, {
      onValue: (n, v) => { if (n.op === 'quant') fq.set(n.quantizer!.name, v.data); },
    }));
    expect(ints.size).to.equal(278);
    return [...ints].filter(([name, c]) => {
      const v = fq.get(name)!, s = 2 ** -c.pos;
      return c.q.some((q, i) => (q - c.z) * s !== v[i]);
    }).map(([name]) => name);
  };

  it('PTQ graph, 64×64 crop: all 278 quantizers agree bit for bit', () => {
    expect(mismatches(graphAt(64), crop(64))).to.deep.equal([]);
  });

  it('frozen NPU graph (merged BN, shifted scales, DPU ×1.0001220703125): all agree', () => {
    expect(mismatches(freezeForNpu(graphAt(64)), crop(64))).to.deep.equal([]);
  });

  it('at 416 on the eval image: the integer codes reproduce the fixture\'s fq.* tensors', () => {
    const ints = runInteger(graphAt(416), new Tensor(eval416, [1, 3, 416, 416]));
    for (const name of ['head.out0.cat', 'head.out1.cat', 'head.out2.cat',
      'backbone.backbone.dark3.1.conv3.act', 'backbone.backbone.dark5.2.conv3.act']) {
      const ref = fixtureF32('yolox_tiny', 'ptq_416', `fq.${name}.npy`);
      const c = ints.get(name)!, s = 2 ** -c.pos;
      const differing = ref.filter((v, i) => (c.q[i] - c.z) * s !== v).length;
      expect(differing, name).to.equal(0);
    }
  });
});
