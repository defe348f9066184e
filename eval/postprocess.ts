/**
 * @file The official `postprocess` (yolox/utils/boxes.py) and `convert_to_coco_format`
 * (yolox/evaluators/coco_evaluator.py) — shared/reference/yolox.md §2.3–2.4.
 *
 * Per image of a decoded prediction [B, A, 5 + C] (cx, cy, w, h, obj, cls probabilities):
 *   1. corners: x1 = cx − w/2, y1 = cy − h/2, x2 = cx + w/2, y2 = cy + h/2      (float32)
 *   2. clsConf, cls = max over classes (first index on ties); score = f32(obj·clsConf)
 *   3. keep score ≥ f32(confThre)
 *   4. NMS at nmsThre, class-aware unless `classAgnostic` (eval/nms.ts: IoU > thr suppresses)
 *   5. kept detections in decreasing-score order (ties by anchor index; the official order of
 *      equal scores is unspecified).
 * COCO results: bbox = xyxy / f32(r) in float32, then (x1, y1, x2 − x1, y2 − y1); not clipped;
 * category_id = classIds[cls].
 */
import { ShapeError } from '../engine/errors.js';
import type { Tensor } from '../engine/tensor.js';
import type { CocoDetection } from './coco/results.js';
import { batchedNms, nms } from './nms.js';

const f32 = Math.fround;

/** One detection in network-input pixels; official row [x1, y1, x2, y2, obj, clsConf, cls]. */
export interface Detection {
  readonly xyxy: readonly [number, number, number, number];
  readonly obj: number;
  readonly clsConf: number;
  readonly cls: number;
  /** f32(obj · clsConf). */
  readonly score: number;
  /** The anchor it came from (index into A). */
  readonly anchor: number;
}

export interface PostprocessOptions {
  readonly confThre: number;
  readonly nmsThre: number;
  readonly classAgnostic?: boolean;
}

/** Detections of one image from its [A, 5 + C] slice (see the file header). */
export function postprocessImage(
  pred: Float32Array,
  numAnchors: number,
  numClasses: number,
  { confThre, nmsThre, classAgnostic = false }: PostprocessOptions,
): Detection[] {
  const D = 5 + numClasses;
  if (pred.length !== numAnchors * D) {
    throw new ShapeError('postprocess', `prediction has ${pred.length} values`, [[numAnchors, D]]);
  }
  const thr = f32(confThre);
  const cands: Detection[] = [];
  for (let a = 0; a < numAnchors; a++) {
    const p = a * D;
    let cls = 0;
    let clsConf = pred[p + 5];
    for (let c = 1; c < numClasses; c++) {
      if (pred[p + 5 + c] > clsConf) {
        clsConf = pred[p + 5 + c];
        cls = c;
      }
    }
    const obj = pred[p + 4];
    const score = f32(obj * clsConf);
    if (!(score >= thr)) continue;
    const cx = pred[p], cy = pred[p + 1], hw = f32(pred[p + 2] / 2), hh = f32(pred[p + 3] / 2);
    const xyxy = [f32(cx - hw), f32(cy - hh), f32(cx + hw), f32(cy + hh)] as const;
    cands.push({ xyxy, obj, clsConf, cls, score, anchor: a });
  }
  if (cands.length === 0) return [];
  const boxes = new Float32Array(4 * cands.length);
  const scores = new Float32Array(cands.length);
  const classes = new Int32Array(cands.length);
  cands.forEach((d, i) => {
    boxes.set(d.xyxy, 4 * i);
    scores[i] = d.score;
    classes[i] = d.cls;
  });
  const keep = classAgnostic
    ? nms(boxes, scores, nmsThre)
    : batchedNms(boxes, scores, classes, nmsThre);
  return keep.map((i) => cands[i]);
}

/** `postprocessImage` for every image of a [B, A, 5 + C] tensor. */
export function postprocess(prediction: Tensor, opts: PostprocessOptions): Detection[][] {
  const [B, A, D] = prediction.shape;
  if (prediction.rank !== 3 || D < 6) {
    throw new ShapeError('postprocess', 'want [B, A, 5 + C]', [prediction.shape]);
  }
  const out: Detection[][] = [];
  for (let b = 0; b < B; b++) {
    const slice = prediction.data.subarray(b * A * D, (b + 1) * A * D);
    out.push(postprocessImage(slice, A, D - 5, opts));
  }
  return out;
}

/** The official [N, 7] rows [x1, y1, x2, y2, obj, clsConf, cls]. */
export function detectionRows(dets: readonly Detection[]): Float32Array {
  const rows = new Float32Array(7 * dets.length);
  dets.forEach((d, i) => rows.set([...d.xyxy, d.obj, d.clsConf, d.cls], 7 * i));
  return rows;
}

/**
 * COCO results of one image: boxes divided by f32(ratio) (ratio = min(H/h, W/w) with the
 * original image size), xywh, category id by class index.
 */
export function toCocoResults(
  dets: readonly Detection[],
  imageId: number,
  ratio: number,
  classIds: readonly number[],
): CocoDetection[] {
  const r = f32(ratio);
  return dets.map((d) => {
    const [x1, y1, x2, y2] = d.xyxy.map((v) => f32(v / r));
    const categoryId = classIds[d.cls];
    if (categoryId === undefined) {
      const msg = `class ${d.cls} has no category id`;
      throw new ShapeError('toCocoResults', msg, [[classIds.length]]);
    }
    return {
      image_id: imageId,
      category_id: categoryId,
      bbox: [x1, y1, f32(x2 - x1), f32(y2 - y1)],
      score: d.score,
    };
  });
}
