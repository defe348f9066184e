/**
 * @file ONNX export of a frozen quantized graph (quark.md §3.3): every quantizer becomes a
 * standard QuantizeLinear → DequantizeLinear pair (float32 scalar scale, int8 scalar zero point);
 * weights and biases are float initializers (BN merged) through their own Q/DQ; the ops map to
 * Conv, HardSigmoid (α = 1/6, β = 0.5, as torch's symbolic), Mul (the DPU factor too), Add,
 * Concat, MaxPool, Slice, Resize (nearest, asymmetric, floor); then the FP32 decode as ordinary
 * ops: per-level Reshape → Concat → Transpose → (xy + grid)·stride, exp(wh)·stride, scores →
 * `output` [B, A, 5 + C]. Opset 13.
 */
import type { Graph, GraphNode } from '../graph/graph.js';
import type { FakeQuantizer } from '../quantizer.js';
import {
  DT_FLOAT, DT_INT64, DT_INT8, encodeModel, type OnnxInitializer, type OnnxNode,
} from './onnx_proto.js';

const f32Bytes = (v: ArrayLike<number>) => new Uint8Array(Float32Array.from(v).buffer);
const i64Bytes = (v: readonly number[]) =>
  new Uint8Array(BigInt64Array.from(v.map((x) => BigInt(x))).buffer);

export interface ExportOptions {
  /** Head strides in level order. */
  strides: readonly number[];
  /** Network input [B, 3, H, W]. */
  inputShape: readonly number[];
}

export function exportOnnx(g: Graph, opts: ExportOptions): Uint8Array {
  const nodes: OnnxNode[] = [];
  const inits: OnnxInitializer[] = [];
  const names = new Map<GraphNode, string>();
  const initNames = new Set<string>();
  const addInit = (
    name: string, type: OnnxInitializer['type'], dims: number[], raw: Uint8Array,
  ) => {
    if (!initNames.has(name)) inits.push({ name, type, dims, raw });
    initNames.add(name);
    return name;
  };
  const i64 = (name: string, v: number[]) => addInit(name, DT_INT64, [v.length], i64Bytes(v));
  const node = (op: string, inputs: string[], output: string, attrs?: OnnxNode['attrs']) => {
    nodes.push({ op, inputs, outputs: [output], name: output, attrs });
    return output;
  };
  /** x → QuantizeLinear → DequantizeLinear with q's scale and zero point; returns the DQ name. */
  const qdq = (x: string, q: FakeQuantizer, out: string): string => {
    const s = addInit(`${q.name}.scale`, DT_FLOAT, [], f32Bytes([q.scale]));
    const zp = new Uint8Array(Int8Array.of(q.zeroPoint).buffer);
    const z = addInit(`${q.name}.zero_point`, DT_INT8, [], zp);
    node('QuantizeLinear', [x, s, z], `${out}/q`);
    return node('DequantizeLinear', [`${out}/q`, s, z], out);
  };
  const paramQdq = (p: GraphNode, q: FakeQuantizer | undefined): string => {
    const name = addInit(p.name, DT_FLOAT, [...p.shape], f32Bytes(p.value!.data));
    return q ? qdq(name, q, `${p.name}/dq`) : name;
  };

  for (const n of g.nodes) {
    const ins = () => n.inputs.map((i) => names.get(i)!);
    const a = n.attrs as Record<string, number>;
    let out: string | null = null;
    switch (n.op) {
      case 'input': out = 'images'; break;
      case 'param': break;
      case 'quant': out = qdq(names.get(n.inputs[0])!, n.quantizer!, n.name); break;
      case 'conv2d': {
        const [x, w, b] = n.inputs;
        const k = w.shape.slice(2);
        const inputs = [names.get(x)!, paramQdq(w, n.weightQuantizer)];
        if (b !== undefined) inputs.push(paramQdq(b, n.biasQuantizer));
        out = node('Conv', inputs, n.name, {
          kernel_shape: k, strides: [a.stride, a.stride], group: a.groups,
          pads: [a.padding, a.padding, a.padding, a.padding], dilations: [1, 1],
        });
        break;
      }
      case 'hardsigmoid':
        out = node('HardSigmoid', ins(), n.name, { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
        break;
      case 'mulConst':
        out = node('Mul', [...ins(), addInit(`${n.name}.value`, DT_FLOAT, [], f32Bytes([a.value]))],
          n.name);
        break;
      case 'mul': out = node('Mul', ins(), n.name); break;
      case 'add': out = node('Add', ins(), n.name); break;
      case 'concat': out = node('Concat', ins(), n.name, { axis: a.axis }); break;
      case 'maxPool2d':
        out = node('MaxPool', ins(), n.name, {
          kernel_shape: [a.kernel, a.kernel], strides: [a.stride, a.stride],
          pads: [a.padding, a.padding, a.padding, a.padding],
        });
        break;
      case 'slice':
        out = node('Slice', [...ins(), i64(`${n.name}.starts`, [a.start]),
          i64(`${n.name}.ends`, [a.end]), i64(`${n.name}.axes`, [a.axis]),
          i64(`${n.name}.steps`, [a.step])], n.name);
        break;
      case 'upsampleNearest2x':
        out = node('Resize', [...ins(), '', addInit(`${n.name}.scales`, DT_FLOAT, [4],
          f32Bytes([1, 1, 2, 2]))], n.name, {
          mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor',
        });
        break;
      default:
        throw new Error(`export: op ${n.op} (${n.name}) has no ONNX mapping; freeze first`);
    }
    if (out !== null) names.set(n, out);
  }

  // FP32 decode (models/head_decode.ts): levels flattened, concatenated, transposed, then
  // xy = (t + grid)·s, wh = exp(t)·s, scores unchanged.
  const B = opts.inputShape[0];
  const cats = opts.strides.map((_, k) => g.outputs.get(`head.out${k}.cat`)!);
  const D = cats[0].shape[1];
  const flat = cats.map((c, k) => node('Reshape', [names.get(c)!, i64('decode.shape', [B, D, -1])],
    `decode.flat${k}`));
  node('Concat', flat, 'decode.cat', { axis: 2 });
  node('Transpose', ['decode.cat'], 'decode.t', { perm: [0, 2, 1] });
  const grid: number[] = [], stride: number[] = [];
  cats.forEach((c, k) => {
    const s = opts.strides[k], [h, w] = [opts.inputShape[2] / s, opts.inputShape[3] / s];
    for (let row = 0; row < h; row++) {
      for (let col = 0; col < w; col++) {
        grid.push(col, row);
        stride.push(s);
      }
    }
  });
  const A = stride.length;
  addInit('decode.grid', DT_FLOAT, [1, A, 2], f32Bytes(grid));
  addInit('decode.stride', DT_FLOAT, [1, A, 1], f32Bytes(stride));
  const part = (name: string, from: number, to: number) => node('Slice', ['decode.t',
    i64(`${name}.starts`, [from]), i64(`${name}.ends`, [to]), i64('decode.axes', [2])], name);
  part('decode.xy', 0, 2);
  part('decode.wh', 2, 4);
  part('decode.scores', 4, D);
  node('Add', ['decode.xy', 'decode.grid'], 'decode.xy_grid');
  node('Mul', ['decode.xy_grid', 'decode.stride'], 'decode.xy_px');
  node('Exp', ['decode.wh'], 'decode.wh_exp');
  node('Mul', ['decode.wh_exp', 'decode.stride'], 'decode.wh_px');
  node('Concat', ['decode.xy_px', 'decode.wh_px', 'decode.scores'], 'output', { axis: 2 });

  return encodeModel({
    name: 'yolox_tiny_quark_int8', nodes, initializers: inits, opset: 13,
    inputs: [{ name: 'images', shape: opts.inputShape }],
    outputs: [{ name: 'output', shape: [B, A, D] }],
  });
}
