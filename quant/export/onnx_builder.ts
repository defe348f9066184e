/**
 * @file The parts both ONNX exports share (quant/export/onnx.ts with Q/DQ, onnx_fp32.ts without):
 * a builder that collects nodes and initializers (each initializer once, by name), the op
 * mappings that are the same in both (Conv attributes, Add, Mul, Concat, MaxPool, Slice, Resize
 * for our nearest 2× upsample) and the FP32 decode as ordinary ops: per-level Reshape → Concat →
 * Transpose → (xy + grid)·stride, exp(wh)·stride, scores → `output` [B, A, 5 + C]. Opset 13.
 */
import type { Graph, GraphNode } from '../graph/graph.js';
import {
  DT_FLOAT, DT_INT64, encodeModel, type OnnxInitializer, type OnnxNode,
} from './onnx_proto.js';

export const f32Bytes = (v: ArrayLike<number>) => new Uint8Array(Float32Array.from(v).buffer);
const i64Bytes = (v: readonly number[]) =>
  new Uint8Array(BigInt64Array.from(v.map((x) => BigInt(x))).buffer);

/** Nodes and initializers of one ONNX model, in insertion order; graph nodes → value names. */
export class OnnxBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly inits: OnnxInitializer[] = [];
  /** The ONNX value name of each mapped graph node. */
  readonly names = new Map<GraphNode, string>();
  private readonly initNames = new Set<string>();

  /** Adds an initializer unless one of that name exists; returns the name. */
  addInit(
    name: string, type: OnnxInitializer['type'], dims: readonly number[], raw: Uint8Array,
  ): string {
    if (!this.initNames.has(name)) this.inits.push({ name, type, dims: [...dims], raw });
    this.initNames.add(name);
    return name;
  }

  /** An int64 vector initializer. */
  i64(name: string, v: number[]): string {
    return this.addInit(name, DT_INT64, [v.length], i64Bytes(v));
  }

  /** A float32 scalar initializer. */
  f32Scalar(name: string, v: number): string {
    return this.addInit(name, DT_FLOAT, [], f32Bytes([v]));
  }

  /** A single-output node named after its output; returns the output name. */
  node(op: string, inputs: string[], output: string, attrs?: OnnxNode['attrs']): string {
    this.nodes.push({ op, inputs, outputs: [output], name: output, attrs });
    return output;
  }

  /** The ONNX names of n's inputs (all mapped already: the graph is in topological order). */
  inputsOf(n: GraphNode): string[] {
    return n.inputs.map((i) => this.names.get(i)!);
  }

  /** Conv of n (a conv2d node) on the given input names (x, w[, b]). */
  conv(n: GraphNode, inputs: string[]): string {
    const a = n.attrs as Record<string, number>;
    return this.node('Conv', inputs, n.name, {
      kernel_shape: n.inputs[1].shape.slice(2), strides: [a.stride, a.stride], group: a.groups,
      pads: [a.padding, a.padding, a.padding, a.padding], dilations: [1, 1],
    });
  }

  /**
   * The ops mapped the same way by both exports (add, mul, concat, maxPool2d, slice,
   * upsampleNearest2x); returns the output name, or null when n's op is not one of them.
   */
  commonOp(n: GraphNode): string | null {
    const ins = this.inputsOf(n);
    const a = n.attrs as Record<string, number>;
    switch (n.op) {
      case 'add': return this.node('Add', ins, n.name);
      case 'mul': return this.node('Mul', ins, n.name);
      case 'concat': return this.node('Concat', ins, n.name, { axis: a.axis });
      case 'maxPool2d':
        return this.node('MaxPool', ins, n.name, {
          kernel_shape: [a.kernel, a.kernel], strides: [a.stride, a.stride],
          pads: [a.padding, a.padding, a.padding, a.padding],
        });
      case 'slice':
        return this.node('Slice', [...ins, this.i64(`${n.name}.starts`, [a.start]),
          this.i64(`${n.name}.ends`, [a.end]), this.i64(`${n.name}.axes`, [a.axis]),
          this.i64(`${n.name}.steps`, [a.step])], n.name);
      case 'upsampleNearest2x':
        return this.node('Resize', [...ins, '', this.addInit(`${n.name}.scales`, DT_FLOAT, [4],
          f32Bytes([1, 1, 2, 2]))], n.name, {
          mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor',
        });
      default: return null;
    }
  }

  /**
   * The FP32 decode (models/head_decode.ts) on the head outputs `head.out{k}.cat` of g: levels
   * flattened, concatenated, transposed, then xy = (t + grid)·s, wh = exp(t)·s, scores
   * unchanged → `output`. Then encodes the model with input `images` and output [B, A, D].
   */
  decodeAndEncode(
    name: string, g: Graph, strides: readonly number[], inputShape: readonly number[],
  ): Uint8Array {
    const B = inputShape[0];
    const cats = strides.map((_, k) => g.outputs.get(`head.out${k}.cat`)!);
    const D = cats[0].shape[1];
    const flat = cats.map((c, k) => this.node('Reshape',
      [this.names.get(c)!, this.i64('decode.shape', [B, D, -1])], `decode.flat${k}`));
    this.node('Concat', flat, 'decode.cat', { axis: 2 });
    this.node('Transpose', ['decode.cat'], 'decode.t', { perm: [0, 2, 1] });
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
    this.addInit('decode.grid', DT_FLOAT, [1, A, 2], f32Bytes(grid));
    this.addInit('decode.stride', DT_FLOAT, [1, A, 1], f32Bytes(stride));
    const part = (p: string, from: number, to: number) => this.node('Slice', ['decode.t',
      this.i64(`${p}.starts`, [from]), this.i64(`${p}.ends`, [to]),
      this.i64('decode.axes', [2])], p);
    part('decode.xy', 0, 2);
    part('decode.wh', 2, 4);
    part('decode.scores', 4, D);
    this.node('Add', ['decode.xy', 'decode.grid'], 'decode.xy_grid');
    this.node('Mul', ['decode.xy_grid', 'decode.stride'], 'decode.xy_px');
    this.node('Exp', ['decode.wh'], 'decode.wh_exp');
    this.node('Mul', ['decode.wh_exp', 'decode.stride'], 'decode.wh_px');
    this.node('Concat', ['decode.xy_px', 'decode.wh_px', 'decode.scores'], 'output', { axis: 2 });

    return encodeModel({
      name, nodes: this.nodes, initializers: this.inits, opset: 13,
      inputs: [{ name: 'images', shape: inputShape }],
      outputs: [{ name: 'output', shape: [B, A, D] }],
    });
  }
}
