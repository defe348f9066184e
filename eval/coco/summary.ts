/**
 * @file pycocotools `summarize()`: the 12 statistics, the per-category AP/AR of YOLOX's tables,
 * and the printed text, character for character.
 *
 * A statistic is the mean of precision[t, r, k, a, m] (or recall[t, k, a, m]) over the entries
 * > −1, flattened in C order (t, then r, then k), restricted to t with iouThrs[t] === iouThr when
 * one is given; −1 when no entry is left. The mean is numpy's (pairwise sum, see numpy_sum.ts).
 * Text: ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}' per statistic,
 * with Python's '{:0.3f}': the exact binary value rounded half to even (0.0625 → '0.062',
 * where JavaScript's toFixed(3) gives '0.063').
 */
import { numpyMean } from './numpy_sum.js';
import type { PrecisionRecall } from './accumulate.js';
import type { CocoEvalParams } from './params.js';

/** One line of the summary: what it averages. */
export interface StatSpec {
  ap: boolean;
  /** A single IoU threshold, or undefined for all (.50:.95). */
  iouThr?: number;
  area: 'all' | 'small' | 'medium' | 'large';
  maxDets: number;
}

/** pycocotools' 12 statistics, in `stats` order. */
export const STAT_SPECS: readonly StatSpec[] = [
  { ap: true, area: 'all', maxDets: 100 },
  { ap: true, iouThr: 0.5, area: 'all', maxDets: 100 },
  { ap: true, iouThr: 0.75, area: 'all', maxDets: 100 },
  { ap: true, area: 'small', maxDets: 100 },
  { ap: true, area: 'medium', maxDets: 100 },
  { ap: true, area: 'large', maxDets: 100 },
  { ap: false, area: 'all', maxDets: 1 },
  { ap: false, area: 'all', maxDets: 10 },
  { ap: false, area: 'all', maxDets: 100 },
  { ap: false, area: 'small', maxDets: 100 },
  { ap: false, area: 'medium', maxDets: 100 },
  { ap: false, area: 'large', maxDets: 100 },
];

/** Short names of the 12 statistics (as in the fixtures' `stats_names`). */
export const STAT_NAMES: readonly string[] = [
  'AP@[.50:.95] all 100', 'AP@.50 all 100', 'AP@.75 all 100', 'AP small 100', 'AP medium 100',
  'AP large 100', 'AR all 1', 'AR all 10', 'AR all 100', 'AR small 100', 'AR medium 100',
  'AR large 100',
];

/** Mean of the entries > −1 of `vals[0, n)` (compacted in place), or −1 if none. */
function meanKept(vals: Float64Array, n: number): number {
  let kept = 0;
  for (let i = 0; i < n; i++) if (vals[i] > -1) vals[kept++] = vals[i];
  return kept === 0 ? -1 : numpyMean(vals, kept);
}

/** One statistic (pycocotools `_summarize`). */
export function summarizeStat(pr: PrecisionRecall, params: CocoEvalParams, spec: StatSpec): number {
  const { T, R, K, A, M } = pr;
  const a = params.areaRngLbl.indexOf(spec.area);
  const m = params.maxDets.indexOf(spec.maxDets);
  if (a < 0 || m < 0) return -1;
  const ts: number[] = [];
  for (let t = 0; t < T; t++) {
    if (spec.iouThr === undefined || params.iouThrs[t] === spec.iouThr) ts.push(t);
  }
  const vals = new Float64Array(ts.length * (spec.ap ? R * K : K));
  let n = 0;
  for (const t of ts) {
    if (spec.ap) {
      for (let r = 0; r < R; r++) {
        for (let k = 0; k < K; k++) {
          vals[n++] = pr.precision[(((t * R + r) * K + k) * A + a) * M + m];
        }
      }
    } else {
      for (let k = 0; k < K; k++) vals[n++] = pr.recall[((t * K + k) * A + a) * M + m];
    }
  }
  return meanKept(vals, n);
}

/** The 12 statistics. */
export function summarizeStats(pr: PrecisionRecall, params: CocoEvalParams): number[] {
  return STAT_SPECS.map((spec) => summarizeStat(pr, params, spec));
}

/**
 * Per-category AP and AR (YOLOX's per-class tables): mean of precision[:, :, k, all, 100] and of
 * recall[:, k, all, 100] over entries > −1; −1 when the category has no GT.
 */
export function perCategory(
  pr: PrecisionRecall, params: CocoEvalParams,
): { ap: number[]; ar: number[] } {
  const { T, R, K, A, M } = pr;
  const a = params.areaRngLbl.indexOf('all');
  const m = params.maxDets.indexOf(100);
  const ap: number[] = [], ar: number[] = [];
  const vals = new Float64Array(T * R);
  for (let k = 0; k < K; k++) {
    let n = 0;
    for (let t = 0; t < T; t++) {
      for (let r = 0; r < R; r++) vals[n++] = pr.precision[(((t * R + r) * K + k) * A + a) * M + m];
    }
    ap.push(meanKept(vals, n));
    n = 0;
    for (let t = 0; t < T; t++) vals[n++] = pr.recall[((t * K + k) * A + a) * M + m];
    ar.push(meanKept(vals, n));
  }
  return { ap, ar };
}

/**
 * Python's '{:.Nf}' for a float: correctly rounded, ties (exact binary halves) to even.
 * toFixed is also correctly rounded except that it breaks exact ties upward; a value is an exact
 * tie at N decimals iff x·2^(N+1) is an odd integer (x = odd / 2^(N+1)).
 */
export function formatFixedPy(x: number, digits: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const neg = x < 0 || Object.is(x, -0);
  const ax = Math.abs(x);
  const scaled = ax * 2 ** (digits + 1); // exact (a power-of-two scaling)
  let body: string;
  if (Number.isInteger(scaled) && scaled % 2 === 1 && ax < 2 ** 40) {
    // Exact tie: the two candidates are floor(ax·10^N) and +1; take the even one.
    const lo = Math.floor(ax * 10 ** digits); // ax·10^N = k + 1/2 exactly representable here
    const n = lo % 2 === 0 ? lo : lo + 1;
    const s = String(n).padStart(digits + 1, '0');
    body = digits > 0 ? `${s.slice(0, s.length - digits)}.${s.slice(s.length - digits)}` : s;
  } else {
    body = ax.toFixed(digits);
  }
  return neg ? `-${body}` : body;
}

/** One printed line (without the newline). */
export function summaryLine(spec: StatSpec, value: number, params: CocoEvalParams): string {
  const title = spec.ap ? 'Average Precision' : 'Average Recall';
  const type = spec.ap ? '(AP)' : '(AR)';
  const T = params.iouThrs.length;
  const iou = spec.iouThr === undefined
    ? `${formatFixedPy(params.iouThrs[0], 2)}:${formatFixedPy(params.iouThrs[T - 1], 2)}`
    : formatFixedPy(spec.iouThr, 2);
  return ` ${title.padEnd(18)} ${type} @[ IoU=${iou.padEnd(9)} | area=${spec.area.padStart(6)} | ` +
    `maxDets=${String(spec.maxDets).padStart(3)} ] = ${formatFixedPy(value, 3)}`;
}

/** The text pycocotools' summarize() prints: 12 lines, each ending in '\n'. */
export function summaryText(stats: readonly number[], params: CocoEvalParams): string {
  return STAT_SPECS.map((spec, i) => `${summaryLine(spec, stats[i], params)}\n`).join('');
}
