/**
 * @file Training batches from a COCO-format folder (the generated dataset's layout, or COCO 2017:
 * DIR/train2017 + DIR/annotations/instances_train2017.json) for the trainer (models/train/).
 *
 * Two loaders over the same images and seed: the augmented one (mosaic with probability
 * `mosaicProb`, then TrainTransform) and the no-aug one (TrainTransform only) of the last epochs,
 * as the official trainer switches `close_mosaic`. Batches are pure functions of (epoch, k): the
 * loader derives every random draw from mixSeed(seed, epoch, position).
 */
import * as fs from 'node:fs';
import { UserError } from '../../engine/errors.js';
import type { Tensor } from '../../engine/tensor.js';
import { CocoDetectionDataset } from '../data/coco_dataset.js';
import { TrainLoader } from '../data/loader.js';
import type { DetectionSource } from '../data/mosaic.js';
import { splitPaths, type Split } from '../dataset/spec.js';

export interface CocoTrainDataOptions {
  readonly batch: number;
  readonly size: number;
  readonly seed: number;
  readonly mosaicProb: number;
  /** Use only the first N images (0: all). */
  readonly limit?: number;
}

/** The image folder and annotation file of a split, checked to exist. */
export function cocoSplit(dir: string, split: Split): { imageDir: string; annotationFile: string } {
  const p = splitPaths(dir, split);
  if (!fs.existsSync(p.annotationFile)) {
    throw new UserError(`${dir}: no ${p.annotationFile} (expected a COCO-format dataset folder)`);
  }
  if (!fs.existsSync(p.imageDir)) throw new UserError(`${dir}: no image folder ${p.imageDir}`);
  return p;
}

/** The first `limit` items of a source (all when limit is 0 or absent). */
function limited(src: CocoDetectionDataset, limit = 0): DetectionSource {
  if (limit <= 0 || limit >= src.length) return src;
  return { length: limit, pullItem: (i, h, w) => src.pullItem(i, h, w) };
}

/**
 * Decoded training images kept in memory: every epoch (and every mosaic) reads its images
 * again, and decoding a PNG costs more than a small image's whole share of a step. 512 MiB
 * holds the embedded dataset (3000 images of 160²) several times over; on a larger dataset the
 * first images to be used stay cached and the rest are decoded each time.
 */
const TRAIN_IMAGE_CACHE_BYTES = 512 * 1024 ** 2;

export class CocoTrainData {
  readonly dataset: CocoDetectionDataset;
  private readonly aug: TrainLoader;
  private readonly plain: TrainLoader;

  constructor(dir: string, o: CocoTrainDataOptions) {
    const { imageDir, annotationFile } = cocoSplit(dir, 'train');
    this.dataset = new CocoDetectionDataset(imageDir, annotationFile,
      { cacheBytes: TRAIN_IMAGE_CACHE_BYTES });
    const src = limited(this.dataset, o.limit);
    const base = { batchSize: o.batch, inputSize: o.size, seed: o.seed };
    this.aug = new TrainLoader(src, { ...base, mosaicProb: o.mosaicProb });
    this.plain = new TrainLoader(src, { ...base, mosaicProb: 0 });
  }

  get numClasses(): number {
    return this.dataset.numClasses;
  }

  get itersPerEpoch(): number {
    return this.aug.batchesPerEpoch;
  }

  batch(epoch: number, k: number, noAug: boolean): { images: Tensor; labels: Tensor } {
    const b = (noAug ? this.plain : this.aug).batch(epoch, k);
    return { images: b.images, labels: b.labels };
  }
}
