/**
 * @file NPU freeze passes 5–8 (quark.md §3.2; Quark's AdjustShiftRead/Write/Cut/BiasQOPass):
 * the shift amounts of the NPU's integer datapath kept in range, one sweep each in node order,
 * positions changed in place (p = pos = log2(1/s); i inputs, w weight, b bias, o output).
 *
 *   5 shift_read  (add):       sr = max(p_i1, p_i2) − min(…) ≤ 7, else the input with the larger
 *                              pos gets min + 7;
 *   6 shift_write (add):       sw = min(p_i1, p_i2) − p_o ∈ [−7, 25]
 *                 (mul):       sw = p_i1 + p_i2 − p_o ∈ [0, 32], else p_o moves to the bound;
 *   7 shift_cut   (conv):      sc = p_w + p_i − p_o ∈ [0, 16], else p_w = clamp(sc) + p_o − p_i;
 *   8 shift_bias  (conv):      sb = p_w + p_i − p_b ∈ [min(0, sc − 16), 15] with sc recomputed,
 *                              else p_b = p_w + p_i − clamp(sb).
 * The output quantizer is found by following single users up to two steps (npu_common.ts).
 */
import type { Graph, GraphNode } from '../graph.js';
import { outQuantizer, pos, quantOf, setPos, usersMap } from './npu_common.js';

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);
const isConv = (n: GraphNode): boolean => n.op === 'conv2d' || n.op === 'convBn';

export function adjustShiftRead(g: Graph): Graph {
  for (const n of g.nodes) {
    if (n.op !== 'add') continue;
    const q1 = quantOf(n.inputs[0]), q2 = quantOf(n.inputs[1]);
    if (q1 === null || q2 === null) continue;
    const p1 = pos(q1), p2 = pos(q2);
    const lo = Math.min(p1, p2), hi = Math.max(p1, p2);
    if (hi - lo > 7) setPos(p1 === hi ? q1 : q2, lo + 7);
  }
  return g;
}

export function adjustShiftWrite(g: Graph): Graph {
  const users = usersMap(g);
  for (const n of g.nodes) {
    if (n.op !== 'add' && n.op !== 'mul') continue;
    const q1 = quantOf(n.inputs[0]), q2 = quantOf(n.inputs[1]);
    const qo = outQuantizer(users, n);
    if (q1 === null || q2 === null || qo === null) continue;
    const p1 = pos(q1), p2 = pos(q2), po = pos(qo);
    if (n.op === 'add') {
      const base = Math.min(p1, p2), sw = base - po;
      if (sw !== clamp(sw, -7, 25)) setPos(qo, base - clamp(sw, -7, 25));
    } else {
      const base = p1 + p2, sw = base - po;
      if (sw !== clamp(sw, 0, 32)) setPos(qo, base - clamp(sw, 0, 32));
    }
  }
  return g;
}

export function adjustShiftCut(g: Graph): Graph {
  const users = usersMap(g);
  for (const n of g.nodes) {
    if (!isConv(n)) continue;
    const qi = quantOf(n.inputs[0]), qw = n.weightQuantizer ?? null, qo = outQuantizer(users, n);
    if (qi === null || qw === null || qo === null) continue;
    const pi = pos(qi), pw = pos(qw), po = pos(qo);
    const sc = pw + pi - po;
    if (sc !== clamp(sc, 0, 16)) setPos(qw, clamp(sc, 0, 16) + po - pi);
  }
  return g;
}

export function adjustShiftBias(g: Graph): Graph {
  const users = usersMap(g);
  for (const n of g.nodes) {
    if (!isConv(n)) continue;
    const qi = quantOf(n.inputs[0]), qw = n.weightQuantizer ?? null;
    const qb = n.biasQuantizer ?? null, qo = outQuantizer(users, n);
    if (qi === null || qw === null || qb === null || qo === null) continue;
    const pi = pos(qi), pw = pos(qw), po = pos(qo), pb = pos(qb);
    const sc = pw + pi - po;
    const lo = Math.min(0, sc - 16), sb = pw + pi - pb;
    if (sb !== clamp(sb, lo, 15)) setPos(qb, pw + pi - clamp(sb, lo, 15));
  }
  return g;
}
