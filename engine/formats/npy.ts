/**
 * @file NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), little-endian, C order.
 *
 * Layout: magic "\x93NUMPY", major, minor, header length (uint16 for v1, uint32 for v2/v3), a
 * Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces to a multiple of 64 bytes and ended by '\n', then the raw elements.
 */
import { UserError } from '../errors.js';

/** The dtypes we read and write, by numpy's `descr` string. */
export type NpyDtype = 'float32' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

export type NpyData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly data: NpyData;
}

const DESCR: Record<string, NpyDtype> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<i8': 'int64',
  '<i4': 'int32',
  '|i1': 'int8',
  '|u1': 'uint8',
  '|b1': 'bool',
};
const DESCR_OF: Record<NpyDtype, string> = {
  float32: '<f4',
  float64: '<f8',
  int64: '<i8',
  int32: '<i4',
  int8: '|i1',
  uint8: '|u1',
  bool: '|b1',
};
const ITEM_BYTES: Record<NpyDtype, number> = {
  float32: 4, float64: 8, int64: 8, int32: 4, int8: 1, uint8: 1, bool: 1,
};
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parses a `.npy` file's bytes. `where` names the file in error messages. */
export function parseNpy(bytes: Uint8Array, where = 'npy'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new UserError(`${where}: not a .npy file (bad magic)`);
  }
  const major = bytes[6];
  if (major < 1 || major > 3) throw new UserError(`${where}: unsupported .npy version ${major}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw new UserError(`${where}: truncated header`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, dataStart),
  );

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new UserError(`${where}: malformed header ${JSON.stringify(header.trim())}`);
  }
  const dtype = DESCR[descr];
  if (dtype === undefined) {
    throw new UserError(`${where}: unsupported dtype '${descr}' (supported: ${Object.keys(DESCR).join(' ')})`);
  }
  if (fortran === 'True') throw new UserError(`${where}: Fortran-order arrays are not supported`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const d = Number(s.replace(/L$/, ''));
      if (!Number.isSafeInteger(d) || d < 0) throw new UserError(`${where}: bad shape (${shapeText})`);
      return d;
    });
  const count = shape.reduce((a, b) => a * b, 1);
  const nbytes = count * ITEM_BYTES[dtype];
  if (bytes.length - dataStart < nbytes) {
    throw new UserError(`${where}: truncated data (${bytes.length - dataStart} of ${nbytes} bytes)`);
  }
  // Copy into a fresh, aligned buffer: the data offset is not always a multiple of the item size.
  // (new Uint8Array(view) copies; Node's Buffer#slice would not.)
  const raw = new Uint8Array(bytes.subarray(dataStart, dataStart + nbytes)).buffer;
  return { dtype, shape, data: typedView(dtype, raw) };
}

function typedView(dtype: NpyDtype, buf: ArrayBuffer): NpyData {
  switch (dtype) {
    case 'float32': return new Float32Array(buf);
    case 'float64': return new Float64Array(buf);
    case 'int64': return new BigInt64Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int8': return new Int8Array(buf);
    case 'uint8': case 'bool': return new Uint8Array(buf);
  }
}

/** Serialises an array as a version-1.0 `.npy` file. */
export function formatNpy(arr: NpyArray): Uint8Array {
  const { dtype, shape, data } = arr;
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new UserError(`npy: data has ${data.length} elements, shape [${shape.join(', ')}] needs ${count}`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${DESCR_OF[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** Converts any numeric npy data to plain numbers (int64 must be within ±2^53). */
export function npyToNumbers(data: NpyData): number[] {
  return Array.from(data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** npy data as float32 (a copy for other dtypes). */
export function npyToFloat32(arr: NpyArray): Float32Array {
  return arr.data instanceof Float32Array ? arr.data : Float32Array.from(npyToNumbers(arr.data));
}
