/**
 * @file Reverse-mode autograd over a tape of `TapeNode`s.
 *
 * An op computes its output eagerly, then `record()` attaches a backward closure when any input
 * requires grad (and grad is enabled). `backward(loss)` orders the tape topologically by a
 * depth-first search from the loss and runs each closure once, in reverse order. Gradients
 * always accumulate (`+=`): a tensor used twice — the normal case in YOLO-X's CSP blocks —
 * receives the sum of both contributions.
 */
import { ShapeError } from './errors.js';
import { releaseF32 } from './memory.js';
import { Tensor, type TapeNode } from './tensor.js';

let gradEnabled = true;

/** Runs `fn` without recording anything on the tape (evaluation, EMA updates, observers). */
export function noGrad<T>(fn: () => T): T {
  const saved = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = saved;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Observer of every op executed (graph capture uses it); null when nobody listens. A `passive`
 * listener (a profiler) only watches: fused fast paths stay on, and they report themselves
 * through `notifyOp` under their own op names.
 */
export interface OpListener {
  onOp(op: string, inputs: readonly Tensor[], output: Tensor,
    attrs: Readonly<Record<string, unknown>>): void;
  passive?: boolean;
}
let listener: OpListener | null = null;

/** Runs `fn` with `l` told about every op; returns what `fn` returns. */
export function withOpListener<T>(l: OpListener, fn: () => T): T {
  const saved = listener;
  listener = l;
  try {
    return fn();
  } finally {
    listener = saved;
  }
}

/**
 * True while some non-passive `withOpListener` is running (fused fast paths must then stay
 * off).
 */
export function opListenerActive(): boolean {
  return listener !== null && listener.passive !== true;
}

/** Tells a passive listener about an op that records nothing (a fused fast path). */
export function notifyOp(op: string, inputs: readonly Tensor[], output: Tensor,
  attrs: Readonly<Record<string, unknown>> = {}): void {
  if (listener !== null && listener.passive === true) listener.onOp(op, inputs, output, attrs);
}

/**
 * Attaches `output` to the tape as the result of `op` on `inputs`. `backward` receives
 * dL/d(output) and must accumulate into `input.gradBuffer()` for each input with requiresGrad.
 * Returns `output` for chaining.
 */
export function record(
  op: string,
  inputs: readonly Tensor[],
  output: Tensor,
  backward: (gradOutput: Float32Array) => void,
  attrs: Readonly<Record<string, unknown>> = {},
): Tensor {
  if (listener !== null) listener.onOp(op, inputs, output, attrs);
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    output.requiresGrad = true;
    output.producer = { op, inputs, backward } satisfies TapeNode;
  }
  return output;
}

/** Tensors reachable from `root` through producers, each after the inputs it was computed from. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative DFS: a frame is (tensor, index of the next input to visit).
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    const [t, next] = frame;
    const inputs = t.producer?.inputs ?? [];
    if (next < inputs.length) {
      frame[1] = next + 1;
      const child = inputs[next];
      if (child.requiresGrad && !visited.has(child)) {
        visited.add(child);
        stack.push([child, 0]);
      }
    } else {
      order.push(t);
      stack.pop();
    }
  }
  return order;
}

/** Options of `backward`. */
export interface BackwardOptions {
  /**
   * Recycle the tape's memory as backward goes (engine/memory.ts `releaseF32`): each
   * intermediate gradient once its op's backward has used it, and each intermediate tensor's
   * data once no backward step still needs it (its own op's and its consumers' have run).
   * Leaves (parameters, inputs) and `root` are kept. Only for callers that read no
   * intermediate tensor of this graph afterwards: released tensors are left with empty data.
   * Results are bit-identical with or without it.
   */
  freeTape?: boolean;
}

const RELEASED = new Float32Array(new SharedArrayBuffer(0));

/**
 * Backpropagates from `root`. `seed` is dL/d(root); by default 1 for every element (so a scalar
 * loss gets dL/dL = 1). Leaves accumulate into `.grad`; intermediate gradients are freed after
 * use unless `retainGrad` is set.
 */
export function backward(root: Tensor, seed?: Float32Array, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new ShapeError('backward', 'root does not require grad', [root.shape]);
  }
  if (seed !== undefined && seed.length !== root.size) {
    throw new ShapeError('backward', `seed has ${seed.length} elements`, [root.shape]);
  }
  const g = root.gradBuffer();
  if (seed === undefined) for (let i = 0; i < g.length; i++) g[i] += 1;
  else for (let i = 0; i < g.length; i++) g[i] += seed[i];

  const order = topologicalOrder(root);
  const tape = opts.freeTape === true ? tapeBuffers(order, root) : null;
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    if (t.producer === null) continue;
    if (t.grad !== null) {
      t.producer.backward(t.grad);
      if (!t.retainGrad) {
        if (tape !== null) releaseF32(t.grad);
        t.grad = null;
      }
    }
    // Every consumer of t comes later in the order, so all of their backward steps have run.
    if (tape !== null) releaseData(t, tape);
  }
}

/**
 * For each buffer behind the data of an intermediate tensor in `order`: how many such tensors
 * share it. Buffers seen by a leaf or by `root` are left out (never released).
 */
function tapeBuffers(order: readonly Tensor[], root: Tensor): Map<ArrayBufferLike, number> {
  const keep = new Set<ArrayBufferLike>([root.data.buffer]);
  for (const t of order) if (t.producer === null) keep.add(t.data.buffer);
  const count = new Map<ArrayBufferLike, number>();
  for (const t of order) {
    const b = t.data.buffer;
    if (t.producer !== null && !keep.has(b)) count.set(b, (count.get(b) ?? 0) + 1);
  }
  return count;
}

/** Drops t's data; its buffer goes back to the pool when t was the last tensor using it. */
function releaseData(t: Tensor, tape: Map<ArrayBufferLike, number>): void {
  const b = t.data.buffer;
  const n = tape.get(b);
  if (n === undefined) return;
  if (n > 1) tape.set(b, n - 1);
  else {
    tape.delete(b);
    releaseF32(t.data);
  }
  (t as { data: Float32Array }).data = RELEASED;
}
