/**
 * @file PyTorch `.pth` checkpoints (torch.save's zip format, torch ≥ 1.6) → a state dict.
 *
 * Archive layout: `<root>/data.pkl` (the pickled object), `<root>/data/<key>` (each storage's
 * raw little-endian elements), `<root>/version`, optionally `<root>/byteorder`. In the pickle a
 * tensor is `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
 * requires_grad, backward_hooks[, metadata])`, and `storage` is the persistent id
 * `('storage', torch.FloatStorage, key, location, numel)`. Element (i0, i1, …) of a tensor is
 * storage[storage_offset + Σ i_k·stride_k]; non-contiguous tensors are copied to C order here.
 *
 * Accepted top levels: `{'model': state_dict, …}` (YOLOX's layout; `'state_dict'` too) or a bare
 * state dict. Only the globals below (and the plain-data ones of pickle_plain.ts) may appear in
 * the pickle; anything else (os.system, eval, subprocess.Popen, …) is refused by name before it
 * could be called.
 */
import { readFileOrFail } from './files.js';
import { ZipArchive, type ZipEntry } from './zip.js';
import { unpickle, PyGlobal, type GlobalDef } from './pickle.js';
import { PLAIN_GLOBALS } from './pickle_plain.js';
import {
  FormatError, ITEM_BYTES, MAX_ELEMENTS, decodeElements, makeEntry, numelOf, quote,
  type DType, type EntryData, type StateDict, type TensorEntry,
} from './state_dict.js';

/** torch's legacy typed-storage classes, which name the element type of a storage. */
const STORAGE_TYPES: Readonly<Record<string, DType>> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16', LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16',
  CharStorage: 'int8', ByteStorage: 'uint8', BoolStorage: 'bool',
};

/** A storage named by a persistent id; its bytes are read from the zip when first needed. */
class StorageRef {
  private decoded?: EntryData;
  constructor(
    readonly dtype: DType, readonly numel: number,
    private readonly zip: ZipArchive, private readonly entry: ZipEntry,
  ) {}
  elements(): EntryData {
    this.decoded ??= decodeElements(this.zip.read(this.entry.name), this.dtype, this.numel);
    return this.decoded;
  }
}

/** A tensor as the pickle describes it: a strided view of a storage. */
class TensorRef {
  constructor(
    readonly storage: StorageRef, readonly offset: number,
    readonly shape: readonly number[], readonly stride: readonly number[],
  ) {}
}

/** Reads and parses a `.pth` file. */
export function loadPth(file: string): StateDict {
  return parsePth(readFileOrFail(file), file);
}

/** Parses the bytes of a `.pth` file; `where` names it in errors. */
export function parsePth(bytes: Uint8Array, where = 'checkpoint'): StateDict {
  const zip = new ZipArchive(bytes, where);
  const pkl = [...zip.entries.keys()].find((n) => /^[^/]*\/data\.pkl$/.test(n));
  if (pkl === undefined) {
    throw new FormatError(where, 'not a PyTorch checkpoint (the zip has no <name>/data.pkl)');
  }
  const root = pkl.slice(0, -'data.pkl'.length);
  const order = zip.entries.get(`${root}byteorder`);
  if (order !== undefined && new TextDecoder().decode(zip.read(order.name)).trim() !== 'little') {
    throw new FormatError(where, 'big-endian checkpoints are not supported');
  }

  const fail = (detail: string): never => {
    throw new FormatError(where, detail);
  };
  const persistentLoad = (pid: unknown): StorageRef => {
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') {
      fail('unsupported persistent id in data.pkl (expected a storage)');
    }
    const [, type, key, , numel] = pid as unknown[];
    const dtype = type instanceof PyGlobal && type.module === 'torch'
      ? STORAGE_TYPES[type.name] : undefined;
    if (dtype === undefined) fail('persistent id without a known storage type');
    if (typeof key !== 'string') fail('storage key is not a string');
    if (!isCount(numel)) fail(`storage ${quote(key as string)}: bad element count`);
    const entry = zip.entries.get(`${root}data/${key as string}`);
    if (entry === undefined) fail(`storage ${quote(key as string)} missing from the archive`);
    const expected = (numel as number) * ITEM_BYTES[dtype as DType];
    if (entry!.size !== expected) {
      fail(`storage size mismatch: ${quote(entry!.name)} holds ${entry!.size} bytes, ` +
        `the pickle declares ${numel} × ${dtype} = ${expected}`);
    }
    return new StorageRef(dtype as DType, numel as number, zip, entry!);
  };

  const rebuildTensor = (args: unknown[]): TensorRef => {
    const [storage, offset, shape, stride] = args;
    if (args.length < 6 || args.length > 7 || !(storage instanceof StorageRef)) {
      fail('malformed _rebuild_tensor_v2 arguments');
    }
    const st = storage as StorageRef;
    if (!isCount(offset) || !isDims(shape) || !isDims(stride) || shape.length !== stride.length) {
      fail('malformed tensor offset, size or stride');
    }
    const dims = shape as number[];
    const numel = numelOf(dims);
    if (numel > MAX_ELEMENTS) fail(`tensor of shape [${dims.join(', ')}] is too large`);
    let last = offset as number; // the largest storage index the view touches
    for (let k = 0; k < dims.length; k++) last += (dims[k] - 1) * (stride as number[])[k];
    if (numel > 0 && last >= st.numel) {
      fail(`storage size mismatch: a tensor of shape [${dims.join(', ')}] at offset ${offset} ` +
        `needs ${last + 1} elements, its storage has ${st.numel}`);
    }
    return new TensorRef(st, offset as number, dims, stride as number[]);
  };

  const globals = new Map<string, GlobalDef>([
    ['collections.OrderedDict', { call: () => new Map() }],
    ['torch._utils._rebuild_tensor_v2', { call: rebuildTensor }],
    ['torch._utils._rebuild_parameter', {
      call: (args) => (args[0] instanceof TensorRef ? args[0] : fail('malformed parameter')),
    }],
    ...Object.keys(STORAGE_TYPES).map((n): [string, GlobalDef] => [`torch.${n}`, {}]),
    ...PLAIN_GLOBALS, // bytes and numpy scalars (YOLOX's best_ap), decoded as data
  ]);
  const top = unpickle(zip.read(pkl), { where, globals, persistentLoad });
  return materialize(selectStateDict(top, where), where);
}

/** `{'model': sd}`, `{'state_dict': sd}` or a bare state dict. */
function selectStateDict(top: unknown, where: string): Map<unknown, unknown> {
  if (top instanceof Map) {
    for (const k of ['model', 'state_dict']) {
      const v = top.get(k);
      if (v instanceof Map) return v;
    }
    if (top.size > 0 && [...top.values()].every((v) => v instanceof TensorRef)) return top;
  }
  throw new FormatError(where,
    "no state dict found (expected {'model': state_dict} or a dict of tensors)");
}

function materialize(sd: Map<unknown, unknown>, where: string): StateDict {
  const out: StateDict = new Map();
  for (const [k, v] of sd) {
    if (typeof k !== 'string') throw new FormatError(where, 'state dict key is not a string');
    if (!(v instanceof TensorRef)) throw new FormatError(where, `${quote(k)} is not a tensor`);
    out.set(k, toEntry(v));
  }
  return out;
}

/** Copies a (possibly strided) view into a contiguous C-order entry. */
function toEntry(t: TensorRef): TensorEntry {
  const src = t.storage.elements();
  const numel = numelOf(t.shape);
  const n = t.shape.length;
  let contiguous = true;
  for (let k = n - 1, expect = 1; k >= 0; k--) {
    if (t.shape[k] !== 1 && t.stride[k] !== expect) contiguous = false;
    expect *= t.shape[k];
  }
  if (contiguous) {
    // The usual case (the tensor is its whole storage) needs no second copy.
    const whole = t.offset === 0 && numel === src.length;
    return makeEntry(t.storage.dtype, t.shape, whole ? src : src.slice(t.offset, t.offset + numel));
  }
  // Odometer over the output index (i0, …, i_{n−1}); `at` tracks offset + Σ i_k·stride_k.
  const out = new (src.constructor as new (n: number) => EntryData)(numel);
  const idx = new Array<number>(n).fill(0);
  let at = t.offset;
  for (let i = 0; i < numel; i++) {
    (out as unknown as unknown[])[i] = (src as unknown as unknown[])[at];
    for (let k = n - 1; k >= 0; k--) {
      if (++idx[k] < t.shape[k]) { at += t.stride[k]; break; }
      at -= (t.shape[k] - 1) * t.stride[k];
      idx[k] = 0;
    }
  }
  return makeEntry(t.storage.dtype, t.shape, out);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isDims(v: unknown): v is number[] {
  return Array.isArray(v) && v.length <= 16 && v.every(isCount);
}
