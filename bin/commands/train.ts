/**
 * @file `yoloxq train --data DIR --out DIR [--epochs N] [--batch B] [--size S] [--seed S]
 * [--lr-per-img X] [--warmup N] [--no-aug N] [--eval-every K] [--save-every K] [--limit N]
 * [--init CKPT] [--resume FILE] [--threads N]`: trains YOLO-X Tiny on a COCO-format folder
 * (models/train/), from scratch or, with --init, from a checkpoint's weights (fine-tuning),
 * evaluating the EMA weights on DIR's val split.
 *
 * Writes OUT/train_state.safetensors (resume point, every --save-every steps and at each epoch
 * end), OUT/last.safetensors and OUT/best.safetensors (EMA models, loadable by eval/detect) and
 * OUT/metrics.jsonl. `--resume FILE` continues bit-identically; schedule flags default to the
 * saved ones there, and a flag given with a different value is refused.
 */
import * as path from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from '../cli.js';
import { numberOption, requireString } from '../cli.js';
import { UserError } from '../../engine/errors.js';
import { CocoTrainData, cocoSplit } from '../../eval/train/coco_data.js';
import { CocoValSet } from '../../eval/train/val_map.js';
import {
  TRAIN_DEFAULTS as D, TRAIN_STATE_FILE, Trainer, fp32Strategy, readTrainStateMeta,
  resolveTrainConfig, runTraining, type EpochMetrics, type RunRecord, type TrainConfig,
} from '../../models/train/index.js';
import { loadYoloxCheckpoint } from '../../models/checkpoint.js';
import { YOLOX } from '../../models/yolox.js';
import { THREADS_OPTION, applyThreads, str } from './model_options.js';

/** Schedule flags: CLI name → config field, integer or not. */
const FLAGS: readonly [string, keyof TrainConfig, boolean][] = [
  ['epochs', 'epochs', true], ['batch', 'batch', true], ['size', 'size', true],
  ['seed', 'seed', true], ['lr-per-img', 'lrPerImg', false], ['warmup', 'warmupEpochs', true],
  ['no-aug', 'noAugEpochs', true], ['mosaic', 'mosaicProb', false],
];

/** The run description kept in the training state (what a resume must use again). */
interface CliInfo {
  data: string;
  limit: string;
  /** The --init checkpoint ('' from scratch); a record only: a resume reads the saved state. */
  init: string;
}

/** The config from the flags given; on resume the saved one, refusing contradicting flags. */
function configFrom(opts: Record<string, unknown>, resume: string | null): TrainConfig {
  const given: Partial<Record<keyof TrainConfig, number>> = {};
  const asConfig = (g: typeof given) => g as Partial<TrainConfig>;
  for (const [flag, field, integer] of FLAGS) {
    if (opts[flag] === undefined || opts[flag] === '') continue;
    given[field] = numberOption('train', opts, flag, 0, { integer, min: 0 });
  }
  if (resume === null) return resolveTrainConfig(asConfig(given));
  const saved = readTrainStateMeta<RunRecord>(resume).config;
  for (const [flag, field] of FLAGS) {
    const v = given[field];
    if (v !== undefined && v !== saved[field]) {
      throw new UserError(`train: --${flag} ${v} contradicts ${resume} (saved ${saved[field]})`);
    }
  }
  return resolveTrainConfig(saved);
}

const fmt = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : String(x));

function epochLine(m: EpochMetrics, epochs: number): string {
  const ap = m.ap === null ? '' : ` | val AP ${fmt(m.ap)} AP50 ${fmt(m.ap50 ?? 0)}`;
  return `epoch ${m.epoch}/${epochs}: loss ${fmt(m.loss)} (iou ${fmt(m.iou)} obj ${fmt(m.obj)} ` +
    `cls ${fmt(m.cls)} l1 ${fmt(m.l1)}) lr ${m.lr.toExponential(2)} ` +
    `${fmt(m.imagesPerSec, 1)} img/s${ap}`;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train YOLO-X Tiny from scratch on a COCO-format folder (EMA, checkpoints, resume)',
  usage: '--data DIR --out DIR [--epochs N] [--batch B] [--size S] [--resume FILE] ...',
  options: {
    data: str('d', '', 'DIR  dataset (train2017/, val2017/, annotations/); saved on resume'),
    out: str('o', '', 'DIR  output folder (default: the folder of --resume)'),
    epochs: str('e', '', `N  epochs (default ${D.epochs})`),
    batch: str('b', '', `B  images per step (default ${D.batch})`),
    size: str('z', '', `PX  square input side, multiple of 32 (default ${D.size})`),
    seed: str('s', '', `S  init and data seed (default ${D.seed})`),
    'lr-per-img': str('l', '', `X  learning rate per image (default 0.01/64 = ${D.lrPerImg})`),
    warmup: str('w', '', `N  warm-up epochs (default ${D.warmupEpochs})`),
    'no-aug': str('n', '', `N  last epochs without mosaic, with L1 (default ${D.noAugEpochs})`),
    mosaic: str('m', '', `P  mosaic probability in the other epochs (default ${D.mosaicProb})`),
    'eval-every': str('v', '5', 'K  evaluate the EMA weights every K epochs and at the end'),
    'save-every': str('k', '100', 'K  training-state checkpoint every K steps (0: epoch ends)'),
    limit: str('i', '', 'N  use only the first N images of each split (default 0: all)'),
    init: str('I', '', 'CKPT  start from these weights instead of a random init (fine-tuning)'),
    resume: str('r', '', `FILE  continue from a training state (OUT/${TRAIN_STATE_FILE})`),
    threads: THREADS_OPTION,
  },
  run(opts) {
    const cmd = 'train';
    const resume = typeof opts.resume === 'string' && opts.resume !== '' ? opts.resume : null;
    const saved = resume === null ? null : readTrainStateMeta<RunRecord>(resume).run.info as
      Partial<CliInfo>;
    const given = (name: keyof CliInfo): string | null =>
      typeof opts[name] === 'string' && opts[name] !== '' ? opts[name] as string : null;
    // On resume --data and --limit default to the saved ones; a different --limit is refused
    // (it would change every batch). The data folder may move, so it is not compared.
    const data = given('data') ?? saved?.data ?? requireString(cmd, opts, 'data');
    if (saved?.limit !== undefined && given('limit') !== null && given('limit') !== saved.limit) {
      throw new UserError(`train: --limit ${given('limit')} contradicts ${resume} ` +
        `(saved ${saved.limit})`);
    }
    if (saved?.limit !== undefined) opts = { ...opts, limit: saved.limit };
    const out = typeof opts.out === 'string' && opts.out !== ''
      ? opts.out : resume !== null ? path.dirname(resume) : requireString(cmd, opts, 'out');
    const evalEvery = numberOption(cmd, opts, 'eval-every', 5, { integer: true, min: 0 });
    const saveEvery = numberOption(cmd, opts, 'save-every', 100, { integer: true, min: 0 });
    const limit = numberOption(cmd, opts, 'limit', 0, { integer: true, min: 0 });
    applyThreads(cmd, opts);
    const config = configFrom(opts, resume);
    const train = new CocoTrainData(data, { ...config, limit });
    const val = cocoSplit(data, 'val');
    const valSet = new CocoValSet(val.imageDir, val.annotationFile, { size: config.size, limit });
    const numClasses = train.numClasses;
    const init = given('init');
    if (init !== null && resume !== null) {
      throw new UserError('train: --init starts a run, --resume continues one: give only one');
    }
    const model = init === null
      ? new YOLOX({ numClasses, seed: config.seed }) : loadYoloxCheckpoint(init);
    if (model.config.numClasses !== numClasses) {
      throw new UserError(`train: ${init} predicts ${model.config.numClasses} classes, ` +
        `${data} has ${numClasses}`);
    }
    const trainer = new Trainer(fp32Strategy(model), train, config);
    const evalModel = new YOLOX({ numClasses, seed: config.seed });
    const evaluate = (ema: ReadonlyMap<string, Float32Array>) => {
      const live = evalModel.floatState();
      for (const [k, v] of ema) live.get(k)!.set(v);
      const res = valSet.evaluate(evalModel);
      return { ap: res.stats[0], ap50: res.stats[1] };
    };
    console.log(
      `train: ${train.dataset.length} images (${limit > 0 ? `first ${limit}, ` : ''}` +
        `${trainer.itersPerEpoch} steps/epoch), val ${valSet.length} images, ${numClasses} ` +
        `classes; ${config.epochs} epochs × batch ${config.batch} at ${config.size} px, ` +
        `lr ${(config.lrPerImg * config.batch).toExponential(2)}` +
        (resume !== null ? `; resuming ${resume}` : ''),
    );
    const bar = new cliProgress.SingleBar({
      format: 'train [{bar}] {value}/{total} | ep {ep} | loss {loss} iou {iou} obj {obj} ' +
        'cls {cls} l1 {l1} | {ips} img/s | {eta_formatted}',
      stream: process.stderr, hideCursor: true,
    }, cliProgress.Presets.shades_classic);
    const payload = { ep: '-', loss: '-', iou: '-', obj: '-', cls: '-', l1: '-', ips: '-' };
    bar.start(trainer.totalIters, trainer.iter, payload);
    const rec = runTraining(trainer, {
      outDir: out, saveEvery, evalEvery, evaluate, resume: resume ?? undefined,
      info: {
        data: path.resolve(data), limit: String(limit),
        init: init === null ? '' : path.resolve(init),
      } satisfies CliInfo,
      onStep(r, s) {
        const n = Math.max(s.steps, 1);
        bar.update(r.step, {
          ep: `${r.epoch + 1}/${config.epochs}`, loss: fmt(s.total / n), iou: fmt(s.iou / n),
          obj: fmt(s.obj / n), cls: fmt(s.cls / n), l1: fmt(s.l1 / n),
          ips: fmt(s.images / Math.max(s.seconds, 1e-9), 1),
        });
      },
      onEpoch(m) {
        bar.stop();
        console.log(epochLine(m, config.epochs));
        if (trainer.iter < trainer.totalIters) bar.start(trainer.totalIters, trainer.iter, payload);
      },
    });
    bar.stop();
    const best = rec.bestEpoch > 0
      ? `best val AP ${fmt(rec.bestAp)} (epoch ${rec.bestEpoch}); ` : '';
    console.log(`${best}wrote ${out}/last.safetensors, best.safetensors, metrics.jsonl`);
  },
};
