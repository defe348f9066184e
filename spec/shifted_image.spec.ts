/**
 * engine/wasm/shifted_image.ts: the padded, phase-split image whose shifted views are the rows
 * of the im2col matrix. Oracle: im2colAt (the readable definition)
 * for every k and every kept column n = oh·OW + ow, read at shiftedRowAddr(k) + 4·(oh·Wq + ow).
 * Exact equality (a copy moves bits). Also: the layout's bytes cover every read a job can make
 * (the last panel of discarded columns included).
 */
import { expect } from 'chai';
import type { Im2colB } from '../engine/gemm.js';
import { Rng } from '../engine/rng.js';
import { regionsInUse } from '../engine/threads/pool.js';
import { ensureMemoryBytes, mainThreadKernels, REGION_BYTES } from '../engine/wasm/runtime.js';
import {
  im2colAt, shiftedImageLayout, shiftedRowAddr, writeShiftedImage,
} from '../engine/wasm/shifted_image.js';

const outSize = (n: number, k: number, s: number, p: number): number =>
  Math.floor((n + 2 * p - k) / s) + 1;

describe('engine/wasm/shifted_image: B rows as shifted views = im2col, exactly', () => {
  const cases = [
    { C: 3, H: 9, W: 11, KH: 3, KW: 3, S: 2, P: 1 },
    { C: 2, H: 7, W: 6, KH: 3, KW: 3, S: 1, P: 1 },
    { C: 4, H: 13, W: 13, KH: 5, KW: 5, S: 1, P: 2 },
    { C: 5, H: 10, W: 9, KH: 1, KW: 1, S: 2, P: 0 },
    { C: 2, H: 6, W: 5, KH: 3, KW: 3, S: 3, P: 2 },
    { C: 1, H: 8, W: 8, KH: 2, KW: 3, S: 2, P: 0 },
    { C: 3, H: 5, W: 7, KH: 1, KW: 1, S: 1, P: 0 }, // a 1×1 conv: the image itself
    // Rows long enough for the wasm copies' 4-value groups plus a remainder, both strides.
    { C: 2, H: 12, W: 37, KH: 3, KW: 3, S: 2, P: 1 },
    { C: 2, H: 9, W: 42, KH: 3, KW: 3, S: 1, P: 1 },
  ];
  for (const [i, q] of cases.entries()) {
    const OH = outSize(q.H, q.KH, q.S, q.P), OW = outSize(q.W, q.KW, q.S, q.P);
    it(`x=[${q.C},${q.H},${q.W}] k=${q.KH}×${q.KW} s=${q.S} p=${q.P}`, () => {
      const xOffset = 3, g: Im2colB = { ...q, OH, OW, xOffset };
      const x = new Rng(90 + i).fillUniform(new Float32Array(xOffset + q.C * q.H * q.W), -1, 1);
      // In the kernels' wasm memory, above every thread's scratch region (as gemm places it).
      const kern = mainThreadKernels(), base = regionsInUse() * REGION_BYTES;
      const L = shiftedImageLayout(g, base);
      ensureMemoryBytes(base + L.bytes);
      // Memory pre-filled with NaN: the writer must set every word of the image's span (up to
      // the staged copy of x, which only it reads).
      new Float32Array(kern.memory.buffer).fill(NaN, base / 4, (base + L.bytes) / 4);
      writeShiftedImage(kern, x, g, L);
      const f = new Float32Array(kern.memory.buffer);
      expect(f.subarray(base / 4, L.stage / 4).some(Number.isNaN)).to.equal(false);
      const K = q.C * q.KH * q.KW;
      let maxRead = 0;
      for (let k = 0; k < K; k++) {
        const row = shiftedRowAddr(L, k) / 4;
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) {
            const got = f[row + oh * L.Wq + ow], want = im2colAt(x, g, k, oh * OW + ow);
            expect(Object.is(got, want), `k=${k} oh=${oh} ow=${ow}`).to.equal(true);
          }
        }
        // A job may read up to the end of the last 8-column panel past nCols.
        maxRead = Math.max(maxRead, row + Math.ceil(L.nCols / 8) * 8);
      }
      expect(maxRead * 4).to.be.at.most(L.stage);
    });
  }
});
