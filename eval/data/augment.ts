/**
 * @file The YOLOX training transform (`TrainTransform` and `preproc` of
 * yolox/data/data_augment.py), deterministic from an Rng.
 *
 * Input: an RGB image (HWC uint8) and targets, rows (x1, y1, x2, y2, class) in image pixels.
 * Output: the network input, BGR CHW float32 0..255 of the training size (H, W), letterboxed at the
 * top-left on a 114 canvas, and labels [maxLabels, 5] rows (class, cx, cy, w, h) in pixels of that
 * input, valid rows first, zero rows after.
 *
 * Steps (official order and random draws):
 *   1. no targets → letterbox only, all-zero labels (no random draw);
 *   2. with probability hsvProb (1.0): HSV offsets (hsv.ts);
 *   3. with probability flipProb (0.5): mirror, x1' = W − x2, x2' = W − x1;
 *   4. letterbox: r = min(H/h, W/w), bilinear resize to (int(w·r), int(h·r)), paste top-left;
 *   5. boxes to (cx, cy, w, h), times r; keep boxes with min(w, h) > 1 px (current YOLOX; older
 *      versions used > 8);
 *   6. if none survive: the un-augmented image letterboxed with all its original boxes;
 *   7. the first maxLabels rows are kept (50 for the plain path, 120 behind mosaic).
 */
import type { Rng } from '../../engine/rng.js';
import { augmentHsv, YOLOX_HSV_GAINS, type HsvGains } from './hsv.js';
import { flipHorizontal, type Image8 } from './image.js';
import { resizeLinear } from '../image/resize.js';
import { PAD_VALUE } from '../preprocess.js';

/** One target row: x1, y1, x2, y2 (pixels), class index. */
export type TargetRow = [number, number, number, number, number];

export interface TrainTransformOptions {
  maxLabels: number;
  flipProb: number;
  hsvProb: number;
  hsvGains: HsvGains;
}

export const TRAIN_TRANSFORM_DEFAULTS: TrainTransformOptions = {
  maxLabels: 50,
  flipProb: 0.5,
  hsvProb: 1.0,
  hsvGains: YOLOX_HSV_GAINS,
};

/**
 * `preproc`: letterbox `img` (RGB) into `out` at `offset` as BGR CHW float 0..255 of size
 * inputH × inputW; returns r. Pads with 114 right and bottom.
 */
export function preprocInto(
  img: Image8,
  inputH: number,
  inputW: number,
  out: Float32Array,
  offset = 0,
): number {
  const r = Math.min(inputH / img.height, inputW / img.width);
  const rw = Math.trunc(img.width * r);
  const rh = Math.trunc(img.height * r);
  const resized = resizeLinear(img, rw, rh);
  const plane = inputH * inputW;
  out.fill(PAD_VALUE, offset, offset + 3 * plane);
  const C = img.channels;
  for (let y = 0; y < rh; y++) {
    for (let x = 0; x < rw; x++) {
      const s = (y * rw + x) * C;
      const d = offset + y * inputW + x;
      out[d] = resized.data[s + 2]; // B
      out[d + plane] = resized.data[s + 1]; // G
      out[d + 2 * plane] = resized.data[s]; // R
    }
  }
  return r;
}

/** `preproc` into a fresh array: { chw [3·H·W], r }. */
export function preproc(
  img: Image8,
  inputH: number,
  inputW: number,
): { chw: Float32Array; r: number } {
  const chw = new Float32Array(3 * inputH * inputW);
  const r = preprocInto(img, inputH, inputW, chw);
  return { chw, r };
}

/** `_mirror` on boxes only: x1' = width − x2, x2' = width − x1 (y unchanged). */
export function mirrorTargets(targets: readonly TargetRow[], width: number): TargetRow[] {
  return targets.map(([x1, y1, x2, y2, c]) => [width - x2, y1, width - x1, y2, c]);
}

/** Rows (class, cx, cy, w, h) from xyxy targets scaled by r. */
function toClassCxcywh(targets: readonly TargetRow[], r: number): number[][] {
  return targets.map(([x1, y1, x2, y2, c]) => {
    const w = x2 - x1;
    const h = y2 - y1;
    return [c, (x1 + 0.5 * w) * r, (y1 + 0.5 * h) * r, w * r, h * r];
  });
}

/** Writes up to maxLabels rows into `labels` at `offset` (float32), zero-filling the rest. */
function writeLabels(
  rows: number[][],
  maxLabels: number,
  labels: Float32Array,
  offset: number,
): void {
  labels.fill(0, offset, offset + maxLabels * 5);
  const n = Math.min(rows.length, maxLabels);
  for (let i = 0; i < n; i++) for (let k = 0; k < 5; k++) labels[offset + i * 5 + k] = rows[i][k];
}

export interface TrainSampleSlot {
  /** Receives 3·H·W values at imageOffset. */
  image: Float32Array;
  imageOffset: number;
  /** Receives maxLabels·5 values at labelOffset. */
  labels: Float32Array;
  labelOffset: number;
}

/**
 * `TrainTransform.__call__` writing into a batch slot; returns the number of valid label rows.
 * `img` is not modified.
 */
export function trainTransformInto(
  img: Image8,
  targets: readonly TargetRow[],
  inputH: number,
  inputW: number,
  rng: Rng,
  slot: TrainSampleSlot,
  options: Partial<TrainTransformOptions> = {},
): number {
  const o = { ...TRAIN_TRANSFORM_DEFAULTS, ...options };
  if (targets.length === 0) {
    preprocInto(img, inputH, inputW, slot.image, slot.imageOffset);
    writeLabels([], o.maxLabels, slot.labels, slot.labelOffset);
    return 0;
  }
  let image = img;
  if (rng.uniform() < o.hsvProb) image = augmentHsv(image, rng, o.hsvGains);
  let boxes: TargetRow[] = targets.map((t) => [...t] as TargetRow);
  if (rng.uniform() < o.flipProb) {
    image = flipHorizontal(image);
    boxes = mirrorTargets(boxes, image.width);
  }
  const r = preprocInto(image, inputH, inputW, slot.image, slot.imageOffset);
  let rows = toClassCxcywh(boxes, r).filter((row) => Math.min(row[3], row[4]) > 1);
  if (rows.length === 0) {
    // Fallback of the official code: the original image and boxes, no augmentation, no filter.
    const ro = preprocInto(img, inputH, inputW, slot.image, slot.imageOffset);
    rows = toClassCxcywh(targets, ro);
  }
  writeLabels(rows, o.maxLabels, slot.labels, slot.labelOffset);
  return Math.min(rows.length, o.maxLabels);
}

/** `TrainTransform` into fresh arrays: { image [3, H, W], labels [maxLabels, 5], count }. */
export function trainTransform(
  img: Image8,
  targets: readonly TargetRow[],
  inputH: number,
  inputW: number,
  rng: Rng,
  options: Partial<TrainTransformOptions> = {},
): { image: Float32Array; labels: Float32Array; count: number } {
  const maxLabels = options.maxLabels ?? TRAIN_TRANSFORM_DEFAULTS.maxLabels;
  const image = new Float32Array(3 * inputH * inputW);
  const labels = new Float32Array(maxLabels * 5);
  const slot = { image, imageOffset: 0, labels, labelOffset: 0 };
  const count = trainTransformInto(img, targets, inputH, inputW, rng, slot, options);
  return { image, labels, count };
}
