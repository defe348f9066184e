/**
 * @file BatchNorm folded into the preceding conv with the running statistics, Quark's
 * `QuantizedConvBatchNorm2d` in eval / frozen-BN mode (quark.md §2.5, quant_ref.md §6.5).
 * Per output channel c, in float32 and in this operation order:
 *
 *   r_c  = 1 / sqrt(var_c + float32(eps))        (torch's CPU rsqrt: two roundings)
 *   W′   = W[c,…] · (γ_c · r_c)
 *   b′_c = β_c − (γ_c · μ_c) · r_c               (the conv has no bias)
 *
 * Backward (QAT trains W, γ, β; μ and var are constants):
 *   dW[c,…] += dW′[c,…] · (γ_c r_c)
 *   dγ_c    += Σ dW′[c,…] · W[c,…] · r_c  −  db′_c · μ_c · r_c
 *   dβ_c    += db′_c
 *
 * Shapes: W, W′ [C, K] with K = C_in/groups · kh · kw; γ, β, μ, var, b′ [C].
 */
import { record } from '../../engine/autograd.js';
import { Tensor } from '../../engine/tensor.js';

type F32 = Float32Array;
const f = Math.fround;

/** r_c = 1/sqrt(var_c + eps), each step rounded to float32. */
export function bnInvStd(runVar: F32, eps: number): Float64Array {
  const r = new Float64Array(runVar.length);
  const e = f(eps);
  for (let c = 0; c < runVar.length; c++) r[c] = f(1 / f(Math.sqrt(f(runVar[c] + e))));
  return r;
}

/** W′ = W·(γ·r). */
export function foldWeightForward(w: F32, gamma: F32, r: Float64Array, out: F32): void {
  const C = gamma.length, K = w.length / C;
  for (let c = 0; c < C; c++) {
    const k = f(gamma[c] * r[c]);
    for (let i = c * K; i < (c + 1) * K; i++) out[i] = w[i] * k;
  }
}

/** b′ = β − (γ·μ)·r. */
export function foldBiasForward(beta: F32, gamma: F32, mean: F32, r: Float64Array, out: F32): void {
  for (let c = 0; c < beta.length; c++) out[c] = beta[c] - f(f(gamma[c] * mean[c]) * r[c]);
}

/** The recorded op W′ = fold(W, γ, var). */
export function foldWeight(w: Tensor, gamma: Tensor, runVar: Tensor, eps: number): Tensor {
  const r = bnInvStd(runVar.data, eps);
  const out = Tensor.zeros(w.shape);
  foldWeightForward(w.data, gamma.data, r, out.data);
  const C = gamma.size, K = w.size / C;
  return record('bnFoldWeight', [w, gamma, runVar], out, (g) => {
    if (w.requiresGrad) {
      const gw = w.gradBuffer();
      for (let c = 0; c < C; c++) {
        const k = f(gamma.data[c] * r[c]);
        for (let i = c * K; i < (c + 1) * K; i++) gw[i] += g[i] * k;
      }
    }
    if (gamma.requiresGrad) {
      const gg = gamma.gradBuffer();
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let i = c * K; i < (c + 1) * K; i++) s += g[i] * w.data[i];
        gg[c] += s * r[c];
      }
    }
  }, { eps });
}

/** The recorded op b′ = fold(β, γ, μ, var). */
export function foldBias(
  beta: Tensor, gamma: Tensor, mean: Tensor, runVar: Tensor, eps: number,
): Tensor {
  const r = bnInvStd(runVar.data, eps);
  const out = Tensor.zeros(beta.shape);
  foldBiasForward(beta.data, gamma.data, mean.data, r, out.data);
  return record('bnFoldBias', [beta, gamma, mean, runVar], out, (g) => {
    if (beta.requiresGrad) {
      const gb = beta.gradBuffer();
      for (let c = 0; c < g.length; c++) gb[c] += g[c];
    }
    if (gamma.requiresGrad) {
      const gg = gamma.gradBuffer();
      for (let c = 0; c < g.length; c++) gg[c] -= g[c] * mean.data[c] * r[c];
    }
  }, { eps });
}
