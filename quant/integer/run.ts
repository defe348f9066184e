/**
 * @file The integer reference: executes a quantized graph (PTQ or frozen) with integer codes and
 * exact rationals only (exact.ts, int_ops.ts) — no float arithmetic between quantizers. Every
 * quantizer's output is returned as int8 codes (q, pos, z). With power-of-two scales the
 * fake-quant float path must give exactly (q − z)·2^−pos for every quantizer (the fixtures'
 * claim; spec/quant_integer.spec.ts checks it), and these codes are the NPU's golden tensors.
 *
 * Weights and biases are quantized from their float values (W′ and b′ folded as the graph does);
 * the image is quantized directly from its float32 values (x·2^pos is exact).
 * Not integer-exact, hence refused: sigmoid, SiLU, unfolded batch norm.
 */
import { noGrad } from '../../engine/autograd.js';
import { roundHalfEven } from '../../engine/round.js';
import type { Tensor } from '../../engine/tensor.js';
import { foldBias, foldWeight } from '../graph/bn_fold.js';
import type { Graph, GraphNode } from '../graph/graph.js';
import type { FakeQuantizer } from '../quantizer.js';
import { exactOfCodes, requantize, type Codes, type Exact } from './exact.js';
import {
  intAdd, intConcat, intConv, intHardsigmoid, intMaxPool, intMul, intMulConst, intSlice,
  intUpsample2x,
} from './int_ops.js';

/** Codes of float values under a quantizer (exact for power-of-two scales). */
function quantizeFloats(x: Float32Array, q: FakeQuantizer, shape: readonly number[]): Codes {
  const pos = -Math.log2(q.scale), { qmin, qmax } = q.spec, z = q.zeroPoint;
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = roundHalfEven(x[i] * 2 ** pos) + z;
    out[i] = v < qmin ? qmin : v > qmax ? qmax : v;
  }
  return { q: out, pos, z, shape };
}

/** Runs `g` on the image `x`; returns every activation quantizer's codes by quantizer name. */
export function runInteger(g: Graph, x: Tensor): Map<string, Codes> {
  const codes = new Map<GraphNode, Codes>();
  const exact = new Map<GraphNode, Exact>();
  const out = new Map<string, Codes>();
  const val = (n: GraphNode): Exact => {
    const c = codes.get(n);
    if (c !== undefined) return exactOfCodes(c);
    const e = exact.get(n);
    if (e === undefined) throw new Error(`integer: ${n.name} (${n.op}) has no exact value`);
    return e;
  };
  const codesOf = (n: GraphNode): Codes => {
    const c = codes.get(n);
    if (c === undefined) throw new Error(`integer: ${n.name} must be a quantized tensor`);
    return c;
  };
  for (const n of g.nodes) {
    const a = n.attrs as Record<string, number>;
    switch (n.op) {
      case 'input': case 'param': break;
      case 'quant': {
        const q = n.quantizer!, src = n.inputs[0];
        const c = src.op === 'input'
          ? quantizeFloats(x.data, q, x.shape)
          : requantize(val(src), -Math.log2(q.scale), q.zeroPoint, q.spec.qmin, q.spec.qmax);
        codes.set(n, c);
        out.set(q.name, c);
        break;
      }
      case 'conv2d': case 'convBn': {
        const wq = n.weightQuantizer, bq = n.biasQuantizer;
        if (!wq) throw new Error(`integer: ${n.name} has no weight quantizer`);
        const [w, b] = noGrad(() => {
          if (n.op === 'conv2d') return [n.inputs[1].value!, n.inputs[2]?.value ?? null];
          const [, W, G, B, M, V] = n.inputs.map((i) => i.value!);
          return [foldWeight(W, G, V, a.eps), foldBias(B, G, M, V, a.eps)];
        });
        if (b !== null && !bq) throw new Error(`integer: ${n.name} has an unquantized bias`);
        const bc = b === null ? null : quantizeFloats(b.data, bq!, b.shape);
        exact.set(n, intConv(codesOf(n.inputs[0]), quantizeFloats(w.data, wq, w.shape), bc,
          { stride: a.stride, padding: a.padding, groups: a.groups }));
        break;
      }
      case 'add': exact.set(n, intAdd(val(n.inputs[0]), val(n.inputs[1]))); break;
      case 'mul': exact.set(n, intMul(val(n.inputs[0]), val(n.inputs[1]))); break;
      case 'hardsigmoid': exact.set(n, intHardsigmoid(val(n.inputs[0]))); break;
      case 'mulConst': exact.set(n, intMulConst(val(n.inputs[0]), a.value)); break;
      case 'concat': exact.set(n, intConcat(n.inputs.map(val), a.axis)); break;
      case 'slice':
        exact.set(n, intSlice(val(n.inputs[0]), n.attrs as GraphNode<'slice'>['attrs']));
        break;
      case 'maxPool2d':
        exact.set(n, intMaxPool(val(n.inputs[0]), n.attrs as GraphNode<'maxPool2d'>['attrs']));
        break;
      case 'upsampleNearest2x': exact.set(n, intUpsample2x(val(n.inputs[0]))); break;
      default:
        throw new Error(`integer: op ${n.op} (${n.name}) is not integer-exact`);
    }
  }
  return out;
}
