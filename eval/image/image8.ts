/**
 * @file The 8-bit image of the eval pipeline (decoders, letterbox, drawing).
 *
 * Layout: HWC interleaved, row-major — channel c of the pixel at (row y, column x) is
 *   data[(y·width + x)·channels + c].
 * Channel order is RGB (the decoders' natural order); `letterbox` flips to BGR at the end, as the
 * official code sees BGR from cv2.imread. Structurally the same type as eval/data/image.ts.
 */

export interface Image8 {
  readonly width: number;
  readonly height: number;
  /** 3 for every decoded image (grey is expanded, alpha dropped). */
  readonly channels: number;
  readonly data: Uint8Array;
}

/** A new image filled with `value` in every channel. */
export function newImage8(width: number, height: number, channels = 3, value = 0): Image8 {
  const data = new Uint8Array(width * height * channels);
  if (value !== 0) data.fill(value);
  return { width, height, channels, data };
}
