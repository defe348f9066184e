/**
 * @file Groups ground truth and detections by (category slot, image), pycocotools' `_prepare`:
 * only images in params.imgIds and categories in params.catIds are kept (others are dropped
 * silently, as pycocotools does), file order is kept inside each group. Class-agnostic
 * evaluation (useCats = false) has one category slot: each image's GTs and detections are pooled
 * in ascending category order, file order inside, as pycocotools concatenates them.
 *
 * Layout (I images, K category slots, slot s = k·I + i):
 *   gtStart [K·I + 1], gtList [kept GTs]: the GTs of slot s are gtList[gtStart[s] .. gtStart[s+1])
 *   dtStart, dtList likewise for detections (indices into the detection columns).
 * GT columns: box [N, 4] (x, y, w, h), area [N], crowd [N], id [N].
 */
import { UserError } from '../../engine/errors.js';
import type { CocoDataset } from './annotations.js';
import type { DetectionColumns } from './results.js';
import type { CocoEvalParams } from './params.js';

export interface GroupedEval {
  /** Images (I) and category slots (K). */
  I: number;
  K: number;
  gtBox: Float64Array;
  gtArea: Float64Array;
  gtCrowd: Uint8Array;
  gtId: Float64Array;
  gtStart: Int32Array;
  gtList: Int32Array;
  dets: DetectionColumns;
  /** Detections outside params' images × categories (dropped silently by pycocotools). */
  dtDropped: number;
  dtStart: Int32Array;
  dtList: Int32Array;
}

/**
 * Rejects non-finite detection numbers (a NaN score would silently reorder the ranking) and
 * detections on images the GT does not list. pycocotools' `loadRes` asserts the latter ("Results
 * do not correspond to current coco set") without saying which ids.
 */
export function checkDetections(gt: CocoDataset, dets: DetectionColumns): void {
  const n = dets.score.length;
  for (let i = 0; i < n; i++) {
    const b = 4 * i;
    const finite = Number.isFinite(dets.score[i]) && Number.isFinite(dets.bbox[b]) &&
      Number.isFinite(dets.bbox[b + 1]) && Number.isFinite(dets.bbox[b + 2]) &&
      Number.isFinite(dets.bbox[b + 3]);
    if (!finite) {
      const box = Array.from(dets.bbox.subarray(b, b + 4)).join(', ');
      throw new UserError(
        `detection ${i} has a non-finite score or box: score ${dets.score[i]}, bbox [${box}]`,
      );
    }
  }
  const known = new Set(gt.images.map((im) => im.id));
  const unknown = new Set<number>();
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (!known.has(dets.imageId[i])) {
      unknown.add(dets.imageId[i]);
      count++;
    }
  }
  if (unknown.size > 0) {
    const ids = [...unknown].sort((a, b) => a - b);
    const more = ids.length > 10 ? `, … (${ids.length} ids)` : '';
    const shown = ids.slice(0, 10).join(', ') + more;
    throw new UserError(
      `${count} detection(s) are on image ids absent from the ground truth: ${shown}`,
    );
  }
}

/** Stable counting sort of items by slot: returns [start (slots + 1), list]. */
function bucket(slotOf: Int32Array, slots: number): [Int32Array, Int32Array] {
  const start = new Int32Array(slots + 1);
  let kept = 0;
  for (let j = 0; j < slotOf.length; j++) {
    if (slotOf[j] >= 0) {
      start[slotOf[j] + 1]++;
      kept++;
    }
  }
  for (let s = 0; s < slots; s++) start[s + 1] += start[s];
  const fill = start.slice(0, slots);
  const list = new Int32Array(kept);
  for (let j = 0; j < slotOf.length; j++) if (slotOf[j] >= 0) list[fill[slotOf[j]]++] = j;
  return [start, list];
}

/** Pools the K category groups of each image into one (ascending category, file order inside). */
function poolCategories(
  start: Int32Array, list: Int32Array, I: number, K: number,
): [Int32Array, Int32Array] {
  const pooledStart = new Int32Array(I + 1);
  const pooled = new Int32Array(list.length);
  let o = 0;
  for (let i = 0; i < I; i++) {
    for (let k = 0; k < K; k++) {
      for (let p = start[k * I + i]; p < start[k * I + i + 1]; p++) pooled[o++] = list[p];
    }
    pooledStart[i + 1] = o;
  }
  return [pooledStart, pooled];
}

export function groupForEval(
  gt: CocoDataset, dets: DetectionColumns, params: CocoEvalParams,
): GroupedEval {
  const I = params.imgIds.length;
  const imgIndex = new Map<number, number>(params.imgIds.map((id, i) => [id, i]));
  // Categories filter the input in both modes (class-agnostic pooling iterates catIds too).
  const realCats = params.catIds;
  const Kreal = realCats.length;
  const catIndex = new Map<number, number>(realCats.map((id, k) => [id, k]));
  const slotOf = (imageId: number, categoryId: number): number => {
    const i = imgIndex.get(imageId);
    const k = catIndex.get(categoryId);
    return i === undefined || k === undefined ? -1 : k * I + i;
  };

  const anns = gt.annotations;
  const n = anns.length;
  const gtBox = new Float64Array(4 * n);
  const gtArea = new Float64Array(n);
  const gtCrowd = new Uint8Array(n);
  const gtId = new Float64Array(n);
  const gtSlot = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    const a = anns[j];
    gtBox.set(a.bbox, 4 * j);
    gtArea[j] = a.area;
    gtCrowd[j] = a.iscrowd ? 1 : 0;
    gtId[j] = a.id;
    gtSlot[j] = slotOf(a.image_id, a.category_id);
  }
  const nd = dets.score.length;
  const dtSlot = new Int32Array(nd);
  for (let j = 0; j < nd; j++) dtSlot[j] = slotOf(dets.imageId[j], dets.categoryId[j]);

  let [gtStart, gtList] = bucket(gtSlot, Kreal * I);
  let [dtStart, dtList] = bucket(dtSlot, Kreal * I);
  if (!params.useCats) {
    [gtStart, gtList] = poolCategories(gtStart, gtList, I, Kreal);
    [dtStart, dtList] = poolCategories(dtStart, dtList, I, Kreal);
  }
  const K = params.useCats ? Kreal : 1;
  const dtDropped = nd - dtList.length;
  return { I, K, gtBox, gtArea, gtCrowd, gtId, gtStart, gtList, dets, dtStart, dtList, dtDropped };
}

