/**
 * @file Pass: gives YOLO-X's captured nodes the names of quantizer_naming.md, so every quantizer
 * is named after the tensor it quantizes. The model's module paths and named scopes
 * (models/module.ts `withScope`: `focus.slice<i>`, `pool<k>`, `f_out0`, `out<k>`, …) carry most
 * of the information; the rules:
 *
 *   graph outputs      their output key (e.g. `head.out0.cat`, `head.out0.train_cat`)
 *   conv2d             weight `M.weight`: `<B>.conv_out` when M = `<B>.conv` (a BaseConv), else
 *                      `M.conv_out` (the head's prediction convs)
 *   batchNorm2d        γ `M.weight` → `M` (`<B>.bn`)
 *   silu / sigmoid / hardsigmoid
 *                      `<base>.act` / `<base>.sig` / `<base>.hsig`, base = the input's name
 *                      without `.conv_out` or `.bn` (`<B>`, `head.obj_preds.0`)
 *   add                `<scope>.add` (the Bottleneck)
 *   maxPool2d          `<scope>` (scope `….pool<k>`)
 *   upsampleNearest2x  `<scope>.upsample` (scope `backbone.f_out0`)
 *   concat             `<scope>.cat` (Focus, CSP, SPP, PAFPN `backbone.f_out0`, …)
 *   slice              Focus `<scope>.rows` (reads the image) / `<scope>.cols` (reads a slice)
 */
import { rewrite, type Graph, type GraphNode } from '../graph.js';

const strip = (s: string, suffix: string): string =>
  (s.endsWith(suffix) ? s.slice(0, -suffix.length) : s);

/** The final name of every op node of `g` (params and the input keep theirs). */
export function yoloxNames(g: Graph): Map<GraphNode, string> {
  const names = new Map<GraphNode, string>();
  for (const [k, n] of g.outputs) names.set(n, k);
  const nameOf = (n: GraphNode): string => names.get(n) ?? n.name;
  const baseOf = (n: GraphNode): string => strip(strip(nameOf(n), '.conv_out'), '.bn');
  for (const n of g.nodes) {
    if (names.has(n) || n.op === 'param' || n.op === 'input') continue;
    let out: string;
    switch (n.op) {
      case 'conv2d': {
        const m = strip(n.inputs[1].name, '.weight');
        out = m.endsWith('.conv') ? `${strip(m, '.conv')}.conv_out` : `${m}.conv_out`;
        break;
      }
      case 'batchNorm2d': out = strip(n.inputs[1].name, '.weight'); break;
      case 'silu': out = `${baseOf(n.inputs[0])}.act`; break;
      case 'sigmoid': out = `${baseOf(n.inputs[0])}.sig`; break;
      case 'hardsigmoid': out = `${baseOf(n.inputs[0])}.hsig`; break;
      case 'add': out = `${n.scope}.add`; break;
      case 'maxPool2d': out = n.scope; break;
      case 'upsampleNearest2x': out = `${n.scope}.upsample`; break;
      case 'concat': out = `${n.scope}.cat`; break;
      case 'slice': out = `${n.scope}.${n.inputs[0].op === 'slice' ? 'cols' : 'rows'}`; break;
      default: throw new Error(`name_yolox: no naming rule for op ${n.op} (${n.name})`);
    }
    names.set(n, out);
  }
  return names;
}

/** Renames the nodes; the Graph constructor rejects duplicates. */
export function nameYoloxNodes(g: Graph): Graph {
  const names = yoloxNames(g);
  return rewrite(g, (n, b) => {
    const nm = names.get(n);
    if (nm === undefined) return false;
    b.copy(n, { name: nm });
    return true;
  });
}
