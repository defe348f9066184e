/**
 * @file Post-training quantization of YOLO-X (Quark's `ptq`, quark.md §4.1) and the quantized
 * forward used by `yoloxq ptq` and `yoloxq dump --quant`.
 *
 *   prepare (capture → name → fold → rewrite → insert) → calibrate on the batches in order
 *   → DIR/scales.json (fixture format), DIR/ptq_report.txt (position + SQNR per quantizer),
 *     DIR/graph.txt (the quantized graph, one line a node), DIR/scales_npu.json (after freeze)
 */
import * as path from 'node:path';
import { noGrad } from '../engine/autograd.js';
import { UserError } from '../engine/errors.js';
import { readNpy, writeFileAtomic } from '../engine/formats/files.js';
import { npyToFloat32 } from '../engine/formats/npy.js';
import { Tensor } from '../engine/tensor.js';
import type { YOLOX } from '../models/yolox.js';
import {
  calibrate, formatReportTable, quantizerReports, type QuantizerReport,
} from './calibrate.js';
import { freezeForNpu } from './freeze.js';
import { formatGraph } from './graph/format.js';
import type { Graph } from './graph/graph.js';
import { prepareYolox, runYoloxGraph, type PrepareOptions } from './prepare.js';
import { graphSettings, loadScales, readScalesSettings, writeScales } from './scales_file.js';

/** A calibration batch from a .npy file: float32 [B, 3, H, W], H and W multiples of 32. */
export function readCalibBatch(file: string): Tensor {
  const a = readNpy(file);
  const s = a.shape;
  if (s.length !== 4 || s[1] !== 3 || s[2] % 32 !== 0 || s[3] % 32 !== 0 || s[0] < 1) {
    const want = 'a calibration batch must be [B, 3, H, W] with H, W multiples of 32';
    throw new UserError(`${file}: ${want}, got [${s.join(', ')}]`);
  }
  if (a.dtype !== 'float32' && a.dtype !== 'float64' && a.dtype !== 'uint8') {
    throw new UserError(`${file}: dtype ${a.dtype}; expected float32 (BGR 0..255)`);
  }
  return new Tensor(npyToFloat32(a), s);
}

export interface PtqResult {
  graph: Graph;
  report: QuantizerReport[];
}

/**
 * Calibrates a fresh quantized graph of `model` on `batches` (read one at a time, in order; each
 * is one forward with every fake-quant off).
 */
export function runPtq(
  model: YOLOX, batches: readonly (() => Tensor)[], opts: PrepareOptions = {},
  onBatch?: (i: number) => void,
): PtqResult {
  // Capture with one image of the first batch's size, so graph.txt shows the real shapes.
  const first = batches.length > 0 ? batches[0]() : null;
  const example = opts.example
    ?? (first !== null ? Tensor.zeros([1, ...first.shape.slice(1)]) : undefined);
  const graph = prepareYolox(model, { ...opts, example });
  calibrate(graph, (function* () {
    for (let i = 0; i < batches.length; i++) yield i === 0 && first !== null ? first : batches[i]();
  })(), onBatch);
  return { graph, report: quantizerReports(graph) };
}

/**
 * Writes scales.json, ptq_report.txt and graph.txt into `dir`, and scales_npu.json: the
 * positions after Quark's freeze passes for the NPU (freeze.ts) — what an export would use.
 */
export function writePtqOutputs(dir: string, r: PtqResult, opts: PrepareOptions = {}): void {
  writeScales(path.join(dir, 'scales.json'), r.graph, graphSettings(opts));
  writeScales(path.join(dir, 'scales_npu.json'), freezeForNpu(r.graph), graphSettings(opts));
  writeFileAtomic(path.join(dir, 'ptq_report.txt'), formatReportTable(r.report) + '\n');
  writeFileAtomic(path.join(dir, 'graph.txt'), formatGraph(r.graph) + '\n');
}

/** The quantized graph of `model` with the scales of `dir/scales.json` (or a scales.json path). */
export function loadQuantizedGraph(
  model: YOLOX, dirOrFile: string, opts: PrepareOptions = {},
): Graph {
  const file = dirOrFile.endsWith('.json') ? dirOrFile : path.join(dirOrFile, 'scales.json');
  const settings = readScalesSettings(file);
  const g = prepareYolox(model, { ...opts, activations: opts.activations ?? settings.activations });
  loadScales(g, file);
  return g;
}

/**
 * The fake-quant forward with taps: every quantizer's output as `fq.<quantizer name>` (e.g.
 * `fq.head.out0.cat`, `fq.backbone.backbone.dark3.1.conv3.act`) and the decoded `fq.output`.
 * `want` restricts the taps kept (all when omitted).
 */
export function quantizedForward(
  model: YOLOX, g: Graph, x: Tensor, want?: ReadonlySet<string>,
): Map<string, Tensor> {
  const taps = new Map<string, Tensor>();
  const r = noGrad(() => runYoloxGraph(g, x, model.head.strides, {
    onValue: (n, v) => {
      if (n.op === 'quant' && (want === undefined || want.has(n.name))) taps.set(n.name, v);
    },
  }));
  taps.set('fq.output', r.output);
  return taps;
}

/** The taps `yoloxq dump --quant` writes: the fixtures' fq.* names and the logits cats. */
export const QUANT_DUMP_TAPS: readonly string[] = [
  'fq.backbone.backbone.dark3.1.conv3.act', 'fq.backbone.backbone.dark4.1.conv3.act',
  'fq.backbone.backbone.dark5.2.conv3.act',
  'fq.head.out0.cat', 'fq.head.out1.cat', 'fq.head.out2.cat',
  'fq.head.out0.train_cat', 'fq.head.out1.train_cat', 'fq.head.out2.train_cat',
];

/**
 * For `yoloxq dump --quant DIR`: the fake-quant model with DIR's scales run on `x`; returns
 * QUANT_DUMP_TAPS plus `fq.output` (decoded [B, A, 5 + C]).
 */
export function quantDumpTensors(model: YOLOX, quantDir: string, x: Tensor): Map<string, Tensor> {
  const example = Tensor.zeros([1, ...x.shape.slice(1)]);
  const g = loadQuantizedGraph(model, quantDir, { example });
  return quantizedForward(model, g, x, new Set(QUANT_DUMP_TAPS));
}

/**
 * For `yoloxq eval/detect --quant DIR`: the fake-quant model with DIR's scales as a forward
 * function x [B, 3, size, size] → decoded [B, A, 5 + C] (hardsigmoid scores, Quark's PTQ eval).
 * The graph is built once for the input size.
 */
export function quantizedDetector(
  model: YOLOX, quantDir: string, size: number,
): (x: Tensor) => Tensor {
  const g = loadQuantizedGraph(model, quantDir, { example: Tensor.zeros([1, 3, size, size]) });
  return (x) => quantizedForward(model, g, x, new Set()).get('fq.output')!;
}
