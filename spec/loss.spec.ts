/**
 * Tests of models/loss against the official train_128 fixture (PyTorch running YOLOX 6ddff48)
 * and against float64 finite differences.
 */
import { expect } from 'chai';
import { backward } from '../engine/autograd.js';
import { UserError } from '../engine/errors.js';
import { npyToNumbers } from '../engine/formats/npy.js';
import { Rng } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';
import { anchorGridForInput } from '../models/loss/anchors.js';
import { simota } from '../models/loss/simota.js';
import { trainOutputs, type HeadLevelOutput } from '../models/loss/train_outputs.js';
import { yoloxLoss, type LossTerms } from '../models/loss/yolox_loss.js';
import { fixtureF32, fixtureNpy, maxRelDiff } from './fixtures.js';

const CASE = ['yolox_tiny', 'train_128'];
const f32 = (name: string) => fixtureF32(...CASE, `${name}.npy`);
const ints = (name: string) => npyToNumbers(fixtureNpy(...CASE, `${name}.npy`).data);
const B = 2, A = 336, D = 85, C = 80;
const grid = anchorGridForInput(128, 128);
const trainOut = () => Tensor.from(f32('head.train_output'), [B, A, D]);
const originPreds = () => Tensor.from(f32('head.origin_preds'), [B, A, 4]);
const labels = () => Tensor.from(f32('labels'), [B, 50, 5]);

/** Per-level raw head maps from the fixture: reg from origin_preds, logits from train_output. */
function levelsFromFixture(requiresGrad = false): HeadLevelOutput[] {
  const out = f32('head.train_output'), raw = f32('head.origin_preds');
  return grid.levels.map(({ h, w, offset }) => {
    const hw = h * w;
    const reg = Tensor.zeros([B, 4, h, w], requiresGrad);
    const obj = Tensor.zeros([B, 1, h, w], requiresGrad);
    const cls = Tensor.zeros([B, C, h, w], requiresGrad);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < hw; i++) {
        const a = b * A + offset + i;
        for (let q = 0; q < 4; q++) reg.data[(b * 4 + q) * hw + i] = raw[a * 4 + q];
        obj.data[b * hw + i] = out[a * D + 4];
        for (let c = 0; c < C; c++) cls.data[(b * C + c) * hw + i] = out[a * D + 5 + c];
      }
    }
    return { reg, obj, cls };
  });
}

describe('models/loss trainOutputs', () => {
  it('rebuilds head.train_output and head.origin_preds from per-level maps (train_128)', () => {
    const t = trainOutputs(levelsFromFixture());
    // origin_preds is a pure gather: exact.
    expect(maxRelDiff(t.originPreds.data, f32('head.origin_preds'))).to.equal(0);
    // xy are exact float32 ops; wh differ only by float32 exp rounding (1 ulp of exp ⇒ ~1e-7 rel
    // of max|value|). Bound 1e-6: far below the 2e-5 train-output noise floor, far above 0.
    const err = maxRelDiff(t.output.data, f32('head.train_output'));
    expect(err).to.be.lessThan(1e-6);
    expect(Array.from(t.grid.strides.subarray(255, 257))).to.deep.equal([8, 16]);
  });

  it('backward matches float64 finite differences (non-uniform upstream gradient)', () => {
    const rng = new Rng(3);
    const mk = (shape: number[]) => {
      const t = Tensor.zeros(shape, true);
      rng.fillUniform(t.data, -1, 1);
      return t;
    };
    const levels = [[2, 3], [1, 2]].map(([h, w]) => ({
      reg: mk([2, 4, h, w]), obj: mk([2, 1, h, w]), cls: mk([2, 3, h, w]),
    }));
    const t = trainOutputs(levels, [8, 16]);
    const seedOut = rng.fillUniform(new Float32Array(t.output.size), -1, 1);
    const seedOrig = rng.fillUniform(new Float32Array(t.originPreds.size), -1, 1);
    backward(t.output, seedOut);
    backward(t.originPreds, seedOrig);
    // Analytic d/dt of Σ seed·out in float64: xy → s, wh → exp(t)·s; checked by central
    // differences of the float64 decode (h = 1e-4, error O(h²)·|exp| ≈ 1e-8).
    for (const [k, lv] of levels.entries()) {
      const s = [8, 16][k], { offset, h, w } = t.grid.levels[k], hw = h * w;
      for (let b = 0; b < 2; b++) {
        for (let i = 0; i < hw; i++) {
          const a = b * t.grid.numAnchors + offset + i;
          for (let q = 0; q < 4; q++) {
            const x = lv.reg.data[(b * 4 + q) * hw + i];
            const dec = (v: number) => (q < 2 ? v * s : Math.exp(v) * s);
            const fd = (dec(x + 1e-4) - dec(x - 1e-4)) / 2e-4;
            const want = seedOut[a * 8 + q] * fd + seedOrig[a * 4 + q];
            const got = lv.reg.grad![(b * 4 + q) * hw + i];
            expect(got).to.be.closeTo(want, 1e-5 * (1 + Math.abs(want)));
          }
          expect(lv.obj.grad![b * hw + i]).to.equal(seedOut[a * 8 + 4]);
          for (let c = 0; c < 3; c++) {
            expect(lv.cls.grad![(b * 3 + c) * hw + i]).to.equal(seedOut[a * 8 + 5 + c]);
          }
        }
      }
    }
  });
});

describe('models/loss simota (train_128, official SimOTA)', () => {
  for (const img of [0, 1]) {
    it(`image ${img}: candidates, IoUs, cost, dynamic k, assignment equal the fixture`, () => {
      const out = f32('head.train_output').subarray(img * A * D, (img + 1) * A * D);
      const lab = f32('labels').subarray(img * 250, (img + 1) * 250);
      const G = img === 0 ? 1 : 3;
      const gtBoxes = new Float32Array(G * 4), gtClasses: number[] = [];
      for (let g = 0; g < G; g++) {
        gtClasses.push(lab[g * 5]);
        for (let q = 0; q < 4; q++) gtBoxes[g * 4 + q] = lab[g * 5 + 1 + q];
      }
      const r = simota({ preds: out, numClasses: C, gtBoxes, gtClasses, grid });
      const p = `simota.image${img}`;
      expect(Array.from(r.candidateAnchors)).to.deep.equal(ints(`${p}.candidate_anchors`));
      // IoUs are +,−,·,/ in float32 in the official order: bit-identical.
      expect(Array.from(r.pairWiseIous)).to.deep.equal(Array.from(f32(`${p}.pair_wise_ious`)));
      // cost: σ, log and sqrt are rounded differently by torch's float32 kernels and the 80-class
      // sum is in another order. Bound: 4 float32 ulps of each value (≈ 5e-7 rel; 0.25 on 1e6).
      const cost = f32(`${p}.cost`);
      for (let i = 0; i < cost.length; i++) {
        const ulp = 2 ** (Math.floor(Math.log2(Math.abs(cost[i]))) - 23);
        expect(Math.abs(r.cost[i] - cost[i]), `cost[${i}]`).to.be.at.most(4 * ulp);
      }
      expect(Array.from(r.dynamicKs)).to.deep.equal(ints(`${p}.dynamic_ks`));
      expect(Array.from(r.fgAnchors)).to.deep.equal(ints(`${p}.fg_anchors`));
      expect(Array.from(r.matchedGtInds)).to.deep.equal(ints(`${p}.matched_gt_inds`));
      expect(Array.from(r.gtMatchedClasses)).to.deep.equal(ints(`${p}.gt_matched_classes`));
      expect(Array.from(r.predIousThisMatching))
        .to.deep.equal(Array.from(f32(`${p}.pred_ious_this_matching`)));
    });
  }

  it('an anchor claimed by two GTs goes to the lower-cost GT; the loser GT gets nothing', () => {
    // Image 1 of the fixture: GT 1 (k = 1) loses its only anchor (325) to GT 0.
    const out = f32('head.train_output').subarray(A * D);
    const lab = f32('labels').subarray(250);
    const gtBoxes = Float32Array.from([1, 6, 11].flatMap((r) => [...lab.subarray(r, r + 4)]));
    const r = simota({ preds: out, numClasses: C, gtBoxes, gtClasses: [1, 0, 7], grid });
    expect(Array.from(r.matchedGtInds)).to.not.include(1);
  });
});

const TERMS: (keyof LossTerms)[] = [
  'total_loss', 'iou_loss', 'conf_loss', 'cls_loss', 'l1_loss', 'num_fg',
];

describe('models/loss yoloxLoss (train_128)', () => {
  for (const useL1 of [true, false]) {
    it(`all six terms match loss.${useL1 ? 'l1_on' : 'l1_off'} within 1e-4 relative`, () => {
      const inp = { output: trainOut(), originPreds: originPreds(), grid };
      const r = yoloxLoss(inp, labels(), { useL1 });
      // We compute in float64 from the same float32 inputs; the fixture is float32 torch whose own
      // error vs float64 is ≤ 2e-5 (manifest f64_rel_err): 1e-4 = 5× that floor.
      for (const k of TERMS) {
        const want = f32(`loss.${useL1 ? 'l1_on' : 'l1_off'}.${k}`)[0];
        const got = r.terms[k];
        if (want === 0) expect(got, k).to.equal(0);
        else expect(Math.abs(got - want) / Math.abs(want), k).to.be.lessThan(1e-4);
      }
      expect(r.numFgAnchors).to.equal(4);
      expect(r.loss.item()).to.equal(Math.fround(r.terms.total_loss));
    });
  }

  it('a batch without GT: only objectness (all targets 0) over all anchors, divided by 1', () => {
    const out = trainOut();
    const r = yoloxLoss({ output: out, grid }, Tensor.zeros([B, 50, 5]), { useL1: false });
    let want = 0; // Σ softplus(obj) in float64, written independently of the implementation
    for (let ba = 0; ba < B * A; ba++) want += Math.log(1 + Math.exp(out.data[ba * D + 4]));
    expect(r.terms.conf_loss).to.be.closeTo(want, 1e-9 * want);
    expect(r.terms.total_loss).to.equal(r.terms.conf_loss);
    const rest = [r.terms.iou_loss, r.terms.cls_loss, r.terms.l1_loss, r.terms.num_fg];
    expect(rest).to.deep.equal([0, 0, 0, 1]);
  });

  it('a GT with no anchor in its centre region gets no foreground (torch would raise here)', () => {
    const lab = Tensor.zeros([B, 50, 5]);
    lab.data.set([3, 40, 1000, 20, 20]); // centre far below the image: M = 0 candidates
    const r = yoloxLoss({ output: trainOut(), grid }, lab, { useL1: false });
    expect(r.assignments[0]!.candidateAnchors.length).to.equal(0);
    expect(r.numFgAnchors).to.equal(0);
    expect(r.terms.num_fg).to.equal(1); // max(0, 1) / max(1 GT, 1)
  });

  it('a label class outside [0, C) is a UserError, not a NaN loss', () => {
    const lab = labels();
    lab.data[0] = 80;
    expect(() => yoloxLoss({ output: trainOut(), grid }, lab, { useL1: false }))
      .to.throw(UserError, /class 80/);
  });

  it('dL/d(train_output), dL/d(origin_preds) match central differences (frozen assignment)', () => {
    const out = trainOut(), orig = originPreds();
    out.requiresGrad = true;
    orig.requiresGrad = true;
    const r = yoloxLoss({ output: out, originPreds: orig, grid }, labels(), { useL1: true });
    backward(r.loss);
    const fg = r.assignments.flatMap((s, b) => Array.from(s!.fgAnchors, (a) => b * A + a));
    const rng = new Rng(11);
    // Every channel of every fg anchor, and the obj logit of 30 random background anchors.
    const probes: [Tensor, number][] = [];
    for (const ba of fg) {
      for (let d = 0; d < D; d++) probes.push([out, ba * D + d]);
      for (let q = 0; q < 4; q++) probes.push([orig, ba * 4 + q]);
    }
    for (let i = 0; i < 30; i++) probes.push([out, rng.int(B * A) * D + 4]);
    // The official assignment (and its IoU, the soft class target) carries no gradient: freeze it.
    const frozen = { useL1: true, assignments: r.assignments };
    const lossAt = () => yoloxLoss({ output: out, originPreds: orig, grid }, labels(), frozen);
    let worst = 0;
    for (const [t, i] of probes) {
      const x = t.data[i];
      // L1 is piecewise linear: a tiny step keeps the probe off its kink (one fg anchor's t_h is
      // within 1e-3 of its target); float32 storage of x ± h is exact enough at |x| ≤ 2.
      const h = t === orig ? 1e-5 : Math.max(1e-3, Math.abs(x) * 1e-3);
      t.data[i] = x + h; const xp = t.data[i]; const rp = lossAt();
      t.data[i] = x - h; const xm = t.data[i]; const rm = lossAt();
      t.data[i] = x;
      const fd = (rp.terms.total_loss - rm.terms.total_loss) / (xp - xm);
      const g = t.grad![i];
      worst = Math.max(worst, Math.abs(g - fd) / (1e-3 + Math.abs(fd)));
    }
    // float64 loss, h = 1e-3·|x|: truncation O(h²·L''') and float32 storage of the gradient
    // (6e-8 rel) keep the agreement ~1e-5; 1e-3 catches any missing or wrong term.
    expect(worst).to.be.lessThan(1e-3);
  });
});
