/**
 * @file A stable argsort by descending key, the order of numpy's
 * `np.argsort(-key, kind='mergesort')` that pycocotools uses for scores: larger keys first,
 * equal keys keep their input order. Bottom-up merge sort on index arrays, with insertion sort
 * for short runs; no allocation beyond the caller's scratch.
 */

const RUN = 16;

/**
 * Sorts idx[0, n) so that key[idx[i]] is non-increasing, stably (equal keys keep the order they
 * had in idx). `tmp` is scratch of length ≥ n. Returns the array holding the result (idx or tmp).
 */
export function argsortDescStable(
  key: Float64Array,
  idx: Int32Array,
  n: number,
  tmp: Int32Array,
): Int32Array {
  // Insertion sort each run of RUN entries (stable: move only past strictly smaller keys).
  for (let lo = 0; lo < n; lo += RUN) {
    const hi = Math.min(lo + RUN, n);
    for (let i = lo + 1; i < hi; i++) {
      const v = idx[i];
      const kv = key[v];
      let j = i - 1;
      while (j >= lo && key[idx[j]] < kv) {
        idx[j + 1] = idx[j];
        j--;
      }
      idx[j + 1] = v;
    }
  }
  let src = idx;
  let dst = tmp;
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo, j = mid, o = lo;
      // Take from the left run on ties: that keeps the sort stable.
      while (i < mid && j < hi) dst[o++] = key[src[j]] > key[src[i]] ? src[j++] : src[i++];
      while (i < mid) dst[o++] = src[i++];
      while (j < hi) dst[o++] = src[j++];
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/** Convenience: a fresh stable descending argsort of key[0, n). */
export function argsortDesc(key: Float64Array, n: number = key.length): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  return argsortDescStable(key, idx, n, new Int32Array(n)).slice(0, n);
}
