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
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, headerEnd)));
  } catch {
    fail('corrupt safetensors header (not valid UTF-8 JSON)');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail('corrupt safetensors header (not a JSON object)');
  }
  const dataLen = bytes.length - headerEnd;
  const metadata: Record<string, string> = {};
  const items: { name: string; dtype: DType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('__metadata__ is not an object');
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') fail(`__metadata__ value for ${quote(k)} is not a string`);
        metadata[k] = s as string;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    const dtype = typeof e?.dtype === 'string' ? CODES[e.dtype] : undefined;
    if (dtype === undefined) fail(`${quote(name)}: unsupported or missing dtype`);
    const shape = e!.shape;
    if (!Array.isArray(shape) || !shape.every(isCount)) fail(`${quote(name)}: bad shape`);
    const off = e!.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount) || off[0] > off[1]) {
      fail(`${quote(name)}: bad data_offsets`);
    }
    const [begin, end] = off as number[];
    if (end > dataLen) {
      fail(`${quote(name)}: data_offsets [${begin}, ${end}] out of range (data is ${dataLen} bytes)`);
    }
    const numel = numelOf(shape as number[]);
    if (numel > MAX_ELEMENTS) fail(`${quote(name)}: tensor too large`);
    if (end - begin !== numel * ITEM_BYTES[dtype as DType]) {
      fail(`${quote(name)}: data_offsets span ${end - begin} bytes, ` +
        `shape [${(shape as number[]).join(', ')}] × ${e!.dtype} needs ${numel * ITEM_BYTES[dtype as DType]}`);
    }
    items.push({ name, dtype: dtype as DType, shape: shape as number[], begin, end });
  }
  items.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (it.begin < cursor) fail(`tensors ${quote(items[i - 1].name)} and ${quote(it.name)} overlap`);
    if (it.begin > cursor) fail(`unused bytes before ${quote(it.name)} (offset ${cursor})`);
    cursor = it.end;
  }
  if (cursor !== dataLen) fail(`${dataLen - cursor} bytes after the last tensor (corrupt or truncated)`);

  const tensors: StateDict = new Map();
  for (const it of items) {
    const raw = bytes.subarray(headerEnd + it.begin, headerEnd + it.end);
    tensors.set(it.name, makeEntry(it.dtype, it.shape, decodeElements(raw, it.dtype, numelOf(it.shape))));
  }
  return { tensors, metadata };
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
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new FormatError('safetensors', 'a tensor cannot be named __metadata__');
    const code = CODE_OF[t.dtype as DType];
    const numel = numelOf(t.shape);
    if (code === undefined) throw new FormatError('safetensors', `${quote(name)}: cannot write dtype ${t.dtype}`);
    if (t.data.length !== numel) {
      throw new FormatError('safetensors', `${quote(name)}: ${t.data.length} elements for shape [${t.shape.join(', ')}]`);
    }
    const bytes = encode(t.dtype as DType, t.data, numel);
    header[name] = { dtype: code, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
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
  writeFileAtomic(file, formatSafetensors(tensors, metadata));
}

/** Little-endian bytes of `numel` elements (float16/bfloat16 round to nearest even via float32). */
function encode(dtype: DType, data: ArrayLike<number> | ArrayLike<bigint>, numel: number): Uint8Array {
  // Same-typed arrays are copied as bytes (this host is little-endian, like the format).
  const same = (dtype === 'float32' && data instanceof Float32Array) ||
    (dtype === 'int64' && data instanceof BigInt64Array) || (dtype === 'int32' && data instanceof Int32Array) ||
    (dtype === 'uint8' && data instanceof Uint8Array) || (dtype === 'int8' && data instanceof Int8Array);
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
      case 'int64': dv.setBigInt64(i * 8, BigInt(data[i] as number | bigint), true); break;
      case 'int32': dv.setInt32(i * 4, num(i), true); break;
      case 'int16': dv.setInt16(i * 2, num(i), true); break;
      case 'int8': dv.setInt8(i, num(i)); break;
      case 'uint8': case 'bool': dv.setUint8(i, num(i)); break;
      default: throw new FormatError('safetensors', `cannot write dtype ${dtype}`);
    }
  }
  return out;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
