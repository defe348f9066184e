/**
 * @file `yoloxq golden --ckpt FILE --quant DIR --input X.npy --out DIR`: freezes the calibrated
 * model for the NPU (quant/freeze.ts, as `yoloxq export`), runs the integer reference
 * (quant/integer) on the input and writes per-layer int8 golden tensors named by quantizer (plus
 * each conv's int8 weight and bias) and manifest.json with every tensor's scale and position.
 */
import type { Command } from '../cli.js';
import { requireString } from '../cli.js';
import { Tensor } from '../../engine/tensor.js';
import { freezeForNpu } from '../../quant/freeze.js';
import { writeGolden } from '../../quant/integer/golden.js';
import { loadQuantizedGraph } from '../../quant/ptq.js';
import {
  CKPT_OPTION, THREADS_OPTION, applyThreads, loadEvalModel, readInputNpy, str,
} from './model_options.js';

export const goldenCommand: Command = {
  name: 'golden',
  summary: 'integer reference of the frozen NPU graph: per-layer int8 .npy + manifest.json',
  usage: '--ckpt FILE --quant DIR --input X.npy --out DIR [--threads N]',
  options: {
    ckpt: CKPT_OPTION,
    quant: str('q', '', 'DIR  yoloxq ptq/qat output (DIR/scales.json)'),
    input: str('i', '', 'FILE  network input [B, 3, H, W] float32 (BGR 0..255, letterboxed)'),
    out: str('o', '', 'DIR  output folder (<name>.npy int8 per tensor, manifest.json)'),
    threads: THREADS_OPTION,
  },
  run(opts) {
    const cmd = 'golden';
    const quant = requireString(cmd, opts, 'quant');
    const inputFile = requireString(cmd, opts, 'input');
    const out = requireString(cmd, opts, 'out');
    applyThreads(cmd, opts);
    const x = readInputNpy(inputFile);
    const model = loadEvalModel(cmd, opts);
    const example = Tensor.zeros(x.shape);
    const graph = freezeForNpu(loadQuantizedGraph(model, quant, { example }));
    const entries = writeGolden(graph, x, out);
    const acts = entries.filter((e) => e.kind !== 'weight' && e.kind !== 'bias').length;
    console.log(`wrote ${entries.length} int8 tensors (${acts} activations) and manifest.json `
      + `to ${out}`);
  },
};
