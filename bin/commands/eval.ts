/**
 * @file `yoloxq eval --ckpt FILE --coco DIR [--ann FILE] [--images DIR] [--limit N] [--conf 0.01]
 * [--nms 0.65] [--size 416] [--results FILE] [--json FILE] [--threads N]`: the official COCO
 * evaluation of the FP32 model — each image through the evaluator's input path (resize, then
 * letterbox), forward, postprocess (class-aware NMS), COCO-format results (boxes ÷ r, xywh,
 * sorted category ids), then COCOeval bbox (eval/coco, identical to pycocotools), printing its
 * summary. Layout (official COCODataset): DIR/annotations/instances_val2017.json, DIR/val2017/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from '../cli.js';
import { numberOption, requireString } from '../cli.js';
import { noGrad } from '../../engine/autograd.js';
import { UserError } from '../../engine/errors.js';
import { writeFileAtomic } from '../../engine/formats/files.js';
import {
  evaluateCoco, readCocoDataset, writeResults, type CocoDetection,
} from '../../eval/coco/index.js';
import { sortedCategoryIds } from '../../eval/coco_classes.js';
import { readImage } from '../../eval/image/decode.js';
import { postprocess, toCocoResults } from '../../eval/postprocess.js';
import { batchTensor, letterboxCocoEval } from '../../eval/preprocess.js';
import { releaseForward } from '../../models/release.js';
import {
  CKPT_OPTION, THREADS_OPTION, applyThreads, loadEvalModel, sizeOption, str,
} from './model_options.js';
import { cocoevalReport } from './cocoeval.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'COCO mAP of the FP32 model on a COCO-format image folder',
  usage: '--ckpt FILE --coco DIR [--ann FILE] [--limit N] [--conf 0.01] [--nms 0.65] [--size 416]',
  options: {
    ckpt: CKPT_OPTION,
    coco: str('d', '', 'DIR  dataset root (annotations/, val2017/)'),
    ann: str('a', '', 'FILE  annotations (default DIR/annotations/instances_val2017.json)'),
    images: str('i', '', 'DIR  image folder (default DIR/val2017)'),
    limit: str('l', '0', 'N  evaluate only the first N images (0 = all)'),
    conf: str('s', '0.01', 'P  score threshold (the Exp\'s test_conf)'),
    nms: str('n', '0.65', 'T  NMS IoU threshold (the Exp\'s nmsthre)'),
    size: str('z', '416', 'PX  network input side (multiple of 32)'),
    results: str('r', '', 'FILE  also write the COCO results JSON'),
    json: str('j', '', 'FILE  also write stats and per-category AP/AR (as yoloxq cocoeval --json)'),
    threads: THREADS_OPTION,
  },
  run(opts) {
    const cmd = 'eval';
    const root = requireString(cmd, opts, 'coco');
    const ann = typeof opts.ann === 'string' && opts.ann !== ''
      ? opts.ann : path.join(root, 'annotations', 'instances_val2017.json');
    const imageDir = typeof opts.images === 'string' && opts.images !== ''
      ? opts.images : path.join(root, 'val2017');
    const limit = numberOption(cmd, opts, 'limit', 0, { integer: true, min: 0 });
    const confThre = numberOption(cmd, opts, 'conf', 0.01, { min: 0, max: 1 });
    const nmsThre = numberOption(cmd, opts, 'nms', 0.65, { min: 0, max: 1 });
    const size = sizeOption(cmd, opts);
    applyThreads(cmd, opts);
    if (!fs.existsSync(imageDir)) throw new UserError(`eval: image folder ${imageDir} not found`);
    const gt = readCocoDataset(ann);
    const model = loadEvalModel(cmd, opts);
    const classIds = sortedCategoryIds(gt.categories);
    if (classIds.length < model.config.numClasses) {
      const n = model.config.numClasses;
      const m = classIds.length;
      throw new UserError(`eval: the model predicts ${n} classes but ${ann} has ${m} categories`);
    }
    const images = limit > 0 ? gt.images.slice(0, limit) : gt.images;
    // Evaluate on the images run (pycocotools imgIds), as the official evaluator does with
    // its data list.
    const imageIds = new Set(images.map((im) => im.id));
    const annotations = gt.annotations.filter((a) => imageIds.has(a.image_id));
    const subset = { ...gt, images, annotations };
    const dets: CocoDetection[] = [];
    const bar = new cliProgress.SingleBar(
      { format: 'eval [{bar}] {value}/{total} images | {eta_formatted} left',
        stream: process.stderr },
      cliProgress.Presets.shades_classic);
    bar.start(images.length, 0);
    for (const im of images) {
      if (im.file_name === undefined) {
        throw new UserError(`${ann}: image ${im.id} has no file_name`);
      }
      const img = readImage(path.join(imageDir, im.file_name));
      // The evaluator's ratio uses the annotation's size (the decoded size when absent).
      const h = im.height ?? img.height, w = im.width ?? img.width;
      const lb = letterboxCocoEval(img, size);
      // The forward's buffers go back to the allocator once the detections are read out, so
      // the next image reuses them (models/release.ts).
      const found = noGrad(() => {
        const o = model.call(batchTensor([lb]));
        const res = postprocess(o.output!, { confThre, nmsThre })[0];
        releaseForward(o);
        return res;
      });
      dets.push(...toCocoResults(found, im.id, Math.min(size / h, size / w), classIds));
      bar.increment();
    }
    bar.stop();
    if (typeof opts.results === 'string' && opts.results !== '') writeResults(opts.results, dets);
    const res = evaluateCoco(subset, dets);
    process.stdout.write(res.summary);
    if (typeof opts.json === 'string' && opts.json !== '') {
      writeFileAtomic(opts.json, cocoevalReport(res));
    }
  },
};
