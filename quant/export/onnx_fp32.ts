/**
 * @file ONNX export of the FP32 model (no quantizers): the captured body graph
 * (quant/graph/yolox_capture.ts, named by passes/name_yolox.ts) mapped op by op — Conv,
 * BatchNormalization (explicit, running statistics), SiLU as Sigmoid·Mul, Sigmoid, MaxPool,
 * Resize (nearest, asymmetric, floor = our 2× upsample), Concat, Slice, Add — then the FP32 decode
 * as ordinary ops: per-level Reshape → Concat → Transpose → (xy + grid)·stride, exp(wh)·stride,
 * scores → `output` [B, A, 5 + C]. Opset 13. The quantized (Q/DQ) export is quant/export/onnx.ts.
 */
import { Tensor } from '../../engine/tensor.js';
import type { YOLOX } from '../../models/yolox.js';
import type { Graph, GraphNode } from '../graph/graph.js';
import { nameYoloxNodes } from '../graph/passes/name_yolox.js';
import { captureYoloxBody } from '../graph/yolox_capture.js';
import {
  DT_FLOAT, DT_INT64, encodeModel, type OnnxInitializer, type OnnxNode,
} from './onnx_proto.js';

const f32Bytes = (v: ArrayLike<number>) => new Uint8Array(Float32Array.from(v).buffer);
const i64Bytes = (v: readonly number[]) =>
  new Uint8Array(BigInt64Array.from(v.map((x) => BigInt(x))).buffer);

/** Exports the FP32 model at input shape [B, 3, H, W] (H, W multiples of 32). */
export function exportOnnxFp32(model: YOLOX, inputShape: readonly number[]): Uint8Array {
  const g = nameYoloxNodes(captureYoloxBody(model, Tensor.zeros(inputShape)));
  return exportGraphFp32(g, model.head.strides, inputShape);
}

/** Exports an unquantized body graph (ops of the raw capture only). */
export function exportGraphFp32(
  g: Graph, strides: readonly number[], inputShape: readonly number[],
): Uint8Array {
  const nodes: OnnxNode[] = [];
  const inits: OnnxInitializer[] = [];
  const names = new Map<GraphNode, string>();
  const initNames = new Set<string>();
  const addInit = (
    name: string, type: OnnxInitializer['type'], dims: readonly number[], raw: Uint8Array,
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

  for (const n of g.nodes) {
    const ins = () => n.inputs.map((i) => names.get(i)!);
    const a = n.attrs as Record<string, number>;
    let out: string | null = null;
    switch (n.op) {
      case 'input': out = 'images'; break;
      case 'param':
        out = addInit(n.name, DT_FLOAT, n.value!.shape, f32Bytes(n.value!.data));
        break;
      case 'conv2d': {
        const k = n.inputs[1].shape.slice(2);
        out = node('Conv', ins(), n.name, {
          kernel_shape: k, strides: [a.stride, a.stride], group: a.groups,
          pads: [a.padding, a.padding, a.padding, a.padding], dilations: [1, 1],
        });
        break;
      }
      case 'batchNorm2d':
        out = node('BatchNormalization', ins(), n.name, { epsilon: { float: a.eps } });
        break;
      case 'silu': {
        const s = node('Sigmoid', ins(), `${n.name}/sigmoid`);
        out = node('Mul', [...ins(), s], n.name);
        break;
      }
      case 'sigmoid': out = node('Sigmoid', ins(), n.name); break;
      case 'add': out = node('Add', ins(), n.name); break;
      case 'mul': out = node('Mul', ins(), n.name); break;
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
        throw new Error(`export fp32: op ${n.op} (${n.name}) has no FP32 ONNX mapping`);
    }
    if (out !== null) names.set(n, out);
  }

  // FP32 decode (models/head_decode.ts): xy = (t + grid)·s, wh = exp(t)·s, scores unchanged.
  const B = inputShape[0];
  const cats = strides.map((_, k) => g.outputs.get(`head.out${k}.cat`)!);
  const D = cats[0].shape[1];
  const flat = cats.map((c, k) => node('Reshape', [names.get(c)!, i64('decode.shape', [B, D, -1])],
    `decode.flat${k}`));
  node('Concat', flat, 'decode.cat', { axis: 2 });
  node('Transpose', ['decode.cat'], 'decode.t', { perm: [0, 2, 1] });
  const grid: number[] = [], stride: number[] = [];
  for (const s of strides) {
    const [h, w] = [inputShape[2] / s, inputShape[3] / s];
    for (let row = 0; row < h; row++) {
      for (let col = 0; col < w; col++) {
        grid.push(col, row);
        stride.push(s);
      }
    }
  }
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
    name: 'yolox_tiny_fp32', nodes, initializers: inits, opset: 13,
    inputs: [{ name: 'images', shape: inputShape }],
    outputs: [{ name: 'output', shape: [B, A, D] }],
  });
}
