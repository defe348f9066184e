/**
 * @file Benchmark: one YOLO-X Tiny training step at 416×416, batch 8 — train-mode forward
 * (batch-stat BN), trainOutputs, the YOLO-X loss with SimOTA (no L1, the official setting
 * before the last 15 epochs) and backward to every parameter (models/loss/grad_step.ts
 * `lossAndGrad`); no optimizer update. Seed-0 weights from the fixtures' ckpt.pth.
 *
 * Synthetic data, seeded: images uniform in [0, 255); 1–12 labels per image (class uniform over
 * 80, w and h log-uniform in [12, 300] px, centres inside the image), padded to 50 rows.
 *
 * Reports the median step time, images/s and the process's peak RSS after the steps
 * (`process.resourceUsage().maxRSS`; the step is by far the largest allocation of a bench run).
 * lossAndGrad's backward recycles the tape as it goes (engine/autograd.ts `freeTape`), so from
 * the second step on activations and gradients reuse the first step's buffers.
 * Peer: none — the official PyTorch step is not runnable here (no torch on this machine).
 *
 * `--profile`: one extra step split into forward / loss / backward, each per op.
 * Run alone: node dist/bench/trainstep.js [--runs N] [--profile]   (cwd: the checkout)
 */
import { pathToFileURL } from 'node:url';
import { Rng } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';
import { getThreads } from '../engine/threads/pool.js';
import { loadYoloxCheckpoint } from '../models/checkpoint.js';
import { lossAndGrad } from '../models/loss/grad_step.js';
import { trainOutputs } from '../models/loss/train_outputs.js';
import { yoloxLoss } from '../models/loss/yolox_loss.js';
import type { YOLOX } from '../models/yolox.js';
import { fixturePath } from '../spec/fixtures.js';
import { printProfile, profileBackward, profileForward } from './profile.js';
import { printRows, row, type BenchRow } from './report.js';
import { median, peakRssMb } from './timing.js';

export interface TrainstepBenchOptions {
  /** Timed steps (median); default 3. */
  runs?: number;
  batch?: number;
  size?: number;
  profile?: boolean;
}

const MAX_LABELS = 50;

/** Seeded images [B, 3, S, S] and labels [B, 50, 5] (class, cx, cy, w, h in pixels). */
export function syntheticBatch(batch: number, size: number, seed = 0): [Tensor, Tensor] {
  const rng = new Rng(seed);
  const images = Tensor.zeros([batch, 3, size, size]);
  rng.fillUniform(images.data, 0, 255);
  const labels = Tensor.zeros([batch, MAX_LABELS, 5]);
  const lo = Math.log(12), hi = Math.log(300);
  for (let b = 0; b < batch; b++) {
    const n = 1 + rng.int(12);
    for (let j = 0; j < n; j++) {
      const w = Math.exp(rng.range(lo, hi)), h = Math.exp(rng.range(lo, hi));
      const cx = rng.range(w / 2, size - w / 2), cy = rng.range(h / 2, size - h / 2);
      labels.data.set([rng.int(80), cx, cy, w, h], (b * MAX_LABELS + j) * 5);
    }
  }
  return [images, labels];
}

/** The step split into phases, each op timed (one extra step). */
function profileStep(model: YOLOX, images: Tensor, labels: Tensor): void {
  model.train();
  for (const p of model.parameters()) p.grad = null;
  const { result, profile: fwd } = profileForward(() => model.call(images));
  const t0 = performance.now();
  const { loss } = yoloxLoss(trainOutputs(result.levels, model.head.strides), labels,
    { useL1: false });
  const lossMs = performance.now() - t0;
  const bwd = profileBackward(loss);
  const total = fwd.totalMs + lossMs + bwd.totalMs;
  console.log(`\ntrainstep phases: forward ${fwd.totalMs.toFixed(0)} ms, trainOutputs + loss ` +
    `(SimOTA) ${lossMs.toFixed(0)} ms, backward ${bwd.totalMs.toFixed(0)} ms; ` +
    `total ${total.toFixed(0)} ms`);
  printProfile('trainstep forward (train mode) per op', fwd.byOp, fwd.totalMs);
  printProfile('trainstep backward per op', bwd.byOp, bwd.totalMs);
}

export async function benchTrainstep(opts: TrainstepBenchOptions = {}): Promise<BenchRow[]> {
  const runs = Math.max(1, opts.runs ?? 3), batch = opts.batch ?? 8, size = opts.size ?? 416;
  const model = loadYoloxCheckpoint(fixturePath('yolox_tiny', 'weights', 'ckpt.pth'));
  const [images, labels] = syntheticBatch(batch, size);
  const rssBefore = peakRssMb();
  const step = () => lossAndGrad(model, images, labels, { useL1: false });
  const first = step(); // warm-up, untimed
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  const ms = median(times);
  const rss = peakRssMb();
  if (opts.profile) profileStep(model, images, labels);
  const note = `median of ${runs}, ${getThreads()} threads, ${(1000 * batch / ms).toFixed(2)} ` +
    `img/s, peak RSS ${rss.toFixed(0)} MB (${rssBefore.toFixed(0)} MB before the steps), ` +
    `loss ${first.terms.total_loss.toFixed(3)}, ${first.numFgAnchors} fg anchors`;
  return [row(`trainstep${size}.bs${batch}`, ms,
    'none (official PyTorch step not runnable here: no torch)', null, note)];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--runs');
  printRows(await benchTrainstep({
    runs: i >= 0 ? Number(args[i + 1]) : undefined, profile: args.includes('--profile'),
  }));
}
