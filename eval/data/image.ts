/**
 * @file Helpers on the 8-bit image (eval/image/image8.ts) that the training augmentation needs.
 *
 * Layout: HWC interleaved, row-major — the byte of channel c at (row y, column x) is
 *   data[(y·width + x)·channels + c].
 * Channel order is RGB unless a function says otherwise (the network input is BGR: `preproc`
 * swaps at the very end, as OpenCV-based YOLOX sees BGR from cv2.imread).
 */
import type { Image8 } from '../image/image8.js';

export type { Image8 } from '../image/image8.js';
export { newImage8 } from '../image/image8.js';

/** A deep copy. */
export function cloneImage8(img: Image8): Image8 {
  return { width: img.width, height: img.height, channels: img.channels, data: img.data.slice() };
}

/** The image mirrored left–right (column x goes to width − 1 − x). */
export function flipHorizontal(img: Image8): Image8 {
  const { width: W, height: H, channels: C } = img;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < H; y++) {
    const row = y * W * C;
    for (let x = 0; x < W; x++) {
      const src = row + x * C;
      const dst = row + (W - 1 - x) * C;
      for (let c = 0; c < C; c++) out[dst + c] = img.data[src + c];
    }
  }
  return { width: W, height: H, channels: C, data: out };
}

/** Copies `src` into `dst` with its top-left corner at (dx, dy); parts outside `dst` are cut. */
export function pasteImage8(dst: Image8, src: Image8, dx: number, dy: number): void {
  const C = dst.channels;
  for (let y = 0; y < src.height; y++) {
    const ty = y + dy;
    if (ty < 0 || ty >= dst.height) continue;
    for (let x = 0; x < src.width; x++) {
      const tx = x + dx;
      if (tx < 0 || tx >= dst.width) continue;
      const s = (y * src.width + x) * C;
      const d = (ty * dst.width + tx) * C;
      for (let c = 0; c < C; c++) dst.data[d + c] = src.data[s + c];
    }
  }
}
