/**
 * @file Exact values for the integer reference: a tensor of rationals num/den · 2^exp with
 * integer `num` (held in a Float64Array, exact below 2^53), one positive integer `den` and one
 * exponent per tensor. Every op of the quantized YOLO-X graph maps such tensors to such tensors
 * without rounding; only a quantizer rounds, once, half to even:
 *
 *   q = clamp(rhe(num·2^(exp + pos) / den) + z, qmin, qmax)
 *
 * computed with integer arithmetic (quotient and remainder), never with a float division.
 */

export interface Exact {
  readonly num: Float64Array;
  readonly den: number;
  readonly exp: number;
  readonly shape: readonly number[];
}

/** Integer codes of a quantized tensor: value = (q − z)·2^−pos. */
export interface Codes {
  readonly q: Int32Array;
  readonly pos: number;
  readonly z: number;
  readonly shape: readonly number[];
}

/** The exact value of codes (den 1). */
export function exactOfCodes(c: Codes): Exact {
  const num = new Float64Array(c.q.length);
  for (let i = 0; i < num.length; i++) num[i] = c.q[i] - c.z;
  return { num, den: 1, exp: -c.pos, shape: c.shape };
}

/** rhe(n / d) for integers n, d > 0 with |n|, d < 2^53: quotient and remainder, ties to even. */
export function divRoundHalfEven(n: number, d: number): number {
  let q = Math.floor(n / d);
  let r = n - q * d; // exact: |q·d| ≤ |n| + d
  if (r < 0) { q -= 1; r += d; } else if (r >= d) { q += 1; r -= d; }
  const twice = 2 * r;
  if (twice > d || (twice === d && q % 2 !== 0)) q += 1;
  return q + 0;
}

/** Quantizes exact values: the only rounding of the integer path. */
export function requantize(
  e: Exact, pos: number, z: number, qmin: number, qmax: number,
): Codes {
  const q = new Int32Array(e.num.length);
  const shift = e.exp + pos;
  const mul = shift >= 0 ? 2 ** shift : 1;
  const den = shift >= 0 ? e.den : e.den * 2 ** -shift;
  if (!Number.isSafeInteger(den)) {
    throw new Error(`requantize: denominator 2^${-shift}·${e.den} too large`);
  }
  for (let i = 0; i < q.length; i++) {
    const n = e.num[i] * mul;
    if (!Number.isSafeInteger(n)) {
      throw new Error(`requantize: ${e.num[i]}·2^${shift} is not exact`);
    }
    const v = divRoundHalfEven(n, den) + z;
    q[i] = v < qmin ? qmin : v > qmax ? qmax : v;
  }
  return { q, pos, z, shape: e.shape };
}

/** Brings tensors with den 1 to a common exponent (the smallest), exactly. */
export function commonExponent(xs: readonly Exact[]): { nums: Float64Array[]; exp: number } {
  for (const x of xs) if (x.den !== 1) throw new Error('commonExponent: needs den 1');
  const exp = Math.min(...xs.map((x) => x.exp));
  const nums = xs.map((x) => {
    if (x.exp === exp) return x.num;
    const f = 2 ** (x.exp - exp);
    return Float64Array.from(x.num, (v) => v * f);
  });
  return { nums, exp };
}
