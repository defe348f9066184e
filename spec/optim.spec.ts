/**
 * Tests of models/optim against values computed by hand from the torch.optim.SGD update rule,
 * the official yoloxwarmcos formula and ModelEMA's decay ramp.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import { pooledF32Bytes } from '../engine/memory.js';
import { Tensor } from '../engine/tensor.js';
import { ModelEma } from '../models/optim/ema.js';
import { BASIC_LR_PER_IMG, yoloxWarmCosLr } from '../models/optim/lr_schedule.js';
import { Sgd, yoloxParamGroups, type ParamGroup } from '../models/optim/sgd.js';
import { SHARED } from './fixtures.js';

const group = (p: Tensor, over: Partial<ParamGroup> = {}): ParamGroup => ({
  name: 'g', params: [p], lr: 0.1, momentum: 0.9, weightDecay: 0.1, nesterov: true, ...over,
});
/** float32 agreement with a hand value: values are O(1), float32 ulp ≤ 2.4e-7. */
const close = (got: ArrayLike<number>, want: number[]) =>
  want.forEach((w, i) => expect(got[i]).to.be.closeTo(w, 5e-7));

describe('models/optim Sgd (torch.optim.SGD rule)', () => {
  it('Nesterov with weight decay: two steps by hand', () => {
    const p = Tensor.from([1, -2], [2], true);
    const opt = new Sgd([group(p)]);
    // Step 1: d = g + 0.1p = [0.6, 0.05]; buf = d; d += 0.9·buf = [1.14, 0.095]; p −= 0.1·d.
    p.grad = Float32Array.from([0.5, 0.25]);
    opt.step();
    close(p.data, [0.886, -2.0095]);
    close(opt.momentumBuffer(p)!, [0.6, 0.05]);
    // Step 2: d = [0.5886, 0.04905]; buf = 0.9·[0.6, 0.05] + d = [1.1286, 0.09405];
    // d += 0.9·buf = [1.60434, 0.133695]; p −= 0.1·d.
    p.grad = Float32Array.from([0.5, 0.25]);
    opt.step();
    close(p.data, [0.725566, -2.0228695]);
    close(opt.momentumBuffer(p)!, [1.1286, 0.09405]);
  });

  it('plain momentum: the first buffer is the gradient itself (no dampening factor)', () => {
    const p = Tensor.from([1, -2], [2], true);
    const opt = new Sgd([group(p, { nesterov: false })]);
    p.grad = Float32Array.from([0.5, 0.25]);
    opt.step();
    close(p.data, [0.94, -2.005]);
    p.grad = Float32Array.from([0.5, 0.25]);
    opt.step(); // d = [0.594, 0.0495]; buf = [1.134, 0.0945]; p −= 0.1·buf
    close(p.data, [0.8266, -2.01445]);
  });

  it('skips parameters without a gradient and zeroGrad clears them', () => {
    const p = Tensor.from([1], [1], true), q = Tensor.from([2], [1], true);
    const opt = new Sgd([group(p), { ...group(q), name: 'h' }]);
    p.grad = Float32Array.from([1]);
    opt.step();
    expect(q.data[0]).to.equal(2);
    expect(opt.momentumBuffer(q)).to.equal(undefined);
    opt.zeroGrad();
    expect(p.grad).to.equal(null);
  });

  it('zeroGrad hands the old gradient arrays back to the allocator for the next backward', () => {
    const p = Tensor.from([1, 2, 3], [3], true);
    const opt = new Sgd([group(p)]);
    const g = p.gradBuffer();
    const before = pooledF32Bytes();
    opt.zeroGrad();
    expect(pooledF32Bytes() - before).to.equal(g.byteLength);
    // The next gradient of that size reuses the buffer, zero-filled like a fresh one.
    g.fill(5);
    const again = p.gradBuffer();
    expect(again.buffer).to.equal(g.buffer);
    expect(Array.from(again)).to.deep.equal([0, 0, 0]);
  });
});

describe('models/optim yoloxParamGroups (official get_optimizer)', () => {
  it('yolox-tiny: 74 BN weights (no decay), 83 conv weights (5e-4), 83 biases (no decay)', () => {
    const lines = fs.readFileSync(`${SHARED}/reference/yolox_tiny_state_dict.txt`, 'utf8')
      .split('\n').filter((l) => l.trim().endsWith(' param'));
    const named = lines.map((l) => [l.trim().split(/\s+/)[1], Tensor.zeros([1])] as const);
    expect(named.length).to.equal(240);
    const groups = yoloxParamGroups(named);
    expect(groups.map((g) => [g.name, g.params.length, g.weightDecay])).to.deep.equal([
      ['bn_weights', 74, 0], ['weights', 83, 5e-4], ['biases', 83, 0],
    ]);
    expect(groups.every((g) => g.nesterov && g.momentum === 0.9)).to.equal(true);
    const byName = new Map(named.map(([n, t]) => [t, n]));
    expect(groups[2].params.filter((t) => !byName.get(t)!.includes('.bn.')).length).to.equal(9);
  });
});

describe('models/optim yoloxWarmCosLr (official yoloxwarmcos)', () => {
  // lr 0.01 (batch 64), 10 iters/epoch, 300 epochs: W = 50, T = 3000, Q = 150, min = 5e-4.
  const f = yoloxWarmCosLr({ lr: BASIC_LR_PER_IMG * 64, itersPerEpoch: 10, maxEpoch: 300 });
  it('quadratic warm-up from 0', () => {
    expect(f(0)).to.equal(0);
    expect(f(25)).to.be.closeTo(0.0025, 1e-15);
    expect(f(50)).to.be.closeTo(0.01, 1e-15);
  });
  it('cosine to min_lr = 0.05·lr, then constant for the 15 no-aug epochs', () => {
    expect(f(1450)).to.be.closeTo(0.0005 + 0.5 * 0.0095, 1e-15); // half-way: cos = 0
    const want = 0.0005 + 0.5 * 0.0095 * (1 + Math.cos(Math.PI * 2799 / 2800));
    expect(f(2849)).to.be.closeTo(want, 1e-15);
    expect(f(2850)).to.equal(0.0005);
    expect(f(2999)).to.equal(0.0005);
  });
});

describe('models/optim ModelEma (official ramp)', () => {
  it('update 1 with decay 0.9998, ramp 2000: d = 0.9998·(1 − e^(−1/2000)) = 4.99775046e-4', () => {
    const ema = new ModelEma(new Map([['w', Float32Array.from([1, -1])]]));
    const d = ema.update(new Map([['w', Float32Array.from([3, 5])]]));
    expect(d).to.be.closeTo(4.99775046e-4, 1e-12);
    close(ema.state.get('w')!, [3 - 2 * 4.99775046e-4, 5 - 6 * 4.99775046e-4]);
    expect(ema.updates).to.equal(1);
  });
  it('decay is a parameter (Quark QAT 0.9995) and the ramp saturates', () => {
    const state = new Map([['w', new Float32Array(1)]]);
    const ema = new ModelEma(state, { decay: 0.9995, updates: 1e6 });
    expect(ema.decayAt(1e6)).to.equal(0.9995);
    ema.update(new Map([['w', Float32Array.from([1])]]));
    expect(ema.state.get('w')![0]).to.be.closeTo(0.0005, 1e-9);
  });
});
