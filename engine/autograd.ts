/**
 * @file Reverse-mode autograd over a tape of `TapeNode`s.
 *
 * An op computes its output eagerly, then `record()` attaches a backward closure when any input
 * requires grad (and grad is enabled). `backward(loss)` orders the tape topologically by a
 * depth-first search from the loss and runs each closure once, in reverse order. Gradients always
 * accumulate (`+=`): a tensor used twice — the normal case in YOLO-X's CSP blocks — receives the
 * sum of both contributions.
 */
import { ShapeError } from './errors.js';
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

/** Observer of every op executed (graph capture uses it); null when nobody listens. */
export interface OpListener {
  onOp(op: string, inputs: readonly Tensor[], output: Tensor, attrs: Readonly<Record<string, unknown>>): void;
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

/** True while some `withOpListener` is running (fused fast paths must then stay off). */
export function opListenerActive(): boolean {
  return listener !== null;
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

/** Tensors reachable from `root` through producers, inputs before the tensors computed from them. */
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

/**
 * Backpropagates from `root`. `seed` is dL/d(root); by default 1 for every element (so a scalar
 * loss gets dL/dL = 1). Leaves accumulate into `.grad`; intermediate gradients are freed after
 * use unless `retainGrad` is set.
 */
export function backward(root: Tensor, seed?: Float32Array): void {
  if (!root.requiresGrad) throw new ShapeError('backward', 'root does not require grad', [root.shape]);
  if (seed !== undefined && seed.length !== root.size) {
    throw new ShapeError('backward', `seed has ${seed.length} elements`, [root.shape]);
  }
  const g = root.gradBuffer();
  if (seed === undefined) for (let i = 0; i < g.length; i++) g[i] += 1;
  else for (let i = 0; i < g.length; i++) g[i] += seed[i];

  const order = topologicalOrder(root);
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    if (t.producer === null || t.grad === null) continue;
    t.producer.backward(t.grad);
    if (!t.retainGrad) t.grad = null;
  }
}
