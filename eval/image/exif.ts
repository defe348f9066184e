/**
 * @file EXIF orientation: OpenCV's imread (IMREAD_COLOR) rotates/flips a JPEG by its EXIF
 * Orientation tag (0x0112) before returning it; so do we.
 *
 * The Exif APP1 payload is "Exif\0\0" + a TIFF header ("II" little / "MM" big endian, 42, offset of
 * IFD0); IFD0 is a count then 12-byte entries (tag u16, type u16, count u32, value u32).
 * Orientation 1..8: 1 = as stored, 2 = mirror x, 3 = rotate 180, 4 = mirror y, 5 = transpose,
 * 6 = rotate 90° clockwise, 7 = transverse, 8 = rotate 90° counter-clockwise.
 */
import type { Image8 } from './image8.js';

/** The Orientation value (1..8) in an Exif APP1 payload, or 1 when absent or malformed. */
export function exifOrientation(exif: Uint8Array | undefined): number {
  if (exif === undefined || exif.length < 14) return 1;
  const v = new DataView(exif.buffer, exif.byteOffset, exif.byteLength);
  // jpeg-js hands over the APP1 payload starting with "Exif\0\0".
  const base = exif[0] === 0x45 && exif[1] === 0x78 ? 6 : 0;
  if (base + 8 > exif.length) return 1;
  const order = v.getUint16(base);
  if (order !== 0x4949 && order !== 0x4d4d) return 1;
  const le = order === 0x4949;
  const ifd = base + v.getUint32(base + 4, le);
  if (ifd + 2 > exif.length) return 1;
  const n = v.getUint16(ifd, le);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + 12 * i;
    if (e + 12 > exif.length) return 1;
    if (v.getUint16(e, le) === 0x0112) {
      const o = v.getUint16(e + 8, le); // SHORT value, left-justified in the 4-byte field
      return o >= 1 && o <= 8 ? o : 1;
    }
  }
  return 1;
}

/**
 * `img` turned upright for EXIF orientation `o`. Output pixel (x, y) reads source pixel (sx, sy);
 * for 5..8 width and height swap.
 */
export function applyOrientation(img: Image8, o: number): Image8 {
  if (o === 1) return img;
  const { width: W, height: H, channels: C } = img;
  const swap = o >= 5;
  const w = swap ? H : W;
  const h = swap ? W : H;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sx: number, sy: number;
      switch (o) {
        case 2: sx = W - 1 - x; sy = y; break;
        case 3: sx = W - 1 - x; sy = H - 1 - y; break;
        case 4: sx = x; sy = H - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = H - 1 - x; break;
        case 7: sx = W - 1 - y; sy = H - 1 - x; break;
        default: sx = W - 1 - y; sy = x; break; // 8
      }
      const s = (sy * W + sx) * C;
      const d = (y * w + x) * C;
      for (let c = 0; c < C; c++) out[d + c] = img.data[s + c];
    }
  }
  return { width: w, height: h, channels: C, data: out };
}
