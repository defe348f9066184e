/**
 * @file Storage allocation. Every tensor's Float32Array lives on a SharedArrayBuffer, so the
 * worker-thread pool can read and write it without copies.
 */

/** A zero-filled float32 array of `n` elements backed by shared memory. */
export function allocF32(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(n * 4));
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
