/**
 * @file COCO mAP of any detector forward (FP32 model, fake-quant graph, …) on a COCO-format val
 * split, as the official evaluator: each image resized + letterboxed at `size` (decoded once and
 * kept), the forward x [B, 3, size, size] → decoded [B, A, 5 + C], postprocess (score ≥ conf,
 * class-aware NMS), boxes ÷ r to COCO results, then COCOeval bbox over the images run.
 * eval/train/val_map.ts does the same for a YOLOX model only; this one takes a function so the
 * seed workflow can score the PTQ and QAT graphs with exactly the same inputs.
 * Non-finite detections (a diverging model) are dropped and counted.
 */
import * as path from 'node:path';
import { noGrad } from '../../engine/autograd.js';
import { UserError } from '../../engine/errors.js';
import type { Tensor } from '../../engine/tensor.js';
import {
  evaluateCoco, readCocoDataset, type CocoDataset, type CocoDetection, type CocoEvalResult,
} from '../coco/index.js';
import { sortedCategoryIds } from '../coco_classes.js';
import { readImage } from '../image/decode.js';
import { postprocess, toCocoResults } from '../postprocess.js';
import { batchTensor, letterboxCocoEval, type Letterboxed } from '../preprocess.js';

/** x [B, 3, S, S] (BGR 0..255) → decoded predictions [B, A, 5 + C]. */
export type DetectorForward = (x: Tensor) => Tensor;

export interface ValForwardOptions {
  readonly size: number;
  /** Only the first N images (0: all). */
  readonly limit?: number;
  readonly confThre?: number;
  readonly nmsThre?: number;
  /** Images per forward (default 8; batching changes no output in eval mode). */
  readonly batch?: number;
}

export interface ValScore {
  /** COCO AP@[.5:.95] and AP@.5 (stats[0], stats[1]). */
  readonly ap: number;
  readonly ap50: number;
  readonly result: CocoEvalResult;
  readonly detections: CocoDetection[];
  readonly dropped: number;
}

export class ValImages {
  readonly gt: CocoDataset;
  readonly classIds: number[];
  readonly files: string[];
  private readonly inputs: { id: number; lb: Letterboxed }[];

  constructor(imageDir: string, annotationFile: string, readonly opts: ValForwardOptions) {
    const gt = readCocoDataset(annotationFile);
    const limit = opts.limit ?? 0;
    const images = limit > 0 ? gt.images.slice(0, limit) : gt.images;
    const ids = new Set(images.map((im) => im.id));
    this.gt = { ...gt, images, annotations: gt.annotations.filter((a) => ids.has(a.image_id)) };
    this.classIds = sortedCategoryIds(gt.categories);
    this.files = [];
    this.inputs = images.map((im) => {
      if (im.file_name === undefined) {
        throw new UserError(`${annotationFile}: image ${im.id} has no file_name`);
      }
      const file = path.join(imageDir, im.file_name);
      this.files.push(file);
      const img = readImage(file);
      const lb = letterboxCocoEval(img, opts.size);
      const h = im.height ?? img.height, w = im.width ?? img.width;
      return { id: im.id, lb: { ...lb, ratio: Math.min(opts.size / h, opts.size / w) } };
    });
  }

  get length(): number {
    return this.inputs.length;
  }

  /** Detections and COCOeval of `forward`; `onImages(done)` after each batch. */
  score(forward: DetectorForward, onImages?: (done: number) => void): ValScore {
    const confThre = this.opts.confThre ?? 0.01, nmsThre = this.opts.nmsThre ?? 0.65;
    const B = this.opts.batch ?? 8;
    const detections: CocoDetection[] = [];
    let dropped = 0;
    for (let i = 0; i < this.inputs.length; i += B) {
      const chunk = this.inputs.slice(i, i + B);
      const out = noGrad(() => forward(batchTensor(chunk.map((c) => c.lb))));
      postprocess(out, { confThre, nmsThre }).forEach((found, j) => {
        const { id, lb } = chunk[j];
        for (const d of toCocoResults(found, id, lb.ratio, this.classIds)) {
          if (d.bbox.every(Number.isFinite) && Number.isFinite(d.score)) detections.push(d);
          else dropped++;
        }
      });
      onImages?.(Math.min(i + B, this.inputs.length));
    }
    const result = evaluateCoco(this.gt, detections);
    return { ap: result.stats[0], ap50: result.stats[1], result, detections, dropped };
  }
}
