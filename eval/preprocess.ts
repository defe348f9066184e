/**
 * @file Evaluation preprocessing, exactly the official `preproc` (yolox/data/data_augment.py,
 * legacy = False) — shared/reference/yolox.md §2.1:
 *   r = min(H / h, W / w)  (float64);  resize to (int(w·r), int(h·r)) with OpenCV INTER_LINEAR;
 *   paste at the top-left of an H×W canvas filled with 114;  BGR;  CHW float32 0..255, no mean/std.
 * Input images are RGB (eval/image/decode.ts); the channel flip happens here.
 */
import { UserError } from '../engine/errors.js';
import { Tensor } from '../engine/tensor.js';
import type { Image8 } from './image/image8.js';
import { resizeLinear } from './image/resize.js';

/** The letterbox pad value (the official canvas is np.ones(...) * 114). */
export const PAD_VALUE = 114;

export interface Letterboxed {
  /** [3, H, W] BGR float32 0..255. */
  readonly chw: Float32Array;
  readonly height: number;
  readonly width: number;
  /** r = min(H/h, W/w), float64 (boxes in the input are divided by float32(r) for COCO). */
  readonly ratio: number;
  /** The pasted region: columns [0, resizedW), rows [0, resizedH). */
  readonly resizedW: number;
  readonly resizedH: number;
}

/** Letterboxes an RGB image to H×W (default 416×416) as the official eval transform does. */
export function letterbox(img: Image8, H = 416, W = H): Letterboxed {
  if (img.channels !== 3) throw new UserError(`letterbox: needs 3 channels, got ${img.channels}`);
  if (img.width <= 0 || img.height <= 0) throw new UserError('letterbox: empty image');
  const ratio = Math.min(H / img.height, W / img.width);
  const rw = Math.trunc(img.width * ratio);
  const rh = Math.trunc(img.height * ratio);
  if (rw <= 0 || rh <= 0) {
    const what = `${img.width}×${img.height}`;
    throw new UserError(`letterbox: image ${what} shrinks to nothing at ${W}×${H}`);
  }
  const small = resizeLinear(img, rw, rh);
  const chw = new Float32Array(3 * H * W).fill(PAD_VALUE);
  const plane = H * W;
  for (let y = 0; y < rh; y++) {
    for (let x = 0; x < rw; x++) {
      const s = (y * rw + x) * 3;
      const d = y * W + x;
      chw[d] = small.data[s + 2]; // B
      chw[plane + d] = small.data[s + 1]; // G
      chw[2 * plane + d] = small.data[s]; // R
    }
  }
  return { chw, height: H, width: W, ratio, resizedW: rw, resizedH: rh };
}

/** Stacks letterboxed images (all the same size) into an NCHW batch tensor [B, 3, H, W]. */
export function batchTensor(items: readonly Letterboxed[]): Tensor {
  if (items.length === 0) throw new UserError('batchTensor: empty batch');
  const { height: H, width: W } = items[0];
  const t = Tensor.zeros([items.length, 3, H, W]);
  items.forEach((it, b) => {
    if (it.height !== H || it.width !== W) throw new UserError('batchTensor: mixed sizes');
    t.data.set(it.chw, b * 3 * H * W);
  });
  return t;
}

/**
 * The COCO-evaluation input path of the official evaluator: `COCODataset.load_resized_img` first
 * resizes by r = min(H/h, W/w) to (int(w·r), int(h·r)), then `ValTransform` letterboxes that
 * again — the identity except when int() truncation left a side one pixel short (then it
 * upsamples by e.g. 416/415). `ratio` stays the one of the original size (what the evaluator
 * divides boxes by).
 */
export function letterboxCocoEval(img: Image8, H = 416, W = H): Letterboxed {
  const r = Math.min(H / img.height, W / img.width);
  const first = resizeLinear(img, Math.trunc(img.width * r), Math.trunc(img.height * r));
  return { ...letterbox(first, H, W), ratio: r };
}
