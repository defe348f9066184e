/**
 * @file The training data loader: epochs of batches (images [B, 3, H, W] BGR 0..255, labels
 * [B, maxLabels, 5] rows (class, cx, cy, w, h)), shuffled and augmented deterministically.
 *
 * Randomness, all from the loader seed (engine/rng.ts, never an unseeded generator):
 *   - epoch e's order: Fisher–Yates with Rng(mix(seed, e, SHUFFLE));
 *   - sample at position p of epoch e: Rng(mix(seed, e, p)) drives mosaic (drawn first:
 *     U < mosaicProb, as the official `random.random() < mosaic_prob`), then TrainTransform. A
 *     sample therefore never depends on the batch size or on the other samples;
 *   - multi-scale: batch k of epoch e uses a square size drawn from `sizes` with
 *     Rng(mix(seed, e, SCALE, ⌊k/every⌋)). Official YOLOX keeps producing data at one size and
 *     bilinearly resizes the whole batch tensor; here each batch is produced at its size directly
 *     (one resampling less).
 * maxLabels defaults to 120, the official training loader's value (mosaic on or off).
 */
import { Rng } from '../../engine/rng.js';
import { Tensor } from '../../engine/tensor.js';
import { mixSeed } from '../dataset/spec.js';
import { trainTransformInto, type TrainTransformOptions } from './augment.js';
import { mosaicSample, type DetectionSource, type MosaicOptions } from './mosaic.js';

export interface LoaderOptions {
  batchSize: number;
  /** Training size: square side, or [H, W]. */
  inputSize: number | [number, number];
  seed: number;
  maxLabels?: number;
  /** Probability of a mosaic sample (official 1.0; 0 turns mosaic off, as in the last epochs). */
  mosaicProb?: number;
  mosaic?: Partial<MosaicOptions>;
  transform?: Partial<Omit<TrainTransformOptions, 'maxLabels'>>;
  /** Drop the last incomplete batch (default true: batch statistics need full batches). */
  dropLast?: boolean;
  /** Square sizes to draw from, a new one every `every` batches. */
  multiScale?: { sizes: number[]; every: number };
}

export interface Batch {
  /** [B, 3, H, W] BGR float32 0..255. */
  images: Tensor;
  /** [B, maxLabels, 5]: (class, cx, cy, w, h) in input pixels, valid rows first. */
  labels: Tensor;
  /** Valid label rows per image. */
  counts: number[];
  /** Dataset indices of the batch (the first image of each mosaic). */
  indices: number[];
  height: number;
  width: number;
}

const SHUFFLE = 0x5f1e;
const SCALE = 0x5ca1e;

export class TrainLoader {
  private readonly o: Required<Omit<LoaderOptions, 'multiScale'>> &
    Pick<LoaderOptions, 'multiScale'>;

  constructor(
    readonly source: DetectionSource,
    options: LoaderOptions,
  ) {
    this.o = {
      maxLabels: 120,
      mosaicProb: 0,
      mosaic: {},
      transform: {},
      dropLast: true,
      ...options,
    };
    if (options.batchSize < 1) throw new Error('TrainLoader: batchSize must be ≥ 1');
  }

  /** Batches in one epoch. */
  get batchesPerEpoch(): number {
    const n = this.source.length / this.o.batchSize;
    return this.o.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** The sample order of epoch `epoch`. */
  order(epoch: number): number[] {
    const idx = Array.from({ length: this.source.length }, (_, i) => i);
    return new Rng(mixSeed(this.o.seed, epoch, SHUFFLE)).shuffle(idx);
  }

  /** [H, W] of batch k of an epoch. */
  sizeOf(epoch: number, k: number): [number, number] {
    const ms = this.o.multiScale;
    if (ms !== undefined && ms.sizes.length > 0) {
      const rng = new Rng(mixSeed(this.o.seed, epoch, SCALE, Math.floor(k / ms.every)));
      const s = ms.sizes[rng.int(ms.sizes.length)];
      return [s, s];
    }
    const s = this.o.inputSize;
    return typeof s === 'number' ? [s, s] : [s[0], s[1]];
  }

  /** Batch k of epoch `epoch`. */
  batch(epoch: number, k: number, order: number[] = this.order(epoch)): Batch {
    const { batchSize, maxLabels } = this.o;
    const start = k * batchSize;
    const positions = order.slice(start, start + batchSize).map((_, j) => start + j);
    const B = positions.length;
    const [H, W] = this.sizeOf(epoch, k);
    const images = Tensor.zeros([B, 3, H, W]);
    const labels = Tensor.zeros([B, maxLabels, 5]);
    const counts: number[] = [];
    positions.forEach((pos, b) => {
      const rng = new Rng(mixSeed(this.o.seed, epoch, pos));
      const index = order[pos];
      const mosaic = rng.uniform() < this.o.mosaicProb;
      const item = mosaic
        ? mosaicSample(this.source, index, H, W, rng, this.o.mosaic)
        : this.source.pullItem(index, H, W);
      const slot = {
        image: images.data,
        imageOffset: b * 3 * H * W,
        labels: labels.data,
        labelOffset: b * maxLabels * 5,
      };
      const transform = { ...this.o.transform, maxLabels };
      counts.push(trainTransformInto(item.image, item.targets, H, W, rng, slot, transform));
    });
    return { images, labels, counts, indices: positions.map((p) => order[p]), height: H, width: W };
  }

  /** All batches of epoch `epoch`, in order. */
  *epoch(epoch: number): Generator<Batch> {
    const order = this.order(epoch);
    for (let k = 0; k < this.batchesPerEpoch; k++) yield this.batch(epoch, k, order);
  }
}
