/**
 * @file Executes a Graph node by node with the ops/ functions, so autograd records everything
 * (QAT backpropagates through an interpreted graph exactly as through the model). Parameters are
 * the model's own tensors, so optimizer steps are seen by the next run.
 *
 * Per node: `input` reads the named input, `param` yields its tensor, `quant` runs its
 * FakeQuantizer, conv-like nodes pass W and b through their weight/bias quantizers (W′ and b′
 * after on-the-fly BN folding for `convBn`), every other op calls its ops/ function with attrs.
 */
import { ShapeError } from '../../engine/errors.js';
import type { Tensor } from '../../engine/tensor.js';
import { conv2d } from '../../ops/conv.js';
import { batchNorm2d } from '../../ops/batchnorm.js';
import { silu, sigmoid, hardsigmoid } from '../../ops/activation.js';
import { add, mul, mulScalar } from '../../ops/elementwise.js';
import { concat, slice } from '../../ops/shape.js';
import { maxPool2d } from '../../ops/pool.js';
import { upsampleNearest2x } from '../../ops/upsample.js';
import { foldBias, foldWeight } from './bn_fold.js';
import type { AttrsOf, Graph, GraphNode, OpName } from './graph.js';

type Rule<K extends OpName> = (node: GraphNode<K>, xs: Tensor[], ctx: RunContext) => Tensor;

interface RunContext {
  readonly inputs: ReadonlyMap<string, Tensor>;
  readonly bnTraining: boolean;
}

const q = (qz: GraphNode['weightQuantizer'], t: Tensor): Tensor => (qz ? qz.forward(t) : t);

/** The dispatch table: a missing op is a compile error. */
const RULES: { [K in OpName]: Rule<K> } = {
  input: (n, _xs, ctx) => {
    const t = ctx.inputs.get(n.name);
    if (t === undefined) throw new ShapeError('graph', `missing input '${n.name}'`, []);
    return t;
  },
  param: (n) => n.value!,
  quant: (n, [x]) => n.quantizer!.forward(x),
  conv2d: (n, [x, w, b]) =>
    conv2d(x, q(n.weightQuantizer, w), b ? q(n.biasQuantizer, b) : null, n.attrs),
  batchNorm2d: (n, [x, g, b, m, v], ctx) =>
    batchNorm2d(x, g, b, m, v, { training: ctx.bnTraining, ...n.attrs }),
  convBn: (n, [x, w, g, b, m, v]) => {
    const wf = q(n.weightQuantizer, foldWeight(w, g, v, n.attrs.eps));
    const bf = q(n.biasQuantizer, foldBias(b, g, m, v, n.attrs.eps));
    return conv2d(x, wf, bf, n.attrs);
  },
  silu: (_n, [x]) => silu(x),
  sigmoid: (_n, [x]) => sigmoid(x),
  hardsigmoid: (_n, [x]) => hardsigmoid(x),
  add: (_n, [a, b]) => add(a, b),
  mul: (_n, [a, b]) => mul(a, b),
  concat: (n, xs) => concat(xs, n.attrs.axis),
  slice: (n, [x]) => slice(x, n.attrs.axis, n.attrs.start, n.attrs.end, n.attrs.step),
  maxPool2d: (n, [x]) => maxPool2d(x, n.attrs),
  upsampleNearest2x: (_n, [x]) => upsampleNearest2x(x),
  mulConst: (n, [x]) => mulScalar(x, n.attrs.value),
};

export interface RunOptions {
  /** BN nodes (unfolded graphs only) use batch statistics and update running stats. */
  bnTraining?: boolean;
  /** Called with every node's value as it is computed (taps, per-layer statistics). */
  onValue?: (node: GraphNode, value: Tensor) => void;
}

/** Runs `g` on named inputs (a single tensor feeds the node 'input'); returns outputs. */
export function runGraph(
  g: Graph, inputs: ReadonlyMap<string, Tensor> | Tensor, opts: RunOptions = {},
): Map<string, Tensor> {
  const ctx: RunContext = {
    inputs: inputs instanceof Map ? inputs : new Map([['input', inputs as Tensor]]),
    bnTraining: opts.bnTraining ?? false,
  };
  const values = new Map<GraphNode, Tensor>();
  // Free each value after its last reader, so a 416² batch does not keep every activation alive.
  const lastUse = new Map<GraphNode, number>();
  g.nodes.forEach((n, i) => n.inputs.forEach((x) => lastUse.set(x, i)));
  const outputs = new Set(g.outputs.values());
  g.nodes.forEach((n, i) => {
    const xs = n.inputs.map((x) => values.get(x)!);
    const rule = RULES[n.op] as Rule<OpName>;
    const v = rule(n, xs, ctx);
    values.set(n, v);
    opts.onValue?.(n, v);
    for (const x of n.inputs) if (lastUse.get(x) === i && !outputs.has(x)) values.delete(x);
  });
  return new Map([...g.outputs].map(([k, n]) => [k, values.get(n)!]));
}

export type { AttrsOf };
