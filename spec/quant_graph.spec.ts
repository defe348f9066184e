/**
 * @file quant/graph: capture of YOLO-X's body, naming (the 444 names of the ptq_416 fixture),
 * the interpreter (equal to the model's own forward and gradients), Conv+BN folding (Quark's
 * float32 order; a finite-difference check of its backward), the activation rewrite and the
 * quantizer-insertion rules. Random seed-0 weights at 64×64 keep this fast; the golden PTQ
 * comparison is in quant_ptq.spec.ts.
 */
import { expect } from 'chai';
import { backward, noGrad } from '../engine/autograd.js';
import { Rng } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';
import { yoloxTiny } from '../models/yolox.js';
import { setFusedBaseConv } from '../models/blocks.js';
import { decodeCats } from '../models/head_decode.js';
import { formatGraph } from '../quant/graph/format.js';
import { runGraph } from '../quant/graph/interpreter.js';
import { bnInvStd, foldBias, foldWeight } from '../quant/graph/bn_fold.js';
import { foldConvBn } from '../quant/graph/passes/fold_conv_bn.js';
import { nameYoloxNodes } from '../quant/graph/passes/name_yolox.js';
import { rewriteActivations } from '../quant/graph/passes/rewrite_activations.js';
import { insertQuantizers } from '../quant/graph/passes/insert_quantizers.js';
import { calibrate } from '../quant/calibrate.js';
import { captureYoloxBody } from '../quant/graph/yolox_capture.js';
import { capture } from '../quant/graph/capture.js';
import { concat } from '../ops/shape.js';
import { upsampleNearest2x } from '../ops/upsample.js';
import { maxPool2d } from '../ops/pool.js';
import { add } from '../ops/elementwise.js';
import { fixtureJson, maxRelDiff } from './fixtures.js';

function randomInput(shape: number[], seed: number, lo = 0, hi = 255): Tensor {
  const t = Tensor.zeros(shape);
  new Rng(seed).fillUniform(t.data, lo, hi);
  return t;
}

describe('quant/graph: YOLO-X capture and passes (seed-0 random weights, 64×64)', function () {
  const model = yoloxTiny(0);
  // Perturb BN statistics so eval-mode BN (and its folding) is not an identity.
  const rng = new Rng(5);
  for (const [k, v] of model.floatState()) {
    if (k.endsWith('running_var')) for (let i = 0; i < v.length; i++) v[i] = rng.range(0.5, 2);
    if (k.endsWith('running_mean')) for (let i = 0; i < v.length; i++) v[i] = rng.range(-0.3, 0.3);
    if (k.endsWith('bn.weight')) for (let i = 0; i < v.length; i++) v[i] = rng.range(0.5, 1.5);
  }
  const example = Tensor.zeros([1, 3, 64, 64]);
  const raw = nameYoloxNodes(captureYoloxBody(model, example));

  it('the raw graph names every op node (no provisional name left), prints one line a node', () => {
    expect(raw.nodes.filter((n) => n.name.includes('/'))).to.deep.equal([]);
    const text = formatGraph(raw);
    const lines = text.split('\n');
    expect(lines.length).to.equal(raw.nodes.filter((n) => n.op !== 'param').length + 1);
    expect(text).to.include('backbone.backbone.dark5.1.pool13 = '
      + 'maxPool2d(backbone.backbone.dark5.1.conv1.act) [1,192,2,2]');
    expect(text).to.include('backbone.f_out0.upsample = '
      + 'upsampleNearest2x(backbone.lateral_conv0.act) [1,192,4,4]');
  });

  it('op counts: 83 convs, 74 BN/SiLU, 6 sigmoids, 7 adds, 20 cats, 8 slices, 3 pools', () => {
    const count = (op: string) => raw.nodes.filter((n) => n.op === op).length;
    expect([count('conv2d'), count('batchNorm2d'), count('silu'), count('sigmoid'), count('add'),
      count('concat'), count('slice'), count('maxPool2d'), count('upsampleNearest2x')])
      .to.deep.equal([83, 74, 74, 6, 7, 20, 8, 3, 2]);
  });

  it('the interpreter reproduces the model\'s own eval forward bit for bit', () => {
    const x = randomInput([2, 3, 64, 64], 1);
    const outs = noGrad(() => runGraph(raw, x));
    model.eval();
    // The op chain the graph captured (BaseConv's fused eval path rounds differently: it is
    // checked against this chain in spec/conv_fused.spec.ts).
    setFusedBaseConv(false);
    const ref = noGrad(() => model.call(x));
    setFusedBaseConv(true);
    model.train();
    ref.levels.forEach(({ reg, obj, cls }, k) => {
      const cat = outs.get(`head.out${k}.train_cat`)!;
      expect(Array.from(cat.data)).to.deep.equal(Array.from(concat([reg, obj, cls], 1).data));
    });
    const cats = [0, 1, 2].map((k) => outs.get(`head.out${k}.cat`)!);
    expect(Array.from(decodeCats(cats).data)).to.deep.equal(Array.from(ref.output!.data));
  });

  const folded = foldConvBn(raw);

  it('fold: 74 convBn + 9 plain convs, no BN; equals conv→BN up to float32 reassociation', () => {
    expect(folded.nodes.filter((n) => n.op === 'convBn').length).to.equal(74);
    expect(folded.nodes.filter((n) => n.op === 'conv2d').length).to.equal(9);
    expect(folded.nodes.filter((n) => n.op === 'batchNorm2d').length).to.equal(0);
    const x = randomInput([1, 3, 64, 64], 2);
    const a = noGrad(() => runGraph(raw, x)), b = noGrad(() => runGraph(folded, x));
    // W·(γr) then conv, vs conv then (·γ·r + β): different float32 roundings through ~40 layers;
    // 1e-4 of the output range is ~100× the fixtures' FP32 noise floor (1.4e-6) and far below any
    // real folding error (a wrong eps or order of γ, μ gives > 1e-2).
    for (const [k, t] of a) expect(maxRelDiff(b.get(k)!.data, t.data), k).to.be.below(1e-4);
  });

  const rewritten = rewriteActivations(folded);

  it('rewrite: SiLU → x·hardsigmoid(x) (74), sigmoid → hardsigmoid (6); keep leaves them', () => {
    const count = (g: typeof raw, op: string) => g.nodes.filter((n) => n.op === op).length;
    expect([count(rewritten, 'silu'), count(rewritten, 'sigmoid'), count(rewritten, 'hardsigmoid'),
      count(rewritten, 'mul')]).to.deep.equal([0, 0, 80, 74]);
    const m = rewritten.node('backbone.backbone.dark3.0.act');
    expect(m.op).to.equal('mul');
    expect(m.inputs.map((i) => i.name))
      .to.deep.equal(['backbone.backbone.dark3.0.hsig', 'backbone.backbone.dark3.0.conv_out']);
    const kept = rewriteActivations(folded, { silu: 'keep', sigmoid: 'keep' });
    expect([count(kept, 'silu'), count(kept, 'sigmoid'), count(kept, 'hardsigmoid')])
      .to.deep.equal([74, 6, 0]);
  });

  it('insertion: exactly the 444 quantizers of the ptq_416 fixture, same names and kinds', () => {
    const g = insertQuantizers(rewritten);
    type Scales = { quantizers: Record<string, { kind: string }> };
    const ref = fixtureJson<Scales>('yolox_tiny', 'ptq_416', 'scales.json').quantizers;
    const qs = g.quantizers();
    expect(qs.length).to.equal(444);
    expect(qs.map((q) => q.name).sort()).to.deep.equal(Object.keys(ref).sort());
    for (const q of qs) expect(q.kind, q.name).to.equal(ref[q.name].kind);
    // Every consumer reads the quantized tensor: no op node reads an unquantized op output,
    // except the quant nodes themselves and the convs' parameters.
    for (const n of g.nodes) {
      if (n.op === 'quant') continue;
      for (const i of n.inputs) {
        expect(['quant', 'param'], `${n.name} reads ${i.name}`).to.include(i.op);
      }
    }
  });

  it('fake-quant off: the quantized graph computes the float graph exactly', () => {
    const g = insertQuantizers(rewritten);
    for (const q of g.quantizers()) q.fakeQuantEnabled = false;
    const x = randomInput([1, 3, 64, 64], 3);
    const a = noGrad(() => runGraph(rewritten, x)), b = noGrad(() => runGraph(g, x));
    for (const [k, t] of a) expect(Array.from(b.get(k)!.data), k).to.deep.equal(Array.from(t.data));
  });

  it('gradients through the interpreted graph equal those through the model (unfolded)', () => {
    const x = randomInput([1, 3, 64, 64], 4);
    const seedOf = (t: Tensor) => Float32Array.from(t.data, (_, i) => Math.sin(i)); // non-uniform
    model.eval();
    const w = new Map(model.namedParameters()).get('backbone.backbone.dark3.0.conv.weight')!;
    const gamma = model.head.stems.items[1].bn.weight;
    const grads = (run: () => Tensor): [number[], number[]] => {
      w.grad = null;
      gamma.grad = null;
      const out = run();
      backward(out, seedOf(out));
      return [Array.from(w.grad!.subarray(0, 50)), Array.from(gamma.grad!)];
    };
    const viaGraph = grads(() => runGraph(raw, x).get('head.out1.train_cat')!);
    const viaModel = grads(() => {
      const l = model.call(x).levels[1];
      return concat([l.reg, l.obj, l.cls], 1);
    });
    model.train();
    w.grad = null;
    gamma.grad = null;
    expect(viaGraph).to.deep.equal(viaModel);
  });
});

describe('quant/graph: QAT-style backward through the fake-quant graph (identity STE)', () => {
  it('dL/d(reg_preds.k.bias) = Σ of the upstream gradient over its channel and the map', () => {
    const model = yoloxTiny(1);
    const g = insertQuantizers(rewriteActivations(foldConvBn(nameYoloxNodes(
      captureYoloxBody(model, Tensor.zeros([1, 3, 64, 64]))))));
    const x = randomInput([2, 3, 64, 64], 7);
    calibrate(g, [x]); // leaves observers off, fake-quant on
    for (const p of model.parameters()) p.grad = null;
    const out = runGraph(g, x).get('head.out1.train_cat')!; // [2, 85, 4, 4]
    const seed = Float32Array.from(out.data, (_, i) => Math.cos(i) * (1 + (i % 7)));
    backward(out, seed);
    // y = fq(conv(x, fq(W), fq(b))) then fq(cat): with the identity STE every fq passes the
    // gradient unchanged — saturated elements included — so db_c is the plain sum of the seed
    // over channel c's positions of the cat, whatever the scales.
    const bias = new Map(model.namedParameters()).get('head.reg_preds.1.bias')!;
    const [B, C, H, W] = out.shape;
    for (let c = 0; c < 4; c++) {
      let sum = 0;
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < H * W; i++) sum += seed[(b * C + c) * H * W + i];
      }
      expect(bias.grad![c]).to.be.closeTo(sum, 1e-4 * Math.max(1, Math.abs(sum)));
    }
    // Gradients reach the BN-folded convs' W, γ, β (through W′ and b′); the running statistics
    // are buffers and get none.
    const params = new Map(model.namedParameters());
    for (const k of ['head.reg_convs.1.1.conv.weight', 'head.reg_convs.1.1.bn.weight',
      'head.reg_convs.1.1.bn.bias', 'backbone.backbone.dark4.1.conv3.conv.weight']) {
      const gr = params.get(k)!.grad!;
      expect(gr.some((v) => v !== 0), k).to.equal(true);
      expect(gr.every(Number.isFinite), k).to.equal(true);
    }
  });
});

describe('quant/graph/bn_fold: Quark\'s float32 order and the backward', () => {
  const f = Math.fround;

  it('r = 1/sqrt(var + fl(1e-3)) with two roundings; W′ = W·(γ·r); b′ = β − (γ·μ)·r', () => {
    const w = Tensor.from([0.5, -1.25, 2, 3], [2, 2]);
    const g = Tensor.from([1.5, -0.75], [2]), b = Tensor.from([0.1, 0.2], [2]);
    const m = Tensor.from([0.3, -0.4], [2]), v = Tensor.from([0.81, 2.5], [2]);
    const r = [0, 1].map((c) => f(1 / f(Math.sqrt(f(v.data[c] + f(1e-3))))));
    expect(Array.from(bnInvStd(v.data, 1e-3))).to.deep.equal(r);
    const wf = foldWeight(w, g, v, 1e-3), bf = foldBias(b, g, m, v, 1e-3);
    const k = [f(g.data[0] * r[0]), f(g.data[1] * r[1])];
    expect(Array.from(wf.data))
      .to.deep.equal([f(0.5 * k[0]), f(-1.25 * k[0]), f(2 * k[1]), f(3 * k[1])]);
    expect(Array.from(bf.data)).to.deep.equal([0, 1].map((c) =>
      f(b.data[c] - f(f(g.data[c] * m.data[c]) * r[c]))));
  });

  it('backward matches central differences (W, γ, β; float64 oracle on the formulas)', () => {
    const rng = new Rng(9);
    const C = 3, K = 4;
    const w = Tensor.zeros([C, K], true), g = Tensor.zeros([C], true), b = Tensor.zeros([C], true);
    rng.fillUniform(w.data, -1, 1);
    rng.fillUniform(g.data, 0.5, 1.5);
    rng.fillUniform(b.data, -1, 1);
    const m = Tensor.from([0.2, -0.5, 0.1], [C]), v = Tensor.from([0.9, 1.7, 0.4], [C]);
    const gw = Float32Array.from({ length: C * K }, (_, i) => Math.cos(i));
    const gb = Float32Array.from({ length: C }, (_, i) => 1 + i);
    backward(foldWeight(w, g, v, 1e-3), gw);
    backward(foldBias(b, g, m, v, 1e-3), gb);
    // L(W, γ, β) = Σ gw·W′ + Σ gb·b′ in float64 (no float32 rounding in the oracle).
    const loss = (W: number[], G: number[], B: number[]): number => {
      let s = 0;
      for (let c = 0; c < C; c++) {
        const r = 1 / Math.sqrt(v.data[c] + 1e-3);
        for (let i = 0; i < K; i++) s += gw[c * K + i] * W[c * K + i] * G[c] * r;
        s += gb[c] * (B[c] - G[c] * m.data[c] * r);
      }
      return s;
    };
    const W = Array.from(w.data), G = Array.from(g.data), B = Array.from(b.data);
    const h = 1e-6;
    const fd = (arr: number[], i: number) => {
      const p = [...arr], q = [...arr];
      p[i] += h;
      q[i] -= h;
      const pick = (a: number[]) =>
        (arr === W ? loss(a, G, B) : arr === G ? loss(W, a, B) : loss(W, G, a));
      return (pick(p) - pick(q)) / (2 * h);
    };
    // float32 kernels vs float64 differences: relative 1e-5 (float32 rounding of the products).
    const close = (a: number, e: number) =>
      expect(Math.abs(a - e)).to.be.below(1e-5 * Math.max(1, Math.abs(e)));
    for (let i = 0; i < C * K; i++) close(w.grad![i], fd(W, i));
    for (let c = 0; c < C; c++) close(g.grad![c], fd(G, c));
    for (let c = 0; c < C; c++) close(b.grad![c], fd(B, c));
  });
});

describe('quant/graph/passes/insert_quantizers: the rules on small graphs', () => {
  const x = Tensor.zeros([1, 2, 4, 4]);
  const graphOf = (fn: (t: Tensor) => Map<string, Tensor>) => capture(fn, x, { params: [] });

  it('an upsample output is quantized only when an annotated op (a cat) reads it', () => {
    const g = insertQuantizers(graphOf((t) => {
      const p = maxPool2d(t, { kernel: 3, stride: 1, padding: 1 });
      const u = upsampleNearest2x(p);
      const u2 = upsampleNearest2x(t);
      return new Map([['cat', concat([u, u2], 1)], ['up', upsampleNearest2x(p)]]);
    }));
    const quantized = g.nodes.filter((n) => n.op === 'quant').map((n) => n.inputs[0].op);
    // input, pool, two upsamples read by the cat, the cat; the third upsample (an output) is not
    expect(quantized.sort())
      .to.deep.equal(['concat', 'input', 'maxPool2d', 'upsampleNearest2x', 'upsampleNearest2x']);
  });

  it('one quantizer per tensor, shared by every user (a diamond)', () => {
    const g = insertQuantizers(graphOf((t) => {
      const p = maxPool2d(t, { kernel: 3, stride: 1, padding: 1 });
      return new Map([['y', add(p, p)], ['z', concat([p, t], 1)]]);
    }));
    const pool = g.nodes.find((n) => n.op === 'maxPool2d')!;
    const qp = g.nodes.filter((n) => n.op === 'quant' && n.inputs[0] === pool);
    expect(qp.length).to.equal(1);
    expect(g.users(pool)).to.deep.equal(qp);
    expect(g.users(qp[0]).map((n) => n.op)).to.deep.equal(['add', 'concat']);
  });
});
