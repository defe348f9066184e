/**
 * @file Pass: the activations Quark's fx mode runs on the NPU (quark.md §2.2 steps 3 and 5).
 *
 *   silu(c)    → mul(hardsigmoid(c), c)    named `<base>.hsig`, `<base>.act`
 *   sigmoid(v) → hardsigmoid(v)            named `<base>.hsig`
 *
 * hardsigmoid(v) = clamp(v + 3, 0, 6) / 6. Both rewrites are the default ('npu'); 'keep' leaves
 * SiLU / sigmoid as they are (the FP32-faithful variant). A node named `<base>.act` (SiLU) or
 * `<base>.sig` (sigmoid) gives the base of the new names.
 */
import { rewrite, type Graph, type GraphNode } from '../graph.js';

export interface ActivationOptions {
  silu?: 'npu' | 'keep';
  sigmoid?: 'npu' | 'keep';
}

const base = (name: string, suffix: string): string =>
  name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;

export function rewriteActivations(g: Graph, opts: ActivationOptions = {}): Graph {
  const siluMode = opts.silu ?? 'npu', sigmoidMode = opts.sigmoid ?? 'npu';
  return rewrite(g, (n, b) => {
    if (n.op === 'silu' && siluMode === 'npu') {
      const c = b.get(n.inputs[0]);
      const stem = base(n.name, '.act');
      const hs: GraphNode<'hardsigmoid'> = {
        name: `${stem}.hsig`, op: 'hardsigmoid', inputs: [c], attrs: {},
        shape: n.shape, scope: n.scope,
      };
      b.emit(hs);
      const m: GraphNode<'mul'> = {
        name: `${stem}.act`, op: 'mul', inputs: [hs, c], attrs: {}, shape: n.shape, scope: n.scope,
      };
      b.set(n, b.emit(m));
      return true;
    }
    if (n.op === 'sigmoid' && sigmoidMode === 'npu') {
      const hs: GraphNode<'hardsigmoid'> = {
        name: `${base(n.name, '.sig')}.hsig`, op: 'hardsigmoid', inputs: [b.get(n.inputs[0])],
        attrs: {},
        shape: n.shape, scope: n.scope,
      };
      b.set(n, b.emit(hs));
      return true;
    }
    return false;
  });
}
