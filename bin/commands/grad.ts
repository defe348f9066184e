/**
 * @file `yoloxq grad --ckpt FILE --input X.npy --labels L.npy [--l1] --out DIR`: one training
 * iteration's forward + official YOLO-X loss + backward (no optimizer step), for comparing with the
 * official code. BatchNorm uses batch statistics and updates its running statistics once.
 * Writes to DIR:
 *   loss.json                 total_loss, iou_loss (×5 included), conf_loss, cls_loss, l1_loss,
 *                             num_fg (per GT, as the official head reports it), plus the SimOTA
 *                             foreground count and anchors per image
 *   grad.<param>.npy          dL/d(param) for every parameter (float32, official names)
 *   bn_after.<buffer>.npy     running_mean / running_var (float32) and num_batches_tracked (int64)
 */
import * as path from 'node:path';
import type { Command } from '../cli.js';
import { requireString } from '../cli.js';
import { UserError } from '../../engine/errors.js';
import { readNpy, writeFileAtomic, writeNpy } from '../../engine/formats/files.js';
import { npyToFloat32 } from '../../engine/formats/npy.js';
import { Tensor } from '../../engine/tensor.js';
import { loadYoloxCheckpoint } from '../../models/checkpoint.js';
import { lossAndGrad } from '../../models/loss/grad_step.js';
import { Counter } from '../../models/module.js';
import { CKPT_OPTION, THREADS_OPTION, applyThreads, str } from './model_options.js';

const CMD = 'grad';

function readInputs(inputFile: string, labelsFile: string): [Tensor, Tensor] {
  const x = readNpy(inputFile);
  const [B, C, H, W] = x.shape;
  const ok = x.shape.length === 4 && C === 3 && B >= 1 && H >= 32 && W >= 32;
  if (!ok || H % 32 !== 0 || W % 32 !== 0) {
    throw new UserError(`${inputFile}: want [B, 3, H, W], H, W multiples of 32, got [${x.shape}]`);
  }
  const l = readNpy(labelsFile);
  if (l.shape.length !== 3 || l.shape[0] !== B || l.shape[2] !== 5) {
    throw new UserError(`${labelsFile}: want [${B}, M, 5] (class, cx, cy, w, h), got [${l.shape}]`);
  }
  const labels = new Tensor(npyToFloat32(l), l.shape);
  for (let i = 0; i < labels.size; i += 5) {
    const c = labels.data[i];
    if (!Number.isFinite(c) || !Number.isInteger(c) || c < 0) {
      throw new UserError(`${labelsFile}: row ${i / 5}: class must be an integer ≥ 0, got ${c}`);
    }
  }
  return [new Tensor(npyToFloat32(x), x.shape), labels];
}

export const gradCommand: Command = {
  name: CMD,
  summary: 'one training-mode forward + loss + backward; write loss, gradients and BN stats',
  usage: '--ckpt FILE --input X.npy --labels L.npy [--l1] --out DIR [--threads N]',
  options: {
    ckpt: CKPT_OPTION,
    input: str('i', '', 'FILE  network input [B, 3, H, W] float32 (BGR 0..255)'),
    labels: str('l', '', 'FILE  labels [B, M, 5]: (class, cx, cy, w, h) pixels, zero rows pad'),
    l1: {
      type: 'boolean', default: false,
      help: 'add the L1 loss on raw regressions (official last 15 epochs)',
    },
    out: str('o', '', 'DIR  output folder'),
    threads: THREADS_OPTION,
  },
  run(opts) {
    const inputFile = requireString(CMD, opts, 'input');
    const labelsFile = requireString(CMD, opts, 'labels');
    const out = requireString(CMD, opts, 'out');
    const ckpt = requireString(CMD, opts, 'ckpt');
    applyThreads(CMD, opts);
    const [x, labels] = readInputs(inputFile, labelsFile);
    const model = loadYoloxCheckpoint(ckpt);
    const C = model.head.numClasses;
    for (let i = 0; i < labels.size; i += 5) {
      const row = labels.data.subarray(i, i + 5);
      if (row.some((v) => v !== 0) && row[0] >= C) {
        throw new UserError(`${labelsFile}: row ${i / 5}: class ${row[0]} but the model has ${C}`);
      }
    }
    const useL1 = opts.l1 === true;
    const r = lossAndGrad(model, x, labels, { useL1 });

    const report = {
      ...r.terms,
      use_l1: useL1,
      num_fg_anchors: r.numFgAnchors,
      fg_anchors_per_image: r.assignments.map((a) => (a === null ? [] : Array.from(a.fgAnchors))),
    };
    writeFileAtomic(path.join(out, 'loss.json'), `${JSON.stringify(report, null, 1)}\n`);
    let nGrad = 0, nBuf = 0;
    for (const [name, p] of model.namedParameters()) {
      const g = p.grad ?? new Float32Array(p.size); // unused parameter: zero gradient
      writeNpy(path.join(out, `grad.${name}.npy`), { dtype: 'float32', shape: p.shape, data: g });
      nGrad++;
    }
    const params = new Set(model.namedParameters().map(([n]) => n));
    for (const [name, v] of model.namedState()) {
      if (params.has(name)) continue;
      const file = path.join(out, `bn_after.${name}.npy`);
      if (v instanceof Counter) {
        writeNpy(file, { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(v.value)) });
      } else {
        writeNpy(file, { dtype: 'float32', shape: v.shape, data: v.data });
      }
      nBuf++;
    }
    const t = r.terms;
    console.log(`total_loss ${t.total_loss.toPrecision(8)} (iou ${t.iou_loss.toPrecision(6)}, `
      + `conf ${t.conf_loss.toPrecision(6)}, cls ${t.cls_loss.toPrecision(6)}, `
      + `l1 ${t.l1_loss.toPrecision(6)}), num_fg ${t.num_fg}`);
    console.log(`wrote loss.json, ${nGrad} gradients and ${nBuf} BN buffers to ${out}`);
  },
};
