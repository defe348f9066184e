/**
 * @file `Module`: the base of every network block — named children, parameters and buffers with
 * the official (PyTorch) state-dict names, train/eval mode, and a module-path scope so graph
 * capture can attribute each op to the module that ran it.
 *
 * State-dict order is PyTorch's: a module's own parameters (registration order), then its own
 * buffers, then each child's entries under `<child>.` in registration order. Integer buffers
 * (BatchNorm's `num_batches_tracked`, int64 in PyTorch) are `Counter`s.
 *
 * Parameters are reached through the maps (`param(name)`), never cached in fields, so
 * `packParameters` can move them all into one arena (STYLE lesson 5) after construction.
 */
import { UserError } from '../engine/errors.js';
import { allocF32 } from '../engine/memory.js';
import { Tensor, sameShape, sizeOf } from '../engine/tensor.js';

/** An integer scalar buffer (int64 in the checkpoint). */
export class Counter {
  value = 0;
}

/** One state-dict entry, as stateDict() gives it and as checkpoint readers return them. */
export interface StateEntry {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: ArrayLike<number> | ArrayLike<bigint>;
}

export interface LoadReport {
  readonly missing: string[];
  readonly unexpected: string[];
  /** "key: checkpoint [a, b] vs model [c, d]" */
  readonly wrongShape: string[];
}

// ---- module-path scope (what graph capture reads) -----------------------------------------

const scopeStack: string[] = [];

/** The module path of the innermost running module ('' outside any module). */
export function currentScope(): string {
  return scopeStack.length === 0 ? '' : scopeStack[scopeStack.length - 1];
}

/** Runs `fn` inside a named sub-scope of the current one (e.g. 'f_out0' → 'backbone.f_out0'). */
export function withScope<T>(name: string, fn: () => T): T {
  const cur = currentScope();
  scopeStack.push(cur === '' ? name : `${cur}.${name}`);
  try {
    return fn();
  } finally {
    scopeStack.pop();
  }
}

// ---- the base class -----------------------------------------------------------------------

type AnyModule = Module<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export abstract class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** Full path from the root ('' for the root); set by `assignPaths`. */
  path = '';
  training = true;
  private readonly children = new Map<string, AnyModule>();
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Tensor | Counter>();

  abstract forward(...args: In): Out;

  /** `forward` with this module's path pushed on the scope stack. */
  call(...args: In): Out {
    scopeStack.push(this.path);
    try {
      return this.forward(...args);
    } finally {
      scopeStack.pop();
    }
  }

  protected addModule<M extends AnyModule>(name: string, m: M): M {
    this.checkNew(name);
    this.children.set(name, m);
    return m;
  }

  protected addParameter(name: string, t: Tensor): Tensor {
    this.checkNew(name);
    t.requiresGrad = true;
    this.params.set(name, t);
    return t;
  }

  protected addBuffer<B extends Tensor | Counter>(name: string, b: B): B {
    this.checkNew(name);
    this.buffers.set(name, b);
    return b;
  }

  private checkNew(name: string): void {
    if (this.children.has(name) || this.params.has(name) || this.buffers.has(name)) {
      throw new Error(`module: '${name}' registered twice`);
    }
  }

  /** A registered parameter by local name. */
  param(name: string): Tensor {
    const t = this.params.get(name);
    if (t === undefined) throw new Error(`module ${this.path}: no parameter '${name}'`);
    return t;
  }

  /** A registered buffer by local name. */
  buffer<B extends Tensor | Counter = Tensor>(name: string): B {
    const b = this.buffers.get(name);
    if (b === undefined) throw new Error(`module ${this.path}: no buffer '${name}'`);
    return b as B;
  }

  /** A child by local name. */
  child<M extends AnyModule = AnyModule>(name: string): M {
    const m = this.children.get(name);
    if (m === undefined) throw new Error(`module ${this.path}: no child '${name}'`);
    return m as M;
  }

  /** Sets `path` on this module and every descendant (call once on the root after building). */
  assignPaths(prefix = ''): this {
    this.path = prefix;
    for (const [n, m] of this.children) m.assignPaths(prefix === '' ? n : `${prefix}.${n}`);
    return this;
  }

  /** [path, module] for this module and all descendants, pre-order. */
  namedModules(prefix = ''): [string, AnyModule][] {
    const out: [string, AnyModule][] = [[prefix, this]];
    for (const [n, m] of this.children) out.push(...m.namedModules(join(prefix, n)));
    return out;
  }

  /** [state-dict key, tensor] of every parameter, in state-dict order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.params) out.push([join(prefix, n), t]);
    for (const [n, m] of this.children) out.push(...m.namedParameters(join(prefix, n)));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Every state entry (parameters and buffers) in PyTorch's state-dict order. */
  namedState(prefix = ''): [string, Tensor | Counter][] {
    const out: [string, Tensor | Counter][] = [];
    for (const [n, t] of this.params) out.push([join(prefix, n), t]);
    for (const [n, b] of this.buffers) out.push([join(prefix, n), b]);
    for (const [n, m] of this.children) out.push(...m.namedState(join(prefix, n)));
    return out;
  }

  /** The state dict (copies): float32 tensors and int64 counters, official keys and order. */
  stateDict(): Map<string, StateEntry> {
    const out = new Map<string, StateEntry>();
    for (const [k, v] of this.namedState()) {
      if (v instanceof Counter) {
        out.set(k, { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(v.value)) });
      } else {
        out.set(k, { dtype: 'float32', shape: [...v.shape], data: Float32Array.from(v.data) });
      }
    }
    return out;
  }

  /** Live views of every floating-point state entry (what the EMA and checks iterate over). */
  floatState(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [k, v] of this.namedState()) if (!(v instanceof Counter)) out.set(k, v.data);
    return out;
  }

  /**
   * Copies `state` into the model. Strict (default): any missing, unexpected or wrongly-shaped
   * key is a UserError listing them by name (nothing is modified then). Non-strict: loads what
   * matches and returns the report.
   */
  loadStateDict(state: ReadonlyMap<string, StateEntry>, { strict = true } = {}): LoadReport {
    const own = new Map(this.namedState());
    const missing = [...own.keys()].filter((k) => !state.has(k));
    const unexpected = [...state.keys()].filter((k) => !own.has(k));
    const wrongShape: string[] = [];
    for (const [k, e] of state) {
      const v = own.get(k);
      if (v === undefined) continue;
      const shape = v instanceof Counter ? [] : v.shape;
      const ok = sameShape(e.shape, shape) && e.data.length === sizeOf(shape);
      if (!ok) {
        wrongShape.push(`${k}: checkpoint [${e.shape.join(', ')}] vs model [${shape.join(', ')}]`);
      }
    }
    const report = { missing, unexpected, wrongShape };
    if (strict && (missing.length || unexpected.length || wrongShape.length)) {
      throw new UserError(`state dict does not match the model: ${formatReport(report)}`);
    }
    const bad = new Set(wrongShape.map((s) => s.slice(0, s.indexOf(':'))));
    for (const [k, e] of state) {
      const v = own.get(k);
      if (v === undefined || bad.has(k)) continue;
      if (v instanceof Counter) v.value = Number(e.data[0]);
      else for (let i = 0; i < v.data.length; i++) v.data[i] = Number(e.data[i]);
    }
    return report;
  }

  /** Sets training mode on this module and all descendants. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((a, t) => a + t.size, 0);
  }

  /** Replaces the tensor registered as `name` (used by `packParameters`). */
  private replace(name: string, t: Tensor): void {
    if (this.params.has(name)) this.params.set(name, t);
    else this.buffers.set(name, t);
  }

  /**
   * Moves every float state entry (parameters and buffers, state-dict order) into one arena and
   * returns it; each tensor becomes a named view. Call before any optimizer holds the tensors.
   */
  packParameters(): Float32Array {
    const entries: [AnyModule, string, Tensor][] = [];
    const walk = (m: AnyModule): void => {
      for (const [n, t] of m.params) entries.push([m, n, t]);
      for (const [n, b] of m.buffers) if (b instanceof Tensor) entries.push([m, n, b]);
      for (const [, c] of m.children) walk(c);
    };
    walk(this);
    const arena = allocF32(entries.reduce((a, [, , t]) => a + t.size, 0));
    let off = 0;
    for (const [m, n, t] of entries) {
      const view = arena.subarray(off, off + t.size);
      view.set(t.data);
      m.replace(n, new Tensor(view, t.shape, t.requiresGrad));
      off += t.size;
    }
    return arena;
  }
}

function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

/** A one-line listing of a load report, names abbreviated after 8 per kind. */
export function formatReport(r: LoadReport): string {
  const list = (label: string, xs: string[]) => {
    const more = xs.length > 8 ? ', …' : '';
    return xs.length === 0 ? [] : [`${label} (${xs.length}): ${xs.slice(0, 8).join(', ')}${more}`];
  };
  return [...list('missing', r.missing), ...list('unexpected', r.unexpected),
    ...list('wrong shape', r.wrongShape)].join('; ');
}

/** Children "0", "1", … applied in order (PyTorch nn.Sequential). */
export class Sequential extends Module {
  private readonly items: Module[];
  constructor(items: Module[]) {
    super();
    this.items = items;
    items.forEach((m, i) => this.addModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.items) y = m.call(y);
    return y;
  }
  get length(): number {
    return this.items.length;
  }
}

/** Children "0", "1", … held for indexing, never called as a whole (PyTorch nn.ModuleList). */
export class ModuleList<M extends AnyModule> extends Module<[], never> {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => this.addModule(String(i), m));
  }
  forward(): never {
    throw new Error('ModuleList is not callable');
  }
}
