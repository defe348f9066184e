/**
 * @file ONNX export of the FP32 model (no quantizers): the captured body graph
 * (quant/graph/yolox_capture.ts, named by passes/name_yolox.ts) mapped op by op — Conv,
 * BatchNormalization (explicit, running statistics), SiLU as Sigmoid·Mul, Sigmoid, MaxPool,
 * Resize (nearest, asymmetric, floor = our 2× upsample), Concat, Slice, Add — then the FP32 decode
 * as ordinary ops → `output` [B, A, 5 + C] (quant/export/onnx_builder.ts, shared with the
 * quantized Q/DQ export quant/export/onnx.ts). Opset 13.
 */
import { Tensor } from '../../engine/tensor.js';
import type { YOLOX } from '../../models/yolox.js';
import type { Graph } from '../graph/graph.js';
import { nameYoloxNodes } from '../graph/passes/name_yolox.js';
import { captureYoloxBody } from '../graph/yolox_capture.js';
import { f32Bytes, OnnxBuilder } from './onnx_builder.js';
import { DT_FLOAT } from './onnx_proto.js';

/** Exports the FP32 model at input shape [B, 3, H, W] (H, W multiples of 32). */
export function exportOnnxFp32(model: YOLOX, inputShape: readonly number[]): Uint8Array {
  const g = nameYoloxNodes(captureYoloxBody(model, Tensor.zeros(inputShape)));
  return exportGraphFp32(g, model.head.strides, inputShape);
}

/** Exports an unquantized body graph (ops of the raw capture only). */
export function exportGraphFp32(
  g: Graph, strides: readonly number[], inputShape: readonly number[],
): Uint8Array {
  const b = new OnnxBuilder();
  for (const n of g.nodes) {
    const ins = () => b.inputsOf(n);
    const a = n.attrs as Record<string, number>;
    let out: string | null = null;
    switch (n.op) {
      case 'input': out = 'images'; break;
      case 'param':
        out = b.addInit(n.name, DT_FLOAT, n.value!.shape, f32Bytes(n.value!.data));
        break;
      case 'conv2d': out = b.conv(n, ins()); break;
      case 'batchNorm2d':
        out = b.node('BatchNormalization', ins(), n.name, { epsilon: { float: a.eps } });
        break;
      case 'silu': {
        const s = b.node('Sigmoid', ins(), `${n.name}/sigmoid`);
        out = b.node('Mul', [...ins(), s], n.name);
        break;
      }
      case 'sigmoid': out = b.node('Sigmoid', ins(), n.name); break;
      default:
        out = b.commonOp(n);
        if (out === null) {
          throw new Error(`export fp32: op ${n.op} (${n.name}) has no FP32 ONNX mapping`);
        }
    }
    if (out !== null) b.names.set(n, out);
  }
  return b.decodeAndEncode('yolox_tiny_fp32', g, strides, inputShape);
}
