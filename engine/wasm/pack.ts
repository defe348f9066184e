/**
 * @file Panel-packing kernels, emitted as WebAssembly like the GEMM kernels. The driver first
 * copies the needed rows of A or B into a staging matrix S in wasm memory (one memcpy per row,
 * zero-padded to whole panels), then one of these reorders S into the panels the block kernels
 * read. All copies move 32-bit patterns (i32 / v128 / i64 loads), so every float is kept bit for
 * bit, NaN payloads included.
 *
 * Shape legend: S has rows of stride `ld` bytes; W is the panel width (MR = 3 for A, NR = 8 for B);
 * `np` panels, each `kc` steps of W values, are written contiguously from `dst`.
 *   pack_rows_W: panel q, step k, lane i = S[k][q·W + i]   (S is kc × np·W: B, or Aᵀ)
 *   pack_cols_W: panel q, step k, lane i = S[q·W + i][k]   (S is np·W × kc: A, or Bᵀ)
 *   pack_pairs_8: bytes, for the int8 kernel: panel q, pair k, lane j =
 *                 (S[2k][8q + j], S[2k+1][8q + j])        (S is 2·kc × np·8 int8: B)
 *   pack_table_W: panel q, step k, lane i = f32 at table[k] + 4·(q·W + i)   (rows anywhere)
 * The float packers also serve the int8 A panels: a staged int16 row holds (a[2k], a[2k+1]) as
 * one 32-bit word per pair, so pack_cols_MR over words is exactly the int8 A layout.
 * np must be ≥ 1.
 */
import { Code, I32, Op, type FuncDef, type ValType } from './encoder.js';

const SRC = 0, LD = 1, DST = 2, KC = 3, NP = 4, Q = 5, S = 6, K = 7, BASE = 8, ROW0 = 9;

/** Copy W 32-bit values from S to DST: v128 pieces, then i64, then i32. */
function copyLanes(c: Code, w: number): void {
  let off = 0;
  for (; off + 16 <= 4 * w; off += 16) c.get(DST).get(S).v128Load(off).v128Store(off);
  for (; off + 8 <= 4 * w; off += 8) c.get(DST).get(S).i64Load(off).i64Store(off);
  for (; off < 4 * w; off += 4) c.get(DST).get(S).i32Load(off).i32Store(off);
}

function packRows(w: number): FuncDef {
  const c = new Code();
  c.get(SRC).set(BASE).get(NP).set(Q);
  c.loop(); // panels
  c.get(BASE).set(S).get(KC).set(K);
  c.block().loop(); // k: one row of S → W lanes
  c.get(K).op(Op.i32Eqz).brIf(1);
  copyLanes(c, w);
  c.get(S).get(LD).op(Op.i32Add).set(S);
  c.addTo(DST, 4 * w).addTo(K, -1).br(0);
  c.end().end();
  c.addTo(BASE, 4 * w);
  c.get(Q).i32(1).op(Op.i32Sub).tee(Q).brIf(0);
  c.end();
  return { name: `pack_rows_${w}`, params: Array<ValType>(5).fill(I32), results: [],
    locals: Array<ValType>(ROW0 - Q).fill(I32), code: c };
}

function packCols(w: number): FuncDef {
  const c = new Code();
  // Locals ROW0 + i hold i·ld, the byte offset of row i of a panel.
  for (let i = 0; i < w; i++) c.get(LD).i32(i).op(Op.i32Mul).set(ROW0 + i);
  c.get(SRC).set(BASE).get(NP).set(Q);
  c.loop(); // panels
  c.get(BASE).set(S).get(KC).set(K);
  c.block().loop(); // k: one column of S → W lanes
  c.get(K).op(Op.i32Eqz).brIf(1);
  for (let i = 0; i < w; i++) {
    c.get(DST).get(S).get(ROW0 + i).op(Op.i32Add).i32Load(0).i32Store(4 * i);
  }
  c.addTo(S, 4).addTo(DST, 4 * w).addTo(K, -1).br(0);
  c.end().end();
  c.get(BASE).get(ROW0 + w - 1).op(Op.i32Add).get(LD).op(Op.i32Add).set(BASE);
  c.get(Q).i32(1).op(Op.i32Sub).tee(Q).brIf(0);
  c.end();
  return { name: `pack_cols_${w}`, params: Array<ValType>(5).fill(I32), results: [],
    locals: Array<ValType>(ROW0 - Q + w).fill(I32), code: c };
}

/**
 * pack_table_W: like pack_rows_W, but row k of S starts at the byte address table[k] (an i32
 * at SRC + 4k; LD unused): panel q, step k, lane i = f32 at table[k] + 4·(q·W + i). The conv
 * path's B rows are shifted views of one padded image (engine/wasm/shifted_image.ts).
 */
function packTable(w: number): FuncDef {
  const c = new Code();
  const T = ROW0; // table cursor
  c.i32(0).set(BASE).get(NP).set(Q);
  c.loop(); // panels
  c.get(SRC).set(T).get(KC).set(K);
  c.block().loop(); // k: W lanes from row k's address
  c.get(K).op(Op.i32Eqz).brIf(1);
  c.get(T).i32Load(0).get(BASE).op(Op.i32Add).set(S);
  copyLanes(c, w);
  c.addTo(T, 4).addTo(DST, 4 * w).addTo(K, -1).br(0);
  c.end().end();
  c.addTo(BASE, 4 * w);
  c.get(Q).i32(1).op(Op.i32Sub).tee(Q).brIf(0);
  c.end();
  return { name: `pack_table_${w}`, params: Array<ValType>(5).fill(I32), results: [],
    locals: Array<ValType>(ROW0 - Q + 1).fill(I32), code: c };
}

/** int8 B: interleave two staged rows of 8 bytes into 8 (b0, b1) byte pairs per k pair. */
function packPairs8(): FuncDef {
  const c = new Code();
  const lanes = Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? i / 2 : 16 + (i - 1) / 2));
  c.get(SRC).set(BASE).get(NP).set(Q);
  c.loop(); // panels of 8 columns
  c.get(BASE).set(S).get(KC).set(K);
  c.block().loop(); // k pairs: rows 2k and 2k+1
  c.get(K).op(Op.i32Eqz).brIf(1);
  c.get(DST).get(S).load64Splat(0).get(S).get(LD).op(Op.i32Add).load64Splat(0).shuffle(lanes)
    .v128Store(0);
  c.get(S).get(LD).op(Op.i32Add).get(LD).op(Op.i32Add).set(S);
  c.addTo(DST, 16).addTo(K, -1).br(0);
  c.end().end();
  c.addTo(BASE, 8);
  c.get(Q).i32(1).op(Op.i32Sub).tee(Q).brIf(0);
  c.end();
  return { name: 'pack_pairs_8', params: Array<ValType>(5).fill(I32), results: [],
    locals: Array<ValType>(ROW0 - Q).fill(I32), code: c };
}

/** The packers the float driver uses: rows/cols × A (width mr) / B (width nr), table B. */
export function packKernels(mr: number, nr: number): FuncDef[] {
  return [packRows(mr), packCols(mr), packRows(nr), packCols(nr), packPairs8(), packTable(nr)];
}
