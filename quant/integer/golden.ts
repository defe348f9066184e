/**
 * @file Golden tensors for NPU bring-up: runs the integer reference (run.ts) on one input and
 * writes every activation quantizer's int8 codes as `<quantizer name>.npy`, every conv's weight
 * and bias codes as `<param name>.npy` (the values the NPU loads: BN merged, frozen positions),
 * and `manifest.json` listing each tensor in graph order with its shape, scale = 2^−pos,
 * position (fix_pos) and zero point: value = (q − zero_point)·scale.
 */
import * as path from 'node:path';
import { noGrad } from '../../engine/autograd.js';
import { writeFileAtomic, writeNpy } from '../../engine/formats/files.js';
import { roundHalfEven } from '../../engine/round.js';
import type { Tensor } from '../../engine/tensor.js';
import { foldBias, foldWeight } from '../graph/bn_fold.js';
import type { Graph, GraphNode } from '../graph/graph.js';
import type { FakeQuantizer } from '../quantizer.js';
import type { Codes } from './exact.js';
import { runInteger } from './run.js';

export interface GoldenEntry {
  name: string;
  kind: 'input' | 'activation' | 'weight' | 'bias';
  file: string;
  shape: number[];
  dtype: 'int8';
  scale: number;
  pos: number;
  zero_point: number;
}

/** Weight/bias codes of `t` under quantizer q (x·2^pos exact; ties to even; clamped). */
function paramCodes(t: Tensor, q: FakeQuantizer): Codes {
  const pos = -Math.log2(q.scale), z = q.zeroPoint, { qmin, qmax } = q.spec;
  const out = new Int32Array(t.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = roundHalfEven(t.data[i] * 2 ** pos) + z;
    out[i] = v < qmin ? qmin : v > qmax ? qmax : v;
  }
  return { q: out, pos, z, shape: t.shape };
}

/** The conv's weight and bias as the graph uses them (BN folded for convBn). */
function convParams(n: GraphNode): [Tensor, Tensor | null] {
  return noGrad(() => {
    if (n.op === 'conv2d') return [n.inputs[1].value!, n.inputs[2]?.value ?? null];
    const a = n.attrs as { eps: number };
    const [, W, G, B, M, V] = n.inputs.map((i) => i.value!);
    return [foldWeight(W, G, V, a.eps), foldBias(B, G, M, V, a.eps)];
  });
}

/** Writes the golden tensors of `g` on `x` into `dir`; returns the manifest entries. */
export function writeGolden(g: Graph, x: Tensor, dir: string): GoldenEntry[] {
  const acts = runInteger(g, x);
  const entries: GoldenEntry[] = [];
  const emit = (name: string, kind: GoldenEntry['kind'], c: Codes) => {
    for (const v of c.q) {
      if (v < -128 || v > 127) throw new Error(`golden: ${name} code ${v} is not int8`);
    }
    const file = `${name}.npy`;
    writeNpy(path.join(dir, file), { dtype: 'int8', shape: c.shape, data: Int8Array.from(c.q) });
    entries.push({ name, kind, file, shape: [...c.shape], dtype: 'int8', scale: 2 ** -c.pos,
      pos: c.pos, zero_point: c.z });
  };
  for (const n of g.nodes) {
    if (n.op === 'quant') {
      const q = n.quantizer!;
      emit(q.name, n.inputs[0].op === 'input' ? 'input' : 'activation', acts.get(q.name)!);
    } else if ((n.op === 'conv2d' || n.op === 'convBn') && n.weightQuantizer) {
      const [w, b] = convParams(n);
      emit(`${n.name}.weight`, 'weight', paramCodes(w, n.weightQuantizer));
      const bq = n.biasQuantizer;
      if (b !== null && bq) emit(`${n.name}.bias`, 'bias', paramCodes(b, bq));
    }
  }
  const manifest = {
    format: 'yoloxq golden v1: value = (q - zero_point) * scale, scale = 2^-pos',
    input_shape: [...x.shape],
    tensors: entries,
  };
  writeFileAtomic(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  return entries;
}
