/**
 * @file Checkpoint formats: the official-layout fixture ckpt.pth against the reference state-dict
 * table and values read by a separate path (Python's zipfile + pickle + numpy, run once; the
 * literals are below), hand-assembled pickles and zips (spec/formats_build.ts) as oracles for
 * strides, offsets, dtypes and every refusal, and safetensors round trips.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../engine/errors.js';
import { loadCheckpoint, parseCheckpoint } from '../engine/formats/checkpoint.js';
import { parsePth } from '../engine/formats/pth.js';
import { unpickle } from '../engine/formats/pickle.js';
import { PLAIN_GLOBALS } from '../engine/formats/pickle_plain.js';
import {
  formatSafetensors, parseSafetensors, readSafetensors, writeSafetensors,
} from '../engine/formats/safetensors.js';
import type { StateDict } from '../engine/formats/state_dict.js';
import { SHARED, fixtureJson, fixturePath } from './fixtures.js';
import {
  OP, dict, f32bytes, global, int, orderedDict, pickle, str, tensor, tinyPth, torchZip, tuple, u32le,
  withZip64, type Bytes,
} from './formats_build.js';

const CKPT = fixturePath('yolox_tiny', 'weights', 'ckpt.pth');

/** Runs `fn`, expecting a one-line UserError whose message matches `re`. */
function expectUserError(fn: () => unknown, re: RegExp): string {
  try {
    fn();
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(UserError);
    const msg = (e as Error).message;
    expect(msg).to.match(re);
    expect(msg).not.to.include('\n');
    return msg;
  }
  throw new Error(`expected a UserError matching ${re}`);
}

function f64sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

describe('engine/formats: the fixture ckpt.pth (official torch.save zip layout)', () => {
  let sd: StateDict;
  before(() => { sd = loadCheckpoint(CKPT); });

  it('has every key of yolox_tiny_state_dict.txt, in order, with its shape and dtype', () => {
    const table = path.join(SHARED, 'reference', 'yolox_tiny_state_dict.txt');
    const rows = fs.readFileSync(table, 'utf8')
      .split('\n').map((l) => /^\s*(\d+)\s+(\S+)\s+\[([^\]]*)\]\s+(\w+)\s+(\w+)$/.exec(l))
      .filter((m) => m !== null);
    type Manifest = { settings: { num_state_dict_entries: number; num_parameters: number } };
    const manifest = fixtureJson<Manifest>('yolox_tiny', 'weights', 'manifest.json');
    expect(rows.length).to.equal(462);
    expect(rows.length).to.equal(manifest.settings.num_state_dict_entries);
    expect(sd.size).to.equal(rows.length);
    const keys = [...sd.keys()];
    let params = 0;
    rows.forEach((r, i) => {
      const [, , key, shapeText, dtype, kind] = r;
      const shape = shapeText.trim() === '' ? [] : shapeText.split(',').map(Number);
      expect(keys[i], `row ${i}`).to.equal(key);
      const e = sd.get(key)!;
      expect(e.shape, key).to.deep.equal(shape);
      expect(e.dtype, key).to.equal(dtype);
      expect(e.data.length, key).to.equal(shape.reduce((a, b) => a * b, 1));
      if (kind === 'param') params += e.data.length;
    });
    expect(params).to.equal(manifest.settings.num_parameters); // 5,055,855
  });

  it('values equal those read by Python zipfile + pickle + numpy (exact float32)', () => {
    // [key, first three, last, float64 sum]: printed by a separate Python reader; float32
    // elements compare exactly, sums of ≤ 384 elements to 1e-12 relative (summation order).
    const cases: [string, number[], number, number][] = [
      ['backbone.backbone.stem.conv.conv.weight',
        [-0.0007204196299426258, 0.051619309931993484, -0.07919755578041077],
        0.009387926198542118, -1.3108426806320495],
      ['backbone.backbone.stem.conv.bn.running_var',
        [1.3527637720108032, 1.3888490200042725, 1.2610499858856201],
        1.0209999084472656, 30.09780353307724],
      ['backbone.C3_n4.conv3.bn.running_mean',
        [0.12869733572006226, 0.1124107763171196, -0.31839194893836975],
        0.10794812440872192, -3.149884576923796],
    ];
    for (const [key, first, last, sum] of cases) {
      const d = sd.get(key)!.data as Float32Array;
      expect([...d.subarray(0, 3)], key).to.deep.equal(first);
      expect(d[d.length - 1], key).to.equal(last);
      expect(Math.abs(f64sum(d) - sum) / Math.abs(sum), key).to.be.below(1e-12);
    }
  });

  it('checksums over all 5,073,183 float elements match the Python reader', () => {
    // Python: Σx = 18478.646805456694, Σ|x| = 118636.25544644723 (float64). The two summation
    // orders differ by at most n·ε·Σ|x| ≈ 6.6e-5; allowed: 1e-9·Σ|x| = 1.2e-4.
    let n = 0, s = 0, sa = 0;
    for (const e of sd.values()) {
      if (e.dtype !== 'float32') continue;
      const d = e.data as Float32Array;
      n += d.length;
      for (let i = 0; i < d.length; i++) { s += d[i]; sa += Math.abs(d[i]); }
    }
    expect(n).to.equal(5073183);
    expect(Math.abs(s - 18478.646805456694)).to.be.below(1.2e-4);
    expect(Math.abs(sa - 118636.25544644723)).to.be.below(1.2e-4);
  });

  it('num_batches_tracked loads as int64 scalars; prior biases are float32(−log 99)', () => {
    const nbt = [...sd].filter(([k]) => k.endsWith('num_batches_tracked'));
    expect(nbt.length).to.equal(74);
    for (const [, e] of nbt) {
      expect(e.dtype).to.equal('int64');
      expect(e.data).to.be.instanceOf(BigInt64Array);
      expect(e.data[0]).to.equal(0n);
    }
    // manifest: "cls/obj prior bias -log(99)" (head.initialize_biases(1e-2)).
    const prior = Math.fround(-Math.log(99));
    for (const k of ['head.cls_preds.2.bias', 'head.obj_preds.0.bias']) {
      expect([...(sd.get(k)!.data as Float32Array)].every((v) => v === prior), k).to.equal(true);
    }
  });

  it('round-trips through safetensors bit for bit', () => {
    const back = parseSafetensors(formatSafetensors(sd, { format: 'pt' }), 'rt').tensors;
    expect([...back.keys()]).to.deep.equal([...sd.keys()]);
    for (const [k, e] of sd) {
      const b = back.get(k)!;
      expect(b.dtype).to.equal(e.dtype);
      expect(b.shape).to.deep.equal(e.shape);
      expect(Buffer.compare(Buffer.from(b.data.buffer), Buffer.from(e.data.buffer)), k).to.equal(0);
    }
  });

  it('a truncated copy is refused as a truncated zip', () => {
    const bytes = fs.readFileSync(CKPT);
    expectUserError(() => parseCheckpoint(bytes.subarray(0, bytes.length >> 1), 'half.pth'),
      /^half\.pth: truncated zip/);
    // Cut inside the central directory but keep the end records: the directory runs off.
    const cut = Buffer.concat([bytes.subarray(0, bytes.length - 400), bytes.subarray(-98)]);
    expectUserError(() => parseCheckpoint(cut, 'cut.pth'), /^cut\.pth: .*(truncated|bad|zip)/);
  });
});

describe('engine/formats/pth: hand-assembled checkpoints', () => {
  it('reads shapes, storage offsets and strides (non-contiguous → C order), and int64', () => {
    for (const bytes of [tinyPth(0), tinyPth(6), withZip64(tinyPth(0))]) {
      const sd = parsePth(bytes, 'tiny.pth');
      expect([...sd.keys()]).to.deep.equal(['w', 'wt', 'odd', 'n']);
      expect([...sd.get('w')!.data]).to.deep.equal([10, 11, 12, 13, 14, 15]);
      expect(sd.get('wt')!.shape).to.deep.equal([3, 2]);
      expect([...sd.get('wt')!.data]).to.deep.equal([10, 13, 11, 14, 12, 15]);
      expect([...sd.get('odd')!.data]).to.deep.equal([11, 13, 15]);
      expect(sd.get('n')).to.deep.include({ dtype: 'int64', shape: [] });
      expect([...sd.get('n')!.data]).to.deep.equal([7n]);
    }
  });

  it('decodes half, bfloat16 and double storages to float32', () => {
    // 1, −2, 65504 (largest half), 2^−24 (smallest subnormal)
    const h = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001]).buffer);
    const bf = new Uint8Array(new Uint16Array([0x3f80, 0xc0a0]).buffer); // 1, −5
    const d = new Uint8Array(new Float64Array([0.1, -3]).buffer);
    const sd = parsePth(torchZip(pickle(orderedDict([
      ['h', tensor('HalfStorage', 'a', 4, 0, [4], [1])],
      ['bf', tensor('BFloat16Storage', 'b', 2, 0, [2], [1])],
      ['d', tensor('DoubleStorage', 'c', 2, 0, [2], [1])],
    ])), { a: h, b: bf, c: d }), 'mixed.pth');
    expect(sd.get('h')).to.deep.include({ dtype: 'float32', stored: 'float16' });
    expect([...sd.get('h')!.data]).to.deep.equal([1, -2, 65504, 2 ** -24]);
    expect([...sd.get('bf')!.data]).to.deep.equal([1, -5]);
    expect([...sd.get('d')!.data]).to.deep.equal([Math.fround(0.1), -3]);
  });

  it('accepts a bare state dict and nn.Parameter records', () => {
    const param = [...global('torch._utils', '_rebuild_parameter'),
      ...tuple(tensor('FloatStorage', '0', 2, 0, [2], [1]), OP.NEWFALSE,
        [...global('collections', 'OrderedDict'), ...OP.EMPTY_TUPLE, ...OP.REDUCE]), ...OP.REDUCE];
    const zip = torchZip(pickle(orderedDict([['p', param]])), { 0: f32bytes([1, 2]) });
    const sd = parsePth(zip, 'p.pth');
    expect([...sd.get('p')!.data]).to.deep.equal([1, 2]);
  });

  it('storage size mismatches are refused', () => {
    const one = (t: Bytes) => pickle(orderedDict([['w', t]]));
    const six = { 0: f32bytes([1, 2, 3, 4, 5, 6]) };
    const declared = torchZip(one(tensor('FloatStorage', '0', 7, 0, [7], [1])), six);
    expectUserError(() => parsePth(declared, 'a.pth'),
      new RegExp("^a\\.pth: storage size mismatch: 'tiny/data/0' holds 24 bytes, " +
        'the pickle declares 7 × float32 = 28$'));
    const view = torchZip(one(tensor('FloatStorage', '0', 6, 1, [2, 3], [3, 1])), six);
    expectUserError(() => parsePth(view, 'b.pth'),
      /^b\.pth: storage size mismatch: .* needs 7 elements/);
    const missing = torchZip(one(tensor('FloatStorage', '9', 1, 0, [1], [1])), {});
    expectUserError(() => parsePth(missing, 'c.pth'), /storage '9' missing/);
  });

  it('refuses anything but tensors and plain containers', () => {
    const msg = expectUserError(() => parsePth(torchZip(pickle([...global('os', 'system'),
      ...tuple(str('echo pwned')), ...OP.REDUCE]), {}), 'evil.pth'), /./);
    expect(msg).to.equal("evil.pth: refusing to load global 'os.system' from checkpoint: " +
      'only tensors and plain containers are allowed');
    for (const [m, n] of [['builtins', 'eval'], ['posix', 'system'], ['subprocess', 'Popen'],
      ['torch', 'load'], ['collections', 'defaultdict'], ['__builtin__', 'getattr']]) {
      // Refused when the name is read, even without a REDUCE (and nested in a state dict).
      const evil = orderedDict([['w', [...global(m, n), ...OP.EMPTY_TUPLE, ...OP.REDUCE]]]);
      expectUserError(() => parsePth(torchZip(pickle(evil), {}), 'e.pth'),
        new RegExp(`^e\\.pth: refusing to load global '${m}\\.${n}' from checkpoint`));
    }
    // An allowed name that is not callable (a storage type) cannot be REDUCEd either.
    const call = (f: Bytes, args: Bytes) => torchZip(pickle([...f, ...args, ...OP.REDUCE]), {});
    const storageType = global('torch', 'FloatStorage');
    expectUserError(() => parsePth(call(storageType, OP.EMPTY_TUPLE), 'f.pth'),
      /REDUCE on something that cannot be called/);
    // An allowed callable with arguments that are not a tuple, or the wrong tuple.
    const rebuild = global('torch._utils', '_rebuild_tensor_v2');
    expectUserError(() => parsePth(call(rebuild, [...OP.NONE]), 'h.pth'),
      /^h\.pth: pickle: REDUCE on something that cannot be called/);
    expectUserError(() => parsePth(call(rebuild, tuple(int(1))), 'i.pth'),
      /^i\.pth: malformed _rebuild_tensor_v2 arguments/);
    // Non-tensor values inside the state dict.
    expectUserError(() => parsePth(torchZip(pickle(orderedDict([['x', int(1)]])), {}), 'g.pth'),
      /no state dict found/);
  });

  it('CPython pickles (protocols 2 and 4) of plain containers unpickle to the same data', () => {
    const hex = {
      2: '80027d71002858010000006171015d7102284b014740040000000000004e888965580100000062710328' +
        '4b018a090000000000000000404afdffffff4ad4feffff4a701101008a060000000000ff747104580100' +
        '0000637105580600000068c3a96c6c6f710658010000006471077d7108752e',
      4: '80049562000000000000007d94288c0161945d94284b014740040000000000004e8889658c016294284b' +
        '018a090000000000000000404afdffffff4ad4feffff4a701101008a060000000000ff74948c0163948c' +
        '0668c3a96c6c6f948c0164947d948c0165944302787994752e',
    };
    for (const [proto, h] of Object.entries(hex)) {
      // {'a': [1, 2.5, None, True, False], 'b': (1, 2**70, -3, -300, 70000, -2**40),
      //  'c': 'héllo', 'd': {}} (+ 'e': b'xy' in protocol 4)
      const opts = { where: `p${proto}`, globals: new Map() };
      const v = unpickle(Buffer.from(h, 'hex'), opts) as Map<string, unknown>;
      expect(v.get('a')).to.deep.equal([1, 2.5, null, true, false]);
      expect(v.get('b')).to.deep.equal([1, 2n ** 70n, -3, -300, 70000, -(2 ** 40)]);
      expect(v.get('c')).to.equal('héllo');
      expect(v.get('d')).to.deep.equal(new Map());
      if (proto === '4') expect([...(v.get('e') as Uint8Array)]).to.deep.equal([0x78, 0x79]);
    }
    // pickle.dumps(os.system, 2) and pickle.dumps(subprocess.Popen, 4), byte for byte.
    const opts = { where: 'x', globals: new Map() };
    const system = '800263706f7369780a73797374656d0a71002e';
    const popen = '80049518000000000000008c0a73756270726f63657373948c05506f70656e9493942e';
    expectUserError(() => unpickle(Buffer.from(system, 'hex'), opts),
      /refusing to load global 'posix\.system'/);
    expectUserError(() => unpickle(Buffer.from(popen, 'hex'), opts),
      /refusing to load global 'subprocess\.Popen'/);
  });

  it('numpy scalars and protocol-2 bytes (YOLOX keeps best_ap as numpy.float64) load as data', () => {
    // CPython: pickle.dumps({'best_ap': np.float64(0.25), 'n': np.int64(-3), 'f': np.float32(1.5)}, 2)
    const hex = '80027d7100285807000000626573745f61707101636e756d70792e5f636f72652e6d756c7469617272' +
      '61790a7363616c61720a7102636e756d70790a64747970650a71035802000000663871048988877105527106' +
      '284b0358010000003c71074e4e4e4affffffff4affffffff4b0074710862635f636f646563730a656e636f64' +
      '650a71095809000000000000000000c3903f710a58060000006c6174696e31710b86710c52710d86710e5271' +
      '0f58010000006e7110680268035802000000693871118988877112527113284b0368074e4e4e4affffffff4a' +
      'ffffffff4b007471146268095810000000c3bdc3bfc3bfc3bfc3bfc3bfc3bfc3bf7115680b86711652711786' +
      '7118527119580100000066711a6802680358020000006634711b898887711c52711d284b0368074e4e4e4aff' +
      'ffffff4affffffff4b0074711e62680958050000000000c3803f711f680b867120527121867122527123752e';
    const v = unpickle(Buffer.from(hex, 'hex'), { where: 'np', globals: PLAIN_GLOBALS });
    expect(v).to.deep.equal(new Map<string, number>([['best_ap', 0.25], ['n', -3], ['f', 1.5]]));
    // The same inside a checkpoint, assembled by hand: np.float64 as (dtype, latin1 bytes).
    const dtype = [...global('numpy', 'dtype'), ...tuple(str('f8'), OP.NEWFALSE, [0x88]),
      ...OP.REDUCE, ...tuple(int(3), str('<'), OP.NONE, OP.NONE, OP.NONE, int(-1), int(-1), int(0)),
      ...OP.BUILD];
    const f64 = (x: number) => String.fromCharCode(...new Uint8Array(Float64Array.of(x).buffer));
    const bytes = (text: string, enc = 'latin1') =>
      [...global('_codecs', 'encode'), ...tuple(str(text), str(enc)), ...OP.REDUCE];
    const scalar = (b: Bytes, dt: Bytes = dtype) =>
      [...global('numpy.core.multiarray', 'scalar'), ...tuple(dt, b), ...OP.REDUCE];
    const ckpt = (x: Bytes) => torchZip(pickle(dict([
      ['model', orderedDict([['w', tensor('FloatStorage', '0', 1, 0, [1], [1])]])], ['best_ap', x],
    ])), { 0: f32bytes([2]) });
    expect([...parsePth(ckpt(scalar(bytes(f64(0.375)))), 'np.pth').get('w')!.data]).to.deep.equal([2]);
    expectUserError(() => parsePth(ckpt(scalar(bytes(f64(0.375), 'utf-16'))), 'u.pth'),
      /^u\.pth: pickle: only _codecs\.encode\(str, 'latin1'\) is allowed/);
    const objDType = [...global('numpy', 'dtype'), ...tuple(str('O8'), OP.NEWFALSE), ...OP.REDUCE];
    expectUserError(() => parsePth(ckpt(scalar(bytes('12345678'), objDType)), 'o.pth'),
      /^o\.pth: pickle: unsupported numpy dtype "O8"/);
    expectUserError(() => parsePth(ckpt(scalar(bytes('1234'))), 's.pth'),
      /^s\.pth: pickle: numpy scalar of the wrong size/);
  });

  it('wrong magic, empty and truncated files are UserErrors naming the file', () => {
    expectUserError(() => parseCheckpoint(new TextEncoder().encode('hello, not a model'), 'x.bin'),
      /^x\.bin: not a checkpoint \(wrong magic/);
    expectUserError(() => parseCheckpoint(new Uint8Array(0), 'e.pth'), /^e\.pth: truncated/);
    const t = tinyPth();
    expectUserError(() => parseCheckpoint(t.subarray(0, t.length - 10), 't.pth'),
      /^t\.pth: truncated zip/);
    expectUserError(() => parseCheckpoint(Uint8Array.from([0x80, 2, 0x8a, 0x0a]), 'old.pth'),
      /^old\.pth: legacy \(pre-1\.6/);
    const bad = new Uint8Array(t);
    bad[t.length - 22] = 0x51; // break the end-of-central-directory signature
    expectUserError(() => parseCheckpoint(bad, 'u.pth'),
      /^u\.pth: truncated zip \(no end-of-central/);
    expectUserError(() => loadCheckpoint('/nonexistent/ckpt.pth'),
      /cannot read \/nonexistent\/ckpt\.pth/);
  });

  it('a flipped data byte fails the CRC-32 check', () => {
    const t = tinyPth();
    const i = Buffer.from(t).indexOf(Buffer.from(f32bytes([10, 11])));
    const bad = new Uint8Array(t);
    bad[i + 1] ^= 4;
    expectUserError(() => parsePth(bad, 'crc.pth'),
      /^crc\.pth: zip entry 'tiny\/data\/0': CRC-32 mismatch/);
  });
});

describe('engine/formats/safetensors', () => {
  const header = (obj: unknown, data: number[]): Uint8Array => {
    const h = new TextEncoder().encode(JSON.stringify(obj));
    return Uint8Array.from([...u32le(h.length), 0, 0, 0, 0, ...h, ...data]);
  };

  it('writes atomically and reads back dtypes, shapes, order and metadata', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoloxq-st-'));
    const file = path.join(dir, 'm.safetensors');
    const sd = new Map([
      ['z.weight', { dtype: 'float32', shape: [2, 2], data: Float32Array.of(1.5, -2, 3e-8, 0) }],
      ['a.num_batches_tracked', { dtype: 'int64', shape: [], data: BigInt64Array.of(1234567890n) }],
      ['m.mask', { dtype: 'uint8', shape: [3], data: Uint8Array.from([0, 1, 255]) }],
      ['empty', { dtype: 'int32', shape: [0, 3], data: new Int32Array(0) }],
    ]);
    writeSafetensors(file, sd, { epoch: '3' });
    expect(fs.readdirSync(dir)).to.deep.equal(['m.safetensors']); // no temporary left behind
    const bytes = fs.readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).to.equal(0); // data starts 8-byte aligned
    const h = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    expect(h['z.weight']).to.deep.equal({ dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] });
    expect(h['a.num_batches_tracked'])
      .to.deep.equal({ dtype: 'I64', shape: [], data_offsets: [16, 24] });
    expect(h.__metadata__).to.deep.equal({ epoch: '3' });
    const back = readSafetensors(file);
    expect(back.metadata).to.deep.equal({ epoch: '3' });
    expect([...back.tensors.keys()]).to.deep.equal([...sd.keys()]);
    for (const [k, e] of sd) {
      expect(back.tensors.get(k)).to.deep.include({ dtype: e.dtype, shape: e.shape });
      expect([...back.tensors.get(k)!.data]).to.deep.equal([...e.data]);
    }
    expect(loadCheckpoint(file).get('a.num_batches_tracked')!.data[0]).to.equal(1234567890n);
    fs.rmSync(dir, { recursive: true });
  });

  it('reads a hand-written file with F16, BF16 and F64 entries', () => {
    const f64 = [...new Uint8Array(new Float64Array([2.5]).buffer)];
    const st = header({
      __metadata__: { format: 'pt' },
      b: { dtype: 'BF16', shape: [1], data_offsets: [2, 4] },
      a: { dtype: 'F16', shape: [1], data_offsets: [0, 2] },
      c: { dtype: 'F64', shape: [], data_offsets: [4, 12] },
    }, [0x00, 0x3c, 0x80, 0xbf, ...f64]);
    const { tensors } = parseSafetensors(st, 'h.safetensors');
    expect([...tensors.keys()]).to.deep.equal(['a', 'b', 'c']); // data order
    expect([...tensors.get('a')!.data, ...tensors.get('b')!.data, ...tensors.get('c')!.data])
      .to.deep.equal([1, -1, 2.5]);
  });

  it('refuses corrupt headers and bad offsets with clear messages', () => {
    const e = (dtype: string, shape: number[], off: number[]) =>
      ({ dtype, shape, data_offsets: off });
    const cases: [Uint8Array, RegExp][] = [
      [header({ a: e('F32', [1], [0, 4]) }, [0, 0, 0]), /'a': data_offsets \[0, 4\] out of range/],
      [header({ a: e('F32', [2], [0, 8]), b: e('F32', [1], [4, 8]) }, new Array(8).fill(0)),
        /tensors 'a' and 'b' overlap/],
      [header({ a: e('F32', [1], [4, 8]) }, new Array(8).fill(0)), /unused bytes before 'a'/],
      [header({ a: e('F32', [1], [0, 4]) }, new Array(6).fill(0)), /2 bytes after the last tensor/],
      [header({ a: e('F32', [2], [0, 4]) }, [0, 0, 0, 0]), /'a': data_offsets span 4 bytes/],
      [header({ a: e('Q9', [1], [0, 4]) }, [0, 0, 0, 0]), /'a': unsupported or missing dtype/],
      [header({ a: e('F32', [-1], [0, 4]) }, [0, 0, 0, 0]), /'a': bad shape/],
      [header({ a: null }, []), /'a': unsupported or missing dtype/],
      [header({ a: e('F32', [1], [4, 0]) }, [0, 0, 0, 0]), /'a': bad data_offsets/],
      [header({ __metadata__: { n: 1 } }, []), /__metadata__ value for 'n' is not a string/],
      [header([1, 2], []), /not a JSON object/],
      [Uint8Array.from([...u32le(5), 0, 0, 0, 0, ...new TextEncoder().encode('{"a":')]),
        /not valid UTF-8 JSON/],
      [Uint8Array.from([...u32le(99), 0, 0, 0, 0, 0x7b]), /bad safetensors header length 99/],
    ];
    for (const [bytes, re] of cases) {
      expectUserError(() => parseSafetensors(bytes, 'c.safetensors'),
        new RegExp(`^c\\.safetensors: .*${re.source}`));
    }
    // loadCheckpoint's dispatch sends a '{' header to the safetensors reader.
    expectUserError(() => parseCheckpoint(cases[0][0], 'd.st'), /^d\.st: 'a': data_offsets/);
  });
});
