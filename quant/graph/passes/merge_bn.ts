/**
 * @file Freeze step B (quark.md §3.1, Quark's `_ConvBnNd.merge_bn_to_conv`): every `convBn`
 * becomes a plain `conv2d` whose weight and bias are constants, BN merged once with the running
 * statistics in float32 — in numpy's order, which differs from the on-the-fly fold (bn_fold.ts):
 *
 *   scale_c = γ_c / sqrt(var_c + float32(eps))
 *   W″[c,…] = W[c,…] · scale_c
 *   b″_c    = β_c − μ_c · scale_c                      (the conv had no bias)
 *
 * The new parameters are `param` nodes named `<weight key>#merged` / `<bias key>#merged`; the
 * weight and bias quantizers stay (with their frozen scales). The unused BN parameters are dropped.
 */
import { Tensor } from '../../../engine/tensor.js';
import { eliminateDeadNodes, rewrite, type Graph, type GraphNode } from '../graph.js';

const f = Math.fround;

/** W″ and b″ of one convBn from its parameter tensors. */
export function mergeBn(
  w: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, runVar: Tensor, eps: number,
): { weight: Tensor; bias: Tensor } {
  const C = gamma.size, K = w.size / C;
  const weight = Tensor.zeros(w.shape), bias = Tensor.zeros([C]);
  for (let c = 0; c < C; c++) {
    const scale = f(gamma.data[c] / f(Math.sqrt(f(runVar.data[c] + f(eps)))));
    for (let i = c * K; i < (c + 1) * K; i++) weight.data[i] = w.data[i] * scale;
    bias.data[c] = beta.data[c] - f(mean.data[c] * scale);
  }
  return { weight, bias };
}

export function mergeBnIntoConv(g: Graph): Graph {
  const out = rewrite(g, (n, b) => {
    if (n.op !== 'convBn') return false;
    const cb = n as GraphNode<'convBn'>;
    const [x, w, gamma, beta, mean, runVar] = cb.inputs;
    const [W, G, B, M, V] = [w, gamma, beta, mean, runVar].map((p) => p.value!);
    const m = mergeBn(W, G, B, M, V, cb.attrs.eps);
    const key = w.name.endsWith('.weight') ? w.name.slice(0, -'.weight'.length) : w.name;
    const param = (name: string, t: Tensor): GraphNode<'param'> => b.emit({
      name, op: 'param', inputs: [], attrs: {}, shape: t.shape, scope: '', value: t,
    });
    const wp = param(`${key}.weight#merged`, m.weight);
    const bp = param(`${key}.bias#merged`, m.bias);
    const { stride, padding, groups } = cb.attrs;
    const conv: GraphNode<'conv2d'> = {
      name: cb.name, op: 'conv2d', inputs: [b.get(x), wp, bp], attrs: { stride, padding, groups },
      shape: cb.shape, scope: cb.scope,
      weightQuantizer: cb.weightQuantizer, biasQuantizer: cb.biasQuantizer,
    };
    b.set(n, b.emit(conv));
    return true;
  });
  return eliminateDeadNodes(out);
}
