/**
 * @file The wasm side of the fast kernels: one shared WebAssembly.Memory, the compiled kernel
 * module, and a per-thread scratch region inside that memory.
 *
 * Memory map (bytes): thread t owns [t·REGION_BYTES, (t+1)·REGION_BYTES), split into
 *   packed A (A_BYTES) · packed B (B_BYTES) · C block (C_BYTES) · staging (S_BYTES) ·
 *   epilogue table (E_BYTES: (scale, bias) per row of the C block)
 * Thread 0 is the main thread, threads 1…T−1 are the pool's workers. Above the regions in use,
 * a GEMM may keep A packed once for all its jobs (see sgemm.ts). The memory is created on the
 * main thread, grown when the pool grows, and posted to the workers with the compiled module.
 */
import type { RowCopier } from './copy.js';
import { buildGemmModule, MEMORY_MAX_PAGES, SGEMM_SHAPE } from './kernels.js';

/** Block sizes of the drivers (elements). MC is a multiple of both kernels' MR (3). */
export const MC = 96;
export const KC = 256;
export const NC = 512;
/** Largest C block one job may hold: MJ rows × NC columns (MJ a multiple of MC). */
export const MJ = 2 * MC;

const PAGE = 65536;
const align = (n: number): number => Math.ceil(n / 64) * 64;
export const A_BYTES = align(MC * KC * 4);
export const B_BYTES = align(KC * NC * 4);
export const C_BYTES = align(MJ * NC * 4);
/** Staging rows of A or B before packing: up to KC × (NC + S_PAD) or NC × (KC + S_PAD) words. */
export const S_PAD = 8;
export const S_BYTES = align((KC + S_PAD) * (NC + S_PAD) * 4);
/** Epilogue table: 2 floats per row of a job's C block (at most MJ rows). */
export const E_BYTES = align(MJ * 8);
export const REGION_BYTES =
  Math.ceil((A_BYTES + B_BYTES + C_BYTES + S_BYTES + E_BYTES) / PAGE) * PAGE;

/** Byte offsets of thread t's scratch areas. */
export function region(t: number): { a: number; b: number; c: number; s: number; e: number } {
  const base = t * REGION_BYTES;
  const c = base + A_BYTES + B_BYTES;
  return { a: base, b: base + A_BYTES, c, s: c + C_BYTES, e: c + C_BYTES + S_BYTES };
}

/**
 * A block kernel of kernels.ts. `epi`/`et`: epilogue mode and row-table address (sgemm only;
 * pass 0, 0 for none).
 */
export type BlockKernel = (pa: number, pb: number, pc: number, mp: number, np: number,
  kc: number, ldcBytes: number, epi: number, et: number) => void;
/** A packer of pack.ts: (staging address, staging row stride in bytes, dst, kc, panels). */
export type Packer = (src: number, ldBytes: number, dst: number, kc: number, np: number) => void;

/** One thread's handle on the kernels. */
export interface Kernels {
  memory: WebAssembly.Memory;
  sgemmBlock: BlockKernel;
  igemmBlock: BlockKernel;
  /** A panels (width MR) from staged Aᵀ rows / staged A rows; B panels (width NR) likewise. */
  packARows: Packer;
  packACols: Packer;
  packBRows: Packer;
  packBCols: Packer;
  /** int8 B panels of 8 columns from staged int8 rows (k pairs interleaved). */
  packB8Pairs: Packer;
  /** B panels (width NR) from rows at the byte addresses of an i32 table (src = table). */
  packBTable: Packer;
  /** Blocks of rows copied inside wasm memory, every value / every second value (copy.ts). */
  copyRows1: RowCopier;
  copyRows2: RowCopier;
  /** σ and SiLU over float32 arrays in wasm memory (logistic.ts): forward (x, y, quads) and
   * backward (x, gy, gx, quads), byte addresses. */
  sigmoidFwd: LogisticForward;
  sigmoidBwd: LogisticBackward;
  siluFwd: LogisticForward;
  siluBwd: LogisticBackward;
  /** e^a over float64 arrays (a, out, pairs): the exp of the σ kernels alone, for tests. */
  expF64: LogisticForward;
}

export type LogisticForward = (x: number, y: number, quads: number) => void;
export type LogisticBackward = (x: number, gy: number, gx: number, quads: number) => void;

let simd: boolean | null = null;
let compiled: WebAssembly.Module | null = null;
let mainMemory: WebAssembly.Memory | null = null;
let mainKernels: Kernels | null = null;

/** The emitted module's bytes (a fresh encoding each call; cheap, ~2 KB). */
export function gemmModuleBytes(): Uint8Array<ArrayBuffer> {
  return buildGemmModule(REGION_BYTES / PAGE);
}

/**
 * True when this runtime can validate and instantiate the kernel module: SIMD128 and shared
 * memory (threads proposal) are both needed. Checked once.
 */
export function wasmAvailable(): boolean {
  if (simd === null) {
    try {
      const bytes = gemmModuleBytes();
      simd = typeof WebAssembly === 'object' && WebAssembly.validate(bytes);
      if (simd) compiled = new WebAssembly.Module(bytes);
    } catch {
      simd = false;
    }
  }
  return simd;
}

/** The compiled kernel module (throws if unavailable; call `wasmAvailable()` first). */
export function kernelModule(): WebAssembly.Module {
  if (!wasmAvailable() || compiled === null) throw new Error('wasm SIMD kernels unavailable');
  return compiled;
}

/** Instantiate the kernels over a given shared memory (used by the workers). */
export function instantiateKernels(module: WebAssembly.Module,
  memory: WebAssembly.Memory): Kernels {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  const ex = inst.exports as Record<string, unknown>;
  const mr = SGEMM_SHAPE.mr, nr = SGEMM_SHAPE.nr;
  return {
    memory, sgemmBlock: ex.sgemm_block as BlockKernel, igemmBlock: ex.igemm_block as BlockKernel,
    packARows: ex[`pack_rows_${mr}`] as Packer, packACols: ex[`pack_cols_${mr}`] as Packer,
    packBRows: ex[`pack_rows_${nr}`] as Packer, packBCols: ex[`pack_cols_${nr}`] as Packer,
    packB8Pairs: ex.pack_pairs_8 as Packer, packBTable: ex[`pack_table_${nr}`] as Packer,
    copyRows1: ex.copy_rows_1 as RowCopier, copyRows2: ex.copy_rows_2 as RowCopier,
    sigmoidFwd: ex.sigmoid_fwd as LogisticForward, sigmoidBwd: ex.sigmoid_bwd as LogisticBackward,
    siluFwd: ex.silu_fwd as LogisticForward, siluBwd: ex.silu_bwd as LogisticBackward,
    expF64: ex.exp_f64 as LogisticForward,
  };
}

/** The main thread's shared memory, grown so that `threads` regions fit. */
export function sharedMemory(threads = 1): WebAssembly.Memory {
  const pages = (threads * REGION_BYTES) / PAGE;
  if (pages > MEMORY_MAX_PAGES) throw new RangeError(`too many threads for the memory: ${threads}`);
  if (mainMemory === null) {
    mainMemory = new WebAssembly.Memory({ initial: pages, maximum: MEMORY_MAX_PAGES,
      shared: true });
  } else {
    const have = mainMemory.buffer.byteLength / PAGE;
    if (have < pages) mainMemory.grow(pages - have);
  }
  return mainMemory;
}

/** Grow the main thread's shared memory to at least `bytes` (workers see the growth). */
export function ensureMemoryBytes(bytes: number): void {
  const mem = sharedMemory();
  const have = mem.buffer.byteLength;
  if (bytes > have) {
    const pages = Math.ceil((bytes - have) / PAGE);
    if (have / PAGE + pages > MEMORY_MAX_PAGES) throw new RangeError('GEMM too large for memory');
    mem.grow(pages);
  }
}

/** The main thread's kernels (thread index 0). */
export function mainThreadKernels(): Kernels {
  if (mainKernels === null) mainKernels = instantiateKernels(kernelModule(), sharedMemory());
  return mainKernels;
}

let workerKernels: { kern: Kernels; index: number } | null = null;

/** Called once by a pool worker: its kernels and thread index (= its scratch region). */
export function setWorkerKernels(kern: Kernels, index: number): void {
  workerKernels = { kern, index };
}

/**
 * The calling thread's kernels and scratch region index: a worker's own, else the main
 * thread's (region 0). A thread runs one job at a time, so a job may use its region freely.
 */
export function threadKernels(): { kern: Kernels; index: number } {
  return workerKernels ?? { kern: mainThreadKernels(), index: 0 };
}
