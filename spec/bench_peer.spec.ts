/**
 * The benchmark's TensorFlow.js peer (bench/peers/tfjs_yolox.ts) computes the same network as
 * models/yolox.ts: seed-0 checkpoint (BN statistics perturbed, so folding BN is exercised), a
 * seeded 96×96 input (3 levels of 12², 6², 3² anchors), eval mode. Two independent
 * implementations (ours NCHW with explicit BN; tfjs NHWC, BN folded, XNNPACK kernels) must agree,
 * so a wrong peer (or model) fails here rather than silently skewing a benchmark ratio.
 * Skipped when the tfjs wasm backend cannot load (it is a dev dependency).
 */
import { expect } from 'chai';
import { noGrad } from '../engine/autograd.js';
import { Rng } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';
import { loadYoloxCheckpoint } from '../models/checkpoint.js';
import { floatStateOf } from '../bench/forward.js';
import { loadTfWasm, TfjsYolox } from '../bench/peers/tfjs_yolox.js';
import { fixturePath, maxRelDiff } from './fixtures.js';

describe('bench/peers/tfjs_yolox vs models/yolox (96×96, seed-0 checkpoint)', function () {
  this.timeout(60_000);

  it('decoded outputs agree: boxes within 1e-5, scores within 1e-5 relative', async function () {
    const tfl = await loadTfWasm();
    if (typeof tfl === 'string') this.skip();
    const { tf } = tfl as Exclude<typeof tfl, string>;
    const model = loadYoloxCheckpoint(fixturePath('yolox_tiny', 'weights', 'ckpt.pth')).eval();
    const x = Tensor.zeros([1, 3, 96, 96]);
    new Rng(5).fillUniform(x.data, 0, 255);
    const ours = noGrad(() => model.call(x)).output!;
    expect(ours.shape).to.deep.equal([1, 144 + 36 + 9, 85]);
    const peer = new TfjsYolox(tf, floatStateOf(model), 96);
    const theirs = peer.forward(x.data, x.shape);
    peer.dispose();
    // Both sides are float32 with different summation orders and BN folded on one side only:
    // measured ~2e-6 at 416² (scores) and ~1e-7 (boxes). 1e-5 leaves margin; a wrong pad side,
    // patch order or decode offset moves values by ≥ 1e-2.
    const D = 85;
    const pick = (a: Float32Array, scores: boolean) => a.filter((_, i) => (i % D >= 4) === scores);
    expect(maxRelDiff(pick(theirs, false), pick(ours.data, false)), 'boxes').to.be.at.most(1e-5);
    expect(maxRelDiff(pick(theirs, true), pick(ours.data, true)), 'scores').to.be.at.most(1e-5);
  });
});
