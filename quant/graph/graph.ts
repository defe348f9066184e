/**
 * @file The graph IR (a TypeScript analogue of a torch.fx GraphModule): an ordered list of named
 * nodes, each one op applied to earlier nodes. Passes take a graph and return a new one; the
 * interpreter (interpreter.ts) executes it with autograd; `formatGraph` prints it one line a node.
 *
 * Node kinds:
 *   input   — a graph input (the image batch)
 *   param   — a model parameter or buffer, held by reference (training updates it in place)
 *   op      — a computation; `attrs` are the op's typed options
 *   quant   — a fake-quant node; holds its FakeQuantizer
 * Conv-like nodes may also hold weight and bias quantizers (Quark keeps them inside the module:
 * `_weight_quantizer`, `_bias_quantizer`).
 */
import type { Tensor } from '../../engine/tensor.js';
import type { FakeQuantizer } from '../quantizer.js';

/** Every op the interpreter knows (the dispatch table in interpreter.ts is checked against it). */
export type OpName =
  | 'input' | 'param' | 'quant'
  | 'conv2d' | 'batchNorm2d' | 'convBn'
  | 'silu' | 'sigmoid' | 'hardsigmoid'
  | 'add' | 'mul' | 'concat' | 'slice'
  | 'maxPool2d' | 'upsampleNearest2x' | 'mulConst';

export interface ConvAttrs { stride: number; padding: number; groups: number }
export interface BnAttrs { eps: number; momentum: number }
export interface SliceAttrs { axis: number; start: number; end: number; step: number }
export interface PoolAttrs { kernel: number; stride: number; padding: number }

export interface AttrsOf {
  input: Record<string, never>;
  param: Record<string, never>;
  quant: Record<string, never>;
  conv2d: ConvAttrs;
  batchNorm2d: BnAttrs;
  /** Conv whose weight and bias are BN-folded on the fly with the running statistics. */
  convBn: ConvAttrs & BnAttrs;
  silu: Record<string, never>;
  sigmoid: Record<string, never>;
  hardsigmoid: Record<string, never>;
  add: Record<string, never>;
  mul: Record<string, never>;
  concat: { axis: number };
  slice: SliceAttrs;
  maxPool2d: PoolAttrs;
  upsampleNearest2x: Record<string, never>;
  /** y = x·value (float32), unquantized: the NPU hardsigmoid factor inserted at freeze. */
  mulConst: { value: number };
}

export interface GraphNode<K extends OpName = OpName> {
  /** Unique in the graph; for quantized tensors the quantizer name (quantizer_naming.md). */
  readonly name: string;
  readonly op: K;
  readonly inputs: readonly GraphNode[];
  readonly attrs: Readonly<AttrsOf[K]>;
  /** Output shape seen at capture (batch dimension included). */
  readonly shape: readonly number[];
  /** Module path the op ran in at capture ('' at top level). */
  readonly scope: string;
  /** `param` nodes: the parameter itself (shared with the model); `name` is its state-dict key. */
  readonly value?: Tensor;
  /** `quant` nodes: the activation quantizer. */
  readonly quantizer?: FakeQuantizer;
  /** conv2d/convBn: the weight and bias quantizers (of W′ and b′ after BN folding). */
  readonly weightQuantizer?: FakeQuantizer;
  readonly biasQuantizer?: FakeQuantizer;
}

export type AnyNode = GraphNode;

export class Graph {
  /** Topological order: every node's inputs come before it. */
  readonly nodes: readonly GraphNode[];
  /** Named outputs (e.g. `head.out0.cat`). */
  readonly outputs: ReadonlyMap<string, GraphNode>;

  constructor(nodes: readonly GraphNode[], outputs: ReadonlyMap<string, GraphNode>) {
    const seen = new Set<GraphNode>();
    const names = new Set<string>();
    for (const n of nodes) {
      for (const i of n.inputs) {
        if (!seen.has(i)) throw new Error(`graph: ${n.name} reads ${i.name} before it is defined`);
      }
      if (names.has(n.name)) throw new Error(`graph: duplicate node name ${n.name}`);
      names.add(n.name);
      seen.add(n);
    }
    for (const [k, o] of outputs) {
      if (!seen.has(o)) throw new Error(`graph: output ${k} is not a node`);
    }
    this.nodes = nodes;
    this.outputs = outputs;
  }

  node(name: string): GraphNode {
    const n = this.nodes.find((m) => m.name === name);
    if (n === undefined) throw new Error(`graph: no node ${name}`);
    return n;
  }

  /** Nodes that read `n`, in graph order. */
  users(n: GraphNode): GraphNode[] {
    return this.nodes.filter((m) => m.inputs.includes(n));
  }

  /** Every quantizer (activation, weight, bias) in graph order, weight and bias before output. */
  quantizers(): FakeQuantizer[] {
    const out: FakeQuantizer[] = [];
    for (const n of this.nodes) {
      if (n.weightQuantizer) out.push(n.weightQuantizer);
      if (n.biasQuantizer) out.push(n.biasQuantizer);
      if (n.quantizer) out.push(n.quantizer);
    }
    return out;
  }
}

/**
 * Builds a new graph from an old one, node by node, in order (an fx `Transformer`). `env` maps
 * each old node to the new node that now holds its value; `emit` appends a new node.
 */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  private readonly env = new Map<GraphNode, GraphNode>();

  /** The new node standing for old node `n`. */
  get(n: GraphNode): GraphNode {
    const m = this.env.get(n);
    if (m === undefined) throw new Error(`graph: ${n.name} used before it is defined`);
    return m;
  }

  set(old: GraphNode, now: GraphNode): void {
    this.env.set(old, now);
  }

  emit<K extends OpName>(n: GraphNode<K>): GraphNode<K> {
    this.nodes.push(n);
    return n;
  }

  /** Old node `n` copied with its inputs mapped (and `fields` replaced), emitted, recorded. */
  copy<K extends OpName>(n: GraphNode<K>, fields: Partial<GraphNode<K>> = {}): GraphNode<K> {
    const m = this.emit({ ...n, inputs: n.inputs.map((i) => this.get(i)), ...fields });
    this.set(n, m);
    return m;
  }

  /** The finished graph; outputs follow `env` unless given. */
  finish(old: Graph, outputs?: ReadonlyMap<string, GraphNode>): Graph {
    const outs = outputs ?? new Map([...old.outputs].map(([k, v]) => [k, this.get(v)]));
    return new Graph(this.nodes, outs);
  }
}

/**
 * The generic pass: `f` sees each old node with the builder and either handles it (emitting
 * nodes and calling `b.set(n, …)`) and returns true, or returns false to have it copied.
 */
export function rewrite(g: Graph, f: (n: GraphNode, b: GraphBuilder) => boolean): Graph {
  const b = new GraphBuilder();
  for (const n of g.nodes) if (!f(n, b)) b.copy(n);
  return b.finish(g);
}

/** Drops nodes that no output depends on (after passes that bypass nodes). */
export function eliminateDeadNodes(g: Graph): Graph {
  const live = new Set<GraphNode>();
  const stack = [...g.outputs.values()];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (live.has(n)) continue;
    live.add(n);
    stack.push(...n.inputs);
  }
  return new Graph(g.nodes.filter((n) => live.has(n)), g.outputs);
}
