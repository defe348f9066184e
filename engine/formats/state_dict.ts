/**
 * @file The state-dict value every checkpoint reader returns, the element types both formats
 * share, and the raw-bytes → typed-array decoding they both use.
 *
 * Floating-point data of any stored width (float16, bfloat16, float32, float64) is decoded to a
 * Float32Array and reported as 'float32' (the engine's only float type); `stored` keeps the width
 * the file used. Integers keep their width: int64 → BigInt64Array (num_batches_tracked), etc.
 * All stored data is little-endian (PyTorch zip files and safetensors both are).
 */
import { UserError } from '../errors.js';

/** Element types as PyTorch names them. */
export type DType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** The dtypes an entry's data can have after loading (floats are widened/narrowed to float32). */
export type LoadedDType = Exclude<DType, 'float64' | 'float16' | 'bfloat16'>;

export type EntryData =
  | Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** One tensor of a state dict: row-major (C order), contiguous. */
export interface TensorEntry {
  readonly dtype: LoadedDType;
  readonly shape: readonly number[];
  readonly data: EntryData;
  /** The dtype in the file, when it differs from `dtype` (e.g. 'float16'). */
  readonly stored?: DType;
}

/** Key → tensor, in the file's order. */
export type StateDict = Map<string, TensorEntry>;

/** A malformed or refused file: a one-line UserError whose message starts with the file name. */
export class FormatError extends UserError {
  override name = 'FormatError';
  constructor(where: string, detail: string) {
    super(`${where}: ${detail}`);
  }
}

/** Bytes per element. */
export const ITEM_BYTES: Readonly<Record<DType, number>> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2,
  int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** Refuse tensors beyond 2^28 elements (1 GiB of float32): a corrupt shape, not a model. */
export const MAX_ELEMENTS = 2 ** 28;

/** Quotes a name read from a file for an error message (one line, control characters escaped). */
export function quote(s: string): string {
  const shown = s.length > 80 ? `${s.slice(0, 80)}…` : s;
  return `'${JSON.stringify(shown).slice(1, -1)}'`;
}

/** Product of a shape's dimensions. */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** IEEE half → number. Layout: sign(1) exponent(5, bias 15) mantissa(10). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24; // subnormal: m · 2^(−14−10)
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Decodes `count` elements of little-endian `dtype` from `bytes` (which must hold exactly
 * count · ITEM_BYTES[dtype] bytes) into a fresh, aligned typed array.
 */
export function decodeElements(bytes: Uint8Array, dtype: DType, count: number): EntryData {
  const copy = (): ArrayBuffer => new Uint8Array(bytes).buffer; // aligned copy
  switch (dtype) {
    case 'float32': return new Float32Array(copy());
    case 'int64': return new BigInt64Array(copy());
    case 'int32': return new Int32Array(copy());
    case 'int16': return new Int16Array(copy());
    case 'int8': return new Int8Array(copy());
    case 'uint8': case 'bool': return new Uint8Array(copy());
    case 'float64': return Float32Array.from(new Float64Array(copy()));
    case 'float16': {
      const u16 = new Uint16Array(copy());
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(u16[i]);
      return out;
    }
    case 'bfloat16': {
      // bfloat16 is the top half of a float32's bits.
      const u16 = new Uint16Array(copy());
      const bits = new Uint32Array(count);
      for (let i = 0; i < count; i++) bits[i] = u16[i] << 16;
      return new Float32Array(bits.buffer);
    }
  }
}

/** The dtype an entry carries after `decodeElements`. */
export function loadedDType(dtype: DType): LoadedDType {
  return dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16' ? 'float32' : dtype;
}

/** Builds the entry for decoded data, recording the stored dtype when it was converted. */
export function makeEntry(dtype: DType, shape: readonly number[], data: EntryData): TensorEntry {
  const loaded = loadedDType(dtype);
  return loaded === dtype ? { dtype, shape, data } : { dtype: loaded, shape, data, stored: dtype };
}
