/**
 * @file quant/qat: the QAT loss step on the quantized graph (train_128's input and labels, the
 * seed-0 checkpoint). With every fake-quant off and true SiLU/sigmoid the graph is the eval-mode
 * FP32 network, so its loss and gradients must equal the model's own eval-mode loss (up to the
 * BN-fold reassociation); with fake-quant on, gradients still reach every trainable tensor and
 * the L1 term reads the reg output at its own quantizer.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backward, noGrad } from '../engine/autograd.js';
import { Tensor } from '../engine/tensor.js';
import { loadYoloxCheckpoint } from '../models/checkpoint.js';
import { YOLOX } from '../models/yolox.js';
import { Trainer, resolveTrainConfig } from '../models/train/index.js';
import { CocoTrainData } from '../eval/train/coco_data.js';
import { generateDataset } from '../eval/dataset/generate.js';
import { DEFAULT_DATASET_SPEC } from '../eval/dataset/spec.js';
import { writeSafetensors } from '../engine/formats/safetensors.js';
import { qatCommand } from '../bin/commands/qat.js';
import { exportCommand } from '../bin/commands/export.js';
import { runPtq, writePtqOutputs } from '../quant/ptq.js';
import { trainOutputs } from '../models/loss/train_outputs.js';
import { yoloxLoss } from '../models/loss/yolox_loss.js';
import { calibrate, setQuantState } from '../quant/calibrate.js';
import { prepareYolox } from '../quant/prepare.js';
import { enterQatMode, qatLevels, qatLossAndGrad, qatStrategy } from '../quant/qat.js';
import { fixtureF32, fixtureNpy, fixturePath } from './fixtures.js';

describe('quant/qat: loss and gradients through the quantized graph (train_128)', function () {
  this.timeout(120_000);
  const input = () =>
    new Tensor(fixtureF32('yolox_tiny', 'train_128', 'input.npy'), [2, 3, 128, 128]);
  const labels = () => {
    const a = fixtureNpy('yolox_tiny', 'train_128', 'labels.npy');
    return new Tensor(fixtureF32('yolox_tiny', 'train_128', 'labels.npy'), a.shape);
  };
  const ckpt = fixturePath('yolox_tiny', 'weights', 'ckpt.pth');
  const example = Tensor.zeros([1, 3, 128, 128]);

  it('fake-quant off + keep activations = the eval-mode FP32 loss and gradients', () => {
    const model = loadYoloxCheckpoint(ckpt);
    const g = prepareYolox(model, { example, activations: { silu: 'keep', sigmoid: 'keep' } });
    setQuantState(g, { observer: false, fakeQuant: false });
    const q = qatLossAndGrad(model, g, input(), labels(), { useL1: true });
    // obj is trained on every anchor, so these gradients are never all zero.
    const key = 'head.obj_preds.1.bias', key2 = 'backbone.backbone.dark4.0.bn.weight';
    const params = new Map(model.namedParameters());
    const gq = [key, key2].map((k) => Float32Array.from(params.get(k)!.grad!));

    model.eval();
    for (const p of model.parameters()) p.grad = null;
    const { levels } = model.call(input());
    const ref = yoloxLoss(trainOutputs(levels, model.head.strides), labels(), { useL1: true });
    backward(ref.loss);
    // Folding BN reassociates float32 products (~1e-6 relative per layer); the loss and these
    // gradients agree to 1e-4 relative, while a wrong slice, level or L1 source is off by > 10 %.
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
    expect(rel(q.terms.total_loss, ref.terms.total_loss)).to.be.below(1e-4);
    expect(rel(q.terms.l1_loss, ref.terms.l1_loss)).to.be.below(1e-4);
    expect(q.numFgAnchors).to.equal(ref.numFgAnchors);
    [key, key2].forEach((k, j) => {
      const r = params.get(k)!.grad!;
      let num = 0, den = 0;
      r.forEach((v, i) => {
        num = Math.max(num, Math.abs(gq[j][i] - v));
        den = Math.max(den, Math.abs(v));
      });
      expect(den, k).to.be.above(0);
      expect(num / den, k).to.be.below(1e-3);
    });
  });

  it('fake-quant on: finite loss, gradients on W, γ, β, biases; L1 reads the reg quantizer', () => {
    const model = loadYoloxCheckpoint(ckpt);
    const g = prepareYolox(model, { example });
    calibrate(g, [input()]);
    enterQatMode(g);
    const r = qatLossAndGrad(model, g, input(), labels(), { useL1: true });
    expect(Number.isFinite(r.terms.total_loss)).to.equal(true);
    expect(r.terms.l1_loss).to.be.above(0);
    const params = new Map(model.namedParameters());
    const stem = 'backbone.backbone.stem.conv';
    for (const k of [`${stem}.conv.weight`, `${stem}.bn.weight`, `${stem}.bn.bias`,
      'head.obj_preds.2.bias']) {
      const gr = params.get(k)!.grad;
      expect(gr, k).to.not.equal(null);
      expect(gr!.some((v) => v !== 0) && gr!.every(Number.isFinite), k).to.equal(true);
    }
    // Box regression: fg anchors exist at some level, so some reg_preds weight gets a gradient.
    const regGrad = (k: number) => params.get(`head.reg_preds.${k}.weight`)!.grad!;
    expect([0, 1, 2].some((k) => regGrad(k).some((v) => v !== 0))).to.equal(true);
    // BN running statistics never change in QAT.
    const rv = model.floatState().get('backbone.backbone.stem.conv.bn.running_var')!;
    const before = Float32Array.from(rv);
    qatLossAndGrad(model, g, input(), labels(), { useL1: false });
    expect(Array.from(rv)).to.deep.equal(Array.from(before));
    // The L1 source is the reg output at its own quantizer: multiples of that scale.
    const q = g.quantizers().find((z) => z.name === 'head.reg_preds.0.conv_out')!;
    const { regForL1 } = noGrad(() => qatLevels(g, input(), model.head.strides));
    for (const v of regForL1[0].data) expect(Number.isInteger(v / q.scale)).to.equal(true);
  });

  it('qatStrategy (the trainer\'s hook): quantized levels, YOLO-X\'s three groups', () => {
    const model = loadYoloxCheckpoint(ckpt);
    const g = prepareYolox(model, { example });
    calibrate(g, [input()]);
    const s = qatStrategy(model, g);
    s.trainMode();
    expect(g.quantizers().every((q) => q.fakeQuantEnabled && !q.observerEnabled)).to.equal(true);
    const lv = noGrad(() => s.forward(input()));
    const ref = noGrad(() => qatLevels(g, input(), model.head.strides)).levels;
    lv.forEach((l, k) => expect(Array.from(l.cls.data)).to.deep.equal(Array.from(ref[k].cls.data)));
    const groups = s.paramGroups({ momentum: 0.9, weightDecay: 5e-4 });
    expect(groups.map((p) => [p.params.length, p.weightDecay]))
      .to.deep.equal([[74, 0], [83, 5e-4], [83, 0]]);
  });

  it('Trainer + qatStrategy (synthetic data): weights train, scales and BN stats stay', () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'yoloxq-qat-'));
    try {
      generateDataset(data, { ...DEFAULT_DATASET_SPEC, trainCount: 4, valCount: 2, size: 64 });
      const config = resolveTrainConfig({
        epochs: 3, batch: 2, size: 64, seed: 5, warmupEpochs: 1, noAugEpochs: 1, lrPerImg: 0.002,
      });
      const train = new CocoTrainData(data, { ...config, limit: 4 });
      const model = new YOLOX({ numClasses: train.numClasses, seed: 3 });
      const g = prepareYolox(model, { example: Tensor.zeros([1, 3, 64, 64]) });
      calibrate(g, [train.batch(0, 0, true).images]);
      const scales = g.quantizers().map((q) => [q.scale, q.zeroPoint]);
      const before = model.stateDict();
      const t = new Trainer(qatStrategy(model, g), train, config);
      // 2 steps an epoch: steps 1–2 warm-up, 3–4 cosine, 5 the no-aug epoch (L1 on).
      const steps = [1, 2, 3, 4, 5].map(() => t.step());
      expect(steps.every((r) => Number.isFinite(r.terms.total_loss))).to.equal(true);
      expect(steps.map((r) => r.useL1)).to.deep.equal([false, false, false, false, true]);
      expect(g.quantizers().map((q) => [q.scale, q.zeroPoint])).to.deep.equal(scales);
      for (const [k, e] of model.stateDict()) {
        const b = before.get(k)!.data;
        const same = Array.from(e.data, Number).every((v, i) => Object.is(v, Number(b[i])));
        if (/running_(mean|var)|num_batches_tracked/.test(k)) expect(same, k).to.equal(true);
        else if (/conv\.weight$/.test(k)) expect(same, k).to.equal(false); // decay moves them
      }
    } finally {
      fs.rmSync(data, { recursive: true, force: true });
    }
  });
});

describe('yoloxq qat → yoloxq export (CLI, synthetic data at 64 px)', function () {
  this.timeout(120_000);

  it('trains from a ptq result, keeps its scales, and the EMA weights export', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoloxq-qatcli-'));
    const quiet = async (f: () => unknown) => {
      const log = console.log;
      console.log = () => {};
      try {
        await f();
      } finally {
        console.log = log;
      }
    };
    try {
      const data = path.join(dir, 'data'), ptqDir = path.join(dir, 'ptq');
      const out = path.join(dir, 'qat');
      generateDataset(data, { ...DEFAULT_DATASET_SPEC, trainCount: 4, valCount: 2, size: 64 });
      const config = resolveTrainConfig({ epochs: 3, batch: 2, size: 64, warmupEpochs: 1,
        noAugEpochs: 1 });
      const train = new CocoTrainData(data, { ...config, limit: 4 });
      const ckpt = path.join(dir, 'fp32.safetensors');
      writeSafetensors(ckpt, new YOLOX({ numClasses: train.numClasses, seed: 3 }).stateDict(),
        { format: 'pt' });
      const model = loadYoloxCheckpoint(ckpt);
      writePtqOutputs(ptqDir, runPtq(model, [() => train.batch(0, 0, true).images]));
      await quiet(() => qatCommand.run({ ckpt, quant: ptqDir, data, out, epochs: '3', batch: '2',
        size: '64', warmup: '1', 'no-aug': '1', limit: '4', 'lr-per-img': '0.001' }, []));
      const scales = (d: string) =>
        JSON.parse(fs.readFileSync(path.join(d, 'scales.json'), 'utf8'));
      expect(scales(out).quantizers).to.deep.equal(scales(ptqDir).quantizers);
      const metrics = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
      expect(metrics.length).to.equal(3);
      const onnx = path.join(dir, 'q.onnx');
      await quiet(() => exportCommand.run({ ckpt: path.join(out, 'last.safetensors'), quant: out,
        out: onnx, size: '64' }, []));
      expect(fs.statSync(onnx).size).to.be.above(1_000_000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

