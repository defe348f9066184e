/**
 * models/release.ts: the evaluation forward hands its dead intermediates back to the allocator.
 * Oracle: the same forward with recycling off. If a block released a tensor that is still read
 * later, the next allocation of that size would reuse and overwrite it, and the outputs would
 * differ; so every named output must be bit-identical (tolerance 0: recycling changes no
 * arithmetic), also on repeated forwards that run on recycled buffers. Capture and the tape must
 * see nothing released.
 */
import { expect } from 'chai';
import { noGrad, withOpListener } from '../engine/autograd.js';
import { clearF32Pool, pooledF32Bytes } from '../engine/memory.js';
import { Tensor } from '../engine/tensor.js';
import { releaseForward, setReleaseIntermediates } from '../models/release.js';
import { yoloxTiny, type YOLOX } from '../models/yolox.js';

const sameBits = (a: Float32Array, b: Float32Array): boolean =>
  a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

/** Every named intermediate and the decoded output, copied. */
function outputsOf(m: YOLOX, x: Tensor): Map<string, Float32Array> {
  const out = noGrad(() => m.call(x));
  const all = new Map<string, Float32Array>();
  for (const [k, t] of out.named) all.set(k, Float32Array.from(t.data));
  all.set('output', Float32Array.from(out.output!.data));
  out.levels.forEach((l, i) => all.set(`cls${i}`, Float32Array.from(l.cls.data)));
  return all;
}

describe('models/release: recycling dead intermediates of the eval forward', () => {
  // Batch 2, 96 px (maps 48 … 3), non-trivial BN statistics so every channel differs.
  const x = Tensor.zeros([2, 3, 96, 96]);
  for (let i = 0; i < x.size; i++) x.data[i] = (i * 37 + 11) % 255;
  const model = yoloxTiny(0).eval();
  for (const [k, v] of model.floatState()) {
    if (k.endsWith('running_mean')) v.forEach((_, i) => { v[i] = 0.05 * ((i % 7) - 3); });
    if (k.endsWith('running_var')) v.forEach((_, i) => { v[i] = 0.5 + 0.1 * (i % 5); });
  }

  afterEach(() => setReleaseIntermediates(true));

  it('eval, no grad: outputs bit-identical to recycling off, on repeated forwards', () => {
    setReleaseIntermediates(false);
    const ref = outputsOf(model, x);
    setReleaseIntermediates(true);
    clearF32Pool();
    for (let r = 0; r < 3; r++) {
      const got = outputsOf(model, x);
      for (const [k, v] of ref) {
        expect(sameBits(got.get(k)!, v), `${k}, forward ${r}`).to.equal(true);
      }
    }
    // It did recycle: after a forward the free lists hold the last intermediates.
    clearF32Pool();
    noGrad(() => model.call(x));
    expect(pooledF32Bytes()).to.be.greaterThan(0);
  });

  it('releaseForward: a loop that recycles each forward\'s outputs gives the same bits', () => {
    const ref = outputsOf(model, x);
    for (let r = 0; r < 2; r++) {
      const out = noGrad(() => model.call(x));
      expect(sameBits(out.output!.data, ref.get('output')!), `forward ${r}`).to.equal(true);
      noGrad(() => releaseForward(out));
    }
    expect(pooledF32Bytes()).to.be.greaterThan(0);
  });

  it('nothing is released under graph capture (a non-passive listener)', () => {
    clearF32Pool();
    withOpListener({ onOp: () => undefined }, () => noGrad(() => model.call(x)));
    expect(pooledF32Bytes()).to.equal(0);
  });

  it('nothing is released while the tape records (eval and train mode with grad)', () => {
    for (const m of [model, yoloxTiny(1).train()]) {
      clearF32Pool();
      const out = m.call(x);
      expect(out.named.get('backbone.pan_out0')!.requiresGrad).to.equal(true);
      expect(pooledF32Bytes()).to.equal(0);
    }
  });
});
