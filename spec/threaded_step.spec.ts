/**
 * @file End to end: one YOLO-X Tiny training step (train-mode forward with batch-stat BN, the
 * official loss with SimOTA, backward; models/loss/grad_step.ts) gives the same bits with 1 and
 * with 2 threads — the loss, every parameter gradient and every BN running statistic. At 128 px,
 * batch 2, the threaded GEMM and the threaded op kernels (ops/parallel.ts) both take part.
 * Tolerance: none (bit for bit); a training run must not depend on the machine's core count.
 */
import { expect } from 'chai';
import { Tensor } from '../engine/tensor.js';
import { lastTaskJobs, setThreads } from '../engine/threads/pool.js';
import { loadYoloxCheckpoint } from '../models/checkpoint.js';
import { lossAndGrad } from '../models/loss/grad_step.js';
import { silu } from '../ops/activation.js';
import { syntheticBatch } from '../bench/trainstep.js';
import { fixturePath } from './fixtures.js';

interface StepBits {
  loss: number;
  arrays: Float32Array[];
}

/** A fresh model's step; returns the loss, copies of all gradients and of the float state. */
function step(images: Tensor, labels: Tensor): StepBits {
  const model = loadYoloxCheckpoint(fixturePath('yolox_tiny', 'weights', 'ckpt.pth'));
  const r = lossAndGrad(model, images, labels, { useL1: true });
  const grads = model.parameters().map((p) => p.grad!.slice());
  const state = [...model.floatState().values()].map((v) => v.slice());
  return { loss: r.terms.total_loss, arrays: [...grads, ...state] };
}

describe('threads: a YOLO-X Tiny training step is bit-identical with 1 and 2 threads', () => {
  after(() => setThreads(2));

  it('128 px, batch 2, L1 on: loss, all parameter gradients, all BN running stats', function () {
    this.timeout(300_000);
    const [images, labels] = syntheticBatch(2, 128, 7);
    setThreads(1);
    const one = step(images, labels);
    setThreads(2);
    // Start the worker first (it boots lazily), so the step really runs on two threads.
    const x = Tensor.zeros([1 << 18]);
    for (let i = 0; i < 400 && (lastTaskJobs()[1] ?? 0) === 0; i++) {
      silu(x);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
    expect(lastTaskJobs()[1] ?? 0).to.be.greaterThan(0);
    const two = step(images, labels);
    expect(Object.is(two.loss, one.loss), `loss ${two.loss} vs ${one.loss}`).to.equal(true);
    expect(two.arrays.length).to.equal(one.arrays.length);
    const differing = one.arrays.filter((a, k) =>
      !Buffer.from(a.buffer).equals(Buffer.from(two.arrays[k].buffer))).length;
    expect(differing, 'arrays (gradients, then float state) with any differing bit').to.equal(0);
  });
});
