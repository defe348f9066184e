/**
 * @file quant/export: the protobuf writer on hand-encoded literals, and the ONNX export of the
 * frozen ptq_416 model run by onnxruntime-node (the dev dependency, an independent ONNX
 * implementation): its decoded output must equal our frozen fake-quant forward bit for bit
 * (Q/DQ with power-of-two scales is exact; ORT's float32 conv sums are exact on these values).
 */
import { expect } from 'chai';
import { noGrad } from '../engine/autograd.js';
import { Tensor } from '../engine/tensor.js';
import { loadYoloxCheckpoint } from '../models/checkpoint.js';
import { exportOnnx } from '../quant/export/onnx.js';
import { ProtoWriter } from '../quant/export/protobuf.js';
import { freezeForNpu } from '../quant/freeze.js';
import { loadQuantizedGraph, quantizedForward } from '../quant/ptq.js';
import { fixturePath } from './fixtures.js';
import { ortOrSkip, runOnEval416 } from './ort.js';

describe('quant/export/protobuf: wire format', () => {
  it('varints, negative int64, float32, nested messages', () => {
    expect(Array.from(new ProtoWriter().int(1, 300).finish())).to.deep.equal([0x08, 0xac, 0x02]);
    const neg = new ProtoWriter().int(1, -1).finish();
    expect(Array.from(neg)).to.deep.equal([0x08, ...Array(9).fill(0xff), 0x01]);
    expect(Array.from(new ProtoWriter().float(2, 1).finish()))
      .to.deep.equal([0x15, 0, 0, 0x80, 0x3f]);
    const inner = new ProtoWriter().string(1, 'ab');
    expect(Array.from(new ProtoWriter().message(7, inner).finish()))
      .to.deep.equal([0x3a, 4, 0x0a, 2, 0x61, 0x62]);
  });
});

describe('quant/export/onnx: the frozen ptq_416 model in onnxruntime-node', function () {
  this.timeout(180_000);

  it('ORT\'s output = our frozen fake-quant forward bit for bit (416)', async function () {
    const ort = await ortOrSkip(this);
    const model = loadYoloxCheckpoint(fixturePath('yolox_tiny', 'weights', 'ckpt.pth'));
    const shape = [1, 3, 416, 416];
    const calibrated = loadQuantizedGraph(model, fixturePath('yolox_tiny', 'ptq_416'),
      { example: Tensor.zeros(shape) });
    expect(() => exportOnnx(calibrated, { strides: model.head.strides, inputShape: shape }))
      .to.throw(/freeze first/);
    const g = freezeForNpu(calibrated);
    const bytes = exportOnnx(g, { strides: model.head.strides, inputShape: shape });
    const { x, output } = await runOnEval416(ort, bytes, shape);
    const out = output.data as Float32Array;
    const ours = noGrad(() => quantizedForward(model, g, new Tensor(x, shape), new Set()))
      .get('fq.output')!;
    expect(output.dims).to.deep.equal(ours.shape);
    let differing = 0;
    for (let i = 0; i < out.length; i++) if (out[i] !== ours.data[i]) differing++;
    expect(differing).to.equal(0);
  });
});
