/**
 * @file `yoloxq qat --ckpt FILE --quant DIR --data DIR --out DIR [--epochs 20] [--batch 64]
 * [--size 416] [--lr-per-img X] [--warmup 1] [--no-aug 16] [--limit N] [--threads N]`:
 * quantization-aware training after `yoloxq ptq` with Quark's recipe (quark.md §4.2): the
 * fake-quant graph of DIR/scales.json trains through the identity STE with every scale and every
 * BN statistic frozen; SGD Nesterov in YOLO-X's groups, a constant learning rate after a short
 * warm-up (Quark runs epochs 280–300 of a cosine schedule: lr ≈ 1e−4 at batch 64), EMA 0.9995
 * copied into the model at every epoch end, L1 on in the no-aug epochs (models/train).
 * Writes OUT/last.safetensors (EMA weights: `yoloxq export --ckpt OUT/last.safetensors --quant
 * OUT`), OUT/scales.json (unchanged scales), OUT/metrics.jsonl and OUT/train_state.safetensors.
 */
import * as path from 'node:path';
import type { Command } from '../cli.js';
import { numberOption, requireString } from '../cli.js';
import { UserError } from '../../engine/errors.js';
import { Tensor } from '../../engine/tensor.js';
import { CocoTrainData } from '../../eval/train/coco_data.js';
import { loadYoloxCheckpoint } from '../../models/checkpoint.js';
import { Trainer, resolveTrainConfig, runTraining } from '../../models/train/index.js';
import { loadQuantizedGraph } from '../../quant/ptq.js';
import { qatStrategy } from '../../quant/qat.js';
import { readScalesSettings, writeScales } from '../../quant/scales_file.js';
import { CKPT_OPTION, THREADS_OPTION, applyThreads, str } from './model_options.js';

export const qatCommand: Command = {
  name: 'qat',
  summary: 'quantization-aware training from a ptq result (scales and BN statistics frozen)',
  usage: '--ckpt FILE --quant DIR --data DIR --out DIR [--epochs N] [--batch B] [--size S] ...',
  options: {
    ckpt: CKPT_OPTION,
    quant: str('q', '', 'DIR  yoloxq ptq output (DIR/scales.json)'),
    data: str('d', '', 'DIR  dataset (train2017/, annotations/)'),
    out: str('o', '', 'DIR  output folder'),
    epochs: str('e', '20', 'N  epochs'),
    batch: str('b', '64', 'B  images per step'),
    size: str('z', '416', 'PX  square input side, multiple of 32'),
    'lr-per-img': str('l', String(1e-4 / 64), 'X  learning rate per image (constant)'),
    warmup: str('w', '1', 'N  warm-up epochs (≥ 1)'),
    'no-aug': str('n', '16', 'N  last epochs without mosaic, with L1'),
    limit: str('i', '0', 'N  use only the first N training images (0: all)'),
    'save-every': str('k', '100', 'K  training-state checkpoint every K steps (0: epoch ends)'),
    threads: THREADS_OPTION,
  },
  run(opts) {
    const cmd = 'qat';
    const quant = requireString(cmd, opts, 'quant');
    const data = requireString(cmd, opts, 'data');
    const out = requireString(cmd, opts, 'out');
    const int = (name: string, fallback: number, min: number) =>
      numberOption(cmd, opts, name, fallback, { integer: true, min });
    const config = resolveTrainConfig({
      epochs: int('epochs', 20, 1), batch: int('batch', 64, 1), size: int('size', 416, 32),
      lrPerImg: numberOption(cmd, opts, 'lr-per-img', 1e-4 / 64, { min: 0 }),
      warmupEpochs: int('warmup', 1, 1), noAugEpochs: int('no-aug', 16, 0),
      // Quark: constant lr (min ratio 1), EMA 0.9995 with ramp 2000, EMA → model each epoch.
      minLrRatio: 1, emaDecay: 0.9995, emaRamp: 2000, emaToModelEachEpoch: true,
    });
    const limit = int('limit', 0, 0), saveEvery = int('save-every', 100, 0);
    applyThreads(cmd, opts);
    const train = new CocoTrainData(data, { ...config, limit });
    const model = loadYoloxCheckpoint(requireString(cmd, opts, 'ckpt'));
    if (model.config.numClasses !== train.numClasses) {
      const m = model.config.numClasses, d = train.numClasses;
      throw new UserError(`qat: the checkpoint predicts ${m} classes, ${data} has ${d}`);
    }
    const example = Tensor.zeros([1, 3, config.size, config.size]);
    const graph = loadQuantizedGraph(model, quant, { example });
    const scalesFile = quant.endsWith('.json') ? quant : path.join(quant, 'scales.json');
    const settings = readScalesSettings(scalesFile);
    const trainer = new Trainer(qatStrategy(model, graph), train, config);
    console.log(`qat: ${train.dataset.length} images, ${trainer.itersPerEpoch} steps/epoch, ` +
      `${config.epochs} epochs × batch ${config.batch} at ${config.size} px, ` +
      `lr ${(config.lrPerImg * config.batch).toExponential(2)}, ` +
      `${graph.quantizers().length} quantizers`);
    runTraining(trainer, {
      outDir: out, saveEvery, evalEvery: 0,
      info: { data: path.resolve(data), quant: path.resolve(quant) },
      onEpoch: (m) => console.log(`epoch ${m.epoch}/${config.epochs}: loss ${m.loss} ` +
        `(iou ${m.iou} obj ${m.obj} cls ${m.cls} l1 ${m.l1}) ${m.imagesPerSec} img/s`),
    });
    writeScales(path.join(out, 'scales.json'), graph, settings);
    console.log(`wrote ${out}/last.safetensors, scales.json, metrics.jsonl`);
  },
};
