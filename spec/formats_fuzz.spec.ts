/**
 * @file Fuzzing every checkpoint parser: seeded random corruptions (bit flips, boundary values,
 * truncation, deleted and duplicated slices; spec/formats_build.ts `mutate`) of valid files.
 * Each parse must either succeed or throw a one-line UserError: never a TypeError, RangeError or
 * any other exception. Every loop is bounded by the input size (no opcode or record can make the
 * readers loop without consuming bytes), which is what keeps a corrupt file from hanging them.
 */
import { expect } from 'chai';
import { UserError } from '../engine/errors.js';
import { parseCheckpoint } from '../engine/formats/checkpoint.js';
import { unpickle, type GlobalDef } from '../engine/formats/pickle.js';
import { parsePth } from '../engine/formats/pth.js';
import { formatSafetensors, parseSafetensors } from '../engine/formats/safetensors.js';
import { ZipArchive } from '../engine/formats/zip.js';
import { Rng } from '../engine/rng.js';
import { fixturePath } from './fixtures.js';
import { readFileOrFail } from '../engine/formats/files.js';
import { mutate, tinyPickle, tinyPth, tinyStorages, torchZip, withZip64 } from './formats_build.js';

interface Tally { ok: number; refused: number }

/** Runs `parse` on `iterations` corruptions of `valid`; fails on the first non-UserError. */
function fuzz(
  seed: number, iterations: number, valid: Uint8Array, parse: (b: Uint8Array) => unknown,
): Tally {
  const rng = new Rng(seed);
  const tally: Tally = { ok: 0, refused: 0 };
  for (let i = 0; i < iterations; i++) {
    const bytes = mutate(valid, rng);
    try {
      parse(bytes);
      tally.ok++;
    } catch (e) {
      if (!(e instanceof UserError) || e.message.includes('\n')) {
        const hex = Buffer.from(bytes).toString('hex').slice(0, 400);
        throw new Error(`seed ${seed} iteration ${i}: ${String(e)}\ninput ${hex}`);
      }
      tally.refused++;
    }
  }
  return tally;
}

describe('engine/formats: fuzzing (seeded corruptions → only UserErrors)', () => {
  it('torch zip, stored entries with zip64 end records: 3000 corruptions', () => {
    const valid = withZip64(tinyPth(0));
    expect(parseCheckpoint(valid, 'v').size).to.equal(4);
    const t = fuzz(1, 3000, valid, (b) => parseCheckpoint(b, 'fuzz.pth'));
    expect(t.refused).to.be.above(2000); // CRC-32 and structure checks catch nearly everything
    expect(t.ok + t.refused).to.equal(3000);
  });

  it('torch zip, deflated entries: 1500 corruptions', () => {
    const t = fuzz(2, 1500, tinyPth(6), (b) => parseCheckpoint(b, 'fuzz.pth'));
    expect(t.refused).to.be.above(1000);
  });

  it('the pickle inside a well-formed zip (pth semantics): 4000 corruptions', () => {
    // The zip is rebuilt around each corrupt pickle, so the CRC is right and the unpickler,
    // persistent ids, storage checks and stride checks all see the corruption.
    const storages = tinyStorages();
    const t = fuzz(3, 4000, tinyPickle(), (pkl) => parsePth(torchZip(pkl, storages), 'fuzz.pth'));
    expect(t.ok).to.be.above(0); // some corruptions (e.g. in a float) still load
    expect(t.refused).to.be.above(1000);
  });

  it('the fixture\'s 74 kB data.pkl through the unpickler: 300 corruptions', () => {
    const file = fixturePath('yolox_tiny', 'weights', 'ckpt.pth');
    const zip = new ZipArchive(readFileOrFail(file), file);
    const pkl = zip.read('ckpt.pth/data.pkl');
    const globals = new Map<string, GlobalDef>([
      ['collections.OrderedDict', { call: () => new Map() }],
      ['torch._utils._rebuild_tensor_v2', { call: (args) => args }],
      ['torch.FloatStorage', {}], ['torch.LongStorage', {}],
    ]);
    const opts = { where: 'data.pkl', globals, persistentLoad: (pid: unknown) => pid };
    const top = unpickle(pkl, opts) as Map<string, Map<string, unknown>>;
    expect(top.get('model')!.size).to.equal(462);
    const t = fuzz(4, 300, pkl, (b) => unpickle(b, opts));
    expect(t.refused).to.be.above(100);
  });

  it('safetensors: 3000 corruptions', () => {
    const valid = formatSafetensors(new Map([
      ['conv.w', { dtype: 'float32', shape: [2, 1, 1, 2], data: Float32Array.from([1, 2, 3, 4]) }],
      ['bn.num_batches_tracked', { dtype: 'int64', shape: [], data: BigInt64Array.of(5n) }],
      ['mask', { dtype: 'uint8', shape: [3], data: Uint8Array.from([1, 0, 1]) }],
    ]), { epoch: '1' });
    expect(parseSafetensors(valid, 'v').tensors.size).to.equal(3);
    const t = fuzz(5, 3000, valid, (b) => parseCheckpoint(b, 'fuzz.safetensors'));
    expect(t.ok).to.be.above(0);
    expect(t.refused).to.be.above(1000);
  });
});
