/**
 * @file 8-bit RGB/RGBA/grey images → PNG bytes (pngjs), for drawn detections and reports.
 */
import { PNG } from 'pngjs';
import type { Image8 } from './image8.js';

/** PNG bytes of `img` (1, 3 or 4 channels; stored as 8-bit RGBA, opaque unless 4 channels). */
export function encodePng(img: Image8): Uint8Array {
  const { width: W, height: H, channels: C } = img;
  if (C !== 1 && C !== 3 && C !== 4) throw new Error(`encodePng: ${C} channels`);
  const png = new PNG({ width: W, height: H });
  const d = png.data;
  for (let p = 0; p < W * H; p++) {
    const s = p * C;
    d[4 * p] = img.data[s];
    d[4 * p + 1] = img.data[C === 1 ? s : s + 1];
    d[4 * p + 2] = img.data[C === 1 ? s : s + 2];
    d[4 * p + 3] = C === 4 ? img.data[s + 3] : 255;
  }
  return new Uint8Array(PNG.sync.write(png));
}
