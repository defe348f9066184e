/**
 * @file quant/: QuantSpec, the fake-quant op (forward, ties, both STEs), the pow2 observers
 * (every rule of quark.md §1.3–1.6) and the FakeQuantizer switches, plus the fixtures' observer
 * search traces (ptq_416, ptq_416_scores) replayed rule by rule.
 */
import { expect } from 'chai';
import { Tensor } from '../engine/tensor.js';
import { backward } from '../engine/autograd.js';
import { INT8_POW2_MSE, makeQuantSpec, posOfScale, withSte } from '../quant/spec.js';
import { fakeQuant, fakeQuantForward, rheClamped } from '../quant/fake_quant.js';
import { roundHalfEven } from '../engine/round.js';
import { pow2Start, Pow2MinMaxObserver } from '../quant/observers/pow2_minmax.js';
import { pow2MseSearch, Pow2MinMseObserver } from '../quant/observers/pow2_mse.js';
import { majorityVote } from '../quant/observers/base.js';
import { FakeQuantizer } from '../quant/quantizer.js';
import { fixtureJson, fixtureF32 } from './fixtures.js';

const I8 = { qmin: -128, qmax: 127 };
const f32 = (xs: number[]) => Float32Array.from(xs);

describe('quant/spec', () => {
  it('the default is Quark\'s spec, frozen', () => {
    expect(INT8_POW2_MSE).to.deep.include({
      dtype: 'int8', qmin: -128, qmax: 127, symmetric: true, granularity: 'per_tensor',
      scaleType: 'pow2', roundMethod: 'half_even', observer: 'pow2_mse', ste: 'identity',
    });
    expect(Object.isFrozen(INT8_POW2_MSE)).to.equal(true);
    expect(withSte(INT8_POW2_MSE, 'clipped').ste).to.equal('clipped');
    expect(INT8_POW2_MSE.ste).to.equal('identity');
  });

  it('rejects what the engine does not implement', () => {
    expect(() => makeQuantSpec({ roundMethod: 'half_up' as never })).to.throw(/roundMethod/);
    expect(() => makeQuantSpec({ qmin: -127 })).to.throw(/qmin/);
    expect(() => makeQuantSpec({ ste: 'none' as never })).to.throw(/ste/);
    expect(() => posOfScale(0.3)).to.throw(/power of two/);
    expect(posOfScale(2 ** -7)).to.equal(7);
  });
});

describe('quant/fake_quant', () => {
  it('rheClamped = roundHalfEven on ties, their neighbours and random values (|v| ≤ 2^20)', () => {
    const vs: number[] = [];
    for (let k = -300; k <= 300; k++) {
      const t = k + 0.5;
      vs.push(t, t - 2 ** -30, t + 2 ** -30, Math.fround(t - 2 ** -20), k, -0);
    }
    for (let i = 0; i < 2000; i++) vs.push((Math.sin(i * 12.9898) * 43758.5453) % 2 ** 20);
    for (const v of vs) expect(rheClamped(v) + 0, String(v)).to.equal(roundHalfEven(v) + 0);
  });

  it('s = 0.5: ties to even, clamps at −128·s and 127·s', () => {
    const x = f32([0.25, 0.75, -0.25, -0.75, 1.25, 0.3, 63.5, 63.75, 100, -64, -64.25, -1000]);
    const y = new Float32Array(x.length);
    fakeQuantForward(x, y, { scale: 0.5, zeroPoint: 0, ...I8 });
    // x/s = 0.5→0, 1.5→2, −0.5→−0 (+ z = 0 makes it +0, as in C), −1.5→−2, 2.5→2, 0.6→1, 127,
    // 127.5→128→127, 200→127, −128, −128.5→−128
    expect(Array.from(y)).to.deep.equal([0, 1, 0, -1, 1, 0.5, 63.5, 63.5, 63.5, -64, -64, -64]);
  });

  it('zero point −128 (Quark\'s all-zero case, s = 4): 0 stays 0, negatives clamp to 0', () => {
    const y = new Float32Array(5);
    fakeQuantForward(f32([0, -3, 5, 6, 2000]), y, { scale: 4, zeroPoint: -128, ...I8 });
    // q = clamp(rhe(x/4) − 128): 0 → −128 → 0; 5/4 = 1.25 → 1 → 4; 6/4 = 1.5 → 2 → 8;
    // 500 → 127 → 1020
    expect(Array.from(y)).to.deep.equal([0, 0, 4, 8, 1020]);
  });

  it('identity STE passes the upstream gradient unchanged, saturated elements included', () => {
    const x = Tensor.from([-1000, -0.3, 0.2, 63.6, 1e6], [5], true);
    const y = fakeQuant(x, { scale: 0.5, zeroPoint: 0, ...I8 }, 'identity');
    const seed = f32([1.5, -2, 3.25, 0.125, -7]); // non-uniform, so a dropped or scaled entry shows
    backward(y, seed);
    expect(Array.from(x.grad!)).to.deep.equal(Array.from(seed));
  });

  it('clipped STE zeroes the gradient where rhe(x/s)+z leaves [qmin, qmax]', () => {
    // s = 0.5: 63.5 → 127 in range; 63.75 → 127.5 → 128 out; −64.25 → −128.5 → −128 in range (even)
    const x = Tensor.from([-1000, -64.25, 0.2, 63.5, 63.75], [5], true);
    const y = fakeQuant(x, { scale: 0.5, zeroPoint: 0, ...I8 }, 'clipped');
    backward(y, f32([1.5, -2, 3.25, 0.125, -7]));
    expect(Array.from(x.grad!)).to.deep.equal([0, -2, 3.25, 0.125, 0]);
  });

  it('accumulates into an existing gradient (x used twice)', () => {
    const x = Tensor.from([1, 200], [2], true);
    const p = { scale: 1, zeroPoint: 0, ...I8 };
    const a = fakeQuant(x, p), b = fakeQuant(x, p, 'clipped');
    backward(a, f32([1, 1]));
    backward(b, f32([2, 2]));
    expect(Array.from(x.grad!)).to.deep.equal([3, 1]);
  });
});

describe('quant/observers: pow2 min-max start (quark.md §1.3)', () => {
  it('a = 255 → s0 = 2a/255 = 2, pos0 = −1, z = 0', () => {
    expect(pow2Start(0, 255, -128, 127))
      .to.deep.include({ s0: 2, z0: 0, pos0: -1, scale: 2, zeroPoint: 0 });
  });

  it('uses 127.5, not 127: a = 127.5·2^−6.503 gives pos0 7 (with 127 it would be 6)', () => {
    // −log2(s0) = log2(127.5/a) = 6.503 → 7; log2(127/a) = 6.497 would round to 6.
    const a = Math.fround(127.5 * 2 ** -6.503);
    expect(pow2Start(-a, a / 2, -128, 127).pos0).to.equal(7);
  });

  it('symmetric: the larger of |min| and |max| decides; one-sided tensors include 0', () => {
    expect(pow2Start(-10, 3, -128, 127).s0).to.equal(Math.fround(20 / 255));
    expect(pow2Start(2, 3, -128, 127).s0).to.equal(Math.fround(6 / 255));
    expect(pow2Start(-3, -2, -128, 127).s0).to.equal(Math.fround(6 / 255));
  });

  it('all-zero tensor: s0 = 1, z0 = −128, pos0 = 0, z = −128', () => {
    expect(pow2Start(0, 0, -128, 127))
      .to.deep.include({ s0: 1, z0: -128, pos0: 0, scale: 1, zeroPoint: -128 });
  });

  it('nothing observed: s = 1, z = 0', () => {
    expect(new Pow2MinMseObserver(-128, 127).qparams()).to.deep.equal({ scale: 1, zeroPoint: 0 });
    expect(new Pow2MinMaxObserver(-128, 127).qparams()).to.deep.equal({ scale: 1, zeroPoint: 0 });
  });
});

describe('quant/observers: pow2 min-MSE (quark.md §1.4–1.6)', () => {
  it('tries pos0−2 … pos0+2 in that order (largest scale first)', () => {
    const { tried } = pow2MseSearch(f32([0.3, -1.7, 2.2]), 5, 0, -128, 127);
    expect(tried.map((t) => t[0])).to.deep.equal([3, 4, 5, 6, 7]);
  });

  it('strict improvement: an exact tie keeps the larger scale (the constant prior bias)', () => {
    // The fixture's cls_preds bias: 80 × −4.59512; pos 3 and 4 both give −4.625 (SSE equal).
    const b = fixtureJson<Record<string, { batches: { tried: [number, number][] }[] }>>(
      'yolox_tiny', 'ptq_416', 'observer_trace.json')['head.cls_preds.0.bias'].batches[0];
    const o = new Pow2MinMseObserver(-128, 127);
    o.observe(new Float32Array(80).fill(-4.595119953155518));
    const t = o.traces[0];
    expect(t.pos0).to.equal(5);
    expect(t.tried[0][1]).to.equal(t.tried[1][1]);
    expect(t.chosenPos).to.equal(3);
    // float64 SSE vs Quark's float32 sum: relative 1e-6 (float32 rounding of 80 equal terms).
    t.tried.forEach(([, sse], i) => {
      expect(Math.abs(sse - b.tried[i][1]) / b.tried[i][1]).to.be.below(1e-6);
    });
  });

  it('all-zero tensor ends at s = 4, z = −128 (every candidate scores 0; the first wins)', () => {
    const o = new Pow2MinMseObserver(-128, 127);
    o.observe(new Float32Array(10));
    expect(o.qparams()).to.deep.equal({ scale: 4, zeroPoint: -128 });
    expect(o.traces[0].tried.map((t) => t[1])).to.deep.equal([0, 0, 0, 0, 0]);
  });

  it('picks a finer scale when clipping a rare outlier costs less than coarse rounding', () => {
    // 1000 values in [−1, 1] plus one at 1.2: pos0 = rhe(log2(127.5/1.2)) = 7; with s = 2^−7 the
    // outlier clips by 0.2 (SSE 0.04), s = 2^−6 costs ~1000·(2^−6)²/12 ≈ 0.02: compare directly.
    const x = new Float32Array(1001);
    for (let i = 0; i < 1000; i++) x[i] = Math.fround(Math.sin(i * 0.37));
    x[1000] = 1.2;
    const o = new Pow2MinMseObserver(-128, 127);
    o.observe(x);
    const t = o.traces[0];
    let best = 0;
    for (let i = 1; i < 5; i++) if (t.tried[i][1] < t.tried[best][1]) best = i;
    expect(t.chosenPos).to.equal(t.tried[best][0]);
    expect(o.qparams().scale).to.equal(2 ** -t.chosenPos);
  });

  it('several forwards: running min/max for the start, this forward\'s tensor for the SSE', () => {
    const o = new Pow2MinMseObserver(-128, 127);
    const b0 = f32([4, -1, 0.5]), b1 = f32([0.1, -0.2, 0.05]);
    o.observe(b0);
    o.observe(b1);
    const t1 = o.traces[1];
    expect([t1.runningMin, t1.runningMax, t1.batchMin, t1.batchMax])
      .to.deep.equal([-1, 4, Math.fround(-0.2), Math.fround(0.1)]);
    expect(t1.pos0).to.equal(pow2Start(-1, 4, -128, 127).pos0);
    expect(t1.tried).to.deep.equal(pow2MseSearch(b1, t1.pos0, 0, -128, 127).tried);
  });

  it('majority vote: most frequent (s, z), first seen wins ties', () => {
    const A = { scale: 0.5, zeroPoint: 0 }, B = { scale: 0.25, zeroPoint: 0 };
    const C = { scale: 0.5, zeroPoint: -128 };
    expect(majorityVote([A, B, B, A])).to.equal(A);
    expect(majorityVote([B, A, A, B])).to.equal(B);
    expect(majorityVote([A, B, B])).to.equal(B);
    expect(majorityVote([C, A, A])).to.equal(A); // same scale, other zero point: a different pair
    expect(majorityVote([])).to.equal(null);
  });

  it('with two batches the first batch\'s result always stands (1–1 tie)', () => {
    const o = new Pow2MinMseObserver(-128, 127);
    o.observe(f32([1, -1]));   // pos 7
    o.observe(f32([100, 3]));  // running a = 100 → a different pos
    expect(o.history[0]).to.not.deep.equal(o.history[1]);
    expect(o.qparams()).to.deep.equal(o.history[0]);
  });
});

describe('quant/quantizer: FakeQuantize\'s two switches', () => {
  it('observer on + fake-quant off (calibration): returns x itself and updates the scale', () => {
    const q = new FakeQuantizer('t', 'act', INT8_POW2_MSE);
    q.observerEnabled = true;
    q.fakeQuantEnabled = false;
    const x = Tensor.from([0.3, -0.9, 0.55], [3]);
    expect(q.forward(x)).to.equal(x);
    expect(q.scale).to.equal(2 ** -7);
  });

  it('observer off + fake-quant on (eval/QAT): quantizes with the frozen scale', () => {
    const q = new FakeQuantizer('t', 'act', INT8_POW2_MSE);
    q.load(0.25, 0);
    const y = q.forward(Tensor.from([0.3, -0.9, 100], [3]));
    expect(Array.from(y.data)).to.deep.equal([0.25, -1, 31.75]);
    expect(q.observer.history.length).to.equal(0);
  });

  it('both off: identity, nothing observed', () => {
    const q = new FakeQuantizer('t', 'act', INT8_POW2_MSE);
    q.fakeQuantEnabled = false;
    const x = Tensor.from([3], [1]);
    expect(q.forward(x)).to.equal(x);
    expect([q.scale, q.zeroPoint]).to.deep.equal([1, 0]);
  });
});

type Trace = Record<string, {
  batches: { running_min: number; running_max: number; s0: number; pos0: number;
    tried: [number, number][]; chosen_pos: number }[];
  voted_pos: number;
}>;

for (const fixtureCase of ['ptq_416', 'ptq_416_scores']) {
  describe(`quant/observers vs ${fixtureCase}/observer_trace.json`, () => {
    const trace = fixtureJson<Trace>('yolox_tiny', fixtureCase, 'observer_trace.json');

    it('every quantizer: s0 and pos0 from the running min/max are exact', () => {
      let n = 0;
      for (const [name, q] of Object.entries(trace)) {
        for (const b of q.batches) {
          const st = pow2Start(b.running_min, b.running_max, -128, 127);
          expect(st.s0, name).to.equal(b.s0);
          expect(st.pos0, name).to.equal(b.pos0);
          n++;
        }
      }
      expect(n).to.equal(444);
    });

    it('every quantizer: candidates in order, strict-improvement choice on recorded SSEs', () => {
      for (const [name, q] of Object.entries(trace)) {
        for (const b of q.batches) {
          const want = [-2, -1, 0, 1, 2].map((d) => b.pos0 + d);
          expect(b.tried.map((t) => t[0]), name).to.deep.equal(want);
          let best = 0;
          for (let i = 1; i < 5; i++) if (b.tried[i][1] < b.tried[best][1]) best = i;
          expect(b.tried[best][0], name).to.equal(b.chosen_pos);
        }
        expect(q.voted_pos, name).to.equal(q.batches[0].chosen_pos);
      }
    });
  });
}

describe('quant/observers vs ptq_416: the input quantizer on calib.npy', () => {
  it('reproduces the 5 SSEs (relative 1e-6: float64 vs float32 sums) and picks pos −1', () => {
    const calib = fixtureF32('yolox_tiny', 'ptq_416', 'calib.npy');
    const b = fixtureJson<Trace>('yolox_tiny', 'ptq_416', 'observer_trace.json').input.batches[0];
    const o = new Pow2MinMseObserver(-128, 127);
    o.observe(calib);
    const t = o.traces[0];
    expect([t.runningMin, t.runningMax, t.s0, t.pos0])
      .to.deep.equal([b.running_min, b.running_max, b.s0, b.pos0]);
    t.tried.forEach(([pos, sse], i) => {
      expect(pos).to.equal(b.tried[i][0]);
      expect(Math.abs(sse - b.tried[i][1]) / b.tried[i][1]).to.be.below(1e-6);
    });
    expect(t.chosenPos).to.equal(-1);
    expect(t.tried[2][1]).to.equal(831544); // odd pixels: error 1 each, an exact integer count
  });
});
