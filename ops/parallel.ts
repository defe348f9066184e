/**
 * @file Running an op's kernel over all threads: `parallelRange` cuts an index range (elements,
 * channels or planes) into contiguous jobs for the pool (engine/threads/pool.ts), or runs the
 * whole range inline on the calling thread when the work is small.
 *
 * Bit-identity: a range kernel computes each output (element, channel, plane) with the same
 * arithmetic in the same order whatever range it is given, and no two jobs write the same
 * output. Reductions stay whole inside one item (a BN channel, a col2im channel), so results
 * are the same bits for any thread count and any job split.
 *
 * Kernels are named (ops/range_kernels.ts): a task is plain data, and each worker looks the
 * function up in its own copy of the table.
 */
import { isMainThread } from 'node:worker_threads';
import { getThreads, runTask } from '../engine/threads/pool.js';
import type { RangeTask } from '../engine/threads/tasks.js';
import { RANGE_KERNELS, type RangeArgs, type RangeFn } from './range_kernels.js';

/** Work (elements touched) below which a kernel runs inline: dispatch costs ~20–100 µs. */
export const PARALLEL_MIN_ELEMENTS = 1 << 16;
/** Work per job: small enough that 2+ threads share a range evenly, large enough to amortise. */
export const JOB_ELEMENTS = 1 << 15;

let enabled = true;

/** Turn op threading off (false: every kernel runs inline) or back on; for benchmarks. */
export function setParallelOps(on: boolean): void {
  enabled = on;
}

/** True when every typed array among the args' own values lives on shared memory. */
function allShared(args: object): boolean {
  for (const v of Object.values(args)) {
    if (ArrayBuffer.isView(v) && !(v.buffer instanceof SharedArrayBuffer)) return false;
  }
  return true;
}

/**
 * Runs kernel `fn` over items [0, n), each item touching about `itemElements` elements. In
 * parallel (when threads > 1, the work reaches PARALLEL_MIN_ELEMENTS, there is more than one job,
 * and every array is shared) the range is cut into jobs of ⌈JOB_ELEMENTS / itemElements⌉ items.
 * Inside a worker it always runs inline (workers never dispatch).
 */
export function parallelRange<K extends RangeFn>(
  fn: K, args: RangeArgs[K], n: number, itemElements: number,
): void {
  const grain = Math.max(1, Math.ceil(JOB_ELEMENTS / Math.max(1, itemElements)));
  const parallel = enabled && isMainThread && getThreads() > 1 && n > grain &&
    n * itemElements >= PARALLEL_MIN_ELEMENTS && allShared(args);
  if (!parallel) {
    if (n > 0) RANGE_KERNELS[fn](args, 0, n);
    return;
  }
  runTask({ kind: 'range', fn, args, n, grain } as RangeTask);
}

let scratch = new Float64Array(0);

/**
 * A zeroed float64 scratch array of n elements, reused across calls. Module state is per
 * thread (each worker has its own copy), and a thread runs one job at a time, so jobs on
 * different threads never share it. Valid until the next call on the same thread.
 */
export function threadScratchF64(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(n);
  const s = scratch.subarray(0, n);
  s.fill(0);
  return s;
}
