/**
 * @file Reading zip archives through their central directory (the layout PyTorch's
 * `torch.save` writes: stored entries, data descriptors, zip64 end records, 64-byte aligned data).
 *
 * Layout read here (all integers little-endian; APPNOTE.TXT 4.3):
 *   end of central directory (EOCD, sig PK\5\6, 22 bytes + comment) at the end of the file:
 *     @10 u16 total entries, @12 u32 directory size, @16 u32 directory offset,
 *     @20 u16 comment length
 *   zip64 locator (sig PK\6\7, 20 bytes) just before the EOCD: @8 u64 offset of the zip64 EOCD
 *   zip64 EOCD (sig PK\6\6): @32 u64 total entries, @40 u64 directory size,
 *     @48 u64 directory offset
 *   central directory entry (sig PK\1\2, 46 bytes + name + extra + comment):
 *     @10 u16 method, @16 u32 crc32, @20 u32 compressed size, @24 u32 size, @28 u16 name length,
 *     @30 u16 extra length, @32 u16 comment length, @42 u32 local header offset;
 *     a 0xFFFFFFFF field is in the zip64 extra block (id 1): size, compressed size, offset,
 *     in that order
 *   local header (sig PK\3\4, 30 bytes + name + extra): @26 u16 name length, @28 u16 extra length
 * Sizes come from the central directory (torch sets the data-descriptor flag and writes zeros in
 * the local header). Methods: 0 (stored) and 8 (deflate, through fflate). Every entry's CRC-32 is
 * checked when it is read.
 */
import { inflateSync } from 'fflate';
import { FormatError, quote } from './state_dict.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;

/** One file in the archive, as the central directory describes it. */
export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localOffset: number;
}

/** True when `bytes` starts like a zip file (a local header, or the EOCD of an empty archive). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b &&
    ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

/** A zip archive held in memory; entries are decoded on demand. */
export class ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array, readonly where: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.entries = this.readDirectory();
  }

  /** The entry's uncompressed bytes (a view into the file for stored entries). */
  read(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (e === undefined) this.fail(`missing zip entry ${quote(name)}`);
    const start = this.dataStart(e);
    const raw = this.bytes.subarray(start, start + e.compressedSize);
    let out: Uint8Array;
    if (e.method === 0) {
      out = raw;
    } else {
      // A deflate stream expands at most ~1032×: a larger claimed size is a corrupt header.
      if (e.size > e.compressedSize * 1032 + 1024) this.fail(`zip entry ${quote(name)}: bad size`);
      try {
        out = inflateSync(raw, { out: new Uint8Array(e.size) });
      } catch (err) {
        this.fail(`zip entry ${quote(name)}: corrupt deflate data (${(err as Error).message})`);
      }
    }
    if (out.length !== e.size) this.fail(`zip entry ${quote(name)}: size mismatch`);
    if (crc32(out) !== e.crc32) {
      this.fail(`zip entry ${quote(name)}: CRC-32 mismatch (corrupt file)`);
    }
    return out;
  }

  private fail(detail: string): never {
    throw new FormatError(this.where, detail);
  }

  private u16(at: number): number {
    return this.view.getUint16(at, true);
  }

  private u32(at: number): number {
    return this.view.getUint32(at, true);
  }

  /** A u64 field that must fit a JavaScript number. */
  private u64(at: number): number {
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('zip64 field out of range');
    return Number(v);
  }

  /** Requires bytes [at, at + n) to be inside the file. */
  private need(at: number, n: number, what: string): void {
    if (at < 0 || n < 0 || at + n > this.bytes.length) {
      this.fail(`truncated zip (${what} at byte ${at} runs past the end of the file)`);
    }
  }

  /** Finds the EOCD: the last PK\5\6 whose comment length reaches exactly to the end. */
  private findEocd(): number {
    const n = this.bytes.length;
    const lowest = Math.max(0, n - 22 - 0xffff);
    for (let at = n - 22; at >= lowest; at--) {
      if (this.u32(at) === SIG_EOCD && at + 22 + this.u16(at + 20) === n) return at;
    }
    this.fail(n < 22 || this.u32(0) === SIG_LOCAL
      ? 'truncated zip (no end-of-central-directory record)'
      : 'not a zip file (no end-of-central-directory record)');
  }

  private readDirectory(): Map<string, ZipEntry> {
    const eocd = this.findEocd();
    let count = this.u16(eocd + 10);
    let dirSize = this.u32(eocd + 12);
    let dirOffset = this.u32(eocd + 16);
    const loc = eocd - 20;
    if (loc >= 0 && this.u32(loc) === SIG_ZIP64_LOCATOR) {
      const z = this.u64(loc + 8);
      this.need(z, 56, 'zip64 end record');
      if (this.u32(z) !== SIG_ZIP64_EOCD) this.fail('bad zip64 end record signature');
      count = this.u64(z + 32);
      dirSize = this.u64(z + 40);
      dirOffset = this.u64(z + 48);
    }
    this.need(dirOffset, dirSize, 'central directory');
    const entries = new Map<string, ZipEntry>();
    let at = dirOffset;
    for (let i = 0; i < count; i++) {
      this.need(at, 46, 'central directory entry');
      if (this.u32(at) !== SIG_CENTRAL) this.fail(`bad central directory entry ${i} signature`);
      const nameLen = this.u16(at + 28);
      const extraLen = this.u16(at + 30);
      const commentLen = this.u16(at + 32);
      this.need(at + 46, nameLen + extraLen + commentLen, 'central directory entry');
      const name = new TextDecoder().decode(this.bytes.subarray(at + 46, at + 46 + nameLen));
      const sizes = [this.u32(at + 24), this.u32(at + 20), this.u32(at + 42)];
      this.applyZip64Extra(sizes, at + 46 + nameLen, extraLen);
      const entry: ZipEntry = {
        name, method: this.u16(at + 10), crc32: this.u32(at + 16),
        size: sizes[0], compressedSize: sizes[1], localOffset: sizes[2],
      };
      if (entry.method !== 0 && entry.method !== 8) {
        this.fail(`zip entry ${quote(name)}: unsupported compression method ${entry.method}`);
      }
      if (entry.method === 0 && entry.size !== entry.compressedSize) {
        this.fail(`zip entry ${quote(name)}: stored entry with two different sizes`);
      }
      if (entries.has(name)) this.fail(`duplicate zip entry ${quote(name)}`);
      this.dataStart(entry); // validates the local header and the data range now
      entries.set(name, entry);
      at += 46 + nameLen + extraLen + commentLen;
    }
    if (at > dirOffset + dirSize) this.fail('central directory longer than its recorded size');
    return entries;
  }

  /** Replaces 0xFFFFFFFF fields of [size, compressed, offset] from the zip64 extra block. */
  private applyZip64Extra(sizes: number[], extra: number, extraLen: number): void {
    const end = extra + extraLen;
    let at = extra;
    while (at + 4 <= end) {
      const id = this.u16(at);
      const len = this.u16(at + 2);
      if (at + 4 + len > end) this.fail('malformed zip extra field');
      if (id === 1) {
        let f = at + 4;
        for (let k = 0; k < 3; k++) {
          if (sizes[k] !== 0xffffffff) continue;
          if (f + 8 > at + 4 + len) this.fail('malformed zip64 extra field');
          sizes[k] = this.u64(f);
          f += 8;
        }
      }
      at += 4 + len;
    }
  }

  /** Offset of an entry's data, after checking its local header and that the data fits. */
  private dataStart(e: ZipEntry): number {
    this.need(e.localOffset, 30, `local header of ${quote(e.name)}`);
    if (this.u32(e.localOffset) !== SIG_LOCAL) this.fail(`bad local header for ${quote(e.name)}`);
    const start = e.localOffset + 30 + this.u16(e.localOffset + 26) + this.u16(e.localOffset + 28);
    this.need(start, e.compressedSize, `data of ${quote(e.name)}`);
    return start;
  }
}

let crcTables: Uint32Array | undefined;

/**
 * CRC-32 (polynomial 0xEDB88320, reflected), as zip stores it, computed "slice by 8":
 * T0 is the bytewise table, Tk[n] = (T(k−1)[n] >>> 8) ^ T0[T(k−1)[n] & 0xff] advances a byte's
 * contribution by k more bytes, so 8 input bytes fold into the register with 8 lookups.
 */
export function crc32(bytes: Uint8Array): number {
  if (crcTables === undefined) {
    crcTables = new Uint32Array(256 * 8);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTables[n] = c >>> 0;
    }
    for (let k = 1; k < 8; k++) {
      for (let n = 0; n < 256; n++) {
        const p = crcTables[(k - 1) * 256 + n];
        crcTables[k * 256 + n] = (p >>> 8) ^ crcTables[p & 0xff];
      }
    }
  }
  const t = crcTables;
  const b = bytes;
  let c = 0xffffffff;
  let i = 0;
  for (const end8 = b.length - (b.length % 8); i < end8; i += 8) {
    const one = (c ^ (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24))) >>> 0;
    const two = (b[i + 4] | (b[i + 5] << 8) | (b[i + 6] << 16) | (b[i + 7] << 24)) >>> 0;
    c = t[1792 + (one & 0xff)] ^ t[1536 + ((one >>> 8) & 0xff)] ^
      t[1280 + ((one >>> 16) & 0xff)] ^ t[1024 + (one >>> 24)] ^
      t[768 + (two & 0xff)] ^ t[512 + ((two >>> 8) & 0xff)] ^
      t[256 + ((two >>> 16) & 0xff)] ^ t[two >>> 24];
  }
  for (; i < b.length; i++) c = t[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
