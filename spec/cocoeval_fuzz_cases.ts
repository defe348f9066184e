/**
 * @file Seeded random COCO cases aimed at pycocotools' corner rules: negative and zero box
 * sizes, GT areas exactly 1024/9216 or unrelated to w·h, crowd GTs, `ignore` fields, a GT with
 * id 0, annotations and detections on unknown categories, annotations on unlisted images, a
 * duplicated image entry, integer boxes (exact IoU ties), quantised scores (score ties), single
 * images with more than 100 detections. spec/data/cocoeval_fuzz.json holds pycocotools' answers
 * for seeds 0..59 (see that file's `oracle`).
 */
import { Rng } from '../engine/rng.js';
import { roundHalfEven } from '../engine/round.js';

export interface FuzzCase {
  gt: {
    images: { id: number }[];
    annotations: Record<string, unknown>[];
    categories: { id: number; name: string }[];
  };
  dt: { image_id: number; category_id: number; bbox: number[]; score: number }[];
}

export function fuzzCase(seed: number): FuzzCase {
  const rng = new Rng(1000 + seed);
  const nImg = 1 + rng.int(8), nCat = 1 + rng.int(5);
  const images = Array.from({ length: nImg }, (_, i) => ({ id: 10 + 3 * i }));
  if (rng.uniform() < 0.3) images.push({ id: images[0].id });
  const categories = Array.from({ length: nCat }, (_, i) => ({ id: 1 + 2 * i, name: `c${i}` }));
  // Half the coordinates are integers, so equal IoUs (and IoU exactly at a threshold) happen.
  const q = (x: number) => (rng.uniform() < 0.5 ? roundHalfEven(x) : x);
  const box = () =>
    [q(rng.range(-5, 60)), q(rng.range(-5, 60)), q(rng.range(-3, 120)), q(rng.range(-3, 120))];
  const annotations: Record<string, unknown>[] = [];
  const nAnn = rng.int(40);
  const used = new Set<number>();
  for (let j = 0; j < nAnn; j++) {
    const b = box();
    const image = rng.uniform() < 0.05 ? 999 : images[rng.int(nImg)].id;
    const category = rng.uniform() < 0.05 ? 77 : categories[rng.int(nCat)].id;
    const kind = rng.int(6);
    const area = kind === 0 ? 1024 : kind === 1 ? 9216 : kind === 2 ? b[2] * b[3]
      : q(rng.range(-10, 12000));
    let id = rng.uniform() < 0.03 ? 0 : j + 1;
    while (used.has(id)) id += 1000;
    used.add(id);
    const ann: Record<string, unknown> = {
      id, image_id: image, category_id: category, bbox: b, area,
      iscrowd: rng.uniform() < 0.15 ? 1 : 0,
    };
    if (rng.uniform() < 0.2) ann.ignore = rng.int(2);
    annotations.push(ann);
  }
  const dt: FuzzCase['dt'] = [];
  const nDet = rng.int(160);
  for (let j = 0; j < nDet; j++) {
    let b: number[];
    let image = images[rng.int(nImg)].id;
    let category = rng.uniform() < 0.05 ? 77 : categories[rng.int(nCat)].id;
    if (annotations.length > 0 && rng.uniform() < 0.7) {
      // A copy or a jitter of some GT, mostly on its image and category.
      const g = annotations[rng.int(annotations.length)];
      const gb = g.bbox as number[];
      b = rng.uniform() < 0.3 ? gb.slice() : gb.map((v) => q(v + rng.normal() * 3));
      if (g.image_id !== 999 && rng.uniform() < 0.85) image = g.image_id as number;
      if (rng.uniform() < 0.85) category = g.category_id as number;
    } else {
      b = box();
    }
    const score = rng.uniform() < 0.3 ? rng.int(5) / 4 : rng.uniform();
    dt.push({ image_id: image, category_id: category, bbox: b, score });
  }
  if (rng.uniform() < 0.1) dt.length = Math.min(dt.length, 1 + rng.int(3));
  // pycocotools cannot evaluate an empty list; keep one detection so it has an answer.
  if (dt.length === 0) {
    const first = { image_id: images[0].id, category_id: categories[0].id };
    dt.push({ ...first, bbox: [1, 1, 5, 5], score: 0.5 });
  }
  return { gt: { images, annotations, categories }, dt };
}
