/**
 * @file 60 seeded random cases (spec/cocoeval_fuzz_cases.ts) against answers recorded from
 * pycocotools itself (spec/data/cocoeval_fuzz.json, provenance in its `oracle` field): the 12
 * stats and per-category AP with ===, and the printed values, with default params and with
 * useCats = 0. No tolerance: pycocotools' arithmetic is reproduced, not approximated.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { evaluateCoco, parseCocoDataset, parseResults } from '../eval/coco/index.js';
import { fuzzCase } from './cocoeval_fuzz_cases.js';

interface Recorded {
  seed: number;
  stats: number[];
  printed: string[];
  per_category_AP: Record<string, number>;
  useCats0_stats: number[];
  useCats0_printed: string[];
}

const DATA = path.resolve(process.cwd(), 'spec', 'data', 'cocoeval_fuzz.json');
const printedValues = (text: string) => text.trimEnd().split('\n').map((l) => l.split(' = ')[1]);

describe('eval/coco: 60 corner-case fuzz cases vs recorded pycocotools answers', () => {
  const { cases } = JSON.parse(fs.readFileSync(DATA, 'utf8')) as { cases: Recorded[] };

  it('has all 60 recorded cases', () => expect(cases.length).to.equal(60));

  for (const rec of cases) {
    it(`seed ${rec.seed}`, () => {
      const c = fuzzCase(rec.seed);
      const gt = parseCocoDataset(c.gt, `fuzz ${rec.seed} gt`);
      const dt = parseResults(c.dt, `fuzz ${rec.seed} dt`);
      const r1 = evaluateCoco(gt, dt);
      expect(r1.stats).to.deep.equal(rec.stats);
      expect(printedValues(r1.summary)).to.deep.equal(rec.printed);
      const ap = Object.fromEntries(r1.catIds.map((id, k) => [String(id), r1.perCategoryAP[k]]));
      expect(ap).to.deep.equal(rec.per_category_AP);
      const r0 = evaluateCoco(gt, dt, { useCats: false });
      expect(r0.stats).to.deep.equal(rec.useCats0_stats);
      expect(printedValues(r0.summary)).to.deep.equal(rec.useCats0_printed);
    });
  }
});
