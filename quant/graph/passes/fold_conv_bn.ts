/**
 * @file Pass: Conv+BN → ConvBn (Quark's `QuantizedConvBatchNorm2d`, quark.md §2.2 step 1).
 *
 * Pattern: a bias-free `conv2d` whose only user is a `batchNorm2d`. The pair becomes one `convBn`
 * node with inputs [x, W, γ, β, running_mean, running_var] that folds BN into the conv weight and
 * bias on every run with the running statistics (bn_fold.ts). It keeps the conv's name (its
 * output is the tensor `<B>.conv_out`) and the BN's eps and momentum. Other convs stay `conv2d`
 * (Quark: QuantConv2d — the head's prediction convs).
 */
import { rewrite, type Graph, type GraphNode } from '../graph.js';

export function foldConvBn(g: Graph): Graph {
  const fusable = new Set<GraphNode>();
  for (const n of g.nodes) {
    if (n.op !== 'conv2d' || n.inputs.length !== 2) continue;
    const users = g.users(n);
    const outputs = [...g.outputs.values()];
    if (users.length === 1 && users[0].op === 'batchNorm2d' && !outputs.includes(n)) fusable.add(n);
  }
  return rewrite(g, (n, b) => {
    if (fusable.has(n)) return true; // emitted together with its BN
    if (n.op !== 'batchNorm2d' || !fusable.has(n.inputs[0])) return false;
    const conv = n.inputs[0] as GraphNode<'conv2d'>;
    const bn = n as GraphNode<'batchNorm2d'>;
    const [x, w] = conv.inputs;
    const [, gamma, beta, mean, runVar] = bn.inputs;
    const fused: GraphNode<'convBn'> = {
      name: conv.name,
      op: 'convBn',
      inputs: [x, w, gamma, beta, mean, runVar].map((i) => b.get(i)),
      attrs: { ...conv.attrs, eps: bn.attrs.eps, momentum: bn.attrs.momentum },
      shape: bn.shape,
      scope: conv.scope,
    };
    b.set(n, b.emit(fused));
    return true;
  });
}
