/**
 * @file What the generated dataset is: its categories, the knobs of a generation run, the default
 * (the embedded dataset `npm start` trains and evaluates on), and how per-image seeds are derived.
 *
 * Layout written by `yoloxq dataset --out DIR` (the COCO 2017 convention):
 *   DIR/train2017/000000000001.png …      training images (file_name in the json)
 *   DIR/val2017/000000000001.png …        validation images
 *   DIR/annotations/instances_train2017.json, DIR/annotations/instances_val2017.json
 *   DIR/dataset.json                      the spec that produced it (seed, counts, size, version)
 * Image ids are 1..N within each split; category ids are 1..8 (contiguous class index = id − 1,
 * which is also what YOLOX's sorted-id mapping gives).
 */
import * as path from 'node:path';

/** One object class: its COCO category and how the renderer draws it (shapes.ts). */
export interface ShapeCategory {
  id: number;
  name: string;
}

export const SHAPE_CATEGORIES: readonly ShapeCategory[] = [
  { id: 1, name: 'circle' },
  { id: 2, name: 'square' },
  { id: 3, name: 'triangle' },
  { id: 4, name: 'star' },
  { id: 5, name: 'ring' },
  { id: 6, name: 'cross' },
  { id: 7, name: 'striped_box' },
  { id: 8, name: 'checker_disc' },
];

export type ImageFormat = 'png' | 'jpg';

export interface DatasetSpec {
  /** Bumped whenever the renderer changes what a seed produces. */
  version: number;
  seed: number;
  trainCount: number;
  valCount: number;
  /** Square image side in pixels. */
  size: number;
  format: ImageFormat;
  /** JPEG quality (only for format 'jpg'). */
  jpegQuality: number;
}

export const GENERATOR_VERSION = 1;

/**
 * The embedded default. 160 px images (the model trains at 128–160), 3000 training images (about
 * 3 objects each), 500 validation images; about 10 ms an image on one core.
 */
export const DEFAULT_DATASET_SPEC: DatasetSpec = {
  version: GENERATOR_VERSION,
  seed: 20240611,
  trainCount: 3000,
  valCount: 500,
  size: 160,
  format: 'png',
  jpegQuality: 92,
};

export type Split = 'train' | 'val';

export const SPLIT_DIRS: Record<Split, string> = { train: 'train2017', val: 'val2017' };
export const SPLIT_ANNOTATIONS: Record<Split, string> = {
  train: 'annotations/instances_train2017.json',
  val: 'annotations/instances_val2017.json',
};

/** Where a split of a generated dataset in `dir` lives: its image folder and instances JSON. */
export function splitPaths(
  dir: string,
  split: Split,
): { imageDir: string; annotationFile: string } {
  return {
    imageDir: path.join(dir, SPLIT_DIRS[split]),
    annotationFile: path.join(dir, SPLIT_ANNOTATIONS[split]),
  };
}

/** The file name of image `id` (12 digits, as COCO names its files). */
export function imageFileName(id: number, format: ImageFormat): string {
  return `${String(id).padStart(12, '0')}.${format}`;
}

/** A 32-bit hash of several integers (murmur3's finaliser after each), for per-item seeds. */
export function mixSeed(...parts: number[]): number {
  let h = 0x2545f491;
  for (const p of parts) {
    h = (h ^ (p >>> 0)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
    h = (h + 0x9e3779b9) >>> 0;
  }
  return h;
}

/** The seed of image `index` (0-based) of a split: independent of every other image. */
export function imageSeed(seed: number, split: Split, index: number): number {
  return mixSeed(seed, split === 'train' ? 1 : 2, index);
}
