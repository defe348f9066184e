/**
 * @file numpy's float64 summation order, reproduced bit for bit (numpy 1.24, `np.add.reduce` of a
 * contiguous 1-D vector, which is what `np.mean` calls before dividing by the count).
 *
 * The reduction hands the vector to the add loop in chunks of 8192 elements (the ufunc buffer
 * size); each chunk is summed pairwise (numpy's `pairwise_sum`), and the chunk sums are added left
 * to right starting from 0.0:
 *   n < 8     a plain loop from 0.0
 *   n ≤ 128   eight running sums r[j] += a[i+j], combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)),
 *             then the tail (n mod 8 elements) added one by one
 *   n > 128   split at n2 = n/2 − (n/2 mod 8) and add the two halves' pairwise sums
 * A left-to-right sum differs from this in the last bits, which pycocotools' stats expose.
 */

/** numpy's ufunc buffer size: reductions are fed to the inner loop in chunks of this many. */
export const NUMPY_BUFSIZE = 8192;
const PW_BLOCKSIZE = 128;

/** numpy's `pairwise_sum_DOUBLE` over a[off, off + n). */
export function pairwiseSum(a: ArrayLike<number>, off: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[off + i];
    return res;
  }
  if (n <= PW_BLOCKSIZE) {
    let r0 = a[off], r1 = a[off + 1], r2 = a[off + 2], r3 = a[off + 3];
    let r4 = a[off + 4], r5 = a[off + 5], r6 = a[off + 6], r7 = a[off + 7];
    const end = n - (n % 8);
    let i = 8;
    for (; i < end; i += 8) {
      const p = off + i;
      r0 += a[p]; r1 += a[p + 1]; r2 += a[p + 2]; r3 += a[p + 3];
      r4 += a[p + 4]; r5 += a[p + 5]; r6 += a[p + 6]; r7 += a[p + 7];
    }
    let res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < n; i++) res += a[off + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, off, n2) + pairwiseSum(a, off + n2, n - n2);
}

/** `np.sum` of the first `n` entries of a float64 vector (default: all of it). */
export function numpySum(a: ArrayLike<number>, n: number = a.length): number {
  let total = 0;
  for (let off = 0; off < n; off += NUMPY_BUFSIZE) {
    total += pairwiseSum(a, off, Math.min(NUMPY_BUFSIZE, n - off));
  }
  return total;
}

/** `np.mean` of the first `n` entries (NaN for n = 0, as numpy). */
export function numpyMean(a: ArrayLike<number>, n: number = a.length): number {
  return numpySum(a, n) / n;
}
