/**
 * @file Calibration (PTQ, Quark's `_do_calibration`, quark.md §4.1): every quantizer with its
 * observer ON and fake-quant OFF, one forward per batch in order (so each observer sees the FP32
 * values of the rewritten, BN-folded network), then observers OFF and fake-quant ON.
 *
 * Also the per-quantizer report: position and SQNR on the calibration data,
 * SQNR = 10·log10(Σ x² / Σ (fq(x) − x)²) over all batches at the final scale.
 */
import { noGrad } from '../engine/autograd.js';
import type { Tensor } from '../engine/tensor.js';
import type { Graph } from './graph/graph.js';
import { runGraph } from './graph/interpreter.js';
import type { FakeQuantizer } from './quantizer.js';

/** Sets both switches on every quantizer of `g`. */
export function setQuantState(g: Graph, state: { observer: boolean; fakeQuant: boolean }): void {
  for (const q of g.quantizers()) {
    q.observerEnabled = state.observer;
    q.fakeQuantEnabled = state.fakeQuant;
  }
}

/**
 * Calibrates `g` on `batches` (each one forward, in order), then leaves it in eval state.
 * `onBatch` is told after each forward (progress).
 */
export function calibrate(
  g: Graph, batches: Iterable<Tensor>, onBatch?: (i: number) => void,
): void {
  setQuantState(g, { observer: true, fakeQuant: false });
  let i = 0;
  noGrad(() => {
    for (const x of batches) {
      runGraph(g, x);
      onBatch?.(i++);
    }
  });
  setQuantState(g, { observer: false, fakeQuant: true });
}

export interface QuantizerReport {
  name: string;
  kind: FakeQuantizer['kind'];
  pos: number;
  zeroPoint: number;
  /** dB on the calibration data at the final scale; Infinity = exact, null = not known. */
  sqnrDb: number | null;
}

/** SQNR of one quantizer from its observer's per-batch traces. */
export function calibrationSqnr(q: FakeQuantizer): number | null {
  const traces = q.observer.traces;
  if (traces.length === 0) return null;
  let signal = 0, noise = 0;
  for (const t of traces) {
    const hit = t.tried.find(([p]) => p === q.pos);
    if (hit === undefined) return null;
    signal += t.energy;
    noise += hit[1];
  }
  if (noise === 0) return Infinity;
  return 10 * Math.log10(signal / noise);
}

export function quantizerReports(g: Graph): QuantizerReport[] {
  return g.quantizers().map((q) => ({
    name: q.name, kind: q.kind, pos: q.pos, zeroPoint: q.zeroPoint, sqnrDb: calibrationSqnr(q),
  }));
}

/** The readable table: one line per quantizer, in graph order. */
export function formatReportTable(rows: readonly QuantizerReport[]): string {
  const w = Math.max(9, ...rows.map((r) => r.name.length));
  const head = `${'quantizer'.padEnd(w)}  kind    pos  zp    SQNR dB`;
  const lines = rows.map((r) => {
    const sq = r.sqnrDb === null ? 'n/a' : r.sqnrDb === Infinity ? 'exact' : r.sqnrDb.toFixed(1);
    const pos = String(r.pos).padStart(4), zp = String(r.zeroPoint).padStart(4);
    return `${r.name.padEnd(w)}  ${r.kind.padEnd(6)} ${pos}  ${zp}  ${sq.padStart(8)}`;
  });
  return [head, ...lines].join('\n');
}
