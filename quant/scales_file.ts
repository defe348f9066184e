/**
 * @file scales.json: the calibrated quantizers, in the fixtures' format
 * (fixtures/yolox_tiny/ptq_416/scales.json):
 *
 *   { counts: {weight, bias, act, total},
 *     pos_histogram: {kind: {pos: count}},
 *     quantizers: {name: {scale, pos, kind, zero_point, op, order, shape}} }
 *
 * `op` names the producer (conv, hardsigmoid, mul, add, cat, slice, maxpool, upsample, input,
 * conv_weight, conv_bias), `order` is the first use in the graph, `shape` the tensor's shape in the
 * last calibration batch.
 */
import { UserError } from '../engine/errors.js';
import { readFileOrFail, writeFileAtomic } from '../engine/formats/files.js';
import type { Graph, GraphNode, OpName } from './graph/graph.js';
import type { ActivationOptions } from './graph/passes/rewrite_activations.js';
import type { FakeQuantizer, QuantKind } from './quantizer.js';

export interface ScaleEntry {
  scale: number;
  pos: number;
  kind: QuantKind;
  zero_point: number;
  op: string;
  order: number;
  shape: number[];
}

/** How the graph was built (so `dump --quant` rebuilds the same graph). */
export interface GraphSettings {
  activations: Required<ActivationOptions>;
}

export interface ScalesFile {
  settings?: GraphSettings;
  counts: Record<QuantKind | 'total', number>;
  pos_histogram: Record<QuantKind, Record<string, number>>;
  quantizers: Record<string, ScaleEntry>;
}

const OP_LABEL: Partial<Record<OpName, string>> = {
  input: 'input', conv2d: 'conv', convBn: 'conv', hardsigmoid: 'hardsigmoid', sigmoid: 'sigmoid',
  silu: 'silu', mul: 'mul', add: 'add', concat: 'cat', slice: 'slice', maxPool2d: 'maxpool',
  upsampleNearest2x: 'upsample',
};

/** Every quantizer with the node it belongs to, in graph order. */
function quantizerSites(g: Graph): { q: FakeQuantizer; op: string; node: GraphNode }[] {
  const out: { q: FakeQuantizer; op: string; node: GraphNode }[] = [];
  for (const n of g.nodes) {
    if (n.weightQuantizer) out.push({ q: n.weightQuantizer, op: 'conv_weight', node: n });
    if (n.biasQuantizer) out.push({ q: n.biasQuantizer, op: 'conv_bias', node: n });
    // Look through the freeze-time DPU multiply to the hardsigmoid it scales.
    const src = n.inputs[0]?.op === 'mulConst' ? n.inputs[0].inputs[0] : n.inputs[0];
    const producer = src?.op;
    if (n.quantizer) out.push({ q: n.quantizer, op: OP_LABEL[producer] ?? producer, node: n });
  }
  return out;
}

/** The settings recorded in scales.json for these prepare options. */
export function graphSettings(opts: { activations?: ActivationOptions }): GraphSettings {
  const a = opts.activations;
  return { activations: { silu: a?.silu ?? 'npu', sigmoid: a?.sigmoid ?? 'npu' } };
}

export function scalesToJson(g: Graph, settings?: GraphSettings): ScalesFile {
  const counts = { weight: 0, bias: 0, act: 0, total: 0 };
  const hist: ScalesFile['pos_histogram'] = { weight: {}, bias: {}, act: {} };
  const quantizers: Record<string, ScaleEntry> = {};
  quantizerSites(g).forEach(({ q, op }, order) => {
    counts[q.kind]++;
    counts.total++;
    hist[q.kind][String(q.pos)] = (hist[q.kind][String(q.pos)] ?? 0) + 1;
    quantizers[q.name] = {
      scale: q.scale, pos: q.pos, kind: q.kind, zero_point: q.zeroPoint, op, order,
      shape: [...q.lastShape],
    };
  });
  for (const k of ['weight', 'bias', 'act'] as const) {
    const sorted = Object.entries(hist[k]).sort((a, b) => Number(a[0]) - Number(b[0]));
    hist[k] = Object.fromEntries(sorted);
  }
  return { ...(settings ? { settings } : {}), counts, pos_histogram: hist, quantizers };
}

export function writeScales(file: string, g: Graph, settings?: GraphSettings): void {
  writeFileAtomic(file, JSON.stringify(scalesToJson(g, settings), null, 1) + '\n');
}

function readScalesFile(file: string): ScalesFile {
  let data: ScalesFile;
  try {
    data = JSON.parse(new TextDecoder().decode(readFileOrFail(file))) as ScalesFile;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof data?.quantizers !== 'object' || data.quantizers === null) {
    throw new UserError(`${file}: no 'quantizers' object`);
  }
  return data;
}

/** The graph settings of a scales.json (the defaults when it records none, e.g. the fixtures). */
export function readScalesSettings(file: string): GraphSettings {
  const s = readScalesFile(file).settings;
  const mode = (v: unknown): 'npu' | 'keep' => (v === 'keep' ? 'keep' : 'npu');
  const a = s?.activations;
  return { activations: { silu: mode(a?.silu), sigmoid: mode(a?.sigmoid) } };
}

/** Loads scales into `g`'s quantizers; each must be listed, with a power-of-two scale. */
export function loadScales(g: Graph, file: string): void {
  const data = readScalesFile(file);
  for (const q of g.quantizers()) {
    const e = data.quantizers[q.name];
    if (e === undefined) throw new UserError(`${file}: quantizer '${q.name}' is missing`);
    const pow2 = e.scale > 0 && Number.isInteger(Math.log2(e.scale));
    if (!pow2 || !Number.isInteger(e.zero_point)) {
      throw new UserError(`${file}: quantizer '${q.name}' has a bad scale or zero point`);
    }
    q.load(e.scale, e.zero_point);
    if (Array.isArray(e.shape)) q.lastShape = [...e.shape]; // round-trips the file's shapes
  }
}
