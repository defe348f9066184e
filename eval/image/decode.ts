/**
 * @file Image files → 8-bit RGB images, following what OpenCV's `cv2.imread(path)` (IMREAD_COLOR)
 * gives the official YOLOX code: always 3 channels, grey replicated, alpha dropped (never
 * composited), 16-bit samples reduced to their high byte, JPEG EXIF orientation applied.
 *
 * JPEG: jpeg-js for the entropy decoding and IDCT, then libjpeg-turbo's chroma upsampling and
 * fixed-point colour conversion (jpeg_color.ts); its IDCT rounding still differs from libjpeg's
 * islow, so pixels can differ by a few levels (measured on dog.jpg in spec/preprocess.spec.ts).
 * PNG: pngjs (lossless, so identical to OpenCV except one corner: a tRNS "transparent colour"
 * pixel, whose RGB pngjs zeroes while OpenCV keeps it).
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { UserError } from '../../engine/errors.js';
import { readFileOrFail } from '../../engine/formats/files.js';
import { applyOrientation, exifOrientation } from './exif.js';
import type { Image8 } from './image8.js';
import { jpegLayout, libjpegColor } from './jpeg_color.js';

/** Decoding limits against hostile files (a 100 MP cap, as jpeg-js' default). */
const MAX_PIXELS = 100_000_000;

function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
}

function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

/** A JPEG's pixels as RGB, upright per its EXIF orientation. */
export function decodeJpeg(bytes: Uint8Array, where = 'jpeg'): Image8 {
  // YCbCr images: raw components from jpeg-js, then libjpeg's upsampling and colour conversion.
  const layout = jpegLayout(bytes);
  const raw = jpegJs(bytes, where, layout?.ycc === true ? false : undefined);
  let img: Image8 = { width: raw.width, height: raw.height, channels: 3, data: raw.data };
  if (layout?.ycc === true) {
    const converted = libjpegColor(img, layout);
    if (converted !== null) img = converted;
    else img = { ...img, data: jpegJs(bytes, where, undefined).data };
  }
  return applyOrientation(img, exifOrientation(raw.exifBuffer));
}

interface JpegJsImage {
  width: number;
  height: number;
  data: Uint8Array;
  exifBuffer?: Uint8Array;
}

/** jpeg-js' decode (3 channels), colour transform as given (undefined: jpeg-js decides). */
function jpegJs(
  bytes: Uint8Array, where: string, colorTransform: boolean | undefined,
): JpegJsImage {
  let raw: JpegJsImage;
  try {
    raw = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: true,
      maxResolutionInMP: MAX_PIXELS / 1e6,
      maxMemoryUsageInMB: 1024,
      ...(colorTransform === undefined ? {} : { colorTransform }),
    });
  } catch (e) {
    throw new UserError(`${where}: cannot decode JPEG (${(e as Error).message.split('\n')[0]})`);
  }
  if (raw.width <= 0 || raw.height <= 0) throw new UserError(`${where}: empty JPEG image`);
  return raw;
}

/** A PNG's pixels as RGB (grey replicated, palette expanded, alpha dropped, 16 → 8 bit by >> 8). */
export function decodePng(bytes: Uint8Array, where = 'png'): Image8 {
  let png: {
    width: number; height: number; data: ArrayLike<number>; depth: number; colorType: number;
  };
  try {
    // skipRescale keeps 16-bit samples as they are, so we can take the high byte as libpng's
    // png_set_strip_16 (OpenCV) does, instead of pngjs' rounded rescale.
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      skipRescale: true,
    }) as unknown as typeof png;
  } catch (e) {
    throw new UserError(`${where}: cannot decode PNG (${(e as Error).message.split('\n')[0]})`);
  }
  const { width: W, height: H } = png;
  if (W <= 0 || H <= 0 || W * H > MAX_PIXELS) {
    throw new UserError(`${where}: bad PNG size ${W}×${H}`);
  }
  const shift = png.depth === 16 ? 8 : 0;
  // Sub-8-bit grey stays 0..2^d−1 with skipRescale; libpng's expand_gray_1_2_4_to_8 multiplies by
  // 255/(2^d − 1) (exactly 255, 85, 17). Palette images are already 8-bit colours.
  const mul = png.depth < 8 && png.colorType !== 3 ? 255 / (2 ** png.depth - 1) : 1;
  // pngjs always normalises to RGBA: 4 samples per pixel.
  const src = png.data;
  const out = new Uint8Array(W * H * 3);
  for (let p = 0; p < W * H; p++) {
    for (let c = 0; c < 3; c++) out[3 * p + c] = (src[4 * p + c] >> shift) * mul;
  }
  return { width: W, height: H, channels: 3, data: out };
}

/** Decodes a JPEG or PNG by its signature; anything else is a UserError naming `where`. */
export function decodeImage(bytes: Uint8Array, where = 'image'): Image8 {
  if (isJpeg(bytes)) return decodeJpeg(bytes, where);
  if (isPng(bytes)) return decodePng(bytes, where);
  throw new UserError(`${where}: not a JPEG or PNG file`);
}

/** Reads and decodes an image file (RGB, 3 channels). */
export function readImage(file: string): Image8 {
  return decodeImage(readFileOrFail(file), file);
}
