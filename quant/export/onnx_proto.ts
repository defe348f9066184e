/**
 * @file The few ONNX messages the exporter writes (onnx/onnx.proto field numbers):
 *   ModelProto     ir_version 1, producer_name 2, graph 7, opset_import 8
 *   OperatorSetId  domain 1, version 2
 *   GraphProto     node 1, name 2, initializer 5, input 11, output 12
 *   NodeProto      input 1, output 2, name 3, op_type 4, attribute 5
 *   AttributeProto name 1, f 2, i 3, s 4, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, INTS 7)
 *   TensorProto    dims 1, data_type 2 (FLOAT 1, INT8 3, INT64 7), name 8, raw_data 9
 *   ValueInfoProto name 1, type 2 → TypeProto.tensor_type 1 → elem_type 1, shape 2
 *   TensorShapeProto dim 1 → dim_value 1
 */
import { ProtoWriter } from './protobuf.js';

export const DT_FLOAT = 1, DT_INT8 = 3, DT_INT64 = 7;

export type AttrValue = number | string | readonly number[] | { float: number };

export interface OnnxNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  attrs?: Record<string, AttrValue>;
}

export interface OnnxInitializer {
  name: string;
  dims: readonly number[];
  type: typeof DT_FLOAT | typeof DT_INT8 | typeof DT_INT64;
  /** Little-endian raw bytes of the values. */
  raw: Uint8Array;
}

function attribute(name: string, v: AttrValue): ProtoWriter {
  const a = new ProtoWriter().string(1, name);
  if (typeof v === 'string') return a.bytes(4, new TextEncoder().encode(v)).int(20, 3);
  if (typeof v === 'number') return a.int(3, v).int(20, 2);
  if ('float' in v) return a.float(2, v.float).int(20, 1);
  for (const x of v as readonly number[]) a.int(8, x);
  return a.int(20, 7);
}

function valueInfo(name: string, shape: readonly number[]): ProtoWriter {
  const dims = new ProtoWriter();
  for (const d of shape) dims.message(1, new ProtoWriter().int(1, d));
  const tensorType = new ProtoWriter().int(1, DT_FLOAT).message(2, dims);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

export interface OnnxGraphSpec {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxInitializer[];
  inputs: readonly { name: string; shape: readonly number[] }[];
  outputs: readonly { name: string; shape: readonly number[] }[];
  opset: number;
}

/** The serialized ModelProto. */
export function encodeModel(g: OnnxGraphSpec): Uint8Array {
  const graph = new ProtoWriter();
  for (const n of g.nodes) {
    const node = new ProtoWriter();
    for (const i of n.inputs) node.string(1, i);
    for (const o of n.outputs) node.string(2, o);
    node.string(3, n.name).string(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) node.message(5, attribute(k, v));
    graph.message(1, node);
  }
  graph.string(2, g.name);
  for (const t of g.initializers) {
    const tp = new ProtoWriter();
    for (const d of t.dims) tp.int(1, d);
    tp.int(2, t.type).string(8, t.name).bytes(9, t.raw);
    graph.message(5, tp);
  }
  for (const i of g.inputs) graph.message(11, valueInfo(i.name, i.shape));
  for (const o of g.outputs) graph.message(12, valueInfo(o.name, o.shape));
  return new ProtoWriter()
    .int(1, 7)
    .string(2, 'yoloxq')
    .message(7, graph)
    .message(8, new ProtoWriter().string(1, '').int(2, g.opset))
    .finish();
}
