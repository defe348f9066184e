/**
 * @file pycocotools `accumulate()` for one category slot k: precision and recall curves from the
 * per-image outcomes.
 *
 * Shapes: T IoU thresholds, R recall thresholds, K category slots, A area ranges, M maxDets.
 *   precision [T, R, K, A, M]   (−1 = no GT for that (k, a); 0 past the reached recall)
 *   recall    [T, K, A, M]
 * The slot's detections arrive as N entries in image order, score order inside each image
 * (at most maxDets[-1] per image): score [N], rank [N] (position inside its image), and for each
 * area range a word per entry (bit t = TP at threshold t, bit 16 + t = ignored at t).
 *
 * For each (a, m): keep the entries with rank < maxDets[m], stable-sort them by descending score
 * (ties: image order, then within-image order); then per threshold
 *   tp, fp = cumulative counts (ignored entries repeat the previous values)
 *   rc = tp / npig;   pr = tp / ((fp + tp) + 2⁻⁵²)        (np.spacing(1), added after fp + tp)
 *   recall = rc[last] (0 if no entry); pr made non-increasing from the right;
 *   precision[r] = pr[first i with rc[i] ≥ recThrs[r]], or 0 once no such i exists.
 */
import { argsortDescStable } from './sort.js';

/** np.spacing(1) = 2⁻⁵². */
const EPS = 2 ** -52;

/** The outcomes of one category slot over all images (filled by the evaluator). */
export class SlotOutcomes {
  n = 0;
  /** Whether any image had GT or detections for this slot (pycocotools' E non-empty). */
  present = false;
  score: Float64Array;
  rank: Int32Array;
  /** codes[a][j] for entry j. */
  codes: Uint32Array[];
  npig: number[];

  constructor(private readonly A: number, capacity = 1024) {
    this.score = new Float64Array(capacity);
    this.rank = new Int32Array(capacity);
    this.codes = Array.from({ length: A }, () => new Uint32Array(capacity));
    this.npig = new Array<number>(A).fill(0);
  }

  reset(): void {
    this.n = 0;
    this.present = false;
    this.npig.fill(0);
  }

  /** Makes room for `extra` more entries. */
  reserve(extra: number): void {
    const need = this.n + extra;
    if (need <= this.score.length) return;
    const cap = Math.max(need, 2 * this.score.length);
    type Grown = Float64Array | Int32Array | Uint32Array;
    const grow = <T extends Grown>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a.subarray(0, this.n) as never);
      return b;
    };
    this.score = grow(this.score, (n) => new Float64Array(n));
    this.rank = grow(this.rank, (n) => new Int32Array(n));
    this.codes = this.codes.map((c) => grow(c, (n) => new Uint32Array(n)));
  }
}

/** Output arrays and their dimensions. */
export interface PrecisionRecall {
  T: number;
  R: number;
  K: number;
  A: number;
  M: number;
  /** [T, R, K, A, M], initialised to −1. */
  precision: Float64Array;
  /** [T, K, A, M], initialised to −1. */
  recall: Float64Array;
}

export function newPrecisionRecall(
  T: number, R: number, K: number, A: number, M: number,
): PrecisionRecall {
  return {
    T, R, K, A, M,
    precision: new Float64Array(T * R * K * A * M).fill(-1),
    recall: new Float64Array(T * K * A * M).fill(-1),
  };
}

/** Scratch for accumulateSlot, grown on demand. */
export class AccumulateScratch {
  order = new Int32Array(0);
  tmp = new Int32Array(0);
  sel = new Int32Array(0);
  rc = new Float64Array(0);
  pr = new Float64Array(0);

  ensure(n: number): void {
    if (n <= this.order.length) return;
    this.order = new Int32Array(n);
    this.tmp = new Int32Array(n);
    this.sel = new Int32Array(n);
    this.rc = new Float64Array(n);
    this.pr = new Float64Array(n);
  }
}

/** Fills precision[:, :, k, :, :] and recall[:, k, :, :] from one slot's outcomes. */
export function accumulateSlot(
  out: PrecisionRecall,
  k: number,
  slot: SlotOutcomes,
  maxDets: readonly number[],
  recThrs: Float64Array,
  scratch: AccumulateScratch,
): void {
  if (!slot.present) return;
  const { T, R, K, A, M } = out;
  const n = slot.n;
  scratch.ensure(n);
  const idx = scratch.order;
  for (let j = 0; j < n; j++) idx[j] = j;
  const order = argsortDescStable(slot.score, idx, n, scratch.tmp);
  const { sel, rc, pr } = scratch;
  for (let m = 0; m < M; m++) {
    // Entries within the first maxDets[m] of their image, in global score order.
    let nd = 0;
    for (let j = 0; j < n; j++) if (slot.rank[order[j]] < maxDets[m]) sel[nd++] = order[j];
    for (let a = 0; a < A; a++) {
      const npig = slot.npig[a];
      if (npig === 0) continue;
      const codes = slot.codes[a];
      for (let t = 0; t < T; t++) {
        const tpBit = 1 << t, igBit = 1 << (16 + t);
        let tp = 0, fp = 0;
        for (let j = 0; j < nd; j++) {
          const c = codes[sel[j]];
          if ((c & igBit) === 0) {
            if ((c & tpBit) !== 0) tp++;
            else fp++;
          }
          rc[j] = tp / npig;
          pr[j] = tp / (fp + tp + EPS);
        }
        out.recall[((t * K + k) * A + a) * M + m] = nd > 0 ? rc[nd - 1] : 0;
        for (let j = nd - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
        // searchsorted(rc, recThrs, side='left'): rc is non-decreasing, so one forward sweep.
        let j = 0;
        for (let r = 0; r < R; r++) {
          while (j < nd && rc[j] < recThrs[r]) j++;
          out.precision[(((t * R + r) * K + k) * A + a) * M + m] = j < nd ? pr[j] : 0;
        }
      }
    }
  }
}
