/**
 * @file A restricted unpickler: it builds plain data from a pickle stream and never runs code.
 *
 * The binary opcodes of pickle protocols 2–5 that `torch.save` and plain containers use are
 * supported (pickletools.py documents each). Python values become:
 *   None → null; bool → boolean; int → number (bigint beyond ±2^53); float → number;
 *   str → string; bytes → Uint8Array; list and tuple → array; dict → Map (insertion order kept).
 * GLOBAL / STACK_GLOBAL only resolve names in the caller's allowlist, and REDUCE only calls the
 * allowlisted handler (a TypeScript function the caller wrote). Any other name is refused when it
 * is read, before anything could call it. BINPERSID hands the persistent id to the caller.
 * Malformed streams (truncation, stack underflow, unknown opcodes) are FormatErrors.
 */
import { FormatError, quote } from './state_dict.js';

/** What an allowlisted global may do. */
export interface GlobalDef {
  /** REDUCE: builds the value from the argument tuple. Absent: the global cannot be called. */
  readonly call?: (args: unknown[]) => unknown;
}

/** Thrown by a GlobalDef handler or `pickleSetState` for bad arguments; reported with the file. */
export class PickleValueError extends Error {}

/** An object a handler built that accepts BUILD's state (e.g. a numpy dtype's byte order). */
export interface Buildable {
  pickleSetState(state: unknown): void;
}

/** A resolved global on the stack (e.g. a storage type used inside a persistent id). */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string, readonly def: GlobalDef) {}
  get fullName(): string {
    return `${this.module}.${this.name}`;
  }
}

export interface UnpickleOptions {
  /** The file, for error messages. */
  readonly where: string;
  /** "module.name" → what it may do. Every other global is refused. */
  readonly globals: ReadonlyMap<string, GlobalDef>;
  /** BINPERSID: turns a persistent id into a value (absent: persistent ids are refused). */
  readonly persistentLoad?: (pid: unknown) => unknown;
  /** Why only these globals: ends the refusal message. */
  readonly allowed?: string;
}

const MARK = Symbol('mark');
const BIG = BigInt(Number.MAX_SAFE_INTEGER);

/** Unpickles `bytes` (one pickle, up to STOP) into plain data. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): unknown {
  return new Unpickler(bytes, opts).run();
}

class Unpickler {
  private pos = 0;
  private stack: unknown[] = [];
  private marks: number[] = [];
  private memo = new Map<number, unknown>();
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array, private readonly opts: UnpickleOptions) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(detail: string): never {
    throw new FormatError(this.opts.where, `pickle: ${detail}`);
  }

  // ---- reading arguments ----
  private take(n: number): number {
    if (n < 0 || this.pos + n > this.bytes.length) this.fail('truncated stream');
    const at = this.pos;
    this.pos += n;
    return at;
  }
  private u8(): number { return this.bytes[this.take(1)]; }
  private u16(): number { return this.view.getUint16(this.take(2), true); }
  private u32(): number { return this.view.getUint32(this.take(4), true); }
  private i32(): number { return this.view.getInt32(this.take(4), true); }
  private u64(): number {
    const v = this.view.getBigUint64(this.take(8), true);
    if (v > BIG) this.fail('length out of range');
    return Number(v);
  }
  private raw(n: number): Uint8Array {
    const at = this.take(n);
    return this.bytes.subarray(at, at + n);
  }
  private utf8(n: number): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.raw(n));
    } catch (e) {
      if (e instanceof FormatError) throw e;
      this.fail('invalid UTF-8 in a string');
    }
  }
  /** A newline-terminated ASCII line (GLOBAL's module and name). */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('truncated stream');
    const s = new TextDecoder('latin1').decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
  /** Little-endian two's complement integer of n bytes (LONG1 / LONG4). */
  private long(n: number): number | bigint {
    if (n > 64) this.fail(`integer of ${n} bytes is too large`);
    const b = this.raw(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= -BIG && v <= BIG ? Number(v) : v;
  }

  // ---- stack ----
  private push(v: unknown): void { this.stack.push(v); }
  private pop(): unknown {
    this.top();
    return this.stack.pop();
  }
  /** The top value (never the MARK sentinel). */
  private top(): unknown {
    const v = this.stack[this.stack.length - 1];
    if (this.stack.length === 0 || v === MARK) this.fail('stack underflow');
    return v;
  }
  private popMark(): unknown[] {
    const at = this.marks.pop();
    if (at === undefined) this.fail('MARK missing');
    const items = this.stack.splice(at);
    items.shift(); // the MARK itself
    return items;
  }
  private mark(): void {
    this.marks.push(this.stack.length);
    this.stack.push(MARK);
  }
  private memoGet(i: number): unknown {
    if (!this.memo.has(i)) this.fail(`memo key ${i} not found`);
    return this.memo.get(i);
  }

  /** Runs an allowlisted handler, turning its PickleValueError into a FormatError. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof PickleValueError) this.fail(e.message);
      throw e;
    }
  }

  private resolve(module: string, name: string): PyGlobal {
    const full = `${module}.${name}`;
    const def = this.opts.globals.get(full);
    if (def === undefined) {
      const why = this.opts.allowed ?? 'only tensors and plain containers are allowed';
      throw new FormatError(this.opts.where,
        `refusing to load global ${quote(full)} from checkpoint: ${why}`);
    }
    return new PyGlobal(module, name, def);
  }

  private setItems(target: unknown, kv: unknown[]): void {
    if (!(target instanceof Map)) this.fail('SETITEM on something that is not a dict');
    if (kv.length % 2 !== 0) this.fail('SETITEMS with an odd number of items');
    for (let i = 0; i < kv.length; i += 2) {
      const k = kv[i];
      if (typeof k === 'object' && k !== null) this.fail('unsupported dict key type');
      target.set(k, kv[i + 1]);
    }
  }

  private append(target: unknown, items: unknown[]): void {
    if (!Array.isArray(target)) this.fail('APPEND on something that is not a list');
    for (const v of items) target.push(v);
  }

  run(): unknown {
    for (;;) {
      const at = this.pos;
      const op = this.u8();
      switch (op) {
        case 0x80: { // PROTO
          const v = this.u8();
          if (v < 2 || v > 5) this.fail(`unsupported pickle protocol ${v}`);
          break;
        }
        case 0x95: this.u64(); break; // FRAME: a length hint only
        case 0x2e: { // STOP
          const v = this.pop();
          if (this.stack.length !== 0) this.fail('stack not empty at STOP');
          return v;
        }
        case 0x28: this.mark(); break; // MARK
        case 0x30: this.pop(); break; // POP
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x32: this.push(this.top()); break; // DUP
        case 0x4e: this.push(null); break; // NONE
        case 0x88: this.push(true); break; // NEWTRUE
        case 0x89: this.push(false); break; // NEWFALSE
        case 0x4a: this.push(this.i32()); break; // BININT
        case 0x4b: this.push(this.u8()); break; // BININT1
        case 0x4d: this.push(this.u16()); break; // BININT2
        case 0x8a: this.push(this.long(this.u8())); break; // LONG1
        case 0x8b: { // LONG4
          const n = this.i32();
          if (n < 0) this.fail('negative LONG4 length');
          this.push(this.long(n));
          break;
        }
        case 0x47: this.push(this.view.getFloat64(this.take(8), false)); break; // BINFLOAT (BE)
        case 0x58: this.push(this.utf8(this.u32())); break; // BINUNICODE
        case 0x8c: this.push(this.utf8(this.u8())); break; // SHORT_BINUNICODE
        case 0x8d: this.push(this.utf8(this.u64())); break; // BINUNICODE8
        case 0x43: this.push(new Uint8Array(this.raw(this.u8()))); break; // SHORT_BINBYTES
        case 0x42: this.push(new Uint8Array(this.raw(this.u32()))); break; // BINBYTES
        case 0x7d: this.push(new Map()); break; // EMPTY_DICT
        case 0x5d: this.push([]); break; // EMPTY_LIST
        case 0x29: this.push([]); break; // EMPTY_TUPLE
        case 0x74: this.push(this.popMark()); break; // TUPLE
        case 0x6c: this.push(this.popMark()); break; // LIST
        case 0x85: this.push([this.pop()]); break; // TUPLE1
        case 0x86: { const b = this.pop(); this.push([this.pop(), b]); break; } // TUPLE2
        case 0x87: { // TUPLE3
          const c = this.pop();
          const b = this.pop();
          this.push([this.pop(), b, c]);
          break;
        }
        case 0x64: { // DICT
          const m = new Map();
          this.setItems(m, this.popMark());
          this.push(m);
          break;
        }
        case 0x61: { const v = this.pop(); this.append(this.top(), [v]); break; } // APPEND
        case 0x65: { // APPENDS
          const items = this.popMark();
          this.append(this.top(), items);
          break;
        }
        case 0x73: { // SETITEM
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case 0x75: { const kv = this.popMark(); this.setItems(this.top(), kv); break; } // SETITEMS
        case 0x71: this.memo.set(this.u8(), this.top()); break; // BINPUT
        case 0x72: this.memo.set(this.u32(), this.top()); break; // LONG_BINPUT
        case 0x94: this.memo.set(this.memo.size, this.top()); break; // MEMOIZE
        case 0x68: this.push(this.memoGet(this.u8())); break; // BINGET
        case 0x6a: this.push(this.memoGet(this.u32())); break; // LONG_BINGET
        case 0x63: { // GLOBAL: module and name, each ended by a newline
          const module = this.line();
          this.push(this.resolve(module, this.line()));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('bad STACK_GLOBAL');
          this.push(this.resolve(module, name));
          break;
        }
        case 0x52: { // REDUCE: callable(*args)
          const args = this.pop();
          const fn = this.pop();
          if (!(fn instanceof PyGlobal) || fn.def.call === undefined || !Array.isArray(args)) {
            this.fail(`REDUCE on something that cannot be called${
              fn instanceof PyGlobal ? ` (${quote(fn.fullName)})` : ''}`);
          }
          this.push(this.guard(() => fn.def.call!(args)));
          break;
        }
        case 0x62: { // BUILD: obj.__setstate__(state): a dict's attributes are ignored
          const state = this.pop();
          const obj = this.top();
          if (obj instanceof Map) break;
          if (!isBuildable(obj)) this.fail('BUILD on an object that takes no state');
          this.guard(() => obj.pickleSetState(state));
          break;
        }
        case 0x51: { // BINPERSID
          const pid = this.pop();
          if (this.opts.persistentLoad === undefined) this.fail('persistent ids are not allowed');
          this.push(this.opts.persistentLoad(pid));
          break;
        }
        default:
          this.fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}`);
      }
    }
  }
}

function isBuildable(v: unknown): v is Buildable {
  return typeof v === 'object' && v !== null &&
    typeof (v as Partial<Buildable>).pickleSetState === 'function';
}
