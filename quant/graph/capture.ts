/**
 * @file Graph capture (the analogue of torch.fx symbolic tracing, done by running): executes a
 * forward once with an op listener (engine/autograd `withOpListener`) and turns every recorded op
 * into a node. An op's input tensors are resolved as: the example input → the `input` node; a
 * known parameter/buffer → a `param` node named by its state-dict key; an earlier op's output →
 * that node. Anything else (a tensor made inside the forward) is an error if an output needs it.
 *
 * Nodes get provisional names `<scope>/<op>#<i>`; a naming pass gives the final ones
 * (passes/name_yolox.ts). Nodes that no output depends on are dropped; an op the interpreter
 * does not know is an error only if an output depends on it.
 */
import { noGrad, withOpListener } from '../../engine/autograd.js';
import type { Tensor } from '../../engine/tensor.js';
import { eliminateDeadNodes, Graph, type GraphNode, type OpName } from './graph.js';

const KNOWN: ReadonlySet<string> = new Set<OpName>([
  'conv2d', 'batchNorm2d', 'silu', 'sigmoid', 'hardsigmoid', 'add', 'mul', 'concat', 'slice',
  'maxPool2d', 'upsampleNearest2x',
]);

export interface CaptureOptions {
  /** Every parameter and buffer the forward may read, by state-dict key. */
  params: Iterable<readonly [string, Tensor]>;
  /** The module path in effect when an op runs ('' if unknown). */
  scope?: () => string;
}

/**
 * Runs `fn(example)` and returns its graph. `fn` returns the named output tensors (each must be
 * an op's output).
 */
export function capture(
  fn: (x: Tensor) => ReadonlyMap<string, Tensor>, example: Tensor, opts: CaptureOptions,
): Graph {
  const paramKey = new Map<Tensor, string>();
  for (const [k, t] of opts.params) if (!paramKey.has(t)) paramKey.set(t, k);
  const scope = opts.scope ?? (() => '');
  const nodes: GraphNode[] = [];
  const byTensor = new Map<Tensor, GraphNode>();
  const inputNode: GraphNode<'input'> = {
    name: 'input', op: 'input', inputs: [], attrs: {}, shape: example.shape, scope: '',
  };
  nodes.push(inputNode);
  byTensor.set(example, inputNode);

  // A tensor made inside the forward (e.g. the decode's grid) becomes an opaque 'constant' node;
  // it is an error only if an output depends on it.
  const resolve = (t: Tensor): GraphNode => {
    const known = byTensor.get(t);
    if (known !== undefined) return known;
    const key = paramKey.get(t);
    const p: GraphNode = key === undefined
      ? {
        name: `constant#${nodes.length}`, op: 'constant' as OpName, inputs: [], attrs: {},
        shape: t.shape, scope: scope(),
      }
      : { name: key, op: 'param', inputs: [], attrs: {}, shape: t.shape, scope: '', value: t };
    nodes.push(p);
    byTensor.set(t, p);
    return p;
  };

  let outs: ReadonlyMap<string, Tensor> = new Map();
  const counter = new Map<string, number>();
  withOpListener({
    onOp(op, inputs, output, attrs) {
      const ins = inputs.map((t) => resolve(t));
      const sc = scope();
      const i = counter.get(`${sc}/${op}`) ?? 0;
      counter.set(`${sc}/${op}`, i + 1);
      const node = {
        name: `${sc}/${op}#${i}`, op: op as OpName, inputs: ins, attrs: { ...attrs } as never,
        shape: output.shape, scope: sc,
      } satisfies GraphNode;
      nodes.push(node);
      byTensor.set(output, node);
    },
  }, () => {
    outs = noGrad(() => fn(example));
  });

  const outputs = new Map<string, GraphNode>();
  for (const [k, t] of outs) {
    const n = byTensor.get(t);
    if (n === undefined) throw new Error(`capture: output ${k} was not produced by a recorded op`);
    outputs.set(k, n);
  }
  const g = eliminateDeadNodes(new Graph(nodes, outputs));
  const bad = g.nodes.find((n) => n.op !== 'input' && n.op !== 'param' && !KNOWN.has(n.op));
  if (bad !== undefined) {
    throw new Error(`capture: op '${bad.op}' (${bad.name}) is not supported by the graph`);
  }
  return g;
}
