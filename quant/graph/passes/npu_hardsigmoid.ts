/**
 * @file NPU freeze passes 9–11 (quark.md §3.2; Quark's AdjustHardSigmoidQOPass,
 * AdjustShiftSwishQOPass, ConvertHardSigmoidDpuVersionQOPass), in this order:
 *
 *   9  hardsigmoid: p_i = clamp(p_i, 0, 15); p_o = max(p_o, 7); if 14 + p_i − p_o ≤ 0 then
 *      p_o = 14 + p_i. p_i is the producer's quantizer (e.g. `<B>.conv_out`, shared with the mul).
 *   10 swish: a mul (single quant user) reading q_c and q_h where q_c has two users, one a
 *      hardsigmoid whose single user is q_h: ss = p_c + p_h − p_o ∈ [0, 15], else p_o moves to
 *      the bound.
 *   11 DPU hardsigmoid: after every hardsigmoid with a quant input and a single quant user, an
 *      unquantized multiply by (2731/16384)/(1/6) = 1.0001220703125, so the NPU's
 *      hs(v) = clamp(v + 3, 0, 6)·2731/16384 is what the float graph computes.
 */
import { rewrite, type Graph, type GraphNode } from '../graph.js';
import { outQuantizer, pos, quantOf, setPos, singleQuantUser, usersMap } from './npu_common.js';

/** (2731/16384)/(1/6): exactly 1 + 2^−13 in float32. */
export const DPU_HARDSIGMOID_FACTOR = (2731 / 16384) / (1 / 6);

export function adjustHardsigmoid(g: Graph): Graph {
  const users = usersMap(g);
  for (const n of g.nodes) {
    if (n.op !== 'hardsigmoid') continue;
    const qi = quantOf(n.inputs[0]), qo = outQuantizer(users, n);
    if (qi === null || qo === null) continue;
    const pi = pos(qi), po = pos(qo);
    const ni = Math.min(Math.max(pi, 0), 15);
    let no = Math.max(po, 7);
    if (14 + ni - no <= 0) no = 14 + ni;
    if (ni !== pi) setPos(qi, ni);
    if (no !== po) setPos(qo, no);
  }
  return g;
}

export function adjustShiftSwish(g: Graph): Graph {
  const users = usersMap(g);
  const followedByHs = (q: GraphNode): boolean => {
    const u = users.get(q)!;
    return u.length <= 2 && u.some((m) => m.op === 'hardsigmoid');
  };
  const isSiluBlock = (a: GraphNode, b: GraphNode): boolean => {
    let c: GraphNode, h: GraphNode;
    if (followedByHs(a) && !followedByHs(b)) [c, h] = [a, b];
    else if (!followedByHs(a) && followedByHs(b)) [c, h] = [b, a];
    else return false;
    const cu = users.get(c)!;
    if (cu.length !== 2) return false;
    const hs = cu[0].op === 'hardsigmoid' ? cu[0] : cu[1];
    const hu = users.get(hs)!;
    return hu.length === 1 && hu[0].op === 'quant' && hu[0] === h;
  };
  for (const n of g.nodes) {
    if (n.op !== 'mul') continue;
    const qo = singleQuantUser(users, n);
    const [a, b] = n.inputs;
    const qa = quantOf(a), qb = quantOf(b);
    if (qo === null || qa === null || qb === null || !isSiluBlock(a, b)) continue;
    const base = pos(qa) + pos(qb), ss = base - pos(qo);
    if (ss < 0) setPos(qo, base);
    else if (ss > 15) setPos(qo, base - 15);
  }
  return g;
}

export function dpuHardsigmoid(g: Graph): Graph {
  const users = usersMap(g);
  return rewrite(g, (n, b) => {
    if (n.op !== 'hardsigmoid' || singleQuantUser(users, n) === null) return false;
    if (quantOf(n.inputs[0]) === null) return false;
    const hs = b.copy(n);
    const m: GraphNode<'mulConst'> = {
      name: `${n.name}.dpu`, op: 'mulConst', inputs: [hs], attrs: { value: DPU_HARDSIGMOID_FACTOR },
      shape: n.shape, scope: n.scope,
    };
    b.set(n, b.emit(m));
    return true;
  });
}
