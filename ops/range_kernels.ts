/**
 * @file The closed table of kernels the thread pool can run over an index range, by name.
 * A 'range' task (engine/threads/tasks.ts) carries a name from this table, its arguments (plain
 * data: numbers and typed arrays on shared memory) and the range size; each thread, workers
 * included, calls RANGE_KERNELS[name](args, lo, hi) for the jobs it claims. Functions never
 * travel between threads, only names.
 *
 * The index a range counts (ops/parallel.ts `parallelRange`'s n) per kernel:
 *   elements: unaryForward, unaryBackward, binaryForward, binaryBackward, accumulate
 *   elements: convAddToF64, convAddF64To (conv2d's weight-gradient sum)
 *   channels: bnForward, bnTrainForward, bnBackward, im2col, col2im
 *   N·C planes: maxPoolForward, maxPoolBackward, upsampleForward, upsampleBackward
 */
import {
  unaryBackwardRange, unaryForwardRange, type UnaryBackwardArgs, type UnaryForwardArgs,
} from './activation.js';
import {
  bnBackwardRange, bnForwardRange, bnTrainForwardRange,
  type BnBackwardArgs, type BnForwardArgs, type BnTrainForwardArgs,
} from './batchnorm.js';
import {
  accumulateRange, binaryBackwardRange, binaryForwardRange,
  type AccumulateArgs, type BinaryBackwardArgs, type BinaryForwardArgs,
} from './elementwise.js';
import {
  convAddF64ToRange, convAddToF64Range, type ConvAddF64ToArgs, type ConvAddToF64Args,
} from './conv.js';
import { col2imRange, im2colRange, type Col2imArgs, type Im2colArgs } from './im2col.js';
import {
  maxPoolBackwardRange, maxPoolForwardRange, type MaxPoolBackwardArgs, type MaxPoolForwardArgs,
} from './pool.js';
import {
  upsampleBackwardRange, upsampleForwardRange, type UpsampleBackwardArgs, type UpsampleForwardArgs,
} from './upsample.js';

/** Each kernel's arguments. */
export interface RangeArgs {
  unaryForward: UnaryForwardArgs;
  unaryBackward: UnaryBackwardArgs;
  binaryForward: BinaryForwardArgs;
  binaryBackward: BinaryBackwardArgs;
  accumulate: AccumulateArgs;
  convAddToF64: ConvAddToF64Args;
  convAddF64To: ConvAddF64ToArgs;
  bnForward: BnForwardArgs;
  bnTrainForward: BnTrainForwardArgs;
  bnBackward: BnBackwardArgs;
  im2col: Im2colArgs;
  col2im: Col2imArgs;
  maxPoolForward: MaxPoolForwardArgs;
  maxPoolBackward: MaxPoolBackwardArgs;
  upsampleForward: UpsampleForwardArgs;
  upsampleBackward: UpsampleBackwardArgs;
}

export type RangeFn = keyof RangeArgs;

export type RangeKernel<K extends RangeFn> = (args: RangeArgs[K], lo: number, hi: number) => void;

// Arrow wrappers: the imports are read when a kernel runs, not when this module loads, so the
// import cycle ops → parallel → pool → tasks → this table → ops is harmless.
export const RANGE_KERNELS: { readonly [K in RangeFn]: RangeKernel<K> } = {
  unaryForward: (a, lo, hi) => unaryForwardRange(a, lo, hi),
  unaryBackward: (a, lo, hi) => unaryBackwardRange(a, lo, hi),
  binaryForward: (a, lo, hi) => binaryForwardRange(a, lo, hi),
  binaryBackward: (a, lo, hi) => binaryBackwardRange(a, lo, hi),
  accumulate: (a, lo, hi) => accumulateRange(a, lo, hi),
  convAddToF64: (a, lo, hi) => convAddToF64Range(a, lo, hi),
  convAddF64To: (a, lo, hi) => convAddF64ToRange(a, lo, hi),
  bnForward: (a, lo, hi) => bnForwardRange(a, lo, hi),
  bnTrainForward: (a, lo, hi) => bnTrainForwardRange(a, lo, hi),
  bnBackward: (a, lo, hi) => bnBackwardRange(a, lo, hi),
  im2col: (a, lo, hi) => im2colRange(a, lo, hi),
  col2im: (a, lo, hi) => col2imRange(a, lo, hi),
  maxPoolForward: (a, lo, hi) => maxPoolForwardRange(a, lo, hi),
  maxPoolBackward: (a, lo, hi) => maxPoolBackwardRange(a, lo, hi),
  upsampleForward: (a, lo, hi) => upsampleForwardRange(a, lo, hi),
  upsampleBackward: (a, lo, hi) => upsampleBackwardRange(a, lo, hi),
};

/** One task over items [0, n) of kernel `fn`, cut into jobs of `grain` items. */
export type RangeTaskOf<K extends RangeFn> = {
  kind: 'range';
  fn: K;
  args: RangeArgs[K];
  n: number;
  grain: number;
};
export type RangeTask = { [K in RangeFn]: RangeTaskOf<K> }[RangeFn];

/** Run job `job` of a range task: items [job·grain, min(n, (job + 1)·grain)). */
export function runRangeJob<K extends RangeFn>(task: RangeTaskOf<K>, job: number): void {
  const lo = job * task.grain;
  (RANGE_KERNELS[task.fn] as RangeKernel<K>)(task.args, lo, Math.min(task.n, lo + task.grain));
}
