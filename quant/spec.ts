/**
 * @file `QuantSpec`: what one quantizer computes, as frozen, validated data (after PT2E's
 * `QuantizationSpec`). The project uses a single spec everywhere (DESIGN.md §5, Quark's YOLO-X
 * example): int8 [−128, 127], symmetric, per-tensor, scale s = 2^−pos, round half to even,
 * pow2 min-MSE observer, identity straight-through backward.
 *
 * Derived variants (`withSte`, `withObserver`) return new frozen specs; nothing mutates a spec.
 */

/** Straight-through estimator of the fake-quant backward. */
export type SteMode =
  /** Quark: dL/dx = dL/dy for every element, saturated ones included. */
  | 'identity'
  /** PyTorch FakeQuantize: dL/dx = dL/dy inside [qmin, qmax] after rounding, 0 outside. */
  | 'clipped';

export type ObserverKind = 'pow2_minmax' | 'pow2_mse';

export interface QuantSpec {
  readonly dtype: 'int8' | 'uint8';
  readonly qmin: number;
  readonly qmax: number;
  readonly symmetric: true;
  readonly granularity: 'per_tensor';
  /** Scales are powers of two, s = 2^−pos with an integer "fix position" pos. */
  readonly scaleType: 'pow2';
  readonly roundMethod: 'half_even';
  readonly observer: ObserverKind;
  readonly ste: SteMode;
}

const RANGES = { int8: [-128, 127], uint8: [0, 255] } as const;

/** Builds and validates a spec; throws on anything the engine does not implement. */
export function makeQuantSpec(fields: Partial<QuantSpec> = {}): QuantSpec {
  const dtype = fields.dtype ?? 'int8';
  if (!(dtype in RANGES)) throw new Error(`QuantSpec: unsupported dtype '${String(dtype)}'`);
  const [qmin, qmax] = RANGES[dtype];
  if (fields.qmin !== undefined && fields.qmin !== qmin) {
    throw new Error(`QuantSpec: ${dtype} needs qmin ${qmin}`);
  }
  if (fields.qmax !== undefined && fields.qmax !== qmax) {
    throw new Error(`QuantSpec: ${dtype} needs qmax ${qmax}`);
  }
  const check = <T>(name: string, v: T | undefined, allowed: readonly T[]): T => {
    const value = v ?? allowed[0];
    if (!allowed.includes(value)) {
      throw new Error(`QuantSpec: ${name} must be one of ${allowed.join(', ')}`);
    }
    return value;
  };
  return Object.freeze({
    dtype,
    qmin,
    qmax,
    symmetric: check('symmetric', fields.symmetric, [true] as const),
    granularity: check('granularity', fields.granularity, ['per_tensor'] as const),
    scaleType: check('scaleType', fields.scaleType, ['pow2'] as const),
    roundMethod: check('roundMethod', fields.roundMethod, ['half_even'] as const),
    observer: check('observer', fields.observer, ['pow2_mse', 'pow2_minmax'] as const),
    ste: check('ste', fields.ste, ['identity', 'clipped'] as const),
  });
}

/** The one spec of Quark's YOLO-X Tiny example: weights, biases and activations alike. */
export const INT8_POW2_MSE: QuantSpec = makeQuantSpec();

export function withSte(spec: QuantSpec, ste: SteMode): QuantSpec {
  return makeQuantSpec({ ...spec, ste });
}

export function withObserver(spec: QuantSpec, observer: ObserverKind): QuantSpec {
  return makeQuantSpec({ ...spec, observer });
}

/** pos = −log2(s) for a power-of-two scale; throws if s is not one. */
export function posOfScale(scale: number): number {
  const pos = -Math.log2(scale);
  if (!Number.isInteger(pos)) throw new Error(`scale ${scale} is not a power of two`);
  return pos;
}

/** s = 2^−pos, exact in float32 for |pos| ≤ 126. */
export function scaleOfPos(pos: number): number {
  return 2 ** -pos;
}
