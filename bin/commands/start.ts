/**
 * @file `yoloxq start` (what `npm start` runs): the seed workflow on the embedded default —
 * FP32 eval → PTQ → eval → QAT → eval → NPU freeze → ONNX QDQ → golden int8 tensors — and the
 * seed's table (eval/pipeline/seed_workflow.ts, seed_report.ts). The default dataset is generated
 * deterministically into runs/data/ on first use; the default checkpoint is the committed
 * models/default/yolox_tiny_shapes.safetensors. Each phase is saved as it completes, so a rerun
 * after a crash (or with unchanged inputs) skips the finished phases.
 *
 * Default sizes (chosen for minutes on 2 cores): the whole 500-image val split at 96 px (the
 * default model's training size) per eval, PTQ on the first 32 train images, QAT 3 epochs × 32
 * steps of 16 (the first 512 train images). Measured on the 2 cores, otherwise idle: dataset
 * 30 s (first run only), FP32 eval 14 s, PTQ + eval 25 s, QAT 96 steps + eval 251 s, export +
 * golden 1 s — about 5 min. --quick: 40 + 8 images at 64 px, 6 QAT steps, about 14 s.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import type { Command } from '../cli.js';
import { numberOption } from '../cli.js';
import { UserError } from '../../engine/errors.js';
import { ensureDataset } from '../../eval/dataset/generate.js';
import {
  DEFAULT_DATASET_SPEC, SPLIT_ANNOTATIONS, type DatasetSpec,
} from '../../eval/dataset/spec.js';
import { writePictures, writeReport, writeScaleTable } from '../../eval/pipeline/seed_report.js';
import {
  runSeedWorkflow, type SeedOptions, type SeedUi,
} from '../../eval/pipeline/seed_workflow.js';
import { THREADS_OPTION, applyThreads, flag, str } from './model_options.js';

/** The package root (dist/bin/commands/ → ../../..), where models/default/ lives. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DEFAULT_CKPT = path.join(ROOT, 'models', 'default', 'yolox_tiny_shapes.safetensors');

/** Settings of a run: the default (minutes on 2 cores) and --quick (a smoke test, seconds). */
interface Preset {
  data: string;
  spec: DatasetSpec;
  size: number;
  limit: number;
  qatEpochs: number;
  qatBatch: number;
  qatImages: number;
  drawImages: number;
}

const DEFAULT_PRESET: Preset = {
  data: path.join('runs', 'data'), spec: DEFAULT_DATASET_SPEC, size: 96, limit: 500,
  qatEpochs: 3, qatBatch: 16, qatImages: 512, drawImages: 4,
};

const QUICK_PRESET: Preset = {
  data: path.join('runs', 'data-quick'),
  spec: { ...DEFAULT_DATASET_SPEC, trainCount: 40, valCount: 8, size: 64 },
  size: 64, limit: 8, qatEpochs: 3, qatBatch: 8, qatImages: 16, drawImages: 2,
};

/** cli-progress bars on stderr (quiet when stderr is not a terminal, except start/stop). */
function terminalUi(): SeedUi {
  return {
    log: (line) => console.log(line),
    bar(label, total) {
      const bar = new cliProgress.SingleBar({
        format: `${label.padEnd(9)} [{bar}] {value}/{total} {info} | {eta_formatted} left`,
        stream: process.stderr, hideCursor: true, noTTYOutput: false,
      }, cliProgress.Presets.shades_classic);
      bar.start(total, 0, { info: '' });
      return {
        update: (done, info) => bar.update(done, { info: info ?? '' }),
        stop: () => bar.stop(),
      };
    },
  };
}

const given = (opts: Record<string, unknown>, name: string): string | null =>
  typeof opts[name] === 'string' && opts[name] !== '' ? opts[name] as string : null;

export const startCommand: Command = {
  name: 'start',
  summary: 'the seed workflow on the embedded default: FP32 → PTQ → QAT → export, with a report',
  usage: '[--ckpt FILE] [--data DIR] [--out DIR] [--qat-epochs N] [--limit N] [--quick]',
  options: {
    ckpt: str('c', '', 'FILE  FP32 checkpoint (default models/default/yolox_tiny_shapes' +
      '.safetensors)'),
    data: str('d', '', 'DIR  COCO-format dataset; generated there when it has none ' +
      '(default runs/data, --quick: runs/data-quick)'),
    out: str('o', path.join('runs', 'start'), 'DIR  output folder'),
    'qat-epochs': str('e', '', `N  QAT epochs (default ${DEFAULT_PRESET.qatEpochs}, ≥ 3)`),
    'qat-images': str('i', '', `N  QAT on the first N train images (default ` +
      `${DEFAULT_PRESET.qatImages}; 0: all)`),
    limit: str('l', '', `N  val images scored per phase (default ${DEFAULT_PRESET.limit}; 0: all)`),
    size: str('z', '', `PX  network input side, multiple of 32 (default ${DEFAULT_PRESET.size})`),
    threads: THREADS_OPTION,
    quick: flag('q', 'tiny settings for a smoke test (seconds)'),
  },
  run(opts) {
    const cmd = 'start';
    const p = opts.quick === true ? QUICK_PRESET : DEFAULT_PRESET;
    const ckpt = given(opts, 'ckpt') ?? DEFAULT_CKPT;
    if (!fs.existsSync(ckpt)) {
      const hint = ckpt === DEFAULT_CKPT
        ? ' (the default checkpoint is not in this checkout; pass --ckpt FILE)' : '';
      throw new UserError(`start: checkpoint ${ckpt} not found${hint}`);
    }
    const int = (name: string, fallback: number, min: number) =>
      numberOption(cmd, opts, name, fallback, { integer: true, min });
    const size = int('size', p.size, 32);
    if (size % 32 !== 0) throw new UserError(`start: --size must be a multiple of 32, got ${size}`);
    const o: SeedOptions = {
      ckpt, data: given(opts, 'data') ?? p.data, out: given(opts, 'out') ?? 'runs/start',
      size, valLimit: int('limit', p.limit, 0), calibImages: 32,
      qatEpochs: int('qat-epochs', p.qatEpochs, 3), qatBatch: p.qatBatch,
      qatImages: int('qat-images', p.qatImages, 0), drawImages: p.drawImages,
    };
    applyThreads(cmd, opts);
    const ui = terminalUi();
    // The dataset: the default folder follows the preset's spec (regenerated if it changed); a
    // folder given with --data is generated only when it holds no annotations at all.
    const explicit = given(opts, 'data') !== null;
    const hasData = fs.existsSync(path.join(o.data, SPLIT_ANNOTATIONS.val));
    if (!explicit || !hasData) {
      let bar: ReturnType<SeedUi['bar']> | null = null;
      const made = ensureDataset(o.data, p.spec, (done, total) => {
        bar ??= ui.bar('dataset', total);
        bar.update(done);
      });
      (bar as ReturnType<SeedUi['bar']> | null)?.stop();
      if (made) console.log(`dataset: generated into ${o.data} (seed ${p.spec.seed})`);
    }
    const t0 = performance.now();
    const r = runSeedWorkflow(o, ui);
    const table = writeReport(o, r, { quick: opts.quick === true });
    const nScales = writeScaleTable(o.out);
    const pics = writePictures(o.out, r);
    console.log('');
    console.log(table);
    console.log('');
    const secs = ((performance.now() - t0) / 1000).toFixed(0);
    console.log(`wrote ${o.out}/report.json, report.md, scales.json + scales.md (${nScales} ` +
      `quantizers), ${pics.length} pictures in ${o.out}/pictures/ (${secs} s)`);
  },
};
