/**
 * @file COCO bbox evaluation, identical to pycocotools' COCOeval (evaluate → accumulate →
 * summarize) to the last bit, as one pure function: (gt, detections, options) → results.
 * Nothing is printed and the inputs are not mutated.
 *
 * Arrays (T = 10 IoU thresholds, R = 101 recall thresholds, K category slots, A = 4 area ranges
 * all/small/medium/large, M = 3 maxDets 1/10/100):
 *   precision [T, R, K, A, M]   interpolated precision; −1 where the (k, a) has no GT
 *   recall    [T, K, A, M]      recall reached with maxDets[m]; −1 where no GT
 *   stats     [12]              pycocotools' `stats`
 *   perCategoryAP / AR [K]      YOLOX's per-class tables (−1 where no GT; YOLOX shows NaN)
 * K is the number of categories (catIds ascending), or 1 when class-agnostic (catIds [-1]).
 *
 * Work is done one category slot at a time (all images, then that slot's curves), so memory
 * holds one image×category IoU matrix and one slot's outcomes, never the whole dataset's.
 * Differences from pycocotools, where it would crash: an empty detection list gives zeros (−1
 * where no GT) instead of an IndexError; detections on image ids absent from the GT are a
 * UserError naming the ids instead of a bare AssertionError.
 * Spec: ../../../shared/reference/cocoeval.md.
 */
import type { CocoDataset } from './annotations.js';
import { toColumns, type CocoDetection, type DetectionColumns } from './results.js';
import { resolveParams, type CocoEvalOptions, type CocoEvalParams } from './params.js';
import { checkDetections, groupForEval } from './prepare.js';
import { SlotEvaluator } from './match.js';
import {
  AccumulateScratch, SlotOutcomes, accumulateSlot, newPrecisionRecall, type PrecisionRecall,
} from './accumulate.js';
import { perCategory, summarizeStats, summaryText } from './summary.js';

export interface CocoEvalResult {
  params: CocoEvalParams;
  /** The K axis: category ids ascending, or [-1] when class-agnostic. */
  catIds: number[];
  /** precision [T, R, K, A, M] and recall [T, K, A, M] with their dimensions. */
  curves: PrecisionRecall;
  /** pycocotools' 12 statistics (see summary.ts STAT_NAMES). */
  stats: number[];
  /** Keyed like catIds. */
  perCategoryAP: number[];
  perCategoryAR: number[];
  /** Exactly what pycocotools' summarize() prints (12 lines). */
  summary: string;
  /**
   * Detections not evaluated because their category (or image) is outside params' catIds
   * (imgIds); pycocotools drops them without a word, callers may want to warn.
   */
  droppedDetections: number;
}

function isColumns(d: readonly CocoDetection[] | DetectionColumns): d is DetectionColumns {
  return !Array.isArray(d);
}

/** evaluate + accumulate: the precision/recall curves, and how many detections were dropped. */
export function evaluateCurves(
  gt: CocoDataset,
  dets: DetectionColumns,
  params: CocoEvalParams,
): { curves: PrecisionRecall; droppedDetections: number } {
  checkDetections(gt, dets);
  const grouped = groupForEval(gt, dets, params);
  const { I, K } = grouped;
  const T = params.iouThrs.length, R = params.recThrs.length;
  const A = params.areaRng.length, M = params.maxDets.length;
  if (T > 16) throw new Error('at most 16 IoU thresholds (outcomes are packed in 32-bit words)');
  const out = newPrecisionRecall(T, R, K, A, M);
  const maxDet = params.maxDets[M - 1];
  const slotEval = new SlotEvaluator(grouped, params.iouThrs, maxDet);
  const outcomes = new SlotOutcomes(A);
  const scratch = new AccumulateScratch();
  for (let k = 0; k < K; k++) {
    outcomes.reset();
    for (let i = 0; i < I; i++) {
      if (!slotEval.load(k * I + i)) continue;
      outcomes.present = true;
      const D = slotEval.D;
      outcomes.reserve(D);
      const base = outcomes.n;
      for (let d = 0; d < D; d++) {
        outcomes.score[base + d] = dets.score[slotEval.dt[d]];
        outcomes.rank[base + d] = d;
      }
      for (let a = 0; a < A; a++) {
        const [lo, hi] = params.areaRng[a];
        outcomes.npig[a] += slotEval.matchArea(lo, hi);
        const codes = outcomes.codes[a];
        for (let d = 0; d < D; d++) codes[base + d] = slotEval.outcome(d);
      }
      outcomes.n += D;
    }
    accumulateSlot(out, k, outcomes, params.maxDets, params.recThrs, scratch);
  }
  return { curves: out, droppedDetections: grouped.dtDropped };
}

/**
 * COCO bbox evaluation of `dets` against `gt`, as pycocotools' COCOeval with iouType 'bbox'
 * (useCats, imgIds and catIds may be changed through `options`).
 */
export function evaluateCoco(
  gt: CocoDataset,
  dets: readonly CocoDetection[] | DetectionColumns,
  options: CocoEvalOptions = {},
): CocoEvalResult {
  const params = resolveParams(
    gt.images.map((im) => im.id),
    gt.categories.map((c) => c.id),
    options,
  );
  const columns = isColumns(dets) ? dets : toColumns(dets);
  const { curves, droppedDetections } = evaluateCurves(gt, columns, params);
  const stats = summarizeStats(curves, params);
  const { ap, ar } = perCategory(curves, params);
  return {
    params,
    catIds: params.useCats ? params.catIds.slice() : [-1],
    curves,
    stats,
    perCategoryAP: ap,
    perCategoryAR: ar,
    summary: summaryText(stats, params),
    droppedDetections,
  };
}
