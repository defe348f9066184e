/**
 * @file `yoloxq detect --ckpt FILE --image IMG [--conf 0.25] [--nms 0.45] [--size 416]
 * [--agnostic] [--out out.png] [--json dets.json] [--threads N]`: letterbox → FP32 forward →
 * postprocess → boxes in original-image pixels, printed, drawn (--out) and saved as JSON (--json:
 * a list of {category_id, label, score, bbox: [x, y, w, h]}, bbox as in COCO results).
 */
import type { Command } from '../cli.js';
import { numberOption, requireString } from '../cli.js';
import { noGrad } from '../../engine/autograd.js';
import { writeFileAtomic } from '../../engine/formats/files.js';
import { COCO_CATEGORY_IDS, COCO_CLASS_NAMES } from '../../eval/coco_classes.js';
import { readImage } from '../../eval/image/decode.js';
import { classColor, drawLabeledBox } from '../../eval/image/draw.js';
import type { Image8 } from '../../eval/image/image8.js';
import { encodePng } from '../../eval/image/png.js';
import { postprocess, toCocoResults } from '../../eval/postprocess.js';
import { batchTensor, letterbox } from '../../eval/preprocess.js';
import {
  CKPT_OPTION, THREADS_OPTION, applyThreads, flag, loadEvalModel, sizeOption, str,
} from './model_options.js';

export const detectCommand: Command = {
  name: 'detect',
  summary: 'detect objects in one image (prints them; --out draws them, --json saves them)',
  usage: '--ckpt FILE --image IMG [--conf 0.25] [--nms 0.45] [--out out.png] [--json dets.json]',
  options: {
    ckpt: CKPT_OPTION,
    image: str('i', '', 'FILE  a JPEG or PNG image'),
    conf: str('s', '0.25', 'P  keep detections with obj·cls score ≥ P'),
    nms: str('n', '0.45', 'T  NMS IoU threshold (a box is suppressed when IoU > T)'),
    size: str('z', '416', 'PX  network input side (multiple of 32)'),
    agnostic: flag('a', 'class-agnostic NMS (as tools/demo.py); default per class'),
    out: str('o', '', 'FILE  write the image with boxes drawn (PNG)'),
    json: str('j', '', 'FILE  write the detections as JSON'),
    threads: THREADS_OPTION,
  },
  run(opts) {
    const cmd = 'detect';
    const file = requireString(cmd, opts, 'image');
    const confThre = numberOption(cmd, opts, 'conf', 0.25, { min: 0, max: 1 });
    const nmsThre = numberOption(cmd, opts, 'nms', 0.45, { min: 0, max: 1 });
    const size = sizeOption(cmd, opts);
    applyThreads(cmd, opts);
    const img = readImage(file);
    const model = loadEvalModel(cmd, opts);
    const lb = letterbox(img, size);
    const { output } = noGrad(() => model.call(batchTensor([lb])));
    const classAgnostic = opts.agnostic === true;
    const dets = postprocess(output!, { confThre, nmsThre, classAgnostic })[0];
    const C = model.config.numClasses;
    // 80 classes: COCO names and category ids; another class count: the class index.
    const names = (c: number) => (C === 80 ? COCO_CLASS_NAMES[c] : `class ${c}`);
    const classIds = C === 80 ? COCO_CATEGORY_IDS : Array.from({ length: C }, (_, c) => c);
    const results = toCocoResults(dets, 0, lb.ratio, classIds);
    const rows = results.map((r, i) => ({
      category_id: r.category_id, label: names(dets[i].cls), score: r.score, bbox: r.bbox,
    }));
    console.log(`${file}: ${img.width}×${img.height}, ${rows.length} detection(s)`);
    const shown = 30;
    if (rows.length > shown) console.log(`  (the ${shown} best of ${rows.length})`);
    for (const r of rows.slice(0, shown)) {
      const [x, y, w, h] = r.bbox.map((v) => v.toFixed(1));
      console.log(`  ${r.label.padEnd(14)} ${r.score.toPrecision(3)}  x ${x} y ${y} w ${w} h ${h}`);
    }
    if (typeof opts.out === 'string' && opts.out !== '') {
      const canvas: Image8 = { ...img, data: img.data.slice() };
      // Draw the lowest scores first so the best boxes end on top.
      for (let i = rows.length - 1; i >= 0; i--) {
        const [x, y, w, h] = rows[i].bbox;
        const label = `${rows[i].label} ${(100 * rows[i].score).toFixed(0)}%`;
        drawLabeledBox(canvas, [x, y, x + w, y + h], label, classColor(dets[i].cls));
      }
      writeFileAtomic(opts.out, encodePng(canvas));
    }
    if (typeof opts.json === 'string' && opts.json !== '') {
      writeFileAtomic(opts.json, `${JSON.stringify(rows, null, 1)}\n`);
    }
  },
};
