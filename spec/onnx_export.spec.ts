/**
 * @file quant/export/onnx_fp32: the FP32 model (seed-0 ckpt.pth) exported to ONNX and run by
 * onnxruntime-node (the dev dependency, an independent ONNX implementation) on the eval_416
 * fixture input must match our own eval forward (models/yolox.ts `output`, [1, 3549, 85]).
 * ORT sums convolutions in another order (and fuses BN into the conv), so float32 rounding
 * differs; the 1e-4 bounds are ~8× the measured 1.2e-5 (scores) and 7e-8 (boxes).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exportCommand } from '../bin/commands/export.js';
import { UserError } from '../engine/errors.js';
import { noGrad } from '../engine/autograd.js';
import { Tensor } from '../engine/tensor.js';
import { loadYoloxCheckpoint } from '../models/checkpoint.js';
import { exportOnnxFp32 } from '../quant/export/onnx_fp32.js';
import { fixturePath, maxRelDiff } from './fixtures.js';
import { ortOrSkip, runOnEval416 } from './ort.js';

describe('quant/export/onnx_fp32: the FP32 model in onnxruntime-node', function () {
  this.timeout(180_000);

  it('ORT\'s [1, 3549, 85] output = our FP32 forward (416, seed 0)', async function () {
    const ort = await ortOrSkip(this);
    const model = loadYoloxCheckpoint(fixturePath('yolox_tiny', 'weights', 'ckpt.pth')).eval();
    const shape = [1, 3, 416, 416];
    const { x, output } = await runOnEval416(ort, exportOnnxFp32(model, shape), shape);
    const theirs = output.data as Float32Array;
    const ours = noGrad(() => model.forward(new Tensor(x, shape))).output!;
    expect(output.dims).to.deep.equal([1, 3549, 85]);
    expect(ours.shape).to.deep.equal([1, 3549, 85]);
    // Split columns: boxes (pixels, up to ~10³) and scores (probabilities in [0, 1]).
    const col = (a: ArrayLike<number>, from: number, to: number) => {
      const out: number[] = [];
      for (let i = 0; i < 3549; i++) for (let j = from; j < to; j++) out.push(a[i * 85 + j]);
      return out;
    };
    const boxRel = maxRelDiff(col(theirs, 0, 4), col(ours.data, 0, 4));
    const scoreRel = maxRelDiff(col(theirs, 4, 85), col(ours.data, 4, 85));
    console.log(`      fp32 ORT vs ours: boxes max rel ${boxRel.toExponential(2)}, `
      + `scores max rel ${scoreRel.toExponential(2)}`);
    expect(boxRel).to.be.below(1e-4);
    expect(scoreRel).to.be.below(1e-4);
  });

  it('yoloxq export --fp32: a model ORT runs (64², A = 84); else --quant is needed', async () => {
    const ort = await import('onnxruntime-node').catch(() => null);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-fp32-'));
    try {
      const ckpt = fixturePath('yolox_tiny', 'weights', 'ckpt.pth');
      const out = path.join(dir, 'm.onnx');
      expect(() => exportCommand.run({ ckpt, out, size: '64' }, [])).to.throw(UserError, /quant/);
      exportCommand.run({ ckpt, out, size: '64', fp32: true }, []);
      if (ort === null) return;
      const sess = await ort.InferenceSession.create(fs.readFileSync(out));
      const x = new ort.Tensor('float32', new Float32Array(3 * 64 * 64).fill(114), [1, 3, 64, 64]);
      const res = await sess.run({ images: x });
      expect(res.output.dims).to.deep.equal([1, 84, 85]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
