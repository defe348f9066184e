/**
 * @file quant/integer/golden + `yoloxq golden`: the golden dump of the frozen NPU graph on the
 * eval_416 fixture input (ptq_416 scales). Read back from disk, every activation tensor's
 * (q − zero_point)·scale must equal the fake-quant interpreter's value bit for bit (tolerance 0:
 * with power-of-two scales both paths are exact), the weights and biases must be the round-half-
 * even codes of the graph's float parameters, and bad inputs must be refused with a UserError.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { goldenCommand } from '../bin/commands/golden.js';
import { noGrad } from '../engine/autograd.js';
import { UserError } from '../engine/errors.js';
import { readNpy, writeNpy } from '../engine/formats/files.js';
import { roundHalfEven } from '../engine/round.js';
import { Tensor } from '../engine/tensor.js';
import { loadYoloxCheckpoint } from '../models/checkpoint.js';
import { freezeForNpu } from '../quant/freeze.js';
import { runGraph } from '../quant/graph/interpreter.js';
import type { GoldenEntry } from '../quant/integer/golden.js';
import { loadQuantizedGraph } from '../quant/ptq.js';
import { fixturePath } from './fixtures.js';

describe('yoloxq golden: int8 tensors of the frozen NPU graph (eval_416, ptq_416)', function () {
  this.timeout(300_000);
  const ckpt = fixturePath('yolox_tiny', 'weights', 'ckpt.pth');
  const quant = fixturePath('yolox_tiny', 'ptq_416');
  const input = fixturePath('yolox_tiny', 'eval_416', 'input.npy');
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'golden-')); });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  it('refuses a wrongly shaped input', () => {
    const bad = path.join(dir, 'bad.npy');
    writeNpy(bad, { dtype: 'float32', shape: [3, 100, 100], data: new Float32Array(30000) });
    expect(() => goldenCommand.run({ ckpt, quant, input: bad, out: path.join(dir, 'g0') }, []))
      .to.throw(UserError, /want \[B, 3, H, W\]/);
  });

  it('every activation = the fake-quant value bit for bit; params = rhe codes', () => {
    const out = path.join(dir, 'g');
    goldenCommand.run({ ckpt, quant, input, out }, []);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as
      { input_shape: number[]; tensors: GoldenEntry[] };
    expect(manifest.input_shape).to.deep.equal([1, 3, 416, 416]);
    const byName = new Map(manifest.tensors.map((e) => [e.name, e]));
    const count = (k: string) => manifest.tensors.filter((e) => e.kind === k).length;
    // 278 activation quantizers (the image's included), 83 convs with weight and bias.
    expect(count('input') + count('activation')).to.equal(278);
    expect(count('weight')).to.equal(83);
    expect(count('bias')).to.equal(83);
    const codes = (e: GoldenEntry) => {
      const a = readNpy(path.join(out, e.file));
      expect(a.dtype).to.equal('int8');
      expect(a.shape).to.deep.equal(e.shape);
      expect(e.scale).to.equal(2 ** -e.pos);
      return a.data as Int8Array;
    };

    const model = loadYoloxCheckpoint(ckpt);
    const shape = [1, 3, 416, 416];
    const g = freezeForNpu(loadQuantizedGraph(model, quant, { example: Tensor.zeros(shape) }));
    const x = new Tensor(readNpy(input).data as Float32Array, shape);
    const bad: string[] = [];
    let checked = 0;
    noGrad(() => runGraph(g, x, {
      onValue: (n, v) => {
        if (n.op !== 'quant') return;
        const e = byName.get(n.quantizer!.name)!;
        const q = codes(e);
        checked++;
        if (q.length !== v.data.length) bad.push(e.name);
        else if (q.some((c, i) => (c - e.zero_point) * e.scale !== v.data[i])) bad.push(e.name);
      },
    }));
    expect(checked).to.equal(278);
    expect(bad).to.deep.equal([]);

    // Frozen convs hold BN-merged float weights; their codes are rhe(w·2^pos) clamped to int8.
    for (const n of g.nodes) {
      if (n.op !== 'conv2d' || !n.weightQuantizer) continue;
      [[n.inputs[1], 'weight'], [n.inputs[2], 'bias']].forEach(([p, kind]) => {
        if (p === undefined || typeof p === 'string') return;
        const e = byName.get(`${n.name}.${kind as string}`)!;
        const q = codes(e), w = p.value!.data;
        const want = Int8Array.from(w, (v) => Math.max(-128, Math.min(127,
          roundHalfEven(v / e.scale))));
        expect(Buffer.from(q.buffer).equals(Buffer.from(want.buffer)), e.name).to.equal(true);
      });
    }
  });
});
