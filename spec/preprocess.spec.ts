/**
 * Eval preprocessing: image decoding (JPEG/PNG as cv2.imread gives them), OpenCV-exact bilinear
 * resize, and the official letterbox, against the eval_416 fixture (made by the official code).
 */
import { expect } from 'chai';
import { PNG } from 'pngjs';
import { readImage, decodeImage } from '../eval/image/decode.js';
import { applyOrientation, exifOrientation } from '../eval/image/exif.js';
import { encodePng } from '../eval/image/png.js';
import { upsampleChroma } from '../eval/image/jpeg_color.js';
import { resizeLinear } from '../eval/image/resize.js';
import type { Image8 } from '../eval/image/image8.js';
import { letterbox, letterboxCocoEval } from '../eval/preprocess.js';
import { UserError } from '../engine/errors.js';
import { Rng } from '../engine/rng.js';
import { fixtureF32, fixturePath } from './fixtures.js';
import * as fs from 'node:fs';

const img = (width: number, height: number, values: number[]): Image8 => ({
  width, height, channels: values.length / (width * height), data: Uint8Array.from(values),
});

describe('eval/preprocess letterbox (official preproc, legacy=False)', () => {
  it('OpenCV-decoded dog.jpg → letterbox is bit-identical to eval_416/input.npy', () => {
    // image_decoded_opencv.png is cv2.imread's decode stored losslessly: this isolates the resize,
    // paste, BGR flip and layout from the JPEG decoder. Tolerance: none (0 differing values).
    const decoded = readImage(fixturePath('yolox_tiny', 'eval_416', 'image_decoded_opencv.png'));
    expect([decoded.width, decoded.height]).to.deep.equal([768, 576]);
    const lb = letterbox(decoded, 416);
    expect(lb.ratio).to.equal(0.5416666666666666); // manifest settings.ratio (float64)
    expect([lb.resizedH, lb.resizedW]).to.deep.equal([312, 416]);
    const ref = fixtureF32('yolox_tiny', 'eval_416', 'input.npy');
    expect(lb.chw.length).to.equal(ref.length);
    let differing = 0;
    for (let i = 0; i < ref.length; i++) if (lb.chw[i] !== ref[i]) differing++;
    expect(differing).to.equal(0);
  });

  it('JPEG decode of dog.jpg vs OpenCV (libjpeg-turbo): measured max 3, mean 0.138 levels', () => {
    // jpeg-js entropy decoding + IDCT, libjpeg's fancy upsampling and fixed-point colour: only the
    // IDCT rounding differs (jpeg-js alone, nearest chroma and float colour: max 34, mean 0.908).
    // Bounds = measured values + small margin (3 → 3, 0.138 → 0.15) so a regression fails.
    const cv = readImage(fixturePath('yolox_tiny', 'eval_416', 'image_decoded_opencv.png'));
    const js = readImage(fixturePath('yolox_tiny', 'eval_416', 'dog.jpg'));
    expect([js.width, js.height, js.channels]).to.deep.equal([cv.width, cv.height, 3]);
    let max = 0, sum = 0;
    for (let i = 0; i < cv.data.length; i++) {
      const d = Math.abs(js.data[i] - cv.data[i]);
      max = Math.max(max, d);
      sum += d;
    }
    expect(max).to.be.at.most(3);
    expect(sum / cv.data.length).to.be.below(0.15);
    // After letterboxing the network input differs by at most 3, mean 0.102.
    const ref = fixtureF32('yolox_tiny', 'eval_416', 'input.npy');
    const lb = letterbox(js);
    let lmax = 0, lsum = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(lb.chw[i] - ref[i]);
      lmax = Math.max(lmax, d);
      lsum += d;
    }
    expect(lmax).to.be.at.most(3);
    expect(lsum / ref.length).to.be.below(0.11);
  });

  it('libjpeg fancy upsampling by hand: [0, 100] → [0, 25, 75, 100] (h2v1, h1v2, h2v2)', () => {
    // h2v1: c0; (3·0 + 100 + 2) >> 2; (3·100 + 0 + 1) >> 2; c1. h1v2: the same down a column
    // (biases 1, 2 alternate). h2v2 on one row: t = 4c, (4t0 + 8) >> 4, (3t0 + t1 + 7) >> 4, …
    const c = Int32Array.from([0, 100]);
    expect(Array.from(upsampleChroma(c, 2, 1, 2, 1, 4, 1))).to.deep.equal([0, 25, 75, 100]);
    expect(Array.from(upsampleChroma(c, 1, 2, 1, 2, 1, 4))).to.deep.equal([0, 25, 75, 100]);
    expect(Array.from(upsampleChroma(c, 2, 1, 2, 2, 4, 2)))
      .to.deep.equal([0, 25, 75, 100, 0, 25, 75, 100]);
    // A constant plane stays constant in every mode, odd output sizes included.
    const k = new Int32Array(6).fill(77);
    for (const [sx, sy] of [[2, 1], [1, 2], [2, 2], [4, 1]]) {
      const out = upsampleChroma(k, 3, 2, sx, sy, 3 * sx - 1, 2 * sy - 1);
      expect(out.every((v) => v === 77), `${sx}×${sy}`).to.equal(true);
    }
  });

  it('int() truncation: 46×10 at 416 → 415 wide (reference §2.1), pad 114 right/bottom', () => {
    const src = img(46, 10, new Array(46 * 10 * 3).fill(7));
    const lb = letterbox(src, 416);
    expect(lb.resizedW).to.equal(415);
    expect(lb.resizedH).to.equal(Math.trunc(10 * (416 / 46)));
    const plane = 416 * 416;
    expect(lb.chw[0]).to.equal(7);
    expect(lb.chw[414]).to.equal(7);
    expect(lb.chw[415]).to.equal(114); // last column is padding
    expect(lb.chw[2 * plane + 415 * 416]).to.equal(114); // bottom rows padding
  });

  it('COCO-eval path (resize, then letterbox): dog identical; 46×10 re-stretched to 416', () => {
    // reference §2.1 "COCO evaluation path detail": load_resized_img then ValTransform. For dog
    // the second resize is the identity (fixture setting coco_eval_path_input_identical); for a
    // 46-wide image the first resize truncates to 415 and the second upsamples by 416/415.
    const decoded = readImage(fixturePath('yolox_tiny', 'eval_416', 'image_decoded_opencv.png'));
    const ref = fixtureF32('yolox_tiny', 'eval_416', 'input.npy');
    const lb = letterboxCocoEval(decoded, 416);
    expect(lb.ratio).to.equal(0.5416666666666666);
    expect(lb.chw.every((v, i) => v === ref[i])).to.equal(true);
    const thin = letterboxCocoEval(img(46, 10, new Array(46 * 10 * 3).fill(9)), 416);
    expect([thin.resizedW, thin.resizedH]).to.deep.equal([416, 90]);
    expect(thin.ratio).to.equal(416 / 46);
  });

  it('BGR order: an RGB pixel (10, 20, 30) becomes channels (30, 20, 10)', () => {
    const lb = letterbox(img(1, 1, [10, 20, 30]), 32);
    const p = 32 * 32;
    expect([lb.chw[0], lb.chw[p], lb.chw[2 * p]]).to.deep.equal([30, 20, 10]);
  });
});

describe('eval/image/resize (OpenCV INTER_LINEAR fixed point)', () => {
  it('hand-computed 2×1 → 4×1: [0, 255] → [0, 64, 191, 255]', () => {
    // x=1: fx=0.25, weights 1536/512: T=130560, ((T>>4)·2048>>16)=255, (255+2)>>2 = 64, etc.
    const out = resizeLinear(img(2, 1, [0, 255]), 4, 1);
    expect(Array.from(out.data)).to.deep.equal([0, 64, 191, 255]);
  });

  it('equal size copies; exact 2× shrink is a rounded 2×2 mean (OpenCV INTER_AREA switch)', () => {
    const a = img(2, 2, [1, 2, 3, 5]);
    expect(Array.from(resizeLinear(a, 2, 2).data)).to.deep.equal([1, 2, 3, 5]);
    expect(Array.from(resizeLinear(a, 1, 1).data)).to.deep.equal([(1 + 2 + 3 + 5 + 2) >> 2]);
  });

  it('random 37×23×3 → 50×17 and 19×40 within 1 level of a float64 bilinear oracle', () => {
    // Fixed-point weights (1/2048) and truncating shifts make ±1 differences; >1 would be a bug.
    const rng = new Rng(5);
    const W = 37, H = 23;
    const src = img(W, H, Array.from({ length: W * H * 3 }, () => rng.int(256)));
    for (const [w, h] of [[50, 17], [19, 40]]) {
      const out = resizeLinear(src, w, h);
      const coord = (d: number, n: number, m: number): [number, number] => {
        const f = (d + 0.5) * (n / m) - 0.5;
        const s = Math.min(Math.max(Math.floor(f), 0), n - 1);
        const t = f < 0 || s >= n - 1 ? 0 : f - s;
        return [s, t];
      };
      for (let y = 0; y < h; y++) {
        const [sy, ty] = coord(y, H, h);
        for (let x = 0; x < w; x++) {
          const [sx, tx] = coord(x, W, w);
          for (let c = 0; c < 3; c++) {
            const p = (yy: number, xx: number) =>
              src.data[(Math.min(yy, H - 1) * W + Math.min(xx, W - 1)) * 3 + c];
            const v = (1 - ty) * ((1 - tx) * p(sy, sx) + tx * p(sy, sx + 1)) +
              ty * ((1 - tx) * p(sy + 1, sx) + tx * p(sy + 1, sx + 1));
            expect(Math.abs(out.data[(y * w + x) * 3 + c] - v)).to.be.at.most(1);
          }
        }
      }
    }
  });
});

describe('eval/image decoding', () => {
  it('RGBA PNG (images/demo.png): alpha dropped, RGB kept (cv2.imread IMREAD_COLOR)', () => {
    const file = fixturePath('images', 'demo.png');
    const raw = PNG.sync.read(fs.readFileSync(file));
    const dec = readImage(file);
    expect([dec.width, dec.height, dec.channels]).to.deep.equal([raw.width, raw.height, 3]);
    for (let p = 0; p < raw.width * raw.height; p += 997) {
      for (let c = 0; c < 3; c++) expect(dec.data[3 * p + c]).to.equal(raw.data[4 * p + c]);
    }
  });

  it('grey PNG → 3 equal channels; encodePng round-trips RGB exactly', () => {
    const g = new PNG({ width: 3, height: 2, colorType: 0 });
    [0, 50, 100, 150, 200, 255].forEach((v, p) => g.data.set([v, v, v, 255], 4 * p));
    const dec = decodeImage(new Uint8Array(PNG.sync.write(g, { colorType: 0 })));
    const grey = [0, 50, 100, 150, 200, 255];
    expect(Array.from(dec.data)).to.deep.equal(grey.flatMap((v) => [v, v, v]));
    const rgb = img(2, 2, [1, 2, 3, 4, 5, 6, 7, 8, 9, 250, 251, 252]);
    expect(Array.from(decodeImage(encodePng(rgb)).data)).to.deep.equal(Array.from(rgb.data));
  });

  it('EXIF orientation 6 (rotate 90° clockwise) is read and applied like OpenCV', () => {
    const exif = Uint8Array.from([
      0x45, 0x78, 0x69, 0x66, 0, 0, // "Exif\0\0"
      0x49, 0x49, 42, 0, 8, 0, 0, 0, // little-endian TIFF, IFD0 at 8
      1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, // 1 entry: Orientation SHORT = 6
    ]);
    expect(exifOrientation(exif)).to.equal(6);
    expect(exifOrientation(undefined)).to.equal(1);
    // 3×2 grey-ish image a b c / d e f → rotated clockwise: 2×3 d a / e b / f c.
    const src = img(3, 2, [1, 2, 3, 4, 5, 6]);
    const r = applyOrientation(src, 6);
    expect([r.width, r.height]).to.deep.equal([2, 3]);
    expect(Array.from(r.data)).to.deep.equal([4, 1, 5, 2, 6, 3]);
    expect(Array.from(applyOrientation(src, 3).data)).to.deep.equal([6, 5, 4, 3, 2, 1]);
  });

  it('garbage and truncated files are one-line UserErrors', () => {
    expect(() => decodeImage(Uint8Array.from([1, 2, 3, 4]), 'x.bin')).to.throw(UserError, /x.bin/);
    const jpg = fs.readFileSync(fixturePath('yolox_tiny', 'eval_416', 'dog.jpg'));
    const png = fs.readFileSync(fixturePath('images', 'demo.png'));
    expect(() => decodeImage(png.subarray(0, 200), 'cut.png')).to.throw(UserError, /cut.png/);
    // jpeg-js is tolerant of truncated scans; a cut header must still fail cleanly.
    expect(() => decodeImage(jpg.subarray(0, 40), 'cut.jpg')).to.throw(UserError, /cut.jpg/);
  });
});
