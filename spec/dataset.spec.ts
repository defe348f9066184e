/**
 * Tests of the generated dataset (eval/dataset/) and the COCO training dataset reader
 * (eval/data/coco_dataset.ts). Oracles: byte comparison across runs, closed-form areas and extents
 * of the shapes, the PNG decoder, and COCO range bounds.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '../engine/rng.js';
import { readImage } from '../eval/image/decode.js';
import { CocoDetectionDataset } from '../eval/data/coco_dataset.js';
import { TrainLoader } from '../eval/data/loader.js';
import {
  generateDataset,
  renderSplitImage,
  type InstancesJson,
} from '../eval/dataset/generate.js';
import { annotate, occlude, rasterise } from '../eval/dataset/render.js';
import type { RenderedImage, RenderedObject } from '../eval/dataset/render.js';
import {
  makeShape,
  shapeBounds,
  shapeSdf,
  CLASS_COUNT,
  type ShapeInstance,
} from '../eval/dataset/shapes.js';
import {
  DEFAULT_DATASET_SPEC,
  SHAPE_CATEGORIES,
  SPLIT_ANNOTATIONS,
  SPLIT_DIRS,
  type DatasetSpec,
} from '../eval/dataset/spec.js';

const SMALL: DatasetSpec = { ...DEFAULT_DATASET_SPEC, seed: 7, trainCount: 8, valCount: 3 };

function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `yoloxq-${tag}-`));
}

/** Every file under `dir` (relative path → bytes). */
function readTree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), fs.readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

function readJson(dir: string, split: 'train' | 'val'): InstancesJson {
  const text = fs.readFileSync(path.join(dir, SPLIT_ANNOTATIONS[split]), 'utf8');
  return JSON.parse(text) as InstancesJson;
}

describe('dataset: generation is deterministic', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('same seed → identical bytes in every file; different seed → different files', () => {
    const [a, b, c] = ['a', 'b', 'c'].map((t) => tmpDir(`ds-${t}`));
    dirs.push(a, b, c);
    generateDataset(a, SMALL);
    generateDataset(b, SMALL);
    generateDataset(c, { ...SMALL, seed: 8 });
    const ta = readTree(a);
    const tb = readTree(b);
    const tc = readTree(c);
    // 8 + 3 images, 2 annotation files, dataset.json; no temporary files left behind.
    expect(ta.size).to.equal(14);
    expect([...ta.keys()].every((k) => !k.endsWith('.tmp'))).to.equal(true);
    expect([...tb.keys()].sort()).to.deep.equal([...ta.keys()].sort());
    for (const [k, v] of ta) expect(v.equals(tb.get(k)!), k).to.equal(true);
    let same = 0;
    for (const [k, v] of ta) if (k.endsWith('.png') && v.equals(tc.get(k)!)) same++;
    expect(same).to.equal(0);
    const ann = SPLIT_ANNOTATIONS.train;
    expect(ta.get(ann)!.equals(tc.get(ann)!)).to.equal(false);
  });

  it('PNG files decode to exactly the rendered pixels; the reader agrees with the json', () => {
    const dir = dirs[0];
    const json = readJson(dir, 'val');
    json.images.forEach((im, i) => {
      const decoded = readImage(path.join(dir, SPLIT_DIRS.val, im.file_name));
      const rendered = renderSplitImage(SMALL, 'val', i);
      expect(Buffer.from(decoded.data).equals(Buffer.from(rendered.rgb))).to.equal(true);
    });
    const ds = new CocoDetectionDataset(
      path.join(dir, SPLIT_DIRS.train),
      path.join(dir, SPLIT_ANNOTATIONS.train),
    );
    const train = readJson(dir, 'train');
    expect(ds.length).to.equal(8);
    expect(ds.classIds).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    let n = 0;
    ds.items.forEach((it) => {
      const anns = train.annotations.filter((a) => a.image_id === it.id);
      expect(it.targets.length).to.equal(anns.length);
      anns.forEach((a, j) => {
        const [x, y, w, h] = a.bbox;
        expect(it.targets[j]).to.deep.equal([x, y, x + w, y + h, a.category_id - 1]);
        n++;
      });
    });
    expect(n).to.equal(train.annotations.length);
    expect(ds.loadImage(0).width).to.equal(SMALL.size);
  });

  it('the loader reads the generated files: mosaic batches with valid labels', () => {
    const dir = dirs[0];
    const ds = new CocoDetectionDataset(
      path.join(dir, SPLIT_DIRS.train),
      path.join(dir, SPLIT_ANNOTATIONS.train),
    );
    const loader = new TrainLoader(ds, { batchSize: 4, inputSize: 128, seed: 1, mosaicProb: 1 });
    const batch = loader.batch(0, 1);
    expect(batch.images.shape).to.deep.equal([4, 3, 128, 128]);
    let valid = 0;
    batch.counts.forEach((count, b) => {
      for (let j = 0; j < 120; j++) {
        const o = (b * 120 + j) * 5;
        const [c, cx, cy, w, h] = batch.labels.data.subarray(o, o + 5);
        if (j >= count) {
          expect([c, cx, cy, w, h]).to.deep.equal([0, 0, 0, 0, 0]);
          continue;
        }
        valid++;
        expect(Number.isInteger(c) && c >= 0 && c < 8).to.equal(true);
        expect(Math.min(w, h)).to.be.greaterThan(1);
        // float32 storage of values ≤ 128: 1e-4 slack on the box lying inside the input.
        expect(cx - w / 2).to.be.at.least(-1e-4);
        expect(cy + h / 2).to.be.at.most(128 + 1e-4);
      }
    });
    expect(valid).to.be.greaterThan(4);
    const bad = batch.images.data.filter((v) => !(v >= 0 && v <= 255 && Number.isInteger(v)));
    expect(bad.length).to.equal(0);
  });

  it('the decoded-image cache keeps at most its byte budget and changes no batch', () => {
    const dir = dirs[0];
    const open = (cacheBytes: number) => new CocoDetectionDataset(
      path.join(dir, SPLIT_DIRS.train), path.join(dir, SPLIT_ANNOTATIONS.train), { cacheBytes });
    const imageBytes = SMALL.size * SMALL.size * 3;
    // Room for two decoded images: the first two used stay cached (the same object comes back),
    // a third is decoded again on every use.
    const ds = open(2 * imageBytes + 1);
    expect(ds.loadImage(0)).to.equal(ds.loadImage(0));
    expect(ds.loadImage(1)).to.equal(ds.loadImage(1));
    expect(ds.loadImage(2)).to.not.equal(ds.loadImage(2));
    // A caller may scribble on what pullItem returns: the cached pixels do not change.
    const first = ds.pullItem(0, 64, 64);
    const copy = Uint8Array.from(first.image.data);
    first.image.data.fill(7);
    expect(Buffer.from(ds.pullItem(0, 64, 64).image.data).equals(Buffer.from(copy))).to.equal(true);
    // Mosaic batches over several epochs: bit-identical with and without the cache.
    const opts = { batchSize: 4, inputSize: 128, seed: 3, mosaicProb: 1 };
    const cached = new TrainLoader(open(1 << 30), opts), plain = new TrainLoader(open(0), opts);
    for (const [epoch, it] of [[0, 0], [0, 1], [1, 0], [2, 1]]) {
      const a = cached.batch(epoch, it), b = plain.batch(epoch, it);
      expect(Buffer.from(a.images.data.buffer).equals(Buffer.from(b.images.data.buffer)),
        `epoch ${epoch} iteration ${it}`).to.equal(true);
    }
  });
});

describe('dataset: annotations', () => {
  // 200 images rendered in memory (no files): enough for every class and size range.
  const S = DEFAULT_DATASET_SPEC.size;
  let images: RenderedImage[] = [];
  let objects: RenderedObject[] = [];
  before(() => {
    const spec = DEFAULT_DATASET_SPEC;
    images = Array.from({ length: 200 }, (_, i) => renderSplitImage(spec, 'val', i));
    objects = images.flatMap((im) => im.objects);
  });

  it('boxes lie inside the image, are at least 2 px wide and high, and areas are positive', () => {
    expect(objects.length).to.be.greaterThan(400);
    for (const o of objects) {
      const [x, y, w, h] = o.bbox;
      expect(x).to.be.at.least(0);
      expect(y).to.be.at.least(0);
      expect(x + w).to.be.at.most(S + 1e-9);
      expect(y + h).to.be.at.most(S + 1e-9);
      expect(w).to.be.at.least(2);
      expect(h).to.be.at.least(2);
      expect(o.area).to.be.greaterThan(0);
      // A mask inside the box covers at most the box (+0.01 for the 2-decimal rounding).
      expect(o.area).to.be.at.most(w * h + 0.01);
    }
  });

  it('visible areas never overlap: Σ area per image ≤ image area', () => {
    for (const im of images) {
      expect(im.objects.reduce((s, o) => s + o.area, 0)).to.be.at.most(S * S);
    }
  });

  it('all classes and all three COCO area ranges (small < 32², large > 96²) occur', () => {
    const cls = new Set(objects.map((o) => o.cls));
    expect([...cls].sort()).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    const small = objects.filter((o) => o.area < 32 * 32).length;
    const large = objects.filter((o) => o.area > 96 * 96).length;
    const medium = objects.length - small - large;
    expect(small).to.be.greaterThan(50);
    expect(medium).to.be.greaterThan(50);
    expect(large).to.be.greaterThan(10);
    expect(SHAPE_CATEGORIES.map((c) => c.id)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('the written json is COCO instances: unique ids, valid categories, iscrowd 0', () => {
    const dir = tmpDir('ds-json');
    try {
      generateDataset(dir, { ...SMALL, trainCount: 20, valCount: 0 });
      const json = readJson(dir, 'train');
      const ids = json.annotations.map((a) => a.id);
      expect(new Set(ids).size).to.equal(ids.length);
      expect(new Set(json.images.map((i) => i.id)).size).to.equal(20);
      const catIds = new Set(json.categories.map((c) => c.id));
      const imgIds = new Set(json.images.map((i) => i.id));
      for (const a of json.annotations) {
        expect(catIds.has(a.category_id)).to.equal(true);
        expect(imgIds.has(a.image_id)).to.equal(true);
        expect(a.iscrowd).to.equal(0);
        expect(a.bbox).to.have.length(4);
      }
      expect(readJson(dir, 'val').images).to.have.length(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dataset: shape geometry', () => {
  // Closed-form areas for size s (table in shapes.ts); square/striped: s·√a × s/√a = s².
  const s = 60;
  const star = (() => {
    // 10-gon with alternating radii R, r: area = 10 · ½ · R · r · sin(36°).
    const R = s / 2;
    return 5 * R * 0.45 * R * Math.sin(Math.PI / 5);
  })();
  const AREAS = [
    Math.PI * (s / 2) ** 2,
    s * s,
    (Math.sqrt(3) / 4) * s * s,
    star,
    Math.PI * ((s / 2) ** 2 - (0.55 * s / 2) ** 2),
    // plus sign: two s × 0.34s bars minus their 0.34s square overlap
    2 * s * 0.34 * s - (0.34 * s) ** 2,
    s * s,
    Math.PI * (s / 2) ** 2,
  ];

  for (let cls = 0; cls < CLASS_COUNT; cls++) {
    it(`${SHAPE_CATEGORIES[cls].name}: anti-aliased coverage sums to the exact area (±0.5 %), ` +
      'bounds match a supersampled extent', () => {
      const rng = new Rng(100 + cls);
      const sh = makeShape(rng, cls, 80.3, 79.6, s, [0, 0, 0], [0, 0, 0]);
      let cov = 0;
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (let y = 0; y < 160; y++) {
        for (let x = 0; x < 160; x++) {
          cov += Math.min(1, Math.max(0, 0.5 - shapeSdf(sh, x + 0.5, y + 0.5)));
        }
      }
      // Independent extent: sample the inside test on a 1/8-pixel grid.
      for (let y = 0; y < 160; y += 0.125) {
        for (let x = 0; x < 160; x += 0.125) {
          if (shapeSdf(sh, x, y) < 0) {
            x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
          }
        }
      }
      expect(Math.abs(cov - AREAS[cls]) / AREAS[cls]).to.be.below(0.005);
      const b = shapeBounds(sh);
      // The sampled extent lies inside the exact one, by at most what a 0.125 px grid can miss at
      // a corner of angle θ: 0.125·(1 + 1/(2·tan(θ/2))) — 0.32 px for the star's 36° points.
      [x0 - b[0], y0 - b[1], b[2] - x1, b[3] - y1].forEach((d) => {
        expect(d).to.be.within(0, 0.33);
      });
    });
  }
});

describe('dataset: occlusion and truncation in annotations', () => {
  /** An axis-aligned rectangle [x0, x1] × [y0, y1] as a 'square' shape. */
  function rect(x0: number, y0: number, x1: number, y1: number): ShapeInstance {
    return {
      cls: 1, cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, size: x1 - x0, angle: 0,
      color: [0, 0, 0], color2: [0, 0, 0], shade: 0, period: 4,
      poly: Float64Array.from([x0, y0, x1, y0, x1, y1, x0, y1]),
      radius: 0, innerRadius: 0, cos: 1, sin: 0,
    };
  }

  it('an occluded side moves to the occluder edge (±1 px); free sides stay exact', () => {
    const below = rasterise(rect(20.3, 30.6, 70.3, 80.6), 160, 160)!;
    const above = rasterise(rect(10, 20, 45.25, 100), 160, 160)!;
    occlude(below, above);
    const a = annotate(below, 160, 160)!;
    const b = annotate(above, 160, 160)!;
    // The top object is unoccluded: exact box, area = 35.25 · 80 (AA coverage is exact for
    // axis-aligned edges up to float32 storage).
    expect(b.bbox).to.deep.equal([10, 20, 35.25, 80]);
    expect(b.area).to.be.closeTo(2820, 0.05);
    // Visible part of the lower one: [45.25, 70.3] × [30.6, 80.6], area 25.05 · 50 = 1252.5.
    // Coverage clamp(0.5 − sdf) is exact along straight edges but not in a corner pixel cut on
    // both axes (here +0.16 and +0.12 at the two fractional right corners): tolerance 0.5.
    const [x, y, w, h] = a.bbox;
    expect(Math.abs(x - 45.25)).to.be.at.most(1);
    expect(y).to.equal(30.6);
    expect(x + w).to.be.closeTo(70.3, 1e-9);
    expect(y + h).to.be.closeTo(80.6, 1e-9);
    expect(a.area).to.be.closeTo(1252.5, 0.5);
  });

  it('a shape cut by the image border is clipped to it', () => {
    const p = rasterise(rect(150, 10.5, 170, 30.5), 160, 160)!;
    const o = annotate(p, 160, 160)!;
    expect(o.bbox).to.deep.equal([150, 10.5, 10, 20]);
    expect(o.area).to.be.closeTo(200, 0.05);
  });
});
