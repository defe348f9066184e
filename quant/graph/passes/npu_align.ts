/**
 * @file NPU freeze passes 2–4 (quark.md §3.2; Quark's `ApplyConstrain2ConcatQOPass` and
 * `AlignSingleInOutOpScaleQOPass`): one sweep each, in node order, scales changed in place.
 *
 *   concat:  a cat whose only user is a quant node and whose inputs are all quant nodes: if their
 *            scales are not all equal, every input quantizer and the output quantizer take the
 *            largest scale (coarsest) among them — this also changes what the inputs' other
 *            consumers read;
 *   pools, then slices: an op with a quant input and a single quant user: both take the larger
 *            of the two scales.
 */
import type { Graph, OpName } from '../graph.js';
import { quantOf, singleQuantUser, usersMap } from './npu_common.js';

export function alignConcatScales(g: Graph): Graph {
  const users = usersMap(g);
  for (const n of g.nodes) {
    if (n.op !== 'concat') continue;
    const out = singleQuantUser(users, n);
    if (out === null) continue;
    const ins = n.inputs.map((i) => quantOf(i));
    if (ins.some((q) => q === null)) continue;
    const all = [out, ...ins.map((q) => q!)];
    const max = Math.max(...all.map((q) => q.scale));
    if (all.every((q) => q.scale === max)) continue;
    for (const q of all) q.load(max, q.zeroPoint);
  }
  return g;
}

/** The pool/slice rule for every node of one of `ops`. */
export function alignSingleInOutScales(g: Graph, ops: readonly OpName[]): Graph {
  const users = usersMap(g);
  for (const n of g.nodes) {
    if (!ops.includes(n.op)) continue;
    const out = singleQuantUser(users, n);
    const inp = quantOf(n.inputs[0]);
    if (out === null || inp === null) continue;
    const max = Math.max(out.scale, inp.scale);
    out.load(max, out.zeroPoint);
    inp.load(max, inp.zeroPoint);
  }
  return g;
}
