/**
 * @file ONNX export of a frozen quantized graph (quark.md §3.3): every quantizer becomes a
 * standard QuantizeLinear → DequantizeLinear pair (float32 scalar scale, int8 scalar zero point);
 * weights and biases are float initializers (BN merged) through their own Q/DQ; the ops map to
 * Conv, HardSigmoid (α = 1/6, β = 0.5, as torch's symbolic), Mul (the DPU factor too), Add,
 * Concat, MaxPool, Slice, Resize (nearest, asymmetric, floor); then the FP32 decode as ordinary
 * ops → `output` [B, A, 5 + C] (both shared with the FP32 export: quant/export/onnx_builder.ts).
 * Opset 13.
 */
import type { Graph, GraphNode } from '../graph/graph.js';
import type { FakeQuantizer } from '../quantizer.js';
import { f32Bytes, OnnxBuilder } from './onnx_builder.js';
import { DT_FLOAT, DT_INT8 } from './onnx_proto.js';

export interface ExportOptions {
  /** Head strides in level order. */
  strides: readonly number[];
  /** Network input [B, 3, H, W]. */
  inputShape: readonly number[];
}

export function exportOnnx(g: Graph, opts: ExportOptions): Uint8Array {
  const b = new OnnxBuilder();
  /** x → QuantizeLinear → DequantizeLinear with q's scale and zero point; returns the DQ name. */
  const qdq = (x: string, q: FakeQuantizer, out: string): string => {
    const s = b.f32Scalar(`${q.name}.scale`, q.scale);
    const zp = new Uint8Array(Int8Array.of(q.zeroPoint).buffer);
    const z = b.addInit(`${q.name}.zero_point`, DT_INT8, [], zp);
    b.node('QuantizeLinear', [x, s, z], `${out}/q`);
    return b.node('DequantizeLinear', [`${out}/q`, s, z], out);
  };
  const paramQdq = (p: GraphNode, q: FakeQuantizer | undefined): string => {
    const name = b.addInit(p.name, DT_FLOAT, p.shape, f32Bytes(p.value!.data));
    return q ? qdq(name, q, `${p.name}/dq`) : name;
  };

  for (const n of g.nodes) {
    const a = n.attrs as Record<string, number>;
    let out: string | null = null;
    switch (n.op) {
      case 'input': out = 'images'; break;
      case 'param': break;
      case 'quant': out = qdq(b.names.get(n.inputs[0])!, n.quantizer!, n.name); break;
      case 'conv2d': {
        const [x, w, bias] = n.inputs;
        const inputs = [b.names.get(x)!, paramQdq(w, n.weightQuantizer)];
        if (bias !== undefined) inputs.push(paramQdq(bias, n.biasQuantizer));
        out = b.conv(n, inputs);
        break;
      }
      case 'hardsigmoid':
        out = b.node('HardSigmoid', b.inputsOf(n), n.name,
          { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
        break;
      case 'mulConst':
        out = b.node('Mul', [...b.inputsOf(n), b.f32Scalar(`${n.name}.value`, a.value)], n.name);
        break;
      default:
        out = b.commonOp(n);
        if (out === null) {
          throw new Error(`export: op ${n.op} (${n.name}) has no ONNX mapping; freeze first`);
        }
    }
    if (out !== null) b.names.set(n, out);
  }
  return b.decodeAndEncode('yolox_tiny_quark_int8', g, opts.strides, opts.inputShape);
}
