/**
 * @file Data shared by the observers: quantization parameters and one forward's trace
 * (the fields of the fixture's observer_trace.json).
 */

/** A scale and an integer zero point. */
export interface QParams {
  readonly scale: number;
  readonly zeroPoint: number;
}

/** The min-max start of a pow2 observer (quark.md §1.3). `valid` is false when nothing was seen. */
export interface Pow2Start extends QParams {
  readonly s0: number;
  readonly z0: number;
  readonly pos0: number;
  readonly valid: boolean;
}

/** What one observed forward computed. */
export interface ObserverTrace {
  readonly batchMin: number;
  readonly batchMax: number;
  readonly runningMin: number;
  readonly runningMax: number;
  readonly s0: number;
  readonly pos0: number;
  /** The MSE candidates in the order tried: [pos, SSE]. Empty for the min-max observer. */
  readonly tried: readonly (readonly [number, number])[];
  readonly chosenPos: number;
}
