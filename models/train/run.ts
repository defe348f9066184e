/**
 * @file A whole training run around `Trainer`: epochs of steps, checkpoints, evaluation of the EMA
 * weights, per-epoch metrics, and resuming.
 *
 * Files in `outDir` (all written atomically):
 *   train_state.safetensors   the resume point (state.ts): after every `saveEvery` steps and at
 *                             each epoch end, so a kill loses at most `saveEvery` steps
 *   last.safetensors          the EMA model after the latest finished epoch (official keys)
 *   best.safetensors          the EMA model of the epoch with the best val AP@[.5:.95]
 *   metrics.jsonl             one JSON line per finished epoch (rewritten whole from the run
 *                             record each time, so a resumed run never duplicates a line)
 * At an epoch end the order is: EMA → model (if configured), evaluation, metrics, last/best,
 * then the training state last of all — the commit point of the epoch.
 */
import * as path from 'node:path';
import { writeFileAtomic } from '../../engine/formats/files.js';
import { loadTrainState, saveEmaModel, saveTrainState } from './state.js';
import type { StepResult, Trainer } from './trainer.js';

export const TRAIN_STATE_FILE = 'train_state.safetensors';
export const LAST_FILE = 'last.safetensors';
export const BEST_FILE = 'best.safetensors';
export const METRICS_FILE = 'metrics.jsonl';

/** Validation result of the EMA weights. */
export interface EvalResult {
  /** COCO AP@[.5:.95]. */
  readonly ap: number;
  readonly ap50: number;
}

/** Loss sums of the current epoch so far (kept in checkpoints for exact epoch means). */
export interface EpochSums {
  steps: number;
  images: number;
  seconds: number;
  total: number;
  iou: number;
  obj: number;
  cls: number;
  l1: number;
}

export interface EpochMetrics {
  readonly epoch: number;
  readonly step: number;
  readonly lr: number;
  readonly loss: number;
  readonly iou: number;
  readonly obj: number;
  readonly cls: number;
  readonly l1: number;
  readonly imagesPerSec: number;
  readonly ap: number | null;
  readonly ap50: number | null;
}

/** What a run remembers between invocations (the `run` record of the training state). */
export interface RunRecord {
  metrics: EpochMetrics[];
  bestAp: number;
  bestEpoch: number;
  sums: EpochSums;
  /** The caller's description of the run (e.g. the dataset and image limit of the CLI). */
  info: Record<string, string>;
}

export interface RunOptions {
  readonly outDir: string;
  /** Training-state checkpoint every this many steps (0: only at epoch ends). */
  readonly saveEvery: number;
  /** Evaluate every this many epochs and after the last (0: only after the last). */
  readonly evalEvery: number;
  readonly evaluate?: (ema: ReadonlyMap<string, Float32Array>, epoch: number) => EvalResult;
  /** Continue from this training-state file. */
  readonly resume?: string;
  /** Stop (after checkpointing) once this many steps ran in this call: a clean interruption. */
  readonly maxSteps?: number;
  readonly onStep?: (r: StepResult, sums: EpochSums, elapsed: number) => void;
  readonly onEpoch?: (m: EpochMetrics) => void;
  /** Wall clock in seconds (only for images/s). */
  readonly clock?: () => number;
  /** Stored in the run record on a fresh start (a resumed run keeps the saved one). */
  readonly info?: Record<string, string>;
}

const zeroSums = (): EpochSums =>
  ({ steps: 0, images: 0, seconds: 0, total: 0, iou: 0, obj: 0, cls: 0, l1: 0 });

/** Rounds for the metrics file (keeps lines short; the checkpoint keeps full precision). */
const r6 = (x: number): number => Number(x.toPrecision(6));

/** Runs (or continues) training to the end of the schedule; returns the run record. */
export function runTraining(trainer: Trainer, opts: RunOptions): RunRecord {
  const clock = opts.clock ?? (() => performance.now() / 1000);
  const file = (name: string) => path.join(opts.outDir, name);
  const rec: RunRecord = opts.resume !== undefined
    ? loadTrainState<RunRecord>(trainer, opts.resume)
    : { metrics: [], bestAp: -1, bestEpoch: -1, sums: zeroSums(), info: { ...opts.info } };
  const cfgMeta = { config: JSON.stringify(trainer.config), ...rec.info };
  let ran = 0;
  let t = clock();
  while (!trainer.done) {
    if (opts.maxSteps !== undefined && ran >= opts.maxSteps) {
      saveTrainState(trainer, file(TRAIN_STATE_FILE), rec);
      break;
    }
    const res = trainer.step();
    ran++;
    const now = clock();
    const s = rec.sums, lt = res.terms;
    s.steps++; s.images += res.images; s.seconds += now - t;
    s.total += lt.total_loss; s.iou += lt.iou_loss; s.obj += lt.conf_loss;
    s.cls += lt.cls_loss; s.l1 += lt.l1_loss;
    t = now;
    opts.onStep?.(res, s, now);
    const epochEnd = trainer.iter % trainer.itersPerEpoch === 0;
    if (epochEnd) {
      finishEpoch(trainer, rec, res, opts, file, cfgMeta);
      t = clock();
    } else if (opts.saveEvery > 0 && trainer.iter % opts.saveEvery === 0) {
      saveTrainState(trainer, file(TRAIN_STATE_FILE), rec);
    }
  }
  return rec;
}

function finishEpoch(
  trainer: Trainer, rec: RunRecord, last: StepResult, opts: RunOptions,
  file: (name: string) => string, meta: Record<string, string>,
): void {
  const e = last.epoch;
  if (trainer.config.emaToModelEachEpoch) trainer.emaToModel();
  const final = trainer.done;
  const due = opts.evalEvery > 0 && (e + 1) % opts.evalEvery === 0;
  const ev = opts.evaluate !== undefined && (due || final)
    ? opts.evaluate(trainer.ema.state, e) : null;
  const s = rec.sums, n = Math.max(s.steps, 1);
  const m: EpochMetrics = {
    epoch: e + 1, step: trainer.iter, lr: r6(last.lr),
    loss: r6(s.total / n), iou: r6(s.iou / n), obj: r6(s.obj / n), cls: r6(s.cls / n),
    l1: r6(s.l1 / n), imagesPerSec: r6(s.images / Math.max(s.seconds, 1e-9)),
    ap: ev === null ? null : ev.ap, ap50: ev === null ? null : ev.ap50,
  };
  rec.metrics.push(m);
  rec.sums = zeroSums();
  const epochMeta = { ...meta, epoch: String(e + 1), step: String(trainer.iter) };
  saveEmaModel(trainer, file(LAST_FILE), epochMeta);
  if (ev !== null && ev.ap > rec.bestAp) {
    rec.bestAp = ev.ap;
    rec.bestEpoch = e + 1;
    saveEmaModel(trainer, file(BEST_FILE), { ...epochMeta, ap: String(ev.ap) });
  }
  writeFileAtomic(file(METRICS_FILE), rec.metrics.map((x) => JSON.stringify(x) + '\n').join(''));
  saveTrainState(trainer, file(TRAIN_STATE_FILE), rec);
  opts.onEpoch?.(m);
}
