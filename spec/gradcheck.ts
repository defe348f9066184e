/**
 * @file Finite-difference gradient checks for ops (the oracle of every backward kernel).
 *
 * For an op y = f(x₁, …), a fixed non-uniform upstream gradient w (seeded random in [−1, 1],
 * so a backward that sums or swaps elements cannot pass by symmetry) defines the scalar
 *   L(x) = Σᵢ wᵢ·yᵢ(x)          (summed in float64)
 * whose exact gradient is what backward(y, w) accumulates. Each probed input element is moved
 * by ±eps and dL/dx ≈ (L(x⁺) − L(x⁻)) / (x⁺ − x⁻), using the float32 values actually stored
 * (so the rounding of x ± eps cannot bias the quotient).
 *
 * Noise budget (why eps = 1e-2 works on float32 storage): outputs the probe does not touch are
 * recomputed bit-identically, so only the k outputs that depend on the probed element add
 * rounding noise, each ≤ 2⁻²⁴·|y| ≈ 6e-8·|y|. With k ≤ ~100, |y| ≤ ~5 and |w| ≤ 1 that is
 * ≤ 3e-5 in L, ≤ 1.5e-3 after dividing by 2·eps. Truncation of the central difference is
 * eps²/6·|L'''| ≈ 2e-5·|L'''|. Measured on the cases in spec/ops*.spec.ts: max |error| ≤ 1e-4
 * (set GRADCHECK_LOG=1 to print it). Default test |analytic − numeric| ≤ atol + rtol·|numeric|
 * with atol = 5e-4, rtol = 5e-3: 5× above the noise, while a wrong gradient is off by
 * O(|gradient|) ≈ 0.1–10 and fails it.
 */
import { expect } from 'chai';
import { backward, noGrad } from '../engine/autograd.js';
import { Rng } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';

export interface GradCase {
  /** Named by its parameters, e.g. 'x=[2,4,7,7] w=[6,2,3,3] s=2 p=1 g=2'. */
  readonly name: string;
  /** Fresh inputs; those with requiresGrad are checked. */
  readonly inputs: () => Tensor[];
  readonly f: (xs: Tensor[]) => Tensor;
  readonly eps?: number;
  readonly atol?: number;
  readonly rtol?: number;
  /** Probe at most this many elements per input (a seeded sample); default all. */
  readonly maxProbe?: number;
}

export interface GradReport {
  /** max over probes of |analytic − numeric| / (atol + rtol·|numeric|); passes when ≤ 1. */
  readonly worst: number;
  readonly maxAbsErr: number;
  readonly probes: number;
}

/** A tensor of uniform values in [lo, hi) from a seeded generator. */
export function randTensor(shape: number[], seed: number, lo = -1, hi = 1, grad = true): Tensor {
  const t = Tensor.zeros(shape, grad);
  new Rng(seed).fillUniform(t.data, lo, hi);
  return t;
}

/** Σ w·y in float64. */
function weightedSum(y: Float32Array, w: Float32Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += w[i] * y[i];
  return s;
}

/** Runs the check and returns the worst error; does not assert. */
export function gradcheck(c: GradCase): GradReport {
  const eps = c.eps ?? 1e-2, atol = c.atol ?? 5e-4, rtol = c.rtol ?? 5e-3;
  const xs = c.inputs();
  const y = c.f(xs);
  const w = new Rng(12345).fillUniform(new Float32Array(y.size), -1, 1);
  backward(y, w);
  let worst = 0, maxAbsErr = 0, probes = 0;
  const rng = new Rng(777);
  for (const x of xs) {
    if (!x.requiresGrad) continue;
    const analytic = x.grad === null ? new Float32Array(x.size) : x.grad.slice();
    const idx = Array.from({ length: x.size }, (_, i) => i);
    const chosen = c.maxProbe !== undefined && x.size > c.maxProbe
      ? rng.shuffle(idx).slice(0, c.maxProbe) : idx;
    for (const i of chosen) {
      const orig = x.data[i];
      x.data[i] = orig + eps;
      const hp = x.data[i];
      const lp = weightedSum(noGrad(() => c.f(xs)).data, w);
      x.data[i] = orig - eps;
      const hm = x.data[i];
      const lm = weightedSum(noGrad(() => c.f(xs)).data, w);
      x.data[i] = orig;
      const numeric = (lp - lm) / (hp - hm);
      const err = Math.abs(analytic[i] - numeric);
      maxAbsErr = Math.max(maxAbsErr, err);
      worst = Math.max(worst, err / (atol + rtol * Math.abs(numeric)));
      probes++;
    }
  }
  return { worst, maxAbsErr, probes };
}

/** Registers one mocha test per case. */
export function gradcheckCases(cases: readonly GradCase[]): void {
  for (const c of cases) {
    it(`gradient: ${c.name}`, () => {
      const r = gradcheck(c);
      expect(r.probes, 'probed elements').to.be.greaterThan(0);
      const err = r.maxAbsErr.toExponential(2);
      if (process.env.GRADCHECK_LOG) console.log(`${c.name}: max err ${err}`);
      expect(r.worst, `max |analytic − numeric| = ${err}`)
        .to.be.at.most(1);
    });
  }
}

/** A permutation of evenly spaced values (spacing `gap`), so no two elements tie within ±eps. */
export function distinctTensor(shape: number[], seed: number, gap = 0.05): Tensor {
  const t = Tensor.zeros(shape, true);
  const vals = Array.from({ length: t.size }, (_, i) => (i - t.size / 2) * gap);
  new Rng(seed).shuffle(vals);
  t.data.set(vals);
  return t;
}
