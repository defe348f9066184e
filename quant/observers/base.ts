/**
 * @file The common part of the pow2 observers: running min/max, the per-forward history of
 * (scale, zero point) and its majority vote (quark.md §1.5).
 *
 * Vote rule (Quark: `collections.Counter(history).most_common(1)`): the most frequent pair;
 * among equally frequent pairs the one that entered the history first.
 */
import type { ObserverTrace, Pow2Start, QParams } from './types.js';

/** Most frequent pair of `history`, first seen winning ties; null for an empty history. */
export function majorityVote(history: readonly QParams[]): QParams | null {
  const counts = new Map<string, { q: QParams; n: number; first: number }>();
  history.forEach((q, i) => {
    const key = `${q.scale}/${q.zeroPoint}`;
    const e = counts.get(key);
    if (e === undefined) counts.set(key, { q, n: 1, first: i });
    else e.n++;
  });
  let best: { q: QParams; n: number; first: number } | null = null;
  for (const e of counts.values()) {
    if (best === null || e.n > best.n || (e.n === best.n && e.first < best.first)) best = e;
  }
  return best === null ? null : best.q;
}

export abstract class Pow2ObserverBase {
  /** Running minimum and maximum over every observed forward (+∞ / −∞ before the first). */
  min = Infinity;
  max = -Infinity;
  /** One (s, z) per observed forward. */
  readonly history: QParams[] = [];
  /** One trace per observed forward (parallel to `history`). */
  readonly traces: ObserverTrace[] = [];
  protected lastTrace: ObserverTrace | null = null;
  private batchMin = Infinity;
  private batchMax = -Infinity;

  constructor(readonly qmin: number, readonly qmax: number) {}

  /** Observes one forward's tensor: updates min/max, computes this forward's (s, z), records it. */
  observe(x: Float32Array): void {
    if (x.length === 0) return; // Quark skips empty tensors
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.batchMin = lo;
    this.batchMax = hi;
    this.min = Math.min(this.min, lo);
    this.max = Math.max(this.max, hi);
    this.history.push(this.computeOne(x));
    if (this.lastTrace !== null) this.traces.push(this.lastTrace);
  }

  /** The parameters in use: the vote over the history; s = 1, z = 0 if nothing was observed. */
  qparams(): QParams {
    return majorityVote(this.history) ?? { scale: 1, zeroPoint: 0 };
  }

  /** Forgets everything (Quark clears the histories on every train/eval switch). */
  reset(): void {
    this.min = Infinity;
    this.max = -Infinity;
    this.history.length = 0;
    this.traces.length = 0;
  }

  /** This forward's (s, z), computed from the running min/max (and `x` for the MSE search). */
  protected abstract computeOne(x: Float32Array): QParams;

  protected baseTrace(st: Pow2Start, x: Float32Array): Omit<ObserverTrace, 'tried' | 'chosenPos'> {
    let energy = 0;
    for (let i = 0; i < x.length; i++) energy += x[i] * x[i];
    return {
      energy,
      batchMin: this.batchMin, batchMax: this.batchMax, runningMin: this.min, runningMax: this.max,
      s0: st.s0, pos0: st.pos0,
    };
  }
}
