/**
 * @file safetensors files: read and write (the project's own checkpoints use this format).
 *
 * Layout: u64 little-endian N; N bytes of UTF-8 JSON header; the data buffer. The header maps
 * each tensor name to {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} (byte
 * offsets into the data buffer) and may hold "__metadata__": {string: string}. As in the
 * reference implementation, the tensors must tile the buffer exactly: sorted by begin, each
 * starts where the previous ended, the first at 0 and the last at the end of the file.
 * Entries are returned in data order, which is the order they were written in.
 */
import { readFileOrFail, writeFileAtomic } from './files.js';
import {
  FormatError, ITEM_BYTES, MAX_ELEMENTS, decodeElements, makeEntry, numelOf, quote,
  type DType, type StateDict,
} from './state_dict.js';

const CODES: Readonly<Record<string, DType>> = {
  F32: 'float32', F64: 'float64', F16: 'float16', BF16: 'bfloat16',
  I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
const CODE_OF: Readonly<Record<DType, string>> = Object.fromEntries(
  Object.entries(CODES).map(([code, dtype]) => [dtype, code]),
) as Record<DType, string>;

/** Headers above this size are refused (the reference implementation's limit). */
const MAX_HEADER = 100_000_000;

export interface Safetensors {
  readonly tensors: StateDict;
  readonly metadata: Record<string, string>;
}

/** One header entry after validation. */
interface Item {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

/** Parses safetensors bytes; `where` names the file in errors. */
export function parseSafetensors(bytes: Uint8Array, where = 'safetensors'): Safetensors {
  const fail = (detail: string): never => {
    throw new FormatError(where, detail);
  };
  if (bytes.length < 8) fail('truncated safetensors file (no header length)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_HEADER, bytes.length - 8))) {
    fail(`bad safetensors header length ${n} (file has ${bytes.length} bytes)`);
  }
  const headerEnd = 8 + Number(n);
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, headerEnd));
    header = JSON.parse(text);
  } catch {
    fail('corrupt safetensors header (not valid UTF-8 JSON)');
  }
  if (!isObject(header)) fail('corrupt safetensors header (not a JSON object)');
  const dataLen = bytes.length - headerEnd;
  const metadata: Record<string, string> = {};
  const items: Item[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name !== '__metadata__') {
      items.push(checkItem(name, v, dataLen, fail));
      continue;
    }
    if (!isObject(v)) fail('__metadata__ is not an object');
    for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
      if (typeof s !== 'string') fail(`__metadata__ value for ${quote(k)} is not a string`);
      metadata[k] = s as string;
    }
  }
  checkTiling(items, dataLen, fail);

  const tensors: StateDict = new Map();
  for (const it of items) {
    const raw = bytes.subarray(headerEnd + it.begin, headerEnd + it.end);
    const data = decodeElements(raw, it.dtype, numelOf(it.shape));
    tensors.set(it.name, makeEntry(it.dtype, it.shape, data));
  }
  return { tensors, metadata };
}

/** Validates one header entry: known dtype, shape, offsets in range and matching the shape. */
function checkItem(name: string, v: unknown, dataLen: number, fail: (d: string) => never): Item {
  const e = (isObject(v) ? v : {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const dtype = typeof e.dtype === 'string' ? CODES[e.dtype] : undefined;
  const what = quote(name);
  if (dtype === undefined) fail(`${what}: unsupported or missing dtype`);
  const shape = e.shape;
  if (!Array.isArray(shape) || shape.length > 16 || !shape.every(isCount)) {
    fail(`${what}: bad shape`);
  }
  const off = e.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount) || off[0] > off[1]) {
    fail(`${what}: bad data_offsets`);
  }
  const [begin, end] = off as number[];
  if (end > dataLen) {
    fail(`${what}: data_offsets [${begin}, ${end}] out of range (data is ${dataLen} bytes)`);
  }
  const dims = shape as number[];
  const numel = numelOf(dims);
  if (numel > MAX_ELEMENTS) fail(`${what}: tensor too large`);
  const need = numel * ITEM_BYTES[dtype as DType];
  if (end - begin !== need) {
    fail(`${what}: data_offsets span ${end - begin} bytes, ` +
      `shape [${dims.join(', ')}] × ${e.dtype} needs ${need}`);
  }
  return { name, dtype: dtype as DType, shape: dims, begin, end };
}

/** Sorts by offset and requires the tensors to tile [0, dataLen) exactly. */
function checkTiling(items: Item[], dataLen: number, fail: (d: string) => never): void {
  items.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (it.begin < cursor) {
      fail(`tensors ${quote(items[i - 1].name)} and ${quote(it.name)} overlap`);
    }
    if (it.begin > cursor) fail(`unused bytes before ${quote(it.name)} (offset ${cursor})`);
    cursor = it.end;
  }
  if (cursor !== dataLen) {
    fail(`${dataLen - cursor} bytes after the last tensor (corrupt or truncated)`);
  }
}

/** Reads a safetensors file. */
export function readSafetensors(file: string): Safetensors {
  return parseSafetensors(readFileOrFail(file), file);
}

/** A tensor to write: dtype and C-order data whose length matches the shape. */
export interface WritableTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: ArrayLike<number> | ArrayLike<bigint>;
}

/** Serialises tensors (in iteration order) and string metadata as safetensors bytes. */
export function formatSafetensors(
  tensors: ReadonlyMap<string, WritableTensor>, metadata: Record<string, string> = {},
  where = 'safetensors',
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const fail = (detail: string): never => {
      throw new FormatError(where, `${quote(name)}: ${detail}`);
    };
    if (name === '__metadata__') fail('reserved name');
    const code = CODE_OF[t.dtype as DType];
    const numel = numelOf(t.shape);
    if (code === undefined) fail(`cannot write dtype ${t.dtype}`);
    if (t.data.length !== numel) {
      fail(`${t.data.length} elements for shape [${t.shape.join(', ')}]`);
    }
    const bytes = encode(t.dtype as DType, t.data, numel);
    const offsets = [offset, offset + bytes.length];
    header[name] = { dtype: code, shape: [...t.shape], data_offsets: offsets };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8); // 8-byte aligned data
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Writes a safetensors file atomically (temporary file, then rename). */
export function writeSafetensors(
  file: string, tensors: ReadonlyMap<string, WritableTensor>, metadata: Record<string, string> = {},
): void {
  writeFileAtomic(file, formatSafetensors(tensors, metadata, file));
}

type Numbers = ArrayLike<number> | ArrayLike<bigint>;

/** Little-endian bytes of `numel` elements. */
function encode(dtype: DType, data: Numbers, numel: number): Uint8Array {
  // Same-typed arrays are copied as bytes (this host is little-endian, like the format).
  const same = (dtype === 'float32' && data instanceof Float32Array) ||
    (dtype === 'int64' && data instanceof BigInt64Array) ||
    (dtype === 'int32' && data instanceof Int32Array) ||
    (dtype === 'uint8' && data instanceof Uint8Array) ||
    (dtype === 'int8' && data instanceof Int8Array);
  if (same) {
    const v = data as unknown as ArrayBufferView;
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
  }
  const out = new Uint8Array(numel * ITEM_BYTES[dtype]);
  const dv = new DataView(out.buffer);
  const num = (i: number): number => Number(data[i]);
  for (let i = 0; i < numel; i++) {
    switch (dtype) {
      case 'float32': dv.setFloat32(i * 4, num(i), true); break;
      case 'float64': dv.setFloat64(i * 8, num(i), true); break;
      case 'int64': dv.setBigInt64(i * 8, toBigInt(data[i]), true); break;
      case 'int32': dv.setInt32(i * 4, num(i), true); break;
      case 'int16': dv.setInt16(i * 2, num(i), true); break;
      case 'int8': dv.setInt8(i, num(i)); break;
      case 'uint8': case 'bool': dv.setUint8(i, num(i)); break;
      default: throw new FormatError('safetensors', `cannot write dtype ${dtype}`);
    }
  }
  return out;
}

function toBigInt(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
