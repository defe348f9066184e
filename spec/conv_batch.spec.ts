/**
 * Batched convolutions: conv2d's forward, the fused eval conv and a 1×1 conv's input gradient
 * run a whole batch of images as one implicit-im2col GEMM (GemmArgs.bIm2col.images). Oracle:
 * the same op on each image alone.
 * Exact: an output element must not depend on which other images share its GEMM, so every
 * value must have the same bits as the one-image call (on 1 and 2 threads), including convs so
 * small that gemm runs them on its float64 reference loop (where batching must not switch an
 * image over to the float32 kernel), 1×1 convs, stride 2, groups and a bias.
 */
import { expect } from 'chai';
import { allocF32 } from '../engine/memory.js';
import { Rng } from '../engine/rng.js';
import { setThreads } from '../engine/threads/pool.js';
import { conv2dBackward, conv2dDims, conv2dForward, type Conv2dDims } from '../ops/conv.js';
import { conv2dAffineActForward } from '../ops/conv_fused.js';

interface Case { N: number; C: number; H: number; W: number; O: number; K: number; S: number;
  P: number; G: number; bias: boolean }

const CASES: Case[] = [
  { N: 4, C: 6, H: 13, W: 11, O: 10, K: 3, S: 1, P: 1, G: 1, bias: false },
  { N: 3, C: 8, H: 20, W: 17, O: 12, K: 3, S: 2, P: 1, G: 1, bias: true },
  { N: 5, C: 12, H: 9, W: 9, O: 6, K: 1, S: 1, P: 0, G: 1, bias: true },
  { N: 2, C: 8, H: 10, W: 12, O: 8, K: 3, S: 1, P: 1, G: 2, bias: false },
  // One image's GEMM is 1·9·96 = 864 < TINY_MACS multiply-adds (the head's obj_preds at 96 px).
  { N: 16, C: 96, H: 3, W: 3, O: 1, K: 1, S: 1, P: 0, G: 1, bias: true },
];

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return ua.every((v, i) => v === ub[i]);
}

/** The op on the whole batch, and on each image alone (written into the same layout). */
function batchAndSingles(q: Case, run: (x: Float32Array, y: Float32Array, d: Conv2dDims) => void)
  : [Float32Array, Float32Array] {
  const rng = new Rng(q.N * 100 + q.C);
  const x = rng.fillUniform(allocF32(q.N * q.C * q.H * q.W), -1, 1);
  const d = conv2dDims([q.N, q.C, q.H, q.W], [q.O, q.C / q.G, q.K, q.K], null,
    { stride: q.S, padding: q.P, groups: q.G });
  const outImage = q.O * d.OH * d.OW, inImage = q.C * q.H * q.W;
  const batch = allocF32(q.N * outImage);
  run(x, batch, d);
  const singles = allocF32(q.N * outImage);
  const d1: Conv2dDims = { ...d, N: 1 };
  for (let n = 0; n < q.N; n++) {
    const y1 = allocF32(outImage);
    run(x.subarray(n * inImage, (n + 1) * inImage), y1, d1);
    singles.set(y1, n * outImage);
  }
  return [batch, singles];
}

describe('batched conv GEMMs: each image gets the bits of a one-image call', () => {
  after(() => setThreads(2));
  for (const q of CASES) {
    const name = `N=${q.N} C=${q.C} ${q.H}×${q.W} → O=${q.O} k=${q.K} s=${q.S} p=${q.P} ` +
      `g=${q.G}${q.bias ? ' +bias' : ''}`;
    it(`conv2dForward ${name}`, () => {
      const rng = new Rng(7);
      const w = rng.fillUniform(allocF32(q.O * (q.C / q.G) * q.K * q.K), -0.5, 0.5);
      const b = q.bias ? rng.fillUniform(allocF32(q.O), -1, 1) : null;
      for (const threads of [1, 2]) {
        setThreads(threads);
        const [batch, singles] = batchAndSingles(q, (x, y, d) => conv2dForward(x, w, b, y, d));
        expect(sameBits(batch, singles), `${threads} thread(s)`).to.equal(true);
      }
    });
    it(`conv2dBackward's input gradient (accumulated) ${name}`, () => {
      const rng = new Rng(9);
      const w = rng.fillUniform(allocF32(q.O * (q.C / q.G) * q.K * q.K), -0.5, 0.5);
      const d = conv2dDims([q.N, q.C, q.H, q.W], [q.O, q.C / q.G, q.K, q.K], null,
        { stride: q.S, padding: q.P, groups: q.G });
      const outImage = q.O * d.OH * d.OW, inImage = q.C * q.H * q.W;
      const x = rng.fillUniform(allocF32(q.N * inImage), -1, 1);
      const gy = rng.fillUniform(allocF32(q.N * outImage), -1, 1);
      const gx0 = rng.fillUniform(allocF32(q.N * inImage), -1, 1);
      for (const threads of [1, 2]) {
        setThreads(threads);
        const batch = allocF32(gx0.length);
        batch.set(gx0);
        conv2dBackward(x, w, gy, batch, null, null, d);
        const singles = allocF32(gx0.length);
        for (let n = 0; n < q.N; n++) {
          const g1 = allocF32(inImage);
          g1.set(gx0.subarray(n * inImage, (n + 1) * inImage));
          conv2dBackward(x.subarray(n * inImage, (n + 1) * inImage), w,
            gy.subarray(n * outImage, (n + 1) * outImage), g1, null, null, { ...d, N: 1 });
          singles.set(g1, n * inImage);
        }
        expect(sameBits(batch, singles), `${threads} thread(s)`).to.equal(true);
      }
    });
    it(`fused eval conv (scale, shift, SiLU) ${name}`, () => {
      const rng = new Rng(8);
      const w = rng.fillUniform(allocF32(q.O * (q.C / q.G) * q.K * q.K), -0.5, 0.5);
      const scale = rng.fillUniform(allocF32(q.O), 0.5, 1.5);
      const shift = rng.fillUniform(allocF32(q.O), -1, 1);
      for (const threads of [1, 2]) {
        setThreads(threads);
        const [batch, singles] = batchAndSingles(q,
          (x, y, d) => conv2dAffineActForward(x, w, scale, shift, 'silu', y, d));
        expect(sameBits(batch, singles), `${threads} thread(s)`).to.equal(true);
      }
    });
  }
});
