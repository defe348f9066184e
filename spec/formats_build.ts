/**
 * @file Test helpers that build checkpoint files byte by byte, independently of the readers:
 * a tiny pickle assembler (opcodes from pickletools.py), torch-style tensor records, zip
 * archives through fflate (another implementation than engine/formats/zip.ts), the zip64 end
 * records torch adds, and a seeded byte mutator for the fuzz tests.
 */
import { zipSync } from 'fflate';
import { Rng } from '../engine/rng.js';

export type Bytes = readonly number[];
const enc = new TextEncoder();

export function u32le(n: number): number[] {
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
}
export function u64le(n: number): number[] {
  return [...u32le(n >>> 0), ...u32le(Math.floor(n / 2 ** 32))];
}

/** Pickle opcodes (protocol 2), as pickletools.py lists them. */
export const OP = {
  PROTO2: [0x80, 2], STOP: [0x2e], MARK: [0x28], TUPLE: [0x74], EMPTY_TUPLE: [0x29],
  EMPTY_DICT: [0x7d], SETITEMS: [0x75], SETITEM: [0x73], REDUCE: [0x52], BINPERSID: [0x51],
  NEWFALSE: [0x89], NONE: [0x4e], BUILD: [0x62],
} as const;

export function str(s: string): Bytes {
  const b = enc.encode(s);
  return [0x58, ...u32le(b.length), ...b]; // BINUNICODE
}
export function int(n: number): Bytes {
  if (n >= 0 && n < 256) return [0x4b, n]; // BININT1
  if (n >= 0 && n < 65536) return [0x4d, n & 255, n >> 8]; // BININT2
  return [0x4a, ...u32le(n)]; // BININT
}
export function binfloat(x: number): Bytes {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x, false); // big-endian, as pickle stores it
  return [0x47, ...b];
}
export function global(module: string, name: string): Bytes {
  return [0x63, ...enc.encode(`${module}\n${name}\n`)];
}
export function tuple(...items: Bytes[]): Bytes {
  return [...OP.MARK, ...items.flat(), ...OP.TUPLE];
}
export function dict(entries: [string, Bytes][]): Bytes {
  const body = entries.flatMap(([k, v]) => [...str(k), ...v]);
  return [...OP.EMPTY_DICT, ...OP.MARK, ...body, ...OP.SETITEMS];
}
export function orderedDict(entries: [string, Bytes][]): Bytes {
  const body = entries.flatMap(([k, v]) => [...str(k), ...v]);
  return [...global('collections', 'OrderedDict'), ...OP.EMPTY_TUPLE, ...OP.REDUCE,
    ...OP.MARK, ...body, ...OP.SETITEMS];
}

/**
 * `_rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride,
 * False, OrderedDict())`, the record torch.save writes for a tensor.
 */
export function tensor(
  type: string, key: string, numel: number, offset: number, size: number[], stride: number[],
): Bytes {
  const pid = tuple(str('storage'), global('torch', type), str(key), str('cpu'), int(numel));
  const hooks = [...global('collections', 'OrderedDict'), ...OP.EMPTY_TUPLE, ...OP.REDUCE];
  return [...global('torch._utils', '_rebuild_tensor_v2'),
    ...tuple([...pid, ...OP.BINPERSID], int(offset), tuple(...size.map(int)),
      tuple(...stride.map(int)), OP.NEWFALSE, hooks), ...OP.REDUCE];
}

export function pickle(body: Bytes): Uint8Array {
  return Uint8Array.from([...OP.PROTO2, ...body, ...OP.STOP]);
}

/** A torch-layout archive: `<root>/data.pkl`, `<root>/data/<key>`, `<root>/version`. */
export function torchZip(
  pkl: Uint8Array, storages: Record<string, Uint8Array>, { root = 'tiny', level = 0 } = {},
): Uint8Array {
  const files: Record<string, Uint8Array> = { [`${root}/data.pkl`]: pkl };
  for (const [k, v] of Object.entries(storages)) files[`${root}/data/${k}`] = v;
  files[`${root}/version`] = enc.encode('3\n');
  return zipSync(files, { level: level as 0 });
}

/**
 * Adds the zip64 end record and locator that torch writes before the end record (the zip must
 * have no comment), and sets the 32-bit fields to their "see zip64" values, so the reader must
 * take the directory from the zip64 record.
 */
export function withZip64(zip: Uint8Array): Uint8Array {
  const eocd = zip.length - 22;
  const dv = new DataView(zip.buffer, zip.byteOffset);
  const count = dv.getUint16(eocd + 10, true);
  const size = dv.getUint32(eocd + 12, true);
  const offset = dv.getUint32(eocd + 16, true);
  const rec = [...u32le(0x06064b50), ...u64le(44), 0x1e, 3, 0x2d, 0, ...u32le(0), ...u32le(0),
    ...u64le(count), ...u64le(count), ...u64le(size), ...u64le(offset)];
  const loc = [...u32le(0x07064b50), ...u32le(0), ...u64le(eocd), ...u32le(1)];
  const end = [...u32le(0x06054b50), 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
    ...u32le(0xffffffff), ...u32le(0xffffffff), 0, 0];
  return Uint8Array.from([...zip.subarray(0, eocd), ...rec, ...loc, ...end]);
}

/** Float32 values as little-endian bytes. */
export function f32bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** A tiny checkpoint: storage 0 = 10..15 (float32), storage 1 = [7] (int64). */
export function tinyPickle(): Uint8Array {
  const sd = orderedDict([
    ['w', tensor('FloatStorage', '0', 6, 0, [2, 3], [3, 1])],
    ['wt', tensor('FloatStorage', '0', 6, 0, [3, 2], [1, 3])], // transposed view
    ['odd', tensor('FloatStorage', '0', 6, 1, [3], [2])], // offset 1, stride 2
    ['n', tensor('LongStorage', '1', 1, 0, [], [])],
  ]);
  const top = dict([
    ['model', sd], ['epoch', int(3)], ['best_ap', binfloat(0.5)], ['ema', [...OP.NONE]],
  ]);
  return pickle(top);
}

export function tinyStorages(): Record<string, Uint8Array> {
  const i64 = new Uint8Array(new BigInt64Array([7n]).buffer);
  return { 0: f32bytes([10, 11, 12, 13, 14, 15]), 1: i64 };
}

export function tinyPth(level = 0): Uint8Array {
  return torchZip(tinyPickle(), tinyStorages(), { level });
}

/** Bytes that change structure: pickle opcodes (pickletools.py), JSON punctuation, extremes. */
const INTERESTING = [...'()tNRQ.s}ue]ah0q2bcX\x85\x86\x87\x88\x89\x93\x94KMJG{}[]":,0-']
  .map((c) => c.charCodeAt(0)).concat([0, 0x7f, 0x80, 0xff]);

/**
 * One random corruption of `src`: flip a bit, set a byte (random or structural), overwrite 4
 * bytes with a boundary value, truncate, delete or duplicate a slice. Several may be stacked.
 */
export function mutate(src: Uint8Array, rng: Rng): Uint8Array {
  let b: Uint8Array<ArrayBuffer> = new Uint8Array(src);
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds && b.length > 0; r++) {
    const at = rng.int(b.length);
    switch (rng.int(7)) {
      case 6: b[at] = INTERESTING[rng.int(INTERESTING.length)]; break;
      case 0: b[at] ^= 1 << rng.int(8); break;
      case 1: b[at] = rng.int(256); break;
      case 2: {
        const v = [0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff, rng.nextU32()][rng.int(7)];
        u32le(v).forEach((x, i) => { if (at + i < b.length) b[at + i] = x; });
        break;
      }
      case 3: b = b.slice(0, at); break;
      case 4: b = concat(b.subarray(0, at), b.subarray(at + 1 + rng.int(16))); break;
      default: b = concat(b.subarray(0, at), b.subarray(at, at + 1 + rng.int(16)), b.subarray(at));
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
