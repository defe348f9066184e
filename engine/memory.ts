/**
 * @file Storage allocation. Every tensor's Float32Array lives on a SharedArrayBuffer, so the
 * worker-thread pool can read and write it without copies.
 *
 * Recycling: a fresh SharedArrayBuffer costs a kernel mapping, a page fault per 4 KiB on first
 * touch and later a garbage collection; a training step makes thousands of them (activations,
 * gradients). `releaseF32` hands a whole buffer that nobody reads any more back to a free list
 * keyed by byte size, and `allocF32` takes from that list first (zero-filling it, so callers see
 * exactly what a fresh buffer holds). Only code that owns a buffer exclusively may release it:
 * autograd's `backward(…, { freeTape: true })` does so for tape tensors and gradients it has
 * finished with. The lists hold at most `POOL_MAX_BYTES` in total; beyond that, released
 * buffers are left to the garbage collector.
 */

/** Upper bound on the bytes the free lists keep (a YOLO-X Tiny 416 px batch 8 tape is ~2 GB). */
export const POOL_MAX_BYTES = 3 * 1024 ** 3;

const free = new Map<number, SharedArrayBuffer[]>();
/** Buffers currently on a free list (guards against releasing one twice). */
const pooled = new WeakSet<SharedArrayBuffer>();
let pooledBytes = 0;

/** Takes a buffer of exactly `bytes` bytes off its free list, or null. Contents are stale. */
function takePooled(bytes: number): SharedArrayBuffer | null {
  const list = free.get(bytes);
  const sab = list?.pop();
  if (sab === undefined) return null;
  pooled.delete(sab);
  pooledBytes -= bytes;
  return sab;
}

/** A zero-filled float32 array of `n` elements backed by shared memory. */
export function allocF32(n: number): Float32Array {
  const sab = n > 0 ? takePooled(n * 4) : null;
  if (sab === null) return new Float32Array(new SharedArrayBuffer(n * 4));
  return new Float32Array(sab).fill(0);
}

/**
 * Like `allocF32`, but a recycled buffer keeps its stale contents (a fresh one is zero): only for
 * callers that write every element before anything reads it (the fused eval conv, concat), so
 * the contents never depend on what the buffer held before.
 */
export function allocF32Overwritten(n: number): Float32Array {
  const sab = n > 0 ? takePooled(n * 4) : null;
  return new Float32Array(sab ?? new SharedArrayBuffer(n * 4));
}

/**
 * Returns `a`'s buffer to the free lists. The caller guarantees that nothing reads or writes it
 * afterwards (through `a` or any other view). Ignored unless `a` spans a whole SharedArrayBuffer.
 */
export function releaseF32(a: Float32Array): void {
  const sab = a.buffer;
  if (!(sab instanceof SharedArrayBuffer) || a.byteOffset !== 0) return;
  const bytes = sab.byteLength;
  if (bytes === 0 || a.byteLength !== bytes || pooled.has(sab)) return;
  if (pooledBytes + bytes > POOL_MAX_BYTES) return;
  let list = free.get(bytes);
  if (list === undefined) {
    list = [];
    free.set(bytes, list);
  }
  list.push(sab);
  pooled.add(sab);
  pooledBytes += bytes;
}

/** Bytes currently held on the free lists. */
export function pooledF32Bytes(): number {
  return pooledBytes;
}

/** Drops every free list (the buffers go to the garbage collector). */
export function clearF32Pool(): void {
  free.clear();
  pooledBytes = 0;
}

/** A shared-memory copy of `src`. */
export function sharedCopy(src: ArrayLike<number>): Float32Array {
  const out = allocF32(src.length);
  out.set(src);
  return out;
}

/** `a` itself if it already lives on shared memory, else a shared copy. */
export function ensureShared(a: Float32Array): Float32Array {
  return a.buffer instanceof SharedArrayBuffer ? a : sharedCopy(a);
}
