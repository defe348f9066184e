/**
 * Decode, NMS, postprocess and COCO conversion against the official code's fixtures
 * (yolox_tiny/postprocess: synthetic predictions with many overlapping boxes; eval_416: the
 * network's own outputs). Detections must be identical, float32 bit for bit; rows of equal score
 * are compared as sets (torch's sort is not stable).
 */
import { expect } from 'chai';
import { Tensor } from '../engine/tensor.js';
import { npyToNumbers } from '../engine/formats/npy.js';
import { decodeOutputs } from '../eval/decode.js';
import { batchedNms, iouXyxyF32, nms } from '../eval/nms.js';
import { detectionRows, postprocess, toCocoResults } from '../eval/postprocess.js';
import { COCO_CATEGORY_IDS } from '../eval/coco_classes.js';
import { fixtureF32, fixtureJson, fixtureNpy, maxRelDiff } from './fixtures.js';

/** Rows of width `w` grouped by the value in column `scoreCol`, in order; each group sorted. */
function tieGroups(rows: ArrayLike<number>, w: number, score: (r: number[]) => number): string[][] {
  const groups: string[][] = [];
  let last = NaN;
  for (let i = 0; i < rows.length / w; i++) {
    const r = Array.from({ length: w }, (_, j) => rows[i * w + j]);
    const s = score(r);
    if (s !== last) groups.push([]);
    groups[groups.length - 1].push(r.join(','));
    last = s;
  }
  return groups.map((g) => g.sort());
}

const f32 = Math.fround;
const detScore = (r: number[]) => f32(r[4] * r[5]);

interface PostManifest {
  settings: {
    image_hw: [number, number][]; image_ids: number[]; test_conf: number; nmsthre: number;
  };
}

describe('eval/postprocess vs the official postprocess (synthetic, many boxes)', () => {
  const man = fixtureJson<PostManifest>('yolox_tiny', 'postprocess', 'manifest.json');
  const predNpy = fixtureNpy('yolox_tiny', 'postprocess', 'prediction.npy');
  const pred = new Tensor(fixtureF32('yolox_tiny', 'postprocess', 'prediction.npy'), predNpy.shape);
  const opts = { confThre: man.settings.test_conf, nmsThre: man.settings.nmsthre };
  const dets = postprocess(pred, opts);

  for (const k of [0, 1, 2]) {
    it(`image ${k}: detections identical (class-aware NMS 0.65, conf 0.01 kept, ≥ in f32)`, () => {
      const ref = fixtureF32('yolox_tiny', 'postprocess', `image${k}.detections.npy`);
      const ours = detectionRows(dets[k]);
      expect(ours.length).to.equal(ref.length);
      // Tolerance: none. Equal-score rows as sets.
      expect(tieGroups(ours, 7, detScore)).to.deep.equal(tieGroups(ref, 7, detScore));
    });
  }

  it('COCO results (÷ f32(r), xywh, category ids) identical to convert_to_coco_format', () => {
    const results = dets.flatMap((d, k) => {
      const [h, w] = man.settings.image_hw[k];
      const r = Math.min(416 / h, 416 / w);
      return toCocoResults(d, man.settings.image_ids[k], r, COCO_CATEGORY_IDS);
    });
    const bbox = fixtureF32('yolox_tiny', 'postprocess', 'coco_bbox.npy');
    const score = fixtureF32('yolox_tiny', 'postprocess', 'coco_score.npy');
    const cat = npyToNumbers(fixtureNpy('yolox_tiny', 'postprocess', 'coco_category_id.npy').data);
    const img = npyToNumbers(fixtureNpy('yolox_tiny', 'postprocess', 'coco_image_id.npy').data);
    expect(results.length).to.equal(score.length);
    const flat = (rs: number[][]) => rs.flat();
    const ours = flat(results.map((r) => [r.image_id, r.category_id, ...r.bbox, r.score]));
    const ref = flat(score.length === 0 ? [] : Array.from(score, (s, i) =>
      [img[i], cat[i], ...bbox.subarray(4 * i, 4 * i + 4), s]));
    expect(tieGroups(ours, 7, (r) => r[6])).to.deep.equal(tieGroups(ref, 7, (r) => r[6]));
    // The official json stores the same values as Python floats (float32 widened).
    const json = fixtureJson<{ bbox: number[]; score: number }[]>(
      'yolox_tiny', 'postprocess', 'coco_results.json');
    expect(json.length).to.equal(results.length);
  });
});

describe('eval/decode + postprocess on the network outputs (eval_416)', () => {
  const level = (k: number) => {
    const t = (n: string) => {
      const npy = fixtureNpy('yolox_tiny', 'eval_416', `head.${n}_preds.${k}.npy`);
      const file = `head.${n}_preds.${k}.npy`;
      return new Tensor(fixtureF32('yolox_tiny', 'eval_416', file), npy.shape);
    };
    return { reg: t('reg'), obj: t('obj'), cls: t('cls') };
  };

  it('decode of the raw head maps equals head.output (rel ≤ 1e-7: exp/σ rounding only)', () => {
    // xy are the same float32 operations (exact); exp and σ are rounded once from float64 here vs
    // float32 library routines in torch: ≤ 1 ulp on values ≤ ~400 → relative ~1e-7 of the max.
    const out = decodeOutputs([level(0), level(1), level(2)]);
    expect(out.shape).to.deep.equal([1, 3549, 85]);
    const ref = fixtureF32('yolox_tiny', 'eval_416', 'head.output.npy');
    const rel = maxRelDiff(out.data, ref);
    expect(rel).to.be.at.most(1e-7);
    // Probabilities alone (columns 4..84, max ≈ 0.01): relative to their own max, ≤ 1e-6.
    let num = 0, den = 0;
    for (let i = 0; i < ref.length; i++) {
      if (i % 85 < 4) continue;
      num = Math.max(num, Math.abs(out.data[i] - ref[i]));
      den = Math.max(den, Math.abs(ref[i]));
    }
    expect(num / den).to.be.at.most(1e-6);
  });

  it('conf 0.01 keeps nothing; low conf keeps the same 101 detections and COCO rows', () => {
    type Man = { settings: { low_conf: number; ratio: number } };
    const man = fixtureJson<Man>('yolox_tiny', 'eval_416', 'manifest.json');
    const pred = new Tensor(fixtureF32('yolox_tiny', 'eval_416', 'head.output.npy'), [1, 3549, 85]);
    expect(postprocess(pred, { confThre: 0.01, nmsThre: 0.65 })[0]).to.have.length(0);
    const dets = postprocess(pred, { confThre: man.settings.low_conf, nmsThre: 0.65 })[0];
    const ref = fixtureF32('yolox_tiny', 'eval_416', 'postprocess_low_conf.detections.npy');
    const ours = detectionRows(dets);
    expect(ours.length).to.equal(ref.length);
    expect(tieGroups(ours, 7, detScore)).to.deep.equal(tieGroups(ref, 7, detScore));
    const coco = toCocoResults(dets, 1, man.settings.ratio, COCO_CATEGORY_IDS);
    const bbox = fixtureF32('yolox_tiny', 'eval_416', 'postprocess_low_conf.coco_bbox.npy');
    const score = fixtureF32('yolox_tiny', 'eval_416', 'postprocess_low_conf.coco_score.npy');
    const catFile = 'postprocess_low_conf.coco_category_id.npy';
    const cat = npyToNumbers(fixtureNpy('yolox_tiny', 'eval_416', catFile).data);
    const oursRows = coco.flatMap((r) => [r.category_id, ...r.bbox, r.score]);
    const refRows = Array.from(score, (s, i) => [cat[i], ...bbox.subarray(4 * i, 4 * i + 4), s])
      .flat();
    expect(tieGroups(oursRows, 6, (r) => r[5])).to.deep.equal(tieGroups(refRows, 6, (r) => r[5]));
  });
});

describe('eval/nms rules (hand-computed cases)', () => {
  // Box A = [0,0,10,10] (area 100). Box B = [0,0,10,x]: IoU = 10x / 100 for x ≤ 10.
  it('suppresses only when IoU > threshold (strict): IoU 0.5 at threshold 0.5 survives', () => {
    const boxes = Float32Array.from([0, 0, 10, 10, 0, 0, 10, 5]);
    expect(iouXyxyF32(boxes, 0, 1)).to.equal(0.5);
    expect(nms(boxes, [0.9, 0.8], 0.5)).to.deep.equal([0, 1]);
    expect(nms(boxes, [0.9, 0.8], 0.49)).to.deep.equal([0]);
  });

  it('no +1 in areas; disjoint and touching boxes have IoU 0', () => {
    const boxes = Float32Array.from([0, 0, 2, 2, 2, 0, 4, 2, 1, 1, 3, 3]);
    expect(iouXyxyF32(boxes, 0, 1)).to.equal(0); // touching edge
    expect(iouXyxyF32(boxes, 0, 2)).to.equal(f32(1 / 7)); // inter 1, union 4 + 4 − 1
  });

  it('equal scores: visited by index; class-aware keeps overlapping boxes of other classes', () => {
    const boxes = Float32Array.from([0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 10]);
    expect(nms(boxes, [0.5, 0.5, 0.5], 0.65)).to.deep.equal([0]);
    // class 0: boxes 1, 2 tie at 0.5 → 1 kept (lower index); class 1: box 0 kept despite IoU 1.
    expect(batchedNms(boxes, [0.4, 0.5, 0.5], [1, 0, 0], 0.65)).to.deep.equal([1, 0]);
    expect(batchedNms(boxes, [0.4, 0.5, 0.6], [0, 0, 0], 0.65)).to.deep.equal([2]);
  });
});
