/**
 * @file Data shared by the observers: quantization parameters and one forward's trace
 * (the fields of the fixture's observer_trace.json).
 */

/** A scale and an integer zero point. */
export interface QParams {
  readonly scale: number;
  readonly zeroPoint: number;
}

/** The min-max start of a pow2 observer (quark.md §1.3); `valid` false = nothing seen. */
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
  /** The candidates in the order tried: [pos, SSE] (the min-max observer: its one scale). */
  readonly tried: readonly (readonly [number, number])[];
  readonly chosenPos: number;
  /** Σ x² of this forward's tensor (float64): the signal for SQNR = Σx² / SSE. */
  readonly energy: number;
}
