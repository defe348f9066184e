/**
 * @file Round half to even ("banker's rounding"), the rounding of IEEE 754, numpy and PyTorch.
 * JavaScript's built-in rounding sends halves up (−2.5 → −2, 2.5 → 3): quantization must never
 * use it.
 */

/** Nearest integer; exact ties (fraction 0.5) go to the even neighbour: 2.5 → 2, 3.5 → 4, −2.5 → −2. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f; // exact for every finite double
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
