/**
 * @file The ops of the quantized graph on exact values (exact.ts). Shapes NCHW; N batch,
 * C channels, H×W input, O output channels, K kernel, S stride, P padding, OH×OW output.
 *
 *   conv     Σ q_x·q_w in int32 (engine/gemm_int8) at 2^−(p_x + p_w), plus the bias codes
 *            shifted to the common exponent: num = acc·2^(E − p_x − p_w) + q_b·2^(E − p_b)
 *   add/mul  exact sums and products at the common / summed exponent
 *   hardsigmoid(v) = clamp(v + 3, 0, 6)/6 as the rational clamp(n + 3·2^−e, 0, 6·2^−e)/6 · 2^e
 *   mulConst a dyadic constant m·2^−k: num·m at exp − k
 *   concat / slice / maxPool / upsample move exact numbers only.
 */
import { gemmInt8 } from '../../engine/gemm_int8.js';
import { commonExponent, type Codes, type Exact } from './exact.js';

/** Conv of int8 codes x [N, C, H, W] (z = 0) with weight codes [O, C, K, K] and bias codes [O]. */
export function intConv(
  x: Codes, w: Codes, b: Codes | null, attrs: { stride: number; padding: number; groups: number },
): Exact {
  if (attrs.groups !== 1) throw new Error('integer conv: groups > 1 not supported');
  if (x.z !== 0 || w.z !== 0) {
    throw new Error('integer conv: input and weight zero points must be 0');
  }
  const [N, C, H, W] = x.shape, [O, , KH, KW] = w.shape;
  const S = attrs.stride, P = attrs.padding;
  const OH = Math.floor((H + 2 * P - KH) / S) + 1, OW = Math.floor((W + 2 * P - KW) / S) + 1;
  const CKK = C * KH * KW, OHW = OH * OW;
  const wq = Int8Array.from(w.q), xq = Int8Array.from(x.q);
  const col = new Int8Array(CKK * OHW), acc = new Int32Array(O * OHW);
  const E = b === null ? x.pos + w.pos : Math.max(x.pos + w.pos, b.pos);
  const fAcc = 2 ** (E - x.pos - w.pos), fB = b === null ? 0 : 2 ** (E - b.pos);
  const num = new Float64Array(N * O * OHW);
  for (let n = 0; n < N; n++) {
    // im2col of image n:
    //   col[(c·KH + kh)·KW + kw][oh·OW + ow] = x[n, c, oh·S − P + kh, ow·S − P + kw]
    for (let c = 0; c < C; c++) {
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          const row = ((c * KH + kh) * KW + kw) * OHW;
          for (let oh = 0; oh < OH; oh++) {
            const h = oh * S - P + kh;
            for (let ow = 0; ow < OW; ow++) {
              const ww = ow * S - P + kw;
              const inside = h >= 0 && h < H && ww >= 0 && ww < W;
              col[row + oh * OW + ow] = inside ? xq[((n * C + c) * H + h) * W + ww] : 0;
            }
          }
        }
      }
    }
    gemmInt8({ M: O, N: OHW, K: CKK, a: wq, lda: CKK, b: col, ldb: OHW, c: acc, ldc: OHW });
    for (let o = 0; o < O; o++) {
      const bias = b === null ? 0 : b.q[o] * fB;
      const base = (n * O + o) * OHW;
      for (let i = 0; i < OHW; i++) num[base + i] = acc[o * OHW + i] * fAcc + bias;
    }
  }
  return { num, den: 1, exp: -E, shape: [N, O, OH, OW] };
}

export function intAdd(a: Exact, b: Exact): Exact {
  const { nums: [x, y], exp } = commonExponent([a, b]);
  return { num: Float64Array.from(x, (v, i) => v + y[i]), den: 1, exp, shape: a.shape };
}

export function intMul(a: Exact, b: Exact): Exact {
  return {
    num: Float64Array.from(a.num, (v, i) => v * b.num[i]), den: a.den * b.den, exp: a.exp + b.exp,
    shape: a.shape,
  };
}

export function intHardsigmoid(x: Exact): Exact {
  if (x.den !== 1) throw new Error('integer hardsigmoid: input must be a quantized tensor');
  const e = Math.min(x.exp, 0);
  const f = 2 ** (x.exp - e), three = 3 * 2 ** -e, six = 6 * 2 ** -e;
  const num = Float64Array.from(x.num, (v) => {
    const t = v * f + three;
    return t < 0 ? 0 : t > six ? six : t;
  });
  return { num, den: 6 * x.den, exp: e, shape: x.shape };
}

/** x·value for a dyadic `value` = m·2^−k. */
export function intMulConst(x: Exact, value: number): Exact {
  let k = 0;
  while (!Number.isInteger(value * 2 ** k)) if (++k > 60) throw new Error(`${value} is not dyadic`);
  const m = value * 2 ** k;
  const num = Float64Array.from(x.num, (v) => v * m);
  return { num, den: x.den, exp: x.exp - k, shape: x.shape };
}

export function intConcat(xs: readonly Exact[], axis: number): Exact {
  if (axis !== 1) throw new Error('integer concat: channel axis only');
  const { nums, exp } = commonExponent(xs);
  const [N, , H, W] = xs[0].shape, HW = H * W;
  const Cs = xs.map((x) => x.shape[1]), Ct = Cs.reduce((a, b) => a + b, 0);
  const num = new Float64Array(N * Ct * HW);
  for (let n = 0; n < N; n++) {
    let c0 = 0;
    nums.forEach((src, k) => {
      num.set(src.subarray(n * Cs[k] * HW, (n + 1) * Cs[k] * HW), (n * Ct + c0) * HW);
      c0 += Cs[k];
    });
  }
  return { num, den: 1, exp, shape: [N, Ct, H, W] };
}

/** x[..., start:end:step, ...] along `axis` (start/end already normalised by the capture). */
export function intSlice(
  x: Exact, a: { axis: number; start: number; end: number; step: number },
): Exact {
  const shape = [...x.shape];
  const len = shape[a.axis], outLen = Math.ceil((a.end - a.start) / a.step);
  const outer = shape.slice(0, a.axis).reduce((p, d) => p * d, 1);
  const inner = shape.slice(a.axis + 1).reduce((p, d) => p * d, 1);
  shape[a.axis] = outLen;
  const num = new Float64Array(outer * outLen * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < outLen; j++) {
      const src = (o * len + a.start + j * a.step) * inner;
      num.set(x.num.subarray(src, src + inner), (o * outLen + j) * inner);
    }
  }
  return { num, den: x.den, exp: x.exp, shape };
}

export function intMaxPool(
  x: Exact, a: { kernel: number; stride: number; padding: number },
): Exact {
  const [N, C, H, W] = x.shape, K = a.kernel, S = a.stride, P = a.padding;
  const OH = Math.floor((H + 2 * P - K) / S) + 1, OW = Math.floor((W + 2 * P - K) / S) + 1;
  const num = new Float64Array(N * C * OH * OW);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let best = -Infinity; // padding acts as −∞
        for (let kh = 0; kh < K; kh++) {
          const h = oh * S - P + kh;
          if (h < 0 || h >= H) continue;
          for (let kw = 0; kw < K; kw++) {
            const w = ow * S - P + kw;
            if (w >= 0 && w < W) best = Math.max(best, x.num[(nc * H + h) * W + w]);
          }
        }
        num[(nc * OH + oh) * OW + ow] = best;
      }
    }
  }
  return { num, den: x.den, exp: x.exp, shape: [N, C, OH, OW] };
}

export function intUpsample2x(x: Exact): Exact {
  const [N, C, H, W] = x.shape;
  const num = new Float64Array(N * C * 4 * H * W);
  for (let nc = 0; nc < N * C; nc++) {
    for (let h = 0; h < 2 * H; h++) {
      const src = (nc * H + (h >> 1)) * W, dst = (nc * 2 * H + h) * 2 * W;
      for (let w = 0; w < 2 * W; w++) num[dst + w] = x.num[src + (w >> 1)];
    }
  }
  return { num, den: x.den, exp: x.exp, shape: [N, C, 2 * H, 2 * W] };
}
