/**
 * @file Shared helpers of the NPU freeze passes (quark.md §3.2; Quark's
 * post_quant/opt_pass_after_quant_powof2_scale.py): positions, users, and the two structural
 * tests those passes use.
 *
 * pos(q) = log2(1/s) for a power-of-two scale s (Quark's `get_quantizer_powof2_scale_pos`).
 * The passes change scales in place on the quantizers of the graph they are given; run them on a
 * frozen copy (passes/freeze_quantizers.ts), never on the calibrated graph itself.
 */
import type { FakeQuantizer } from '../../quantizer.js';
import type { Graph, GraphNode } from '../graph.js';

export function pos(q: FakeQuantizer): number {
  return Math.log2(1 / q.scale) + 0;
}

export function setPos(q: FakeQuantizer, p: number): void {
  q.load(2 ** -p, q.zeroPoint);
}

/** Users of every node, in graph order (the structure does not change in the scale passes). */
export function usersMap(g: Graph): Map<GraphNode, GraphNode[]> {
  const m = new Map<GraphNode, GraphNode[]>(g.nodes.map((n) => [n, []]));
  for (const n of g.nodes) for (const i of new Set(n.inputs)) m.get(i)!.push(n);
  return m;
}

/** The quantizer of a `quant` node, or null for any other node. */
export function quantOf(n: GraphNode | undefined): FakeQuantizer | null {
  return n !== undefined && n.op === 'quant' ? n.quantizer! : null;
}

/** Quark's `_is_has_one_user_and_followed_quantizer`: exactly one user, a quant node. */
export function singleQuantUser(
  users: Map<GraphNode, GraphNode[]>, n: GraphNode,
): FakeQuantizer | null {
  const u = users.get(n)!;
  return u.length === 1 ? quantOf(u[0]) : null;
}

/**
 * Quark's `_get_out_quantizer_node` (threshold depth 2): `n` itself if it is a quant node;
 * otherwise follow the single user (none if several), at most two steps.
 */
export function outQuantizer(
  users: Map<GraphNode, GraphNode[]>, n: GraphNode, depth = 0,
): FakeQuantizer | null {
  if (depth > 2) return null;
  if (n.op === 'quant') return n.quantizer!;
  const u = users.get(n)!;
  if (u.length !== 1) return null;
  return outQuantizer(users, u[0], depth + 1);
}
