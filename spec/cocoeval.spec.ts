/**
 * @file COCO bbox evaluation against pycocotools' own answers (fixtures/coco_eval: stats,
 * per-category AP/AR, printed text, class-agnostic mode, and the intermediate precision/recall
 * arrays and per-image matches of detail.json), all compared with === (no tolerance: the
 * fixtures are float64 results of pycocotools and we reproduce its arithmetic order), plus the
 * behaviours where we deliberately differ from pycocotools (empty results, unknown image ids),
 * input validation, Python's number formatting and numpy's summation order.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../engine/errors.js';
import { Rng } from '../engine/rng.js';
import {
  evaluateCoco, formatFixedPy, numpySum, parseCocoDataset, parseResults, readCocoDataset,
  readResults, toColumns, writeResults, type CocoDataset, type CocoDetection,
} from '../eval/coco/index.js';
import { pairwiseSum } from '../eval/coco/numpy_sum.js';
import { resolveParams } from '../eval/coco/params.js';
import { groupForEval } from '../eval/coco/prepare.js';
import { SlotEvaluator } from '../eval/coco/match.js';
import { argsortDesc } from '../eval/coco/sort.js';
import { cocoevalReport } from '../bin/commands/cocoeval.js';
import { fixturePath } from './fixtures.js';

const CASES = ['a_tiny_handmade', 'b_crowd_ignore_area', 'c_many_dets_ties', 'd_random_medium',
  'e_thresholds_ties_rounding'];
const DETAIL_CASES = CASES.filter((c) => c !== 'd_random_medium');

interface Expected {
  stats: number[];
  summary_text: string;
  per_category_AP: Record<string, number>;
  per_category_AR: Record<string, number>;
  useCats0: { stats: number[]; summary_text: string };
}
interface EvalImg {
  image_id: number; category_id: number; dtIds: number[]; dtScores: number[]; gtIds: number[];
  gtIgnore: number[]; dtMatches: number[][]; dtIgnore: number[][];
}
interface Detail {
  iouThrs: number[]; recThrs: number[]; catIds: number[];
  precision: unknown[]; recall: unknown[]; evalImgs_area_all: EvalImg[];
}

const json = <T>(c: string, f: string): T =>
  JSON.parse(fs.readFileSync(fixturePath('coco_eval', c, f), 'utf8')) as T;
const load = (c: string) => ({
  gt: readCocoDataset(fixturePath('coco_eval', c, 'gt.json')),
  dt: readResults(fixturePath('coco_eval', c, 'dt.json')),
});

describe('eval/coco: pycocotools fixtures (exact, ===)', () => {
  for (const c of CASES) {
    it(`${c}: 12 stats, per-category AP/AR and summary text`, () => {
      const { gt, dt } = load(c);
      const exp = json<Expected>(c, 'expected.json');
      const res = evaluateCoco(gt, dt);
      expect(res.stats).to.deep.equal(exp.stats);
      expect(res.summary).to.equal(exp.summary_text);
      const byId = (v: number[]) =>
        Object.fromEntries(res.catIds.map((id, k) => [String(id), v[k]]));
      expect(byId(res.perCategoryAP)).to.deep.equal(exp.per_category_AP);
      expect(byId(res.perCategoryAR)).to.deep.equal(exp.per_category_AR);
    });

    it(`${c}: class-agnostic (useCats = 0) stats and text`, () => {
      const { gt, dt } = load(c);
      const exp = json<Expected>(c, 'expected.json');
      const res = evaluateCoco(gt, dt, { useCats: false });
      expect(res.catIds).to.deep.equal([-1]);
      expect(res.stats).to.deep.equal(exp.useCats0.stats);
      expect(res.summary).to.equal(exp.useCats0.summary_text);
    });
  }

  for (const c of DETAIL_CASES) {
    it(`${c}: thresholds, precision [T,R,K,A,M] and recall [T,K,A,M] equal detail.json`, () => {
      const { gt, dt } = load(c);
      const detail = json<Detail>(c, 'detail.json');
      const res = evaluateCoco(gt, dt);
      expect(Array.from(res.params.iouThrs)).to.deep.equal(detail.iouThrs);
      expect(Array.from(res.params.recThrs)).to.deep.equal(detail.recThrs);
      expect(res.catIds).to.deep.equal(detail.catIds);
      expect(Array.from(res.curves.precision)).to.deep.equal(detail.precision.flat(4));
      expect(Array.from(res.curves.recall)).to.deep.equal(detail.recall.flat(3));
    });

    it(`${c}: per image×category matches (area all) equal detail.json evalImgs`, () => {
      const { gt, dt } = load(c);
      const detail = json<Detail>(c, 'detail.json');
      const params = resolveParams(gt.images.map((i) => i.id), gt.categories.map((k) => k.id));
      const grouped = groupForEval(gt, toColumns(dt), params);
      const ev = new SlotEvaluator(grouped, params.iouThrs, 100);
      const ours: EvalImg[] = [];
      for (let k = 0; k < grouped.K; k++) {
        for (let i = 0; i < grouped.I; i++) {
          if (!ev.load(k * grouped.I + i)) continue;
          ev.matchArea(0, 1e10);
          const { D, G } = ev;
          const gtIdAt = (q: number) => grouped.gtId[ev.gt[ev.gtOrder[q]]];
          const rows = (f: (t: number, d: number) => number): number[][] =>
            Array.from(params.iouThrs, (_, t) => Array.from({ length: D }, (_, d) => f(t, d)));
          ours.push({
            image_id: params.imgIds[i],
            category_id: params.catIds[k],
            dtIds: Array.from(ev.dt.subarray(0, D), (j) => j + 1),
            dtScores: Array.from(ev.dt.subarray(0, D), (j) => dt[j].score),
            gtIds: Array.from({ length: G }, (_, q) => gtIdAt(q)),
            gtIgnore: Array.from(ev.gtIgnore.subarray(0, G)),
            dtMatches: rows((t, d) => (ev.match[t * D + d] < 0 ? 0 : gtIdAt(ev.match[t * D + d]))),
            dtIgnore: rows((t, d) => ev.dtIgnore[t * D + d]),
          });
        }
      }
      const key = (e: EvalImg) => `${e.category_id}/${e.image_id}`;
      const sortByKey = (l: EvalImg[]) => [...l].sort((x, y) => (key(x) < key(y) ? -1 : 1));
      expect(sortByKey(ours)).to.deep.equal(sortByKey(detail.evalImgs_area_all));
    });
  }

  it('d_random_medium with imgIds/catIds subsets, both modes (recorded from pycocotools)', () => {
    // Golden values from pycocotools at 8c9bcc3 with numpy 1.24.2 (np.float = float), built from
    // source and run once by the author with params.imgIds / params.catIds (/ useCats = 0) set as
    // below (unsorted, with a duplicate, as a caller might pass them).
    const { gt, dt } = load('d_random_medium');
    const ids = gt.images.map((im) => im.id).sort((x, y) => x - y);
    const imgIds = [...ids.filter((_, i) => i % 3 === 0).reverse(), ids[0], ids[1]];
    const catIds = [2, 4, 6, 8, 10];
    expect(evaluateCoco(gt, dt, { imgIds, catIds }).stats).to.deep.equal([
      0.3351093234323432, 0.6577970297029703, 0.21532590759075906, 0.311200495049505,
      0.4292629262926293, 0.5878712871287128, 0.34059343434343436, 0.4162878787878787,
      0.4162878787878787, 0.3333333333333333, 0.5, 0.625,
    ]);
    expect(evaluateCoco(gt, dt, { imgIds, catIds, useCats: false }).stats).to.deep.equal([
      0.3444018813646071, 0.6875564026990936, 0.24630433631598453, 0.3250761614623001,
      0.4052215935879302, 0.37475247524752475, 0.21724137931034485, 0.4275862068965518,
      0.4275862068965518, 0.37058823529411766, 0.4999999999999999, 0.5333333333333333,
    ]);
  });

  it("numpy's chunked pairwise mean is what pycocotools gets (d: AP large, 9090 entries)", () => {
    // The only public statistic over more than 8192 entries: a whole-vector pairwise sum (what
    // numpy 2.4 does) misses it by one ulp; the 8192-chunked sum of numpy 1.24 hits it.
    const { gt, dt } = load('d_random_medium');
    const exp = json<Expected>('d_random_medium', 'expected.json');
    const { curves } = evaluateCoco(gt, dt);
    const { T, R, K, A, M, precision } = curves;
    const v: number[] = [];
    for (let t = 0; t < T; t++) {
      for (let r = 0; r < R; r++) {
        for (let k = 0; k < K; k++) {
          const x = precision[(((t * R + r) * K + k) * A + 3) * M + 2];
          if (x > -1) v.push(x);
        }
      }
    }
    expect(v.length).to.equal(9090);
    expect(numpySum(v) / v.length).to.equal(exp.stats[5]);
    expect(pairwiseSum(v, 0, v.length) / v.length).to.not.equal(exp.stats[5]);
  });
});

/** A tiny GT: image 1 with one cat-1 box (area 400), image 2 empty; category 2 has no GT. */
function tinyGt(): CocoDataset {
  return parseCocoDataset({
    images: [{ id: 1 }, { id: 2 }],
    categories: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }],
    annotations: [
      { id: 7, image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], area: 400, iscrowd: 0 },
    ],
  });
}

describe('eval/coco: where pycocotools crashes, and its quirks', () => {
  it('an empty result list gives 0 where there is GT and −1 where there is none', () => {
    const res = evaluateCoco(tinyGt(), []);
    // GT is small (area 400): all/small are 0, medium/large have no GT → −1.
    expect(res.stats).to.deep.equal([0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1]);
    expect(res.perCategoryAP).to.deep.equal([0, -1]);
    expect(res.summary.split('\n')[4]).to.match(/area=medium \| maxDets=100 \] = -1\.000$/);
  });

  it('a perfect detection scores 1/(1 + 2⁻⁵²) per recall point, not 1', () => {
    const det: CocoDetection = { image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], score: 0.9 };
    const res = evaluateCoco(tinyGt(), [det]);
    expect(res.stats[0]).to.equal(1 / (1 + 2 ** -52));
    expect(res.stats[8]).to.equal(1);
  });

  it('detections on image ids absent from the GT are a UserError naming the ids', () => {
    const dets: CocoDetection[] = [
      { image_id: 1, category_id: 1, bbox: [0, 0, 1, 1], score: 0.5 },
      { image_id: 42, category_id: 1, bbox: [0, 0, 1, 1], score: 0.5 },
      { image_id: 9, category_id: 2, bbox: [0, 0, 1, 1], score: 0.5 },
    ];
    expect(() => evaluateCoco(tinyGt(), dets)).to.throw(UserError, /image ids absent .*: 9, 42$/);
  });

  it('a NaN score passed through the API is refused, naming the detection', () => {
    const det: CocoDetection = { image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], score: NaN };
    expect(() => evaluateCoco(tinyGt(), [det])).to.throw(UserError, /detection 0 .*non-finite/);
  });

  it('detections of categories not in the GT are dropped, as pycocotools does', () => {
    const good: CocoDetection = { image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], score: 0.5 };
    const stray: CocoDetection = { ...good, category_id: 99, score: 0.9 };
    const want = evaluateCoco(tinyGt(), [good]).stats;
    const res = evaluateCoco(tinyGt(), [good, stray]);
    expect(res.stats).to.deep.equal(want);
    expect(res.droppedDetections).to.equal(1);
  });

  it('a GT with id 0 is taken by its match but the detection counts as a false positive', () => {
    const gt = tinyGt();
    gt.annotations[0].id = 0;
    const det: CocoDetection = { image_id: 1, category_id: 1, bbox: [10, 10, 20, 20], score: 0.9 };
    const res = evaluateCoco(gt, [det]);
    expect(res.stats[0]).to.equal(0);
    expect(res.stats[8]).to.equal(0);
  });

  it('does not mutate its inputs', () => {
    const { gt, dt } = load('b_crowd_ignore_area');
    const before = JSON.stringify([gt, dt]);
    evaluateCoco(gt, dt);
    evaluateCoco(gt, dt, { useCats: false });
    expect(JSON.stringify([gt, dt])).to.equal(before);
  });
});

describe('eval/coco: reading and writing', () => {
  const gtJson = () => ({
    images: [{ id: 1, file_name: 'a.jpg', width: 64, height: 48 }],
    categories: [{ id: 3, name: 'car' }],
    annotations: [
      { id: 1, image_id: 1, category_id: 3, bbox: [0, 0, 4, 4], area: 16, iscrowd: 0 },
      { id: 2, image_id: 1, category_id: 3, bbox: [0, 0, 4, 4], area: 16, iscrowd: 0 },
    ],
  });

  const cases: [string, (j: ReturnType<typeof gtJson>) => void, RegExp][] = [
    ['missing area', (j) => delete (j.annotations[1] as Partial<typeof j.annotations[1]>).area,
      /gt\.json: annotations\[1\]\.area must be a finite number, got nothing \(missing\)/],
    ['bbox of 3', (j) => { (j.annotations[0].bbox as number[]) = [1, 2, 3]; },
      /annotations\[0\]\.bbox must be an array of 4 finite numbers/],
    ['string image id', (j) => { (j.images[0] as { id: unknown }).id = '1'; },
      /images\[0\]\.id must be an integer, got "1"/],
    ['iscrowd 2', (j) => { j.annotations[1].iscrowd = 2; },
      /annotations\[1\]\.iscrowd must be 0, 1/],
    ['duplicate annotation id', (j) => { j.annotations[1].id = 1; },
      /annotations\[1\]\.id 1 repeats annotations\[0\]\.id/],
    ['no categories', (j) => delete (j as Partial<typeof j>).categories,
      /'categories' must be an array/],
  ];
  for (const [name, spoil, message] of cases) {
    it(`ground truth with ${name} is a UserError naming the record and field`, () => {
      const j = gtJson();
      spoil(j);
      expect(() => parseCocoDataset(j, 'gt.json')).to.throw(UserError, message);
    });
  }

  it('results with a wrongly-typed field are a UserError naming the index and field', () => {
    const ok = { image_id: 1, category_id: 3, bbox: [0, 0, 1, 1], score: 0.5 };
    expect(() => parseResults([ok, { ...ok, score: '0.5' }], 'dt.json'))
      .to.throw(UserError, /dt\.json: results\[1\]\.score must be a finite number, got "0\.5"/);
    expect(() => parseResults({ ok }, 'dt.json')).to.throw(UserError, /must be a JSON list/);
  });

  it('results round-trip through a file exactly', () => {
    const dets: CocoDetection[] = [
      {
        image_id: 1, category_id: 3, bbox: [0.1, 0.2, 10.300000000000001, 4],
        score: 0.123456789012345,
      },
      { image_id: 2, category_id: 1, bbox: [5, 6, 7, 8], score: 1e-7 },
    ];
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'coco-')), 'res.json');
    writeResults(file, dets);
    expect(readResults(file)).to.deep.equal(dets);
    writeResults(file, []);
    expect(readResults(file)).to.deep.equal([]);
  });

  it('the CLI report keys per-category AP by category id', () => {
    const { gt, dt } = load('c_many_dets_ties');
    const exp = json<Expected>('c_many_dets_ties', 'expected.json');
    const report = JSON.parse(cocoevalReport(evaluateCoco(gt, dt)));
    expect(report.stats).to.deep.equal(exp.stats);
    expect(report.per_category_ap).to.deep.equal(exp.per_category_AP);
  });
});

describe('eval/coco: numerics', () => {
  it("formats like Python's '{:0.3f}' (exact ties to even), unlike toFixed", () => {
    const table: [number, string][] = [
      [0.0625, '0.062'], [0.3125, '0.312'], [0.5625, '0.562'], [0.8125, '0.812'],
      [0.1875, '0.188'], [0.0005, '0.001'], [0.6749999999999999, '0.675'], [-1, '-1.000'],
      [1, '1.000'], [0.9999999999999998, '1.000'], [-0.0625, '-0.062'],
    ];
    for (const [x, s] of table) expect(formatFixedPy(x, 3), String(x)).to.equal(s);
    expect((0.0625).toFixed(3)).to.equal('0.063'); // the trap this guards against
    expect(formatFixedPy(0.125, 2)).to.equal('0.12');
  });

  it('numpy pairwise summation: blocks of 8 combined as a tree (hand-computed)', () => {
    // [1, u, u, u, u, u, u, u] with u = 2⁻⁵³: eight running sums combined as
    // ((1+u)+(2u)) + ((2u)+(2u)) = 1 + 3·2⁻⁵²,
    // where a left-to-right sum loses every u (1 + u rounds to 1).
    const u = 2 ** -53;
    const a = [1, u, u, u, u, u, u, u];
    expect(numpySum(a)).to.equal(1 + 3 * 2 ** -52);
    expect(a.reduce((s, x) => s + x, 0)).to.equal(1);
    // Fewer than 8: a plain loop.
    expect(numpySum(a.slice(0, 7))).to.equal(1);
  });

  it('stable descending argsort matches Array.prototype.sort (stable) on ties', () => {
    const rng = new Rng(3);
    for (const n of [1, 15, 16, 17, 100, 1000]) {
      const key = Float64Array.from({ length: n }, () => rng.int(20) / 4);
      const want = Array.from({ length: n }, (_, i) => i).sort((x, y) => key[y] - key[x]);
      expect(Array.from(argsortDesc(key)), `n=${n}`).to.deep.equal(want);
    }
  });
});
