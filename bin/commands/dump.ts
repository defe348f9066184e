/**
 * @file `yoloxq dump --ckpt FILE --input INPUT.npy --out DIR [--threads N]`: runs the FP32 model
 * (eval mode) on a preprocessed input [B, 3, H, W] and writes one .npy per named tensor, with the
 * fixture names (backbone.backbone.stem … dark5, backbone.pan_out0..2, head.{reg,obj,cls}_preds.k
 * raw, head.output decoded) — for comparing layer by layer with the official code.
 * With --quant DIR (a `yoloxq ptq` output) it also writes the fake-quant taps fq.* (quant/ptq.ts
 * QUANT_DUMP_TAPS and the decoded fq.output), the names of fixtures/yolox_tiny/ptq_416.
 */
import * as path from 'node:path';
import type { Command } from '../cli.js';
import { requireString } from '../cli.js';
import { noGrad } from '../../engine/autograd.js';
import { writeNpy } from '../../engine/formats/files.js';
import { quantDumpTensors } from '../../quant/ptq.js';
import {
  CKPT_OPTION, THREADS_OPTION, applyThreads, loadEvalModel, readInputNpy, str,
} from './model_options.js';

export const dumpCommand: Command = {
  name: 'dump',
  summary: 'run the FP32 model on an input .npy and write every named tensor as .npy',
  usage: '--ckpt FILE --input INPUT.npy --out DIR [--quant DIR] [--threads N]',
  options: {
    ckpt: CKPT_OPTION,
    input: str('i', '', 'FILE  network input [B, 3, H, W] float32 (BGR 0..255, letterboxed)'),
    out: str('o', '', 'DIR  output folder (one <name>.npy per tensor)'),
    quant: str('q', '', 'DIR  also the fake-quant taps fq.*, with DIR/scales.json (yoloxq ptq)'),
    threads: THREADS_OPTION,
  },
  run(opts) {
    const cmd = 'dump';
    const inputFile = requireString(cmd, opts, 'input');
    const out = requireString(cmd, opts, 'out');
    applyThreads(cmd, opts);
    const x = readInputNpy(inputFile);
    const model = loadEvalModel(cmd, opts);
    const { named } = noGrad(() => model.call(x));
    for (const [name, t] of named) {
      writeNpy(path.join(out, `${name}.npy`), { dtype: 'float32', shape: t.shape, data: t.data });
    }
    if (typeof opts.quant === 'string' && opts.quant !== '') {
      for (const [name, t] of quantDumpTensors(model, opts.quant, x)) {
        writeNpy(path.join(out, `${name}.npy`), { dtype: 'float32', shape: t.shape, data: t.data });
        named.set(name, t);
      }
    }
    console.log(`wrote ${named.size} tensors to ${out}`);
  },
};
