/**
 * Tests of the training data pipeline: HSV (hsv.ts), TrainTransform/preproc (augment.ts), mosaic
 * and affine (mosaic.ts) and the loader (loader.ts). Oracles: pixels located in the output images,
 * closed-form colour conversions, hand-computed letterbox ratios.
 */
import { expect } from 'chai';
import { Rng } from '../engine/rng.js';
import { applyHsvOffsets, drawHsvOffsets, hsv8ToRgb, rgbToHsv8 } from '../eval/data/hsv.js';
import { flipHorizontal, newImage8, type Image8 } from '../eval/data/image.js';
import { mirrorTargets, preproc, trainTransform, type TargetRow } from '../eval/data/augment.js';
import {
  affineTargets,
  mosaicSample,
  warpAffine,
  type DetectionSource,
} from '../eval/data/mosaic.js';
import { TrainLoader } from '../eval/data/loader.js';

/** An RGB image of `bg` with the rectangle [x1, x2) × [y1, y2) painted `fg`. */
function rectImage(W: number, H: number, box: number[], fg: number[], bg = [20, 20, 20]): Image8 {
  const img = newImage8(W, H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const inside = x >= box[0] && x < box[2] && y >= box[1] && y < box[3];
      img.data.set(inside ? fg : bg, (y * W + x) * 3);
    }
  }
  return img;
}

/** Extent [x1, y1, x2, y2) of pixels whose channel-0 value exceeds `thr` in one CHW plane. */
function extentInPlane(
  chw: Float32Array,
  W: number,
  H: number,
  plane: number,
  thr: number,
): number[] {
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (chw[plane * W * H + y * W + x] > thr) {
        x1 = Math.min(x1, x);
        y1 = Math.min(y1, y);
        x2 = Math.max(x2, x + 1);
        y2 = Math.max(y2, y + 1);
      }
    }
  }
  return [x1, y1, x2, y2];
}

describe('augment: HSV', () => {
  it('8-bit HSV of primary colours and greys (OpenCV ranges: H in [0, 180))', () => {
    const hsv = new Int32Array(3);
    const cases: [number[], number[]][] = [
      [[255, 0, 0], [0, 255, 255]],
      [[0, 255, 0], [60, 255, 255]],
      [[0, 0, 255], [120, 255, 255]],
      [[255, 255, 0], [30, 255, 255]],
      [[128, 128, 128], [0, 0, 128]],
    ];
    for (const [rgb, want] of cases) {
      rgbToHsv8(rgb[0], rgb[1], rgb[2], hsv);
      expect([...hsv]).to.deep.equal(want);
    }
    const rgb = new Int32Array(3);
    hsv8ToRgb(30, 255, 255, rgb); // red hue shifted by 60°: yellow
    expect([...rgb]).to.deep.equal([255, 255, 0]);
    hsv8ToRgb(90, 255, 255, rgb);
    expect([...rgb]).to.deep.equal([0, 255, 255]);
  });

  it('zero offsets nearly round-trip; shape, range kept; V offset moves max(R,G,B)', () => {
    const hsv = new Int32Array(3);
    const back = new Int32Array(3);
    let maxDiff = 0;
    // Every third level of each channel (636k colours). 8-bit H has 2° steps, so the middle
    // channel can move by V·S·1°/60° ≤ 4.25, plus ½ each from S's and the output's rounding:
    // bound 5 (reached: the exhaustive maximum over all 2^24 colours is 5).
    for (let r = 0; r < 256; r += 3) {
      for (let g = 0; g < 256; g += 3) {
        for (let b = 0; b < 256; b += 3) {
          rgbToHsv8(r, g, b, hsv);
          hsv8ToRgb(hsv[0], hsv[1], hsv[2], back);
          const d = Math.max(Math.abs(back[0] - r), Math.abs(back[1] - g), Math.abs(back[2] - b));
          maxDiff = Math.max(maxDiff, d);
        }
      }
    }
    expect(maxDiff).to.be.at.most(5);
    const rng = new Rng(3);
    const img = newImage8(40, 30);
    for (let i = 0; i < img.data.length; i++) img.data[i] = rng.int(256);
    const same = applyHsvOffsets(img, [0, 0, 0]);
    expect([same.width, same.height, same.channels]).to.deep.equal([40, 30, 3]);
    const brighter = applyHsvOffsets(img, [0, 0, 30]);
    for (let p = 0; p < img.data.length; p += 3) {
      const v0 = Math.max(img.data[p], img.data[p + 1], img.data[p + 2]);
      const v1 = Math.max(brighter.data[p], brighter.data[p + 1], brighter.data[p + 2]);
      // V = max channel, ±1 for rounding.
      expect(Math.abs(v1 - Math.min(255, v0 + 30))).to.be.at.most(1);
    }
  });

  it('offsets: within ±(5, 30, 30), integers, each zero about half the time', () => {
    const rng = new Rng(11);
    let zeros = 0;
    for (let i = 0; i < 2000; i++) {
      const [dh, ds, dv] = drawHsvOffsets(rng);
      expect(Math.abs(dh)).to.be.at.most(5);
      expect(Math.abs(ds)).to.be.at.most(30);
      expect(Math.abs(dv)).to.be.at.most(30);
      expect(Number.isInteger(dh) && Number.isInteger(ds) && Number.isInteger(dv)).to.equal(true);
      if (ds === 0) zeros++;
    }
    // P(ds = 0) = ½ + ½·P(|u·30| < 1) = ½ + 1/60 ≈ 0.517; 2000 draws: σ ≈ 0.011; ±4σ.
    expect(zeros / 2000).to.be.within(0.517 - 0.045, 0.517 + 0.045);
  });
});

describe('augment: flip and letterbox', () => {
  it('flip: the mirrored box is where the pixels went', () => {
    const box = [7, 5, 19, 12];
    const img = rectImage(50, 20, box, [250, 250, 250]);
    const flipped = flipHorizontal(img);
    const { chw } = preproc(flipped, 20, 50); // r = 1: the letterbox is a plain copy
    const seen = extentInPlane(chw, 50, 20, 0, 128);
    const [m] = mirrorTargets([[7, 5, 19, 12, 3]], 50);
    expect(seen).to.deep.equal([31, 5, 43, 12]);
    expect(m).to.deep.equal([31, 5, 43, 12, 3]);
  });

  it('letterbox: r = min(H/h, W/w), top-left paste, 114 padding, BGR planes', () => {
    const img = rectImage(200, 100, [0, 0, 200, 100], [255, 0, 0]); // pure red
    const { chw, r } = preproc(img, 128, 128);
    expect(r).to.equal(0.64);
    const plane = 128 * 128;
    // Content rows [0, 64), padding rows [64, 128).
    expect(chw[0]).to.equal(0); // B
    expect(chw[2 * plane]).to.equal(255); // R
    expect(chw[63 * 128 + 127]).to.equal(0);
    for (const p of [0, 1, 2]) expect(chw[p * plane + 64 * 128 + 5]).to.equal(114);
  });

  it('TrainTransform labels: (class, cx, cy, w, h)·r, flipped when drawn, zero padding', () => {
    const img = rectImage(200, 100, [40, 20, 90, 60], [200, 60, 60]);
    const targets: TargetRow[] = [[40, 20, 90, 60, 2], [150, 10, 151.2, 90, 5]]; // 2nd: 1.2 px wide
    const r = 0.64;
    const noFlip = trainTransform(img, targets, 128, 128, new Rng(1), { flipProb: 0, hsvProb: 0 });
    const flip = trainTransform(img, targets, 128, 128, new Rng(1), { flipProb: 1, hsvProb: 0 });
    const close = (a: Float32Array, b: number[]): void =>
      b.forEach((v, i) => expect(a[i]).to.be.closeTo(v, 1e-4)); // float32 storage of ~100
    // 1.2·0.64 = 0.77 ≤ 1 px: the thin box is dropped (official min(w, h) > 1 rule).
    expect(noFlip.count).to.equal(1);
    close(noFlip.labels, [2, 65 * r, 40 * r, 50 * r, 40 * r, 0, 0, 0, 0, 0]);
    expect(noFlip.labels.length).to.equal(50 * 5);
    close(flip.labels, [2, (200 - 65) * r, 40 * r, 50 * r, 40 * r]);
    // The labelled box matches the painted pixels in the R plane (resampling blurs ≤ 1 px).
    const seen = extentInPlane(flip.image, 128, 128, 2, 130);
    const want = [(200 - 90) * r, 20 * r, (200 - 40) * r, 60 * r];
    seen.forEach((v, i) => expect(Math.abs(v - want[i])).to.be.at.most(1));
  });

  it('when every box is filtered out, falls back to the original image and boxes', () => {
    const img = rectImage(100, 100, [0, 0, 1, 1], [255, 255, 255]);
    const out = trainTransform(img, [[10, 10, 11, 11, 4]], 64, 64, new Rng(2), { flipProb: 1 });
    expect(out.count).to.equal(1);
    // Unflipped: cx = 10.5·0.64.
    expect(out.labels[1]).to.be.closeTo(10.5 * 0.64, 1e-5);
    const plain = preproc(img, 64, 64).chw;
    expect(Buffer.from(out.image.buffer).equals(Buffer.from(plain.buffer))).to.equal(true);
  });

  it('is deterministic for a seed and varies across seeds', () => {
    const img = rectImage(120, 90, [10, 10, 70, 60], [30, 200, 90], [90, 40, 160]);
    const t: TargetRow[] = [[10, 10, 70, 60, 1]];
    const outs = [5, 5, 6, 7, 8, 9].map((s) => trainTransform(img, t, 96, 96, new Rng(s)));
    expect(outs[0].image).to.deep.equal(outs[1].image);
    const distinct = new Set(outs.map((o) => Buffer.from(o.image.buffer).toString('base64')));
    expect(distinct.size).to.be.at.least(4);
  });
});

/** Four solid-colour images, each with one box covering it entirely. */
const COLORS = [[250, 10, 10], [10, 250, 10], [10, 10, 250], [250, 250, 10]];
const SOURCE: DetectionSource = {
  length: 4,
  pullItem(i: number, H: number, W: number) {
    const img = rectImage(W, H, [0, 0, W, H], COLORS[i]);
    return { image: img, targets: [[0, 0, W, H, i]] };
  },
};

describe('augment: mosaic and affine', () => {
  it('warpAffine: identity copies; an integer shift moves pixels and fills 114', () => {
    const img = rectImage(16, 12, [3, 2, 9, 7], [200, 100, 50]);
    expect(warpAffine(img, [1, 0, 0, 0, 1, 0], 16, 12).data).to.deep.equal(img.data);
    const moved = warpAffine(img, [1, 0, 3, 0, 1, 0], 16, 12);
    expect([...moved.data.subarray(0, 3)]).to.deep.equal([114, 114, 114]);
    const at = (im: Image8, x: number, y: number): number[] =>
      [...im.data.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3)];
    expect(at(moved, 6, 2)).to.deep.equal(at(img, 3, 2));
    const shifted = affineTargets([[3, 2, 9, 7, 0]], [1, 0, 3, 0, 1, 0], 16, 12);
    expect(shifted).to.deep.equal([[6, 2, 12, 7, 0]]);
  });

  it('warpAffine: a half-pixel shift averages neighbours (ties to even), 114 past the edge', () => {
    const src = newImage8(5, 1);
    src.data.set([10, 0, 0, 21, 0, 0, 40, 0, 0, 41, 0, 0, 200, 0, 0]);
    // dst(x) = src(x − 0.5) = ½·src[x − 1] + ½·src[x]; src[−1] is the border 114.
    const out = warpAffine(src, [1, 0, 0.5, 0, 1, 0], 5, 1);
    const red = [0, 1, 2, 3, 4].map((x) => out.data[3 * x]);
    // (114+10)/2 = 62; 15.5 → 16, 30.5 → 30, 40.5 → 40, 120.5 → 120 (half to even).
    expect(red).to.deep.equal([62, 16, 30, 40, 120]);
  });

  it('mosaic without affine jitter: every box holds the colour of its own image', () => {
    const opts = { degrees: 0, translate: 0, scale: [1, 1] as [number, number], shear: 0 };
    for (let seed = 0; seed < 10; seed++) {
      const { image, targets } = mosaicSample(SOURCE, seed % 4, 64, 64, new Rng(seed), opts);
      expect([image.width, image.height]).to.deep.equal([64, 64]);
      for (const [x1, y1, x2, y2, c] of targets) {
        expect(x1 >= 0 && y1 >= 0 && x2 <= 64 && y2 <= 64).to.equal(true);
        if (x2 - x1 < 2 || y2 - y1 < 2) continue;
        const x = Math.floor((x1 + x2) / 2);
        const y = Math.floor((y1 + y2) / 2);
        const p = (y * 64 + x) * 3;
        expect([...image.data.subarray(p, p + 3)]).to.deep.equal(COLORS[c]);
      }
    }
  });

  it('mosaic with the official jitter keeps boxes inside the output', () => {
    for (let seed = 0; seed < 10; seed++) {
      const { targets } = mosaicSample(SOURCE, 0, 64, 64, new Rng(seed));
      for (const [x1, y1, x2, y2] of targets) {
        expect(x1 >= 0 && y1 >= 0 && x1 <= x2 && y1 <= y2 && x2 <= 64 && y2 <= 64).to.equal(true);
      }
    }
  });
});

describe('loader', () => {
  const base = { batchSize: 3, inputSize: 64, seed: 42 };

  it('batches have the documented shapes; an epoch visits a permutation', () => {
    const loader = new TrainLoader(SOURCE, { ...base, dropLast: false });
    const batches = [...loader.epoch(0)];
    expect(batches.map((b) => b.images.shape)).to.deep.equal([[3, 3, 64, 64], [1, 3, 64, 64]]);
    expect(batches[0].labels.shape).to.deep.equal([3, 120, 5]);
    expect(batches.flatMap((b) => b.indices).sort()).to.deep.equal([0, 1, 2, 3]);
    expect(new TrainLoader(SOURCE, base).batchesPerEpoch).to.equal(1);
    // One full-image box per image: class = source index, w = h = 64 (no mosaic).
    batches.forEach((b) => b.indices.forEach((idx, j) => {
      expect(b.counts[j]).to.equal(1);
      const row = [...b.labels.data.subarray(j * 600, j * 600 + 5)];
      expect(row).to.deep.equal([idx, 32, 32, 64, 64]);
    }));
  });

  it('is deterministic; a sample does not depend on the batch size; epochs reshuffle', () => {
    const a = new TrainLoader(SOURCE, { ...base, mosaicProb: 1, batchSize: 4 }).batch(1, 0);
    const b = new TrainLoader(SOURCE, { ...base, mosaicProb: 1, batchSize: 4 }).batch(1, 0);
    const c = new TrainLoader(SOURCE, { ...base, mosaicProb: 1, batchSize: 2 }).batch(1, 1);
    expect(a.images.data).to.deep.equal(b.images.data);
    expect(a.labels.data).to.deep.equal(b.labels.data);
    const per = 3 * 64 * 64;
    expect(a.images.data.subarray(2 * per, 4 * per)).to.deep.equal(c.images.data);
    const loader = new TrainLoader(SOURCE, base);
    const orders = [0, 1, 2, 3, 4].map((e) => loader.order(e).join());
    expect(new Set(orders).size).to.be.greaterThan(1);
  });

  it('multi-scale: a new size from the list every `every` batches', () => {
    const multiScale = { sizes: [32, 64, 96], every: 2 };
    const loader = new TrainLoader(SOURCE, { ...base, batchSize: 1, multiScale });
    const sizes = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => loader.sizeOf(0, k)[0]);
    for (let k = 0; k < 8; k += 2) expect(sizes[k]).to.equal(sizes[k + 1]);
    expect(sizes.every((s) => [32, 64, 96].includes(s))).to.equal(true);
    const b = loader.batch(0, 0);
    expect(b.images.shape).to.deep.equal([1, 3, sizes[0], sizes[0]]);
  });
});
