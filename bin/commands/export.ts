/**
 * @file `yoloxq export --ckpt FILE --quant DIR --out MODEL.onnx [--size 416]`: freezes the
 * calibrated model (DIR/scales.json from `yoloxq ptq`) for the NPU — Quark's freeze passes,
 * quant/freeze.ts — and writes it as ONNX with QuantizeLinear/DequantizeLinear pairs and the FP32
 * decode inside (quant/export/onnx.ts): input `images` [1, 3, S, S], output [1, A, 5 + C].
 * With --fp32 (no --quant) it writes the FP32 model instead (quant/export/onnx_fp32.ts).
 */
import type { Command } from '../cli.js';
import { requireString } from '../cli.js';
import { writeFileAtomic } from '../../engine/formats/files.js';
import { Tensor } from '../../engine/tensor.js';
import { exportOnnx } from '../../quant/export/onnx.js';
import { exportOnnxFp32 } from '../../quant/export/onnx_fp32.js';
import { freezeForNpu } from '../../quant/freeze.js';
import { loadQuantizedGraph } from '../../quant/ptq.js';
import {
  CKPT_OPTION, THREADS_OPTION, applyThreads, flag, loadEvalModel, sizeOption, str,
} from './model_options.js';

export const exportCommand: Command = {
  name: 'export',
  summary: 'freeze the PTQ/QAT model for the NPU and write ONNX (Q/DQ pairs, FP32 decode)',
  usage: '--ckpt FILE (--quant DIR | --fp32) --out MODEL.onnx [--size 416]',
  options: {
    ckpt: CKPT_OPTION,
    quant: str('q', '', 'DIR  yoloxq ptq output (DIR/scales.json)'),
    out: str('o', '', 'FILE  the .onnx to write'),
    size: str('z', '416', 'PX  network input side (multiple of 32)'),
    fp32: flag('f', 'export the FP32 model (Conv, BatchNormalization, SiLU) instead'),
    threads: THREADS_OPTION,
  },
  run(opts) {
    const cmd = 'export';
    const fp32 = opts.fp32 === true;
    const quant = fp32 ? '' : requireString(cmd, opts, 'quant');
    const out = requireString(cmd, opts, 'out');
    const size = sizeOption(cmd, opts);
    applyThreads(cmd, opts);
    const model = loadEvalModel(cmd, opts);
    const inputShape = [1, 3, size, size];
    if (fp32) {
      const fbytes = exportOnnxFp32(model, inputShape);
      writeFileAtomic(out, fbytes);
      const fmib = (fbytes.length / 2 ** 20).toFixed(1);
      console.log(`wrote ${out} (${fmib} MiB, FP32, input ${size}²)`);
      return;
    }
    const example = Tensor.zeros(inputShape);
    const graph = freezeForNpu(loadQuantizedGraph(model, quant, { example }));
    const bytes = exportOnnx(graph, { strides: model.head.strides, inputShape });
    writeFileAtomic(out, bytes);
    const nq = graph.quantizers().length;
    const mib = (bytes.length / 2 ** 20).toFixed(1);
    console.log(`wrote ${out} (${mib} MiB, ${nq} Q/DQ pairs, input ${size}²)`);
  },
};
