/**
 * @file `yoloxq dataset`: generate the synthetic COCO-format detection dataset (eval/dataset/).
 */
import cliProgress from 'cli-progress';
import type { Command, OptionSpec } from '../cli.js';
import { numberOption, requireString } from '../cli.js';
import { UserError } from '../../engine/errors.js';
import { generateDataset } from '../../eval/dataset/generate.js';
import {
  DEFAULT_DATASET_SPEC as D,
  SPLIT_ANNOTATIONS,
  SPLIT_DIRS,
  type DatasetSpec,
} from '../../eval/dataset/spec.js';

/** A string option with every key spelled out (bin/cli.ts passes them all to parseArgs). */
const str = (short: string, def: string, help: string): OptionSpec =>
  ({ type: 'string', short, multiple: false, default: def, help });

export const datasetCommand: Command = {
  name: 'dataset',
  summary: 'generate the synthetic COCO-format shapes dataset (deterministic from a seed)',
  usage: '--out DIR [--seed S] [--train N] [--val N] [--size PX] [--format png|jpg]',
  options: {
    out: str('o', '', `DIR  output (${SPLIT_DIRS.train}/, ${SPLIT_DIRS.val}/, annotations/)`),
    seed: str('s', String(D.seed), 'S  the seed (unsigned 32-bit integer)'),
    train: str('t', String(D.trainCount), 'N  training images'),
    val: str('v', String(D.valCount), 'N  validation images'),
    size: str('z', String(D.size), 'PX  square image side'),
    format: str('f', D.format, 'png|jpg  image files (jpg: jpeg-js, quality 92, slow)'),
  },
  run(opts) {
    const cmd = 'dataset';
    const out = requireString(cmd, opts, 'out');
    const format = opts.format ?? D.format;
    if (format !== 'png' && format !== 'jpg') {
      throw new UserError(`dataset: --format must be png or jpg, got '${String(format)}'`);
    }
    const count = (name: string, fallback: number): number =>
      numberOption(cmd, opts, name, fallback, { integer: true, min: 0, max: 1e7 });
    const spec: DatasetSpec = {
      ...D,
      seed: numberOption(cmd, opts, 'seed', D.seed, { integer: true, min: 0, max: 2 ** 32 - 1 }),
      trainCount: count('train', D.trainCount),
      valCount: count('val', D.valCount),
      size: numberOption(cmd, opts, 'size', D.size, { integer: true, min: 32, max: 4096 }),
      format,
    };
    const bar = new cliProgress.SingleBar(
      { format: 'dataset [{bar}] {value}/{total} images | {eta}s left', hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(spec.trainCount + spec.valCount, 0);
    const summary = generateDataset(out, spec, (done) => bar.update(done));
    bar.stop();
    for (const split of ['train', 'val'] as const) {
      const s = summary[split];
      console.log(
        `${split}: ${s.images} images, ${s.annotations} objects (small ${s.small}, ` +
          `medium ${s.medium}, large ${s.large}) → ${SPLIT_ANNOTATIONS[split]}`,
      );
    }
  },
};
