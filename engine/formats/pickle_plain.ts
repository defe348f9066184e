/**
 * @file Allowlisted pickle globals that only build plain data: how protocol 2 spells bytes
 * (`_codecs.encode(str, 'latin1')`) and NumPy scalars (`numpy.core.multiarray.scalar(dtype,
 * bytes)` with `numpy.dtype('f8', False, True)` and its BUILD state (version, byteorder, …)).
 * YOLOX's training checkpoints hold `best_ap` / `curr_ap` as numpy.float64, so a reader of
 * official checkpoints needs these. Each handler is TypeScript that decodes bytes; nothing from
 * the file is ever called.
 */
import { halfToFloat } from './state_dict.js';
import { PickleValueError, type GlobalDef } from './pickle.js';

/** A numpy dtype as pickled: kind + size code such as 'f8', and its byte order from BUILD. */
export class NumpyDType {
  byteorder = '<';
  constructor(readonly code: string) {}
  /** BUILD state: (version, byteorder, subarray, names, fields, elsize, alignment, flags). */
  pickleSetState(state: unknown): void {
    const order = Array.isArray(state) ? state[1] : undefined;
    if (order !== '<' && order !== '>' && order !== '|' && order !== '=') {
      throw new PickleValueError('malformed numpy dtype state');
    }
    this.byteorder = order === '=' ? '<' : order;
  }
}

const SIZES: Readonly<Record<string, number>> = {
  f8: 8, f4: 4, f2: 2, i8: 8, i4: 4, i2: 2, i1: 1, u8: 8, u4: 4, u2: 2, u1: 1, b1: 1,
};

/** The value of a numpy scalar from its raw bytes. */
function numpyScalar(args: unknown[]): number | bigint | boolean {
  const [dtype, raw] = args;
  if (!(dtype instanceof NumpyDType) || !(raw instanceof Uint8Array) || args.length !== 2) {
    throw new PickleValueError('malformed numpy scalar');
  }
  if (raw.length !== SIZES[dtype.code]) throw new PickleValueError('numpy scalar of the wrong size');
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = dtype.byteorder !== '>';
  switch (dtype.code) {
    case 'f8': return dv.getFloat64(0, le);
    case 'f4': return dv.getFloat32(0, le);
    case 'f2': return halfToFloat(dv.getUint16(0, le));
    case 'i8': return safe(dv.getBigInt64(0, le));
    case 'u8': return safe(dv.getBigUint64(0, le));
    case 'i4': return dv.getInt32(0, le);
    case 'u4': return dv.getUint32(0, le);
    case 'i2': return dv.getInt16(0, le);
    case 'u2': return dv.getUint16(0, le);
    case 'i1': return dv.getInt8(0);
    case 'u1': return dv.getUint8(0);
    default: return dv.getUint8(0) !== 0; // b1
  }
}

function safe(v: bigint): number | bigint {
  return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** numpy.dtype(code, align, copy): only the scalar codes above. */
function numpyDType(args: unknown[]): NumpyDType {
  const code = args[0];
  if (typeof code !== 'string' || SIZES[code] === undefined) {
    throw new PickleValueError(`unsupported numpy dtype ${JSON.stringify(String(code)).slice(0, 40)}`);
  }
  return new NumpyDType(code);
}

/** _codecs.encode(text, 'latin1'): protocol 2's spelling of a bytes object. */
function latin1Bytes(args: unknown[]): Uint8Array {
  const [text, encoding] = args;
  if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
    throw new PickleValueError("only _codecs.encode(str, 'latin1') is allowed");
  }
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 255) throw new PickleValueError('latin1 text out of range');
    out[i] = c;
  }
  return out;
}

/** The plain-data globals, by "module.name". */
export const PLAIN_GLOBALS: ReadonlyMap<string, GlobalDef> = new Map<string, GlobalDef>([
  ['_codecs.encode', { call: latin1Bytes }],
  ['numpy.dtype', { call: numpyDType }],
  ['numpy.core.multiarray.scalar', { call: numpyScalar }],
  ['numpy._core.multiarray.scalar', { call: numpyScalar }],
]);
