/**
 * @file quant/freeze: Quark's NPU freeze passes (quark.md §3.1–3.2), each rule on a small graph
 * with hand-set positions and hand-computed results, then the whole pipeline on the ptq_416
 * fixture's scales with outcomes derived by hand from that scales.json.
 */
import { expect } from 'chai';
import { noGrad } from '../engine/autograd.js';
import { Tensor } from '../engine/tensor.js';
import { add, mul } from '../ops/elementwise.js';
import { hardsigmoid } from '../ops/activation.js';
import { conv2d } from '../ops/conv.js';
import { maxPool2d } from '../ops/pool.js';
import { concat } from '../ops/shape.js';
import { loadYoloxCheckpoint } from '../models/checkpoint.js';
import { capture } from '../quant/graph/capture.js';
import type { Graph } from '../quant/graph/graph.js';
import { runGraph } from '../quant/graph/interpreter.js';
import { insertQuantizers } from '../quant/graph/passes/insert_quantizers.js';
import { alignConcatScales, alignSingleInOutScales } from '../quant/graph/passes/npu_align.js';
import {
  adjustShiftBias, adjustShiftCut, adjustShiftRead, adjustShiftWrite,
} from '../quant/graph/passes/npu_shifts.js';
import {
  adjustHardsigmoid, adjustShiftSwish, dpuHardsigmoid, DPU_HARDSIGMOID_FACTOR,
} from '../quant/graph/passes/npu_hardsigmoid.js';
import { mergeBn } from '../quant/graph/passes/merge_bn.js';
import { freezeForNpu } from '../quant/freeze.js';
import { loadQuantizedGraph } from '../quant/ptq.js';
import { scalesToJson } from '../quant/scales_file.js';
import { fixturePath, maxRelDiff } from './fixtures.js';

const x = Tensor.zeros([1, 2, 4, 4]);

/** A quantized graph of `fn`; `set` gives positions by the producer op's order of appearance. */
function build(fn: (t: Tensor) => Map<string, Tensor>, params: [string, Tensor][] = []): Graph {
  return insertQuantizers(capture(fn, x, { params }));
}
/** Activation quantizers keyed `<op>#<k>` (k-th producer of that op), plus `w`/`b`. */
function qmap(g: Graph) {
  const m = new Map<string, { pos: number; set(p: number): void }>();
  const count = new Map<string, number>();
  for (const n of g.nodes) {
    const qs: [string, typeof n.quantizer][] = [];
    if (n.weightQuantizer) qs.push(['w', n.weightQuantizer]);
    if (n.biasQuantizer) qs.push(['b', n.biasQuantizer]);
    if (n.quantizer) {
      const op = n.inputs[0].op, k = count.get(op) ?? 0;
      count.set(op, k + 1);
      qs.push([`${op}#${k}`, n.quantizer]);
    }
    for (const [key, q] of qs) {
      m.set(key, {
        get pos() { return -Math.log2(q!.scale) + 0; },
        set: (p) => q!.load(2 ** -p, q!.zeroPoint),
      });
    }
  }
  return m;
}
const pool = (t: Tensor) => maxPool2d(t, { kernel: 3, stride: 1, padding: 1 });

describe('quant/freeze: each NPU pass on a small graph', () => {
  it('concat: inputs and output all take the largest scale (smallest pos) when they differ', () => {
    const g = build((t) => new Map([['y', concat([pool(t), pool(t)], 1)]]));
    const q = qmap(g);
    q.get('maxPool2d#0')!.set(5);
    q.get('maxPool2d#1')!.set(3);
    q.get('concat#0')!.set(4);
    alignConcatScales(g);
    const all = ['maxPool2d#0', 'maxPool2d#1', 'concat#0'].map((k) => q.get(k)!.pos);
    expect(all).to.deep.equal([3, 3, 3]);
  });

  it('pool / slice: input and output take the larger of their two scales', () => {
    const g = build((t) => new Map([['y', pool(t)]]));
    const q = qmap(g);
    q.get('input#0')!.set(5);
    q.get('maxPool2d#0')!.set(2);
    alignSingleInOutScales(g, ['maxPool2d']);
    expect([q.get('input#0')!.pos, q.get('maxPool2d#0')!.pos]).to.deep.equal([2, 2]);
  });

  it('shift_read: add inputs at most 7 apart (the finer one moves); shift_write for add', () => {
    const g = build((t) => new Map([['y', add(pool(t), pool(t))]]));
    const q = qmap(g);
    q.get('maxPool2d#0')!.set(2);
    q.get('maxPool2d#1')!.set(12);
    q.get('add#0')!.set(30);
    adjustShiftRead(g);
    expect([q.get('maxPool2d#0')!.pos, q.get('maxPool2d#1')!.pos]).to.deep.equal([2, 9]);
    adjustShiftWrite(g); // sw = min(2, 9) − 30 = −28 < −7 → p_o = 2 + 7
    expect(q.get('add#0')!.pos).to.equal(9);
  });

  it('shift_write for mul: p_i1 + p_i2 − p_o ∈ [0, 32]', () => {
    const g = build((t) => new Map([['y', mul(pool(t), pool(t))]]));
    const q = qmap(g);
    q.get('maxPool2d#0')!.set(5);
    q.get('maxPool2d#1')!.set(6);
    q.get('mul#0')!.set(-30); // sw = 41 > 32 → p_o = 11 − 32
    adjustShiftWrite(g);
    expect(q.get('mul#0')!.pos).to.equal(-21);
    q.get('mul#0')!.set(12); // sw = −1 < 0 → p_o = 11
    adjustShiftWrite(g);
    expect(q.get('mul#0')!.pos).to.equal(11);
  });

  it('shift_cut moves the weight, then shift_bias checks [min(0, sc − 16), 15]', () => {
    const w = Tensor.full([3, 2, 1, 1], 0.5), b = Tensor.full([3], 0.25);
    const g = build((t) => new Map([['y', conv2d(t, w, b)]]), [['c.weight', w], ['c.bias', b]]);
    const q = qmap(g);
    q.get('input#0')!.set(2);
    q.get('w')!.set(20);
    q.get('conv2d#0')!.set(1);
    q.get('b')!.set(-10);
    adjustShiftCut(g); // sc = 20 + 2 − 1 = 21 > 16 → p_w = 16 + 1 − 2
    expect(q.get('w')!.pos).to.equal(15);
    adjustShiftBias(g); // sc = 16 → range [0, 15]; sb = 15 + 2 + 10 = 27 → p_b = 17 − 15
    expect(q.get('b')!.pos).to.equal(2);
    q.get('w')!.set(3);
    q.get('b')!.set(9);
    adjustShiftCut(g); // sc = 4: in range, unchanged
    expect(q.get('w')!.pos).to.equal(3);
    adjustShiftBias(g); // sc = 4 → range [−12, 15]; sb = 3 + 2 − 9 = −4: in range
    expect(q.get('b')!.pos).to.equal(9);
  });

  it('hardsigmoid: p_i ∈ [0, 15], p_o ≥ 7, and p_o = 14 + p_i when 14 + p_i − p_o ≤ 0', () => {
    const g = build((t) => new Map([['y', hardsigmoid(pool(t))]]));
    const q = qmap(g);
    q.get('maxPool2d#0')!.set(-3);
    q.get('hardsigmoid#0')!.set(5);
    adjustHardsigmoid(g);
    expect([q.get('maxPool2d#0')!.pos, q.get('hardsigmoid#0')!.pos]).to.deep.equal([0, 7]);
    q.get('maxPool2d#0')!.set(0);
    q.get('hardsigmoid#0')!.set(20);
    adjustHardsigmoid(g);
    expect(q.get('hardsigmoid#0')!.pos).to.equal(14);
  });

  it('swish: the SiLU mul keeps p_c + p_h − p_o ∈ [0, 15]; other muls are left alone', () => {
    const silu = (t: Tensor) => { const c = pool(t); return mul(hardsigmoid(c), c); };
    const g = build((t) => new Map([['y', silu(t)], ['z', mul(pool(t), pool(t))]]));
    const q = qmap(g);
    q.get('maxPool2d#0')!.set(3);
    q.get('hardsigmoid#0')!.set(7);
    q.get('mul#0')!.set(-10); // ss = 20 > 15 → p_o = 10 − 15
    q.get('maxPool2d#1')!.set(3);
    q.get('maxPool2d#2')!.set(7);
    q.get('mul#1')!.set(-10);
    adjustShiftSwish(g);
    expect([q.get('mul#0')!.pos, q.get('mul#1')!.pos]).to.deep.equal([-5, -10]);
  });

  it('DPU hardsigmoid: an unquantized ×(2731/16384)/(1/6) before the hardsigmoid quantizer', () => {
    expect(DPU_HARDSIGMOID_FACTOR).to.equal(1 + 2 ** -13);
    const g = build((t) => new Map([['y', hardsigmoid(pool(t))]]));
    for (const qz of g.quantizers()) qz.fakeQuantEnabled = false;
    const f = dpuHardsigmoid(g);
    const m = f.nodes.find((n) => n.op === 'mulConst')!;
    expect(m.inputs[0].op).to.equal('hardsigmoid');
    expect(f.users(m).map((n) => n.op)).to.deep.equal(['quant']);
    const inp = Tensor.from(Array.from({ length: 32 }, (_, i) => i / 4 - 4), [1, 2, 4, 4]);
    const a = noGrad(() => runGraph(g, inp)).get('y')!;
    const b = noGrad(() => runGraph(f, inp)).get('y')!;
    b.data.forEach((v, i) => expect(v).to.equal(Math.fround(a.data[i] * DPU_HARDSIGMOID_FACTOR)));
  });

  it('merge_bn: numpy\'s order γ/√(var+eps), W·scale, β − μ·scale (float32)', () => {
    const f = Math.fround;
    const w = Tensor.from([0.5, -1.25], [2, 1, 1, 1]), g = Tensor.from([1.5, -0.75], [2]);
    const be = Tensor.from([0.1, 0.2], [2]), mu = Tensor.from([0.3, -0.4], [2]);
    const v = Tensor.from([0.81, 2.5], [2]);
    const m = mergeBn(w, g, be, mu, v, 1e-3);
    const s = [0, 1].map((c) => f(g.data[c] / f(Math.sqrt(f(v.data[c] + f(1e-3))))));
    expect(Array.from(m.weight.data)).to.deep.equal([f(0.5 * s[0]), f(-1.25 * s[1])]);
    expect(Array.from(m.bias.data))
      .to.deep.equal([0, 1].map((c) => f(be.data[c] - f(mu.data[c] * s[c]))));
  });
});

describe('quant/freeze: the whole pipeline on ptq_416\'s scales (seed-0 checkpoint)', function () {
  this.timeout(120_000);
  let before: Record<string, { pos: number }>;
  let after: Record<string, { pos: number }>;
  let frozen: Graph;
  let calibrated: Graph;

  it('leaves the calibrated graph alone and builds 80 DPU multiplies, no convBn', () => {
    const model = loadYoloxCheckpoint(fixturePath('yolox_tiny', 'weights', 'ckpt.pth'));
    calibrated = loadQuantizedGraph(model, fixturePath('yolox_tiny', 'ptq_416'),
      { example: Tensor.zeros([1, 3, 64, 64]) });
    before = scalesToJson(calibrated).quantizers;
    frozen = freezeForNpu(calibrated);
    after = scalesToJson(frozen).quantizers;
    expect(scalesToJson(calibrated).quantizers).to.deep.equal(before);
    expect(frozen.nodes.filter((n) => n.op === 'mulConst').length).to.equal(80);
    expect(frozen.nodes.filter((n) => n.op === 'convBn').length).to.equal(0);
    expect(Object.keys(after).length).to.equal(444);
  });

  it('outcomes derived by hand from the fixture\'s positions', () => {
    // head.out0.cat reads the all-zero score hardsigmoids (pos −2, scale 4): concat alignment
    // drags the cat and the shared reg output to pos −2.
    expect(after['head.out0.cat'].pos).to.equal(-2);
    expect(after['head.reg_preds.0.conv_out'].pos).to.equal(-2);
    // then shift_cut for reg_preds.0: p_i = 8 (reg_convs.0.1.act), p_w = 10, p_o = −2:
    // sc = 20 > 16 → p_w = 16 − 2 − 8 = 6.
    expect(before['head.reg_convs.0.1.act'].pos).to.equal(8);
    expect(after['head.reg_preds.0.weight'].pos).to.equal(6);
    // stem: conv_out pos −2 → clamped to 0 by the hardsigmoid rule; its hsig 6 → 7.
    const stem = 'backbone.backbone.stem.conv';
    expect([before[`${stem}.conv_out`].pos, after[`${stem}.conv_out`].pos]).to.deep.equal([-2, 0]);
    expect([before[`${stem}.hsig`].pos, after[`${stem}.hsig`].pos]).to.deep.equal([6, 7]);
    // every hardsigmoid output ends at pos ≥ 7 and every hardsigmoid input in [0, 15]
    for (const [k, e] of Object.entries(after)) {
      if (k.endsWith('.hsig')) expect(e.pos, k).to.be.at.least(7);
    }
  });

  it('merged weights equal the on-the-fly fold within 1 float32 ulp', () => {
    const folded = calibrated.nodes.find((n) => n.name === 'backbone.backbone.dark3.0.conv_out')!;
    const merged = frozen.node('backbone.backbone.dark3.0.conv_out');
    expect(merged.op).to.equal('conv2d');
    const wq = merged.inputs[1].value!;
    const [w, gm, , , v] = folded.inputs.slice(1).map((n) => n.value!);
    const C = gm.size, K = w.size / C;
    const ref = new Float32Array(w.size);
    for (let c = 0; c < C; c++) {
      const r = Math.fround(1 / Math.fround(Math.sqrt(Math.fround(v.data[c] + Math.fround(1e-3)))));
      for (let i = c * K; i < (c + 1) * K; i++) ref[i] = w.data[i] * Math.fround(gm.data[c] * r);
    }
    expect(maxRelDiff(wq.data, ref)).to.be.below(2 ** -22);
  });
});
