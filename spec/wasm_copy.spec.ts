/**
 * engine/wasm/copy.ts: copy_rows_1 and copy_rows_2 against a plain loop over the same memory.
 * Exact: the copies move 32-bit patterns, so random bit patterns (NaN payloads included) must
 * arrive unchanged, and no byte outside the destination rows may change.
 */
import { expect } from 'chai';
import { Rng } from '../engine/rng.js';
import { regionsInUse } from '../engine/threads/pool.js';
import { ensureMemoryBytes, mainThreadKernels, REGION_BYTES } from '../engine/wasm/runtime.js';

interface CopyCase { rows: number; n: number; srcRow: number; dstRow: number; step: 1 | 2 }

describe('engine/wasm/copy: row-block copies inside wasm memory', () => {
  const kern = mainThreadKernels();
  const base = regionsInUse() * REGION_BYTES, words = 1 << 16;
  ensureMemoryBytes(base + 4 * words);
  const cases: CopyCase[] = [
    { rows: 1, n: 1, srcRow: 0, dstRow: 0, step: 1 },
    { rows: 3, n: 4, srcRow: 40, dstRow: 16, step: 1 },
    { rows: 5, n: 13, srcRow: 60, dstRow: 56, step: 1 },
    { rows: 7, n: 37, srcRow: 300, dstRow: 160, step: 2 },
    { rows: 2, n: 3, srcRow: 24, dstRow: 12, step: 2 },
    { rows: 4, n: 104, srcRow: 840, dstRow: 424, step: 2 },
    { rows: 0, n: 9, srcRow: 40, dstRow: 40, step: 1 },
    { rows: 6, n: 0, srcRow: 40, dstRow: 40, step: 2 },
  ];
  for (const [i, q] of cases.entries()) {
    it(`copy_rows_${q.step}: ${q.rows} rows of ${q.n} (strides ${q.srcRow}/${q.dstRow} B)`, () => {
      const u = new Uint32Array(kern.memory.buffer, base, words);
      const rng = new Rng(300 + i);
      for (let w = 0; w < words; w++) u[w] = rng.int(0x10000) * 0x10000 + rng.int(0x10000);
      const src = base + 4 * 16, dst = base + 4 * (words / 2) + 8;
      const want = Uint32Array.from(u);
      for (let r = 0; r < q.rows; r++) {
        const d = (dst - base + r * q.dstRow) / 4, s = (src - base + r * q.srcRow) / 4;
        for (let k = 0; k < q.n; k++) {
          want[d + k] = u[s + k * q.step];
        }
      }
      const copy = q.step === 1 ? kern.copyRows1 : kern.copyRows2;
      copy(src, q.srcRow, dst, q.dstRow, q.rows, q.n);
      const got = new Uint32Array(kern.memory.buffer, base, words);
      let bad = -1;
      for (let w = 0; w < words && bad < 0; w++) if (got[w] !== want[w]) bad = w;
      expect(bad, `first differing word ${bad}`).to.equal(-1);
    });
  }

  it('copy_rows_1 compacts in place (dst below an overlapping src)', () => {
    const f = new Float32Array(kern.memory.buffer, base, words);
    const rng = new Rng(7);
    rng.fillUniform(f, -1, 1);
    // Rows of 50 values at a stride of 56 become rows of 50 at a stride of 50, shifted left.
    const rows = 9, n = 50, before = Float32Array.from(f);
    kern.copyRows1(base + 4 * 3, 4 * 56, base, 4 * n, rows, n);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < n; k++) expect(f[r * n + k]).to.equal(before[3 + r * 56 + k]);
    }
  });
});
