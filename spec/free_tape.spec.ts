/**
 * @file Memory recycling: the allocator's free lists (engine/memory.ts `releaseF32`) and
 * `backward(…, { freeTape: true })`, which hands each intermediate gradient and activation back
 * as soon as backward is done with it. Oracle: the same computation without recycling — every
 * gradient and running statistic must be the same bits (tolerance: none; a training run must
 * not depend on whether memory was reused), including a second step whose tensors are drawn
 * from the recycled buffers.
 */
import { expect } from 'chai';
import { backward } from '../engine/autograd.js';
import { allocF32, releaseF32 } from '../engine/memory.js';
import { Tensor } from '../engine/tensor.js';
import { loadYoloxCheckpoint } from '../models/checkpoint.js';
import { lossAndGrad } from '../models/loss/grad_step.js';
import { trainOutputs } from '../models/loss/train_outputs.js';
import { yoloxLoss } from '../models/loss/yolox_loss.js';
import { silu } from '../ops/activation.js';
import { batchNorm2d } from '../ops/batchnorm.js';
import { conv2d } from '../ops/conv.js';
import { add, mul } from '../ops/elementwise.js';
import { concat, reshape } from '../ops/shape.js';
import { syntheticBatch } from '../bench/trainstep.js';
import { fixturePath } from './fixtures.js';
import { randTensor } from './gradcheck.js';

const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('memory: free lists', () => {
  it('a released buffer comes back zero-filled for the same size, once', () => {
    const n = 12_345;
    const a = allocF32(n).fill(7);
    releaseF32(a);
    releaseF32(a); // a second release must not put it on the list twice
    const b = allocF32(n), c = allocF32(n);
    expect(b.buffer).to.equal(a.buffer);
    expect(c.buffer).to.not.equal(a.buffer);
    expect(b.every((v) => v === 0)).to.equal(true);
  });

  it('views and non-shared arrays are never pooled', () => {
    const whole = allocF32(4096);
    releaseF32(whole.subarray(1024));
    releaseF32(new Float32Array(3072));
    const next = allocF32(3072);
    expect(next.buffer).to.not.equal(whole.buffer);
    expect(next.buffer instanceof SharedArrayBuffer).to.equal(true);
  });
});

/** A CSP-like graph: conv → BN → SiLU, used twice (diamond), concat, reshape, product. */
function graph(x: Tensor, w: Tensor, bn: Tensor[]): Tensor {
  const [g, b, rm, rv] = bn;
  const h = silu(batchNorm2d(conv2d(x, w, null, { padding: 1 }), g, b, rm, rv,
    { training: true, momentum: 0.03, eps: 1e-3 }));
  const y = concat([add(h, x), mul(h, h)], 1);
  return mul(reshape(y, [-1]), reshape(y, [-1]));
}

function runGraph(freeTape: boolean): { grads: Buffer[]; stats: Buffer[]; t: Tensor[] } {
  const x = randTensor([2, 3, 6, 6], 91), w = randTensor([3, 3, 3, 3], 92);
  w.requiresGrad = true;
  x.requiresGrad = true;
  const bn = [Tensor.full([3], 1.5, true), Tensor.full([3], 0.25, true),
    Tensor.zeros([3]), Tensor.full([3], 1)];
  const y = graph(x, w, bn);
  backward(y, Float32Array.from({ length: y.size }, (_, i) => Math.sin(i) + 2), { freeTape });
  return {
    grads: [x, w, bn[0], bn[1]].map((t) => bits(t.grad!)),
    stats: [bn[2], bn[3]].map((t) => bits(t.data)),
    t: [x, w, y],
  };
}

describe('backward freeTape: same bits as keeping the tape', () => {
  it('diamond/concat/reshape/BN graph: gradients, running stats; leaves, root kept', () => {
    const keep = runGraph(false);
    for (let r = 0; r < 2; r++) {
      const free = runGraph(true); // r = 1 draws its tensors from buffers released at r = 0
      free.grads.forEach((g, i) => expect(g.equals(keep.grads[i]), `grad ${i}`).to.equal(true));
      free.stats.forEach((s, i) => expect(s.equals(keep.stats[i]), `stat ${i}`).to.equal(true));
      for (const t of free.t) expect(t.data.length).to.equal(t.shape.reduce((a, b) => a * b, 1));
    }
  });

  it('intermediate tensors are left with empty data', () => {
    const x = randTensor([2, 4], 93);
    x.requiresGrad = true;
    const h = silu(x);
    const y = mul(h, h);
    backward(y, undefined, { freeTape: true });
    expect(h.data.length).to.equal(0);
    expect(x.data.length).to.equal(8);
    expect(y.data.length).to.equal(8);
  });

  it('YOLO-X Tiny, 128 px, batch 2, two steps: every gradient and BN statistic', function () {
    this.timeout(300_000);
    const ckpt = fixturePath('yolox_tiny', 'weights', 'ckpt.pth');
    const kept = loadYoloxCheckpoint(ckpt), freed = loadYoloxCheckpoint(ckpt);
    for (let step = 0; step < 2; step++) {
      const [images, labels] = syntheticBatch(2, 128, 11 + step);
      // Reference: lossAndGrad's steps with the whole tape kept until the end.
      kept.train();
      for (const p of kept.parameters()) p.grad = null;
      const out = trainOutputs(kept.call(images).levels, kept.head.strides);
      const ref = yoloxLoss(out, labels, { useL1: step === 1 });
      backward(ref.loss);
      const got = lossAndGrad(freed, images, labels, { useL1: step === 1 });
      expect(Object.is(got.terms.total_loss, ref.terms.total_loss)).to.equal(true);
      const a = [...kept.parameters().map((p) => p.grad!), ...kept.floatState().values()];
      const b = [...freed.parameters().map((p) => p.grad!), ...freed.floatState().values()];
      expect(b.length).to.equal(a.length);
      const differing = a.filter((v, i) => !bits(v).equals(bits(b[i]))).length;
      expect(differing, `step ${step}: arrays with any differing bit`).to.equal(0);
    }
  });
});
