/**
 * @file Row-block copies inside wasm memory, emitted like the packers (pack.ts): the fast path's
 * data movement around the GEMM — writing the padded, phase-split image of a conv input
 * (shifted_image.ts) and gathering a C block's kept columns before they leave wasm memory
 * (sgemm.ts). They move 32-bit patterns (v128 / i32 loads and stores), so every float is kept
 * bit for bit, NaN payloads included.
 *
 * Shape legend (addresses and row strides in bytes; 4-byte values):
 *   copy_rows_1(src, srcRow, dst, dstRow, rows, n):
 *     for r < rows, i < n:  value at dst + r·dstRow + 4i ← value at src + r·srcRow + 4i
 *   copy_rows_2(src, srcRow, dst, dstRow, rows, n):   every second source value
 *     for r < rows, i < n:  value at dst + r·dstRow + 4i ← value at src + r·srcRow + 8i
 * Full groups of 4 values move as one v128; copy_rows_2 loads two v128 (8 values) per group and
 * keeps lanes 0, 2, 4, 6, so its last group of a row may read one value past 8(n−1) + 4: the
 * caller leaves 4 readable bytes after the source. Overlapping source and destination are only
 * allowed when dst ≤ src (every group is read before anything at or after it is written).
 * rows = 0 or n = 0 copy nothing.
 */
import { Code, I32, Op, type FuncDef, type ValType } from './encoder.js';

const SRC = 0, SROW = 1, DST = 2, DROW = 3, ROWS = 4, N = 5, S = 6, D = 7, I = 8;

/** Byte lanes 0–3, 8–11 of the first vector and 0–3, 8–11 of the second: values 0, 2, 4, 6. */
const EVEN_VALUES = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];

function copyRows(step: 1 | 2): FuncDef {
  const c = new Code();
  c.block();
  c.get(ROWS).op(Op.i32Eqz).brIf(0);
  c.loop(); // rows
  c.get(SRC).set(S).get(DST).set(D).get(N).set(I);
  c.block().loop(); // groups of 4 values: while (i >= 4)
  c.get(I).i32(4).op(Op.i32LtS).brIf(1);
  if (step === 1) {
    c.get(D).get(S).v128Load(0).v128Store(0);
  } else {
    c.get(D).get(S).v128Load(0).get(S).v128Load(16).shuffle(EVEN_VALUES).v128Store(0);
  }
  c.addTo(S, 16 * step).addTo(D, 16).addTo(I, -4).br(0);
  c.end().end();
  c.block().loop(); // the rest, one value at a time: while (i != 0)
  c.get(I).op(Op.i32Eqz).brIf(1);
  c.get(D).get(S).i32Load(0).i32Store(0);
  c.addTo(S, 4 * step).addTo(D, 4).addTo(I, -1).br(0);
  c.end().end();
  c.get(SRC).get(SROW).op(Op.i32Add).set(SRC);
  c.get(DST).get(DROW).op(Op.i32Add).set(DST);
  c.get(ROWS).i32(1).op(Op.i32Sub).tee(ROWS).brIf(0);
  c.end();
  c.end();
  return { name: `copy_rows_${step}`, params: Array<ValType>(6).fill(I32), results: [],
    locals: Array<ValType>(3).fill(I32), code: c };
}

/** copy_rows_1 and copy_rows_2. */
export function copyKernels(): FuncDef[] {
  return [copyRows(1), copyRows(2)];
}

/** A copy kernel's signature: (src, srcRow, dst, dstRow, rows, n), addresses in bytes. */
export type RowCopier = (src: number, srcRowBytes: number, dst: number, dstRowBytes: number,
  rows: number, n: number) => void;
