/**
 * @file COCOeval's bbox parameters (pycocotools `Params.setDetParams`), with the thresholds
 * computed exactly as numpy 1.24's `linspace` computes them: start + i·step (multiply, then add),
 * the last element forced to `stop`. Hence iouThrs[8] = 0.8999999999999999 (not 0.9) and
 * recThrs[70] = 0.7000000000000001; writing the literals would change results.
 */

/** numpy.linspace(start, stop, n) in float64, bit for bit. */
export function numpyLinspace(start: number, stop: number, n: number): Float64Array {
  const out = new Float64Array(n);
  const step = (stop - start) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = i * step + start;
  if (n > 1) out[n - 1] = stop;
  return out;
}

/** The area ranges: closed intervals [lo, hi] on the GT `area` field / the detection's w·h. */
export const AREA_RANGES: readonly (readonly [number, number])[] = [
  [0, 1e10],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e10],
];
export const AREA_LABELS = ['all', 'small', 'medium', 'large'] as const;
/** Detections kept per image per category (per image when class-agnostic), ascending. */
export const MAX_DETS: readonly number[] = [1, 10, 100];

/** What a caller may choose; everything else is pycocotools' default. */
export interface CocoEvalOptions {
  /** false = class-agnostic (pycocotools `useCats = 0`): categories pooled per image. */
  useCats?: boolean;
  /** Restrict to these image ids (default: every GT image). Deduplicated and sorted. */
  imgIds?: readonly number[];
  /** Restrict to these category ids (default: every GT category). Deduplicated and sorted. */
  catIds?: readonly number[];
}

/** The resolved parameters an evaluation ran with. */
export interface CocoEvalParams {
  imgIds: number[];
  /** Category ids evaluated, ascending (class-agnostic evaluation pools them into one slot). */
  catIds: number[];
  useCats: boolean;
  iouThrs: Float64Array;
  recThrs: Float64Array;
  maxDets: readonly number[];
  areaRng: readonly (readonly [number, number])[];
  areaRngLbl: readonly string[];
}

/** Sorted unique values (numpy.unique). */
export function sortedUnique(ids: Iterable<number>): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

export function resolveParams(
  gtImageIds: Iterable<number>,
  gtCatIds: Iterable<number>,
  opts: CocoEvalOptions = {},
): CocoEvalParams {
  return {
    imgIds: sortedUnique(opts.imgIds ?? gtImageIds),
    catIds: sortedUnique(opts.catIds ?? gtCatIds),
    useCats: opts.useCats ?? true,
    iouThrs: numpyLinspace(0.5, 0.95, 10),
    recThrs: numpyLinspace(0, 1, 101),
    maxDets: MAX_DETS,
    areaRng: AREA_RANGES,
    areaRngLbl: AREA_LABELS,
  };
}
