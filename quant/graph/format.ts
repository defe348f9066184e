/**
 * @file Prints a graph one line per node: name, op, inputs, output shape, then attributes and
 * quantizers (`[w:pos b:pos]` for conv weight/bias, `q:pos` for fake-quant nodes).
 *
 *   backbone.backbone.stem.conv.conv_out = convBn(fq.backbone.backbone.stem.cat, …) [1,24,…] …
 */
import type { Graph, GraphNode } from './graph.js';

function fmtQ(label: string, qz: GraphNode['quantizer']): string {
  if (!qz) return '';
  const z = qz.zeroPoint !== 0 ? `,z=${qz.zeroPoint}` : '';
  return ` ${label}:${qz.name}@${-Math.log2(qz.scale)}${z}`;
}

export function formatNode(n: GraphNode): string {
  const attrs = Object.entries(n.attrs).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  const leaf = n.op === 'param' || n.op === 'input';
  const ins = leaf ? '' : `(${n.inputs.map((i) => i.name).join(', ')})`;
  return `${n.name} = ${n.op}${ins} [${n.shape.join(',')}]${attrs ? ` {${attrs}}` : ''}`
    + fmtQ('w', n.weightQuantizer) + fmtQ('b', n.biasQuantizer) + fmtQ('q', n.quantizer);
}

/** The whole graph; params are listed only when `params` is set. */
export function formatGraph(g: Graph, { params = false } = {}): string {
  const lines = g.nodes.filter((n) => params || n.op !== 'param').map(formatNode);
  lines.push(`outputs: ${[...g.outputs].map(([k, n]) => `${k}=${n.name}`).join(', ')}`);
  return lines.join('\n');
}
