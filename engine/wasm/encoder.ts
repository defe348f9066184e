/**
 * @file A tiny WebAssembly binary encoder: just enough of the format (core spec §5, binary
 * format, plus the SIMD and threads proposals) to emit the engine's GEMM kernels from TypeScript
 * at start-up, with no external toolchain and no binary blob in the repository.
 *
 * Module layout written by `ModuleBuilder.encode()`, in the order the spec requires:
 *   magic "\0asm", version 1, then sections
 *   1 type (func signatures) · 2 import (one memory) · 3 function (type index per body)
 *   7 export (functions by name) · 10 code (locals + instruction bytes per body)
 * Integers are LEB128: unsigned for sizes and indices, signed for i32.const immediates.
 */

/** Value types (§5.3.1). */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

/** Core opcodes used by the kernels (one byte each). */
export const Op = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, i64Load: 0x29, f32Load: 0x2a, i32Store: 0x36, i64Store: 0x37, f32Store: 0x38,
  i32Const: 0x41, i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtS: 0x48, i32GtS: 0x4a,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32And: 0x71, i32Shl: 0x74,
  f32Add: 0x92, f32Mul: 0x94,
} as const;

/** SIMD opcodes: emitted as the 0xFD prefix followed by the LEB128 sub-opcode. */
export const Simd = {
  v128Load: 0x00, v128Load8x8S: 0x01, v128Load32Splat: 0x09, v128Load64Splat: 0x0a,
  v128Store: 0x0b, v128Const: 0x0c, i8x16Shuffle: 0x0d,
  i32x4Splat: 0x11, f32x4Splat: 0x13,
  f32x4Lt: 0x43, v128Bitselect: 0x52, f32x4Nearest: 0x6a,
  i32x4Shl: 0xab, i32x4ShrS: 0xac, i32x4Add: 0xae, i32x4Sub: 0xb1, i32x4DotI16x8S: 0xba,
  f32x4Abs: 0xe0, f32x4Neg: 0xe1, f32x4Add: 0xe4, f32x4Sub: 0xe5, f32x4Mul: 0xe6,
  f32x4Div: 0xe7, f32x4Max: 0xe9,
  i32x4TruncSatF32x4S: 0xf8,
  // Double lanes (exp64.ts, logistic.ts).
  f32x4DemoteF64x2Zero: 0x5e,
  f64x2PromoteLowF32x4: 0x5f, f64x2Lt: 0x49, f64x2Ge: 0x4c,
  i64x2Shl: 0xcb, i64x2Add: 0xce,
  f64x2Abs: 0xec, f64x2Neg: 0xed, f64x2Add: 0xf0, f64x2Sub: 0xf1, f64x2Mul: 0xf2,
  f64x2Div: 0xf3, f64x2Trunc: 0x7a,
} as const;

/** Unsigned LEB128 of a non-negative integer below 2^32. */
export function uleb(n: number): number[] {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`uleb: ${n}`);
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(n: number): number[] {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) throw new RangeError(`sleb: ${n}`);
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7; // arithmetic shift keeps the sign
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A UTF-8 name as a length-prefixed byte vector. */
function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

/** A vector: element count, then the elements' bytes. */
function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** Instruction writer for one function body; every method appends bytes and returns `this`. */
export class Code {
  readonly bytes: number[] = [];

  op(...opcodes: number[]): this {
    this.bytes.push(...opcodes);
    return this;
  }
  simd(sub: number): this {
    this.bytes.push(0xfd, ...uleb(sub));
    return this;
  }
  /** memarg: log2 alignment, then a constant byte offset added to the address operand. */
  private memarg(align: number, offset: number): this {
    this.bytes.push(...uleb(align), ...uleb(offset));
    return this;
  }
  get(i: number): this { return this.op(Op.localGet, ...uleb(i)); }
  set(i: number): this { return this.op(Op.localSet, ...uleb(i)); }
  tee(i: number): this { return this.op(Op.localTee, ...uleb(i)); }
  i32(v: number): this { return this.op(Op.i32Const, ...sleb(v)); }
  /** block/loop/if with an empty result type (0x40). */
  block(): this { return this.op(Op.block, 0x40); }
  loop(): this { return this.op(Op.loop, 0x40); }
  if(): this { return this.op(Op.if, 0x40); }
  end(): this { return this.op(Op.end); }
  br(depth: number): this { return this.op(Op.br, ...uleb(depth)); }
  brIf(depth: number): this { return this.op(Op.brIf, ...uleb(depth)); }
  i32Load(offset = 0): this { return this.op(Op.i32Load).memarg(2, offset); }
  i32Store(offset = 0): this { return this.op(Op.i32Store).memarg(2, offset); }
  i64Load(offset = 0): this { return this.op(Op.i64Load).memarg(3, offset); }
  i64Store(offset = 0): this { return this.op(Op.i64Store).memarg(3, offset); }
  v128Load(offset = 0): this { return this.simd(Simd.v128Load).memarg(4, offset); }
  v128Store(offset = 0): this { return this.simd(Simd.v128Store).memarg(4, offset); }
  /** Load one 32-bit lane and replicate it into all four lanes. */
  load32Splat(offset = 0): this { return this.simd(Simd.v128Load32Splat).memarg(2, offset); }
  /** Load 8 bytes into both halves of a vector. */
  load64Splat(offset = 0): this { return this.simd(Simd.v128Load64Splat).memarg(3, offset); }
  /** i8x16.shuffle: byte i of the result = byte lanes[i] of (first ‖ second), lanes < 32. */
  shuffle(lanes: number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => l < 0 || l > 31)) throw new RangeError('shuffle');
    this.simd(Simd.i8x16Shuffle);
    this.bytes.push(...lanes);
    return this;
  }
  /** v128.const with four equal f32 lanes (the value rounded to float32). */
  f32x4(v: number): this {
    const d = new DataView(new ArrayBuffer(4));
    d.setFloat32(0, v, true); // wasm is little-endian
    return this.splatConst(d);
  }
  /** v128.const with four equal i32 lanes. */
  i32x4(v: number): this {
    const d = new DataView(new ArrayBuffer(4));
    d.setInt32(0, v, true);
    return this.splatConst(d);
  }
  /** v128.const with two equal f64 lanes (the exact double). */
  f64x2(v: number): this {
    const d = new DataView(new ArrayBuffer(8));
    d.setFloat64(0, v, true);
    return this.splatConst(d);
  }
  /** v128.const with two equal i64 lanes. */
  i64x2(v: bigint): this {
    const d = new DataView(new ArrayBuffer(8));
    d.setBigInt64(0, BigInt.asIntN(64, v), true);
    return this.splatConst(d);
  }
  private splatConst(lane: DataView): this {
    this.simd(Simd.v128Const);
    const w = lane.byteLength;
    for (let i = 0; i < 16; i++) this.bytes.push(lane.getUint8(i % w));
    return this;
  }
  /** Load 8 int8 values, sign-extended to an i16x8 vector. */
  load8x8S(offset = 0): this { return this.simd(Simd.v128Load8x8S).memarg(3, offset); }
  /** local[i] += k (i32). */
  addTo(i: number, k: number): this { return this.get(i).i32(k).op(Op.i32Add).set(i); }
}

/** One function: its signature, extra locals (beyond the params) and body. */
export interface FuncDef {
  name: string;
  params: ValType[];
  results: ValType[];
  locals: ValType[];
  code: Code;
}

/** Memory import: `env.memory`, shared, with min/max in 64 KiB pages. */
export interface MemoryImport {
  module: string;
  field: string;
  minPages: number;
  maxPages: number;
  shared: boolean;
}

/** Collects functions and writes the binary module. */
export class ModuleBuilder {
  private readonly funcs: FuncDef[] = [];
  constructor(private readonly memory: MemoryImport) {}

  add(f: FuncDef): this {
    this.funcs.push(f);
    return this;
  }

  encode(): Uint8Array<ArrayBuffer> {
    const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
    const types = this.funcs.map((f) => [0x60, ...vec(f.params.map((t) => [t])),
      ...vec(f.results.map((t) => [t]))]);
    const m = this.memory;
    // Limits flag: 0x01 = min and max; 0x03 = shared with min and max (threads proposal).
    const limits = [m.shared ? 0x03 : 0x01, ...uleb(m.minPages), ...uleb(m.maxPages)];
    const imports = vec([[...name(m.module), ...name(m.field), 0x02, ...limits]]);
    const funcIdx = vec(this.funcs.map((_, i) => uleb(i)));
    const exports = vec(this.funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]));
    const bodies = this.funcs.map((f) => {
      // Locals run-length encoded as (count, type) pairs.
      const groups: number[][] = [];
      for (let i = 0; i < f.locals.length;) {
        let j = i;
        while (j < f.locals.length && f.locals[j] === f.locals[i]) j++;
        groups.push([...uleb(j - i), f.locals[i]]);
        i = j;
      }
      const body = [...vec(groups), ...f.code.bytes, Op.end];
      return [...uleb(body.length), ...body];
    });
    return Uint8Array.from([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      ...section(1, vec(types)),
      ...section(2, imports),
      ...section(3, funcIdx),
      ...section(7, exports),
      ...section(10, vec(bodies)),
    ]);
  }
}
