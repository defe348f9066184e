/**
 * @file Acceptance: PTQ of the seed-0 checkpoint against the golden cases ptq_416 and
 * ptq_416_scores (made by an independent PyTorch reference of Quark's rules).
 *   - all 444 quantizers: same position and zero point;
 *   - every observer search: same running min/max (relative 1e-5: FP32 conv summation order),
 *     same pos0, SSEs within relative 1e-3 (float64 vs float32 sums of up to 4M terms, on inputs
 *     that differ in the last bits), same choice;
 *   - fq.* tensors on the eval image: bit for bit (they are exact multiples of their scales);
 *   - fp32_hswish.* (every quantizer off): within 1e-5 of the output range (summation order).
 * Each case calibrates a batch of 4 at 416: ~15 s per case on one idle core.
 */
import { expect } from 'chai';
import { Tensor } from '../engine/tensor.js';
import { loadYoloxCheckpoint } from '../models/checkpoint.js';
import type { YOLOX } from '../models/yolox.js';
import { setQuantState } from '../quant/calibrate.js';
import { quantizedForward, readCalibBatch, runPtq, type PtqResult } from '../quant/ptq.js';
import { scalesToJson } from '../quant/scales_file.js';
import { fixtureF32, fixtureJson, fixturePath, maxRelDiff } from './fixtures.js';

type Scales = { quantizers: Record<string, { pos: number; zero_point: number; kind: string }> };
type Trace = Record<string, {
  batches: {
    running_min: number; running_max: number; pos0: number;
    tried: [number, number][]; chosen_pos: number;
  }[];
}>;

/** ptq_416_scores' weight edit (manifest settings.weights_edit), exact in float32. */
function editScores(model: YOLOX): void {
  const st = model.floatState();
  const scale = (key: string, f: number) => {
    const t = st.get(key)!;
    for (let i = 0; i < t.length; i++) t[i] = Math.fround(t[i] * f);
  };
  for (let k = 0; k < 3; k++) {
    scale(`head.cls_preds.${k}.weight`, 16);
    scale(`head.obj_preds.${k}.weight`, 32);
    scale(`head.cls_preds.${k}.bias`, 1 / 8);
    scale(`head.obj_preds.${k}.bias`, 1 / 8);
  }
}

for (const fixtureCase of ['ptq_416', 'ptq_416_scores']) {
  describe(`quant/ptq vs ${fixtureCase} (seed-0 checkpoint, calib.npy batch of 4)`, function () {
    this.timeout(300_000);
    let model: YOLOX;
    let r: PtqResult;
    let taps: Map<string, Tensor>;
    const x = () => new Tensor(fixtureF32('yolox_tiny', 'eval_416', 'input.npy'), [1, 3, 416, 416]);

    before(() => {
      model = loadYoloxCheckpoint(fixturePath('yolox_tiny', 'weights', 'ckpt.pth'));
      if (fixtureCase === 'ptq_416_scores') editScores(model);
      r = runPtq(model, [() => readCalibBatch(fixturePath('yolox_tiny', 'ptq_416', 'calib.npy'))]);
      taps = quantizedForward(model, r.graph, x());
    });

    it('all 444 quantizers: same position, zero point and kind', () => {
      const ref = fixtureJson<Scales>('yolox_tiny', fixtureCase, 'scales.json').quantizers;
      const mine = scalesToJson(r.graph).quantizers;
      expect(Object.keys(mine).length).to.equal(444);
      const same = (k: string, e: Scales['quantizers'][string]) => mine[k] !== undefined
        && mine[k].pos === e.pos && mine[k].zero_point === e.zero_point && mine[k].kind === e.kind;
      const diff = Object.entries(ref).filter(([k, e]) => !same(k, e));
      expect(diff.map(([k]) => k)).to.deep.equal([]);
    });

    it('every observer search: same statistics, start, SSEs and choice', () => {
      const trace = fixtureJson<Trace>('yolox_tiny', fixtureCase, 'observer_trace.json');
      let worstSse = 0;
      for (const q of r.graph.quantizers()) {
        const ref = trace[q.name].batches[0], t = q.observer.traces[0];
        const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);
        const near = (a: number, b: number) => a === b || rel(a, b) <= 1e-5;
        expect(near(t.runningMin, ref.running_min), q.name).to.equal(true);
        expect(near(t.runningMax, ref.running_max), q.name).to.equal(true);
        expect(t.pos0, q.name).to.equal(ref.pos0);
        t.tried.forEach(([pos, sse], i) => {
          expect(pos).to.equal(ref.tried[i][0]);
          if (ref.tried[i][1] !== 0) worstSse = Math.max(worstSse, rel(sse, ref.tried[i][1]));
          else expect(sse, q.name).to.equal(0);
        });
        expect(t.chosenPos, q.name).to.equal(ref.chosen_pos);
      }
      expect(worstSse).to.be.below(1e-3);
    });

    for (const name of ['fq.head.out0.cat', 'fq.head.out1.cat', 'fq.head.out2.cat', 'fq.output',
      'fq.backbone.backbone.dark3.1.conv3.act', 'fq.backbone.backbone.dark4.1.conv3.act',
      'fq.backbone.backbone.dark5.2.conv3.act']) {
      it(`${name}: bit for bit`, () => {
        const ref = fixtureF32('yolox_tiny', fixtureCase, `${name}.npy`);
        const mine = taps.get(name)!.data;
        expect(mine.length).to.equal(ref.length);
        let differing = 0;
        for (let i = 0; i < ref.length; i++) if (!Object.is(mine[i], ref[i])) differing++;
        expect(differing).to.equal(0);
      });
    }

    it('fp32_hswish (every quantizer off): within 1e-5 of the range (conv summation order)', () => {
      setQuantState(r.graph, { observer: false, fakeQuant: false });
      const t = quantizedForward(model, r.graph, x(), new Set());
      setQuantState(r.graph, { observer: false, fakeQuant: true });
      const ref = fixtureF32('yolox_tiny', fixtureCase, 'fp32_hswish.output.npy');
      expect(maxRelDiff(t.get('fq.output')!.data, ref)).to.be.below(1e-5);
    });
  });
}
