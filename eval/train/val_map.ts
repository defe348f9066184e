/**
 * @file COCO mAP of a model on a validation split, gradient-free, as the official COCOEvaluator
 * does during training: each image through the evaluation input path (resize, letterbox at
 * `size`), the eval-mode forward, postprocess (score ≥ conf, class-aware NMS at `nms`; the Exp's
 * test_conf 0.01 and nmsthre 0.65 by default), boxes ÷ r to COCO results, then COCOeval bbox.
 * Images are decoded once and kept (the val split of the generated dataset is small).
 * Batching images does not change any output: every op is computed per image in eval mode.
 * A detection with a non-finite box (exp overflow of a diverging early model) is dropped and
 * counted in `dropped`: it could never match a ground truth, and COCOeval refuses it.
 */
import * as path from 'node:path';
import { noGrad } from '../../engine/autograd.js';
import { UserError } from '../../engine/errors.js';
import { readCocoDataset, evaluateCoco, type CocoDataset, type CocoDetection,
  type CocoEvalResult } from '../coco/index.js';
import { sortedCategoryIds } from '../coco_classes.js';
import { readImage } from '../image/decode.js';
import { postprocess, toCocoResults } from '../postprocess.js';
import { batchTensor, letterboxCocoEval, type Letterboxed } from '../preprocess.js';
import { releaseForward } from '../../models/release.js';
import type { YOLOX } from '../../models/yolox.js';

export interface ValOptions {
  readonly size: number;
  readonly confThre?: number;
  readonly nmsThre?: number;
  /** Only the first N images (0: all). */
  readonly limit?: number;
  /** Images per forward (default 8). */
  readonly batch?: number;
}

export class CocoValSet {
  readonly gt: CocoDataset;
  readonly classIds: number[];
  private readonly inputs: { id: number; lb: Letterboxed }[];
  /** Non-finite detections dropped by the last `detect`. */
  dropped = 0;

  constructor(imageDir: string, annotationFile: string, readonly opts: ValOptions) {
    const gt = readCocoDataset(annotationFile);
    const limit = opts.limit ?? 0;
    const images = limit > 0 ? gt.images.slice(0, limit) : gt.images;
    const ids = new Set(images.map((im) => im.id));
    this.gt = { ...gt, images, annotations: gt.annotations.filter((a) => ids.has(a.image_id)) };
    this.classIds = sortedCategoryIds(gt.categories);
    this.inputs = images.map((im) => {
      if (im.file_name === undefined) {
        throw new UserError(`${annotationFile}: image ${im.id} has no file_name`);
      }
      const img = readImage(path.join(imageDir, im.file_name));
      const lb = letterboxCocoEval(img, opts.size);
      // The evaluator's ratio uses the annotation's size when present.
      const h = im.height ?? img.height, w = im.width ?? img.width;
      return { id: im.id, lb: { ...lb, ratio: Math.min(opts.size / h, opts.size / w) } };
    });
  }

  get length(): number {
    return this.inputs.length;
  }

  /** Detections of `model` (put in eval mode) over the split, in image order. */
  detect(model: YOLOX): CocoDetection[] {
    model.eval();
    const confThre = this.opts.confThre ?? 0.01, nmsThre = this.opts.nmsThre ?? 0.65;
    const B = this.opts.batch ?? 8;
    const dets: CocoDetection[] = [];
    this.dropped = 0;
    for (let i = 0; i < this.inputs.length; i += B) {
      const chunk = this.inputs.slice(i, i + B);
      // The forward's buffers go back to the allocator once the detections are read out, so
      // the next chunk reuses them (models/release.ts).
      const perImage = noGrad(() => {
        const o = model.call(batchTensor(chunk.map((c) => c.lb)));
        const res = postprocess(o.output!, { confThre, nmsThre });
        releaseForward(o);
        return res;
      });
      perImage.forEach((found, j) => {
        const { id, lb } = chunk[j];
        for (const d of toCocoResults(found, id, lb.ratio, this.classIds)) {
          if (d.bbox.every(Number.isFinite) && Number.isFinite(d.score)) dets.push(d);
          else this.dropped++;
        }
      });
    }
    return dets;
  }

  /** COCOeval bbox of `model` on the split (stats[0] = AP@[.5:.95], stats[1] = AP@.5). */
  evaluate(model: YOLOX): CocoEvalResult {
    return evaluateCoco(this.gt, this.detect(model));
  }
}
