/**
 * @file The seed workflow (`yoloxq start`): FP32 eval → PTQ → eval → QAT → eval → freeze for the
 * NPU → ONNX QDQ export → golden int8 tensors, on one dataset and one checkpoint, every phase
 * saved as it completes (phase_cache.ts: a rerun skips the phases whose inputs are unchanged).
 *
 *   fp32    the checkpoint's FP32 COCO mAP on the first `valLimit` val images
 *   ptq     quant/ptq: calibrate on ONE batch of the first `calibImages` train images (eval
 *           letterbox at `size`), every fake-quant off, pow2 min-MSE observers; NPU activations
 *           (SiLU → x·hardsigmoid(x)); → OUT/ptq/ (scales.json, scales_npu.json, report, graph)
 *           then the fake-quant model's mAP on the same val images
 *   qat     quant/qat through models/train (Quark's recipe): scales and BN statistics frozen,
 *           identity STE, SGD Nesterov 0.9, lr 1e−4 per 64 images (linear in the batch),
 *           constant after a one-epoch warm-up, EMA 0.9995 copied into the model at every epoch
 *           end, L1 on in the last (no-mosaic) epoch; → OUT/qat/ (last.safetensors, scales.json,
 *           metrics.jsonl), then the QAT model's mAP
 *   export  quant/freeze (Quark's NPU passes) → OUT/export/model_qdq.onnx, and the integer
 *           reference (quant/integer) on the first val image → OUT/export/golden/*.npy (int8
 *           codes of every activation quantizer + manifest.json), checked equal to the
 *           fake-quant path on the output cats
 * The report (seed_report.ts) is written by the caller from the returned results.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { noGrad } from '../../engine/autograd.js';
import { UserError } from '../../engine/errors.js';
import { writeFileAtomic, writeNpy } from '../../engine/formats/files.js';
import { Tensor } from '../../engine/tensor.js';
import { loadYoloxCheckpoint } from '../../models/checkpoint.js';
import { Trainer, resolveTrainConfig, runTraining } from '../../models/train/index.js';
import type { YOLOX } from '../../models/yolox.js';
import { exportOnnx } from '../../quant/export/onnx.js';
import { freezeForNpu } from '../../quant/freeze.js';
import { runInteger } from '../../quant/integer/run.js';
import {
  loadQuantizedGraph, quantizedForward, runPtq, writePtqOutputs,
} from '../../quant/ptq.js';
import { qatStrategy } from '../../quant/qat.js';
import { readScalesSettings, writeScales } from '../../quant/scales_file.js';
import type { CocoDetection } from '../coco/index.js';
import { readCocoDataset } from '../coco/index.js';
import { readImage } from '../image/decode.js';
import { batchTensor, letterboxCocoEval } from '../preprocess.js';
import { CocoTrainData, cocoSplit } from '../train/coco_data.js';
import { fileDigest, keyOf, PhaseCache } from './phase_cache.js';
import { ValImages, type DetectorForward } from './val_forward.js';

export interface SeedOptions {
  readonly ckpt: string;
  /** COCO-format folder (train2017/, val2017/, annotations/). */
  readonly data: string;
  readonly out: string;
  /** Network input side for every phase (multiple of 32). */
  readonly size: number;
  /** Val images scored per phase (0: all). */
  readonly valLimit: number;
  /** Calibration: the first N train images, one batch. */
  readonly calibImages: number;
  readonly qatEpochs: number;
  readonly qatBatch: number;
  /** QAT trains on the first N train images (0: all). */
  readonly qatImages: number;
  /** Val images whose detections are kept for the pictures. */
  readonly drawImages: number;
}

/** What the workflow reports to its user (the CLI draws progress bars from it). */
export interface SeedUi {
  log(line: string): void;
  /** A progress bar for `total` units; returns its update and stop. */
  bar(label: string, total: number): { update(done: number, info?: string): void; stop(): void };
}

export interface PhaseScore {
  readonly ap: number;
  readonly ap50: number;
  readonly dropped: number;
  readonly seconds: number;
  /** Detections on the first `drawImages` val images (for the pictures). */
  readonly drawn: CocoDetection[];
}

export interface ExportResult {
  readonly onnx: string | null;
  readonly onnxBytes: number;
  readonly quantizers: number;
  readonly goldenDir: string | null;
  readonly goldenTensors: number;
  /** The integer path's output cats equal the fake-quant path's, bit for bit. */
  readonly integerMatchesFakeQuant: boolean | null;
  readonly seconds: number;
  readonly skippedReason: string | null;
}

export interface SeedResult {
  readonly fp32: PhaseScore;
  readonly ptq: PhaseScore;
  readonly qat: PhaseScore;
  readonly export: ExportResult;
  /** Phases reused from an earlier run. */
  readonly reused: string[];
  readonly valImages: number;
  /** The drawn val images: ids and files (the first `drawImages`). */
  readonly drawIds: number[];
  readonly drawFiles: string[];
  /** The val split's categories, by id. */
  readonly categories: { id: number; name: string }[];
  readonly qatSteps: number;
}

const PREP = { activations: { silu: 'npu', sigmoid: 'npu' } } as const;

/** The FP32 model of a checkpoint in eval mode; a missing file is a one-line UserError. */
export function loadCheckpointOrFail(file: string): YOLOX {
  if (!fs.existsSync(file)) throw new UserError(`start: checkpoint ${file} not found`);
  return loadYoloxCheckpoint(file).eval();
}

/** The first `n` train images, eval-letterboxed at `size`, as one batch [n, 3, size, size]. */
export function calibrationBatch(data: string, n: number, size: number): Tensor {
  const { imageDir, annotationFile } = cocoSplit(data, 'train');
  const images = readCocoDataset(annotationFile).images.slice(0, n);
  if (images.length === 0) throw new UserError(`start: ${annotationFile} has no images`);
  return batchTensor(images.map((im) =>
    letterboxCocoEval(readImage(path.join(imageDir, im.file_name ?? '')), size)));
}

/** Runs the whole workflow (or what is left of it after an interrupted run). */
export function runSeedWorkflow(o: SeedOptions, ui: SeedUi): SeedResult {
  const cache = new PhaseCache(o.out);
  const reused: string[] = [];
  const dir = (name: string) => path.join(o.out, name);
  const val = cocoSplit(o.data, 'val');
  const train = cocoSplit(o.data, 'train');
  const dataKey = { val: fileDigest(val.annotationFile), train: fileDigest(train.annotationFile) };
  const valSet = new ValImages(val.imageDir, val.annotationFile,
    { size: o.size, limit: o.valLimit });
  const drawIds = new Set(valSet.gt.images.slice(0, o.drawImages).map((im) => im.id));
  const score = (label: string, forward: () => DetectorForward): PhaseScore => {
    const t0 = performance.now();
    const bar = ui.bar(`eval ${label}`, valSet.length);
    const s = valSet.score(forward(), (n) => bar.update(n));
    bar.stop();
    const seconds = (performance.now() - t0) / 1000;
    return { ap: s.ap, ap50: s.ap50, dropped: s.dropped, seconds,
      drawn: s.detections.filter((d) => drawIds.has(d.image_id)) };
  };
  const phase = <T>(name: string, key: string, needs: string[], work: () => T): T => {
    const r = cache.run(name, key, needs, work);
    if (r.skipped) {
      reused.push(name);
      ui.log(`${name}: unchanged since the last run, reusing ${o.out}/phases/${name}.json`);
    }
    return r.result;
  };

  // FP32 baseline.
  const ckptKey = fileDigest(o.ckpt);
  const evalKey = { ckptKey, dataKey, size: o.size, valLimit: o.valLimit, draw: o.drawImages };
  const fp32 = phase('fp32', keyOf(evalKey), [], () => {
    const model = loadCheckpointOrFail(o.ckpt);
    const n = model.config.numClasses, m = valSet.classIds.length;
    if (n > m) {
      throw new UserError(`start: ${o.ckpt} predicts ${n} classes but ${o.data} has ${m}`);
    }
    return score('FP32', () => (x) => model.call(x).output!);
  });
  ui.log(`FP32: mAP ${fp32.ap.toFixed(4)}, mAP@.5 ${fp32.ap50.toFixed(4)}`);

  // PTQ: calibrate once, then the fake-quant model.
  const ptqDir = dir('ptq');
  const ptqKey = keyOf({ ...evalKey, calib: o.calibImages, prep: PREP });
  const ptq = phase('ptq', ptqKey, [path.join(ptqDir, 'scales.json')], () => {
    const model = loadCheckpointOrFail(o.ckpt);
    const batch = calibrationBatch(o.data, o.calibImages, o.size);
    ui.log(`ptq: calibrating on ${batch.shape[0]} train images (one batch, fake-quant off)`);
    const r = runPtq(model, [() => batch], PREP);
    writePtqOutputs(ptqDir, r, PREP);
    return score('PTQ', () => (x) => quantizedForward(model, r.graph, x, new Set())
      .get('fq.output')!);
  });
  ui.log(`PTQ: mAP ${ptq.ap.toFixed(4)}, mAP@.5 ${ptq.ap50.toFixed(4)}`);

  // QAT from the PTQ scales.
  const qatDir = dir('qat');
  const qatCfg = {
    epochs: o.qatEpochs, batch: o.qatBatch, size: o.size, lrPerImg: 1e-4 / 64,
    warmupEpochs: 1, noAugEpochs: 1, minLrRatio: 1, emaDecay: 0.9995, emaRamp: 2000,
    emaToModelEachEpoch: true,
  };
  const qatKey = keyOf({ ptqKey, qatCfg, qatImages: o.qatImages });
  let qatSteps = 0;
  const qat = phase('qat', qatKey, [path.join(qatDir, 'last.safetensors')], () => {
    const config = resolveTrainConfig(qatCfg);
    const data = new CocoTrainData(o.data, { ...config, limit: o.qatImages });
    const model = loadYoloxCheckpoint(o.ckpt);
    const ptqScales = path.join(ptqDir, 'scales.json');
    const graph = loadQuantizedGraph(model, ptqScales,
      { example: Tensor.zeros([1, 3, o.size, o.size]) });
    const trainer = new Trainer(qatStrategy(model, graph), data, config);
    qatSteps = trainer.totalIters;
    ui.log(`qat: ${Math.min(o.qatImages || Infinity, data.dataset.length)} train images, ` +
      `${config.epochs} epochs × ${trainer.itersPerEpoch} steps of ${config.batch}, ` +
      `lr ${(config.lrPerImg * config.batch).toExponential(2)}`);
    const t0 = performance.now();
    const bar = ui.bar('qat', trainer.totalIters);
    runTraining(trainer, {
      outDir: qatDir, saveEvery: 0, evalEvery: 0,
      info: { data: path.resolve(o.data), quant: path.resolve(ptqDir) },
      onStep: (r, s) => bar.update(r.step,
        `ep ${r.epoch + 1}/${config.epochs} loss ${(s.total / Math.max(s.steps, 1)).toFixed(3)}`),
    });
    bar.stop();
    writeScales(path.join(qatDir, 'scales.json'), graph, readScalesSettings(ptqScales));
    const trainSeconds = (performance.now() - t0) / 1000;
    const s = score('QAT', () => {
      // Exactly what a user gets back from the files: the EMA weights and the frozen scales.
      const m = loadCheckpointOrFail(path.join(qatDir, 'last.safetensors'));
      const g = loadQuantizedGraph(m, qatDir, { example: Tensor.zeros([1, 3, o.size, o.size]) });
      return (x) => quantizedForward(m, g, x, new Set()).get('fq.output')!;
    });
    return { ...s, seconds: s.seconds + trainSeconds, steps: trainer.totalIters };
  });
  qatSteps = qat.steps;
  ui.log(`QAT: mAP ${qat.ap.toFixed(4)}, mAP@.5 ${qat.ap50.toFixed(4)}`);

  const exp = phase('export', keyOf({ qatKey, v: 1 }), [dir('export')], () =>
    exportPhase(o, qatDir, dir('export'), valSet.files[0], ui));
  return {
    fp32, ptq, qat, export: exp, reused, valImages: valSet.length,
    drawIds: [...drawIds], drawFiles: valSet.files.slice(0, drawIds.size),
    categories: valSet.gt.categories.map((c) => ({ id: c.id, name: c.name })), qatSteps,
  };
}

/** Freeze → ONNX → golden int8 tensors of the first val image (integer reference). */
function exportPhase(
  o: SeedOptions, qatDir: string, outDir: string, image: string, ui: SeedUi,
): ExportResult {
  const t0 = performance.now();
  const model = loadCheckpointOrFail(path.join(qatDir, 'last.safetensors'));
  const inputShape = [1, 3, o.size, o.size];
  const frozen = freezeForNpu(loadQuantizedGraph(model, qatDir,
    { example: Tensor.zeros(inputShape) }));
  const bytes = exportOnnx(frozen, { strides: model.head.strides, inputShape });
  const onnx = path.join(outDir, 'model_qdq.onnx');
  writeFileAtomic(onnx, bytes);
  writeScales(path.join(outDir, 'scales_npu.json'), frozen,
    readScalesSettings(path.join(qatDir, 'scales.json')));
  ui.log(`export: ${onnx} (${(bytes.length / 2 ** 20).toFixed(1)} MiB, ` +
    `${frozen.quantizers().length} Q/DQ pairs)`);
  // Golden tensors: the integer reference's int8 codes on one letterboxed val image.
  const x = batchTensor([letterboxCocoEval(readImage(image), o.size)]);
  const codes = runInteger(frozen, x);
  const goldenDir = path.join(outDir, 'golden');
  const manifest: Record<string, { file: string; pos: number; zero_point: number;
    shape: number[] }> = {};
  writeNpy(path.join(goldenDir, 'input.npy'),
    { dtype: 'float32', shape: [...x.shape], data: x.data });
  for (const [name, c] of codes) {
    const file = `${name}.npy`;
    writeNpy(path.join(goldenDir, file),
      { dtype: 'int8', shape: [...c.shape], data: Int8Array.from(c.q) });
    manifest[name] = { file, pos: c.pos, zero_point: c.z, shape: [...c.shape] };
  }
  // The fake-quant path on the same graph must give (q − z)·2^−pos exactly at the outputs.
  const cats = model.head.strides.map((_, k) => `head.out${k}.cat`);
  const want = new Set(cats.map((c) => `fq.${c}`));
  const taps = noGrad(() => quantizedForward(model, frozen, x, want));
  let same = true;
  for (const c of cats) {
    const code = codes.get(c), fq = taps.get(`fq.${c}`);
    if (code === undefined || fq === undefined) { same = false; continue; }
    for (let i = 0; i < fq.data.length; i++) {
      if (fq.data[i] !== (code.q[i] - code.z) * 2 ** -code.pos) { same = false; break; }
    }
  }
  writeFileAtomic(path.join(goldenDir, 'manifest.json'), `${JSON.stringify({
    image: path.basename(image), size: o.size, input: 'input.npy (float32 BGR 0..255, letterboxed)',
    integer_matches_fake_quant: same, tensors: manifest,
  }, null, 1)}\n`);
  ui.log(`golden: ${codes.size} int8 tensors of ${path.basename(image)} → ${goldenDir} ` +
    `(integer = fake-quant on the outputs: ${same ? 'yes' : 'NO'})`);
  return {
    onnx, onnxBytes: bytes.length, quantizers: frozen.quantizers().length, goldenDir,
    goldenTensors: codes.size, integerMatchesFakeQuant: same,
    seconds: (performance.now() - t0) / 1000, skippedReason: null,
  };
}
