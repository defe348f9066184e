/**
 * @file Pass: quantizer insertion by Quark's fx-graph rules (quark.md §2.3–2.4).
 *
 * Annotation, restated for our op set:
 *   - conv2d / convBn: input edge, weight, bias (W′, b′ for convBn; a bias-free conv2d has
 *     none), output;
 *   - add, mul, concat, slice, maxPool2d, hardsigmoid/sigmoid/silu: every tensor input + output;
 *   - the graph input (QuantStub): output;
 *   - not annotated: upsample, graph outputs (DeQuantStub), params.
 *   Fused conv→activation: when a conv's only user is an activation, the conv's output spec moves
 *   to the activation (never fires after the SiLU split, where the conv output has two users).
 * Sharing: all specs are equal, so every edge out of a producer merges with the producer's output
 * spec — one quantizer per tensor, placed right after its producer, read by **all** its users
 * (and by graph outputs). A tensor is therefore quantized iff its producer annotates its output or
 * any user annotates that input edge (e.g. upsample outputs, via the concat that reads them).
 *
 * Names (quantizer_naming.md): an activation quantizer takes its producer node's name and the
 * inserted node is `fq.<name>`; weight and bias quantizers take the state-dict key of the weight
 * (`….weight`) and its sibling `….bias`.
 */
import { FakeQuantizer } from '../../quantizer.js';
import type { QuantSpec } from '../../spec.js';
import { INT8_POW2_MSE } from '../../spec.js';
import { rewrite, type Graph, type GraphNode, type OpName } from '../graph.js';

const ACTIVATIONS: ReadonlySet<OpName> = new Set(['hardsigmoid', 'sigmoid', 'silu']);
const ANNOTATE_OUTPUT: ReadonlySet<OpName> = new Set([
  'input', 'conv2d', 'convBn', 'add', 'mul', 'concat', 'slice', 'maxPool2d', ...ACTIVATIONS,
]);
const ANNOTATE_INPUTS: ReadonlySet<OpName> = new Set([
  'add', 'mul', 'concat', 'slice', 'maxPool2d', ...ACTIVATIONS,
]);
const CONVS: ReadonlySet<OpName> = new Set(['conv2d', 'convBn']);

export interface InsertOptions {
  spec?: QuantSpec;
  /** Specs per kind, overriding `spec` (e.g. a min-max observer for weights). */
  weightSpec?: QuantSpec;
  biasSpec?: QuantSpec;
}

/** Which nodes' outputs get a quantizer under the rules above. */
export function quantizedTensors(g: Graph): Set<GraphNode> {
  const fusedConv = new Set<GraphNode>();
  for (const n of g.nodes) {
    if (!CONVS.has(n.op)) continue;
    const users = g.users(n);
    if (users.length === 1 && ACTIVATIONS.has(users[0].op)) fusedConv.add(n);
  }
  const out = new Set<GraphNode>();
  for (const n of g.nodes) {
    if (ANNOTATE_OUTPUT.has(n.op) && !fusedConv.has(n)) out.add(n);
    if (CONVS.has(n.op) && n.inputs[0].op !== 'param') out.add(n.inputs[0]);
    if (ANNOTATE_INPUTS.has(n.op)) {
      for (const i of n.inputs) {
        if (i.op === 'param') continue;
        if (ACTIVATIONS.has(n.op) && fusedConv.has(i)) continue; // fused: no quantizer in between
        out.add(i);
      }
    }
  }
  return out;
}

export function insertQuantizers(g: Graph, opts: InsertOptions = {}): Graph {
  const spec = opts.spec ?? INT8_POW2_MSE;
  const wSpec = opts.weightSpec ?? spec, bSpec = opts.biasSpec ?? spec;
  const quantized = quantizedTensors(g);
  return rewrite(g, (n, b) => {
    let m: GraphNode;
    if (CONVS.has(n.op)) {
      const wKey = n.inputs[1].name;
      const stem = wKey.endsWith('.weight') ? wKey.slice(0, -'.weight'.length) : wKey;
      const hasBias = n.op === 'convBn' || n.inputs.length === 3;
      m = b.copy(n, {
        weightQuantizer: new FakeQuantizer(`${stem}.weight`, 'weight', wSpec),
        biasQuantizer: hasBias ? new FakeQuantizer(`${stem}.bias`, 'bias', bSpec) : undefined,
      });
    } else {
      m = b.copy(n);
    }
    if (quantized.has(n)) {
      const qn: GraphNode<'quant'> = {
        name: `fq.${n.name}`, op: 'quant', inputs: [m], attrs: {}, shape: n.shape, scope: n.scope,
        quantizer: new FakeQuantizer(n.name, 'act', spec),
      };
      b.set(n, b.emit(qn));
    }
    return true;
  });
}
