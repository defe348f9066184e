/**
 * @file SGD with momentum and Nesterov, step for step as `torch.optim.SGD` (PyTorch 1.13), and
 * the official YOLO-X parameter groups.
 *
 * Per parameter p with gradient g, in each group (lr, momentum μ, weight decay λ, nesterov):
 *   d = g + λ·p                         (weight decay is added to the gradient first)
 *   buf = d on the first step, else buf = μ·buf + d        (dampening 0)
 *   d = d + μ·buf if nesterov, else d = buf
 *   p = p − lr·d
 * Parameters whose gradient is null are skipped (their momentum is not decayed), like torch.
 * Each update is computed in float64 from the float32 values and rounded once to float32.
 */
import { UserError } from '../../engine/errors.js';
import { releaseF32 } from '../../engine/memory.js';
import type { Tensor } from '../../engine/tensor.js';

export interface ParamGroup {
  readonly name: string;
  readonly params: readonly Tensor[];
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
}

export class Sgd {
  readonly groups: ParamGroup[];
  /** Momentum buffer per parameter, created on its first step. */
  private readonly buffers = new Map<Tensor, Float32Array>();

  constructor(groups: ParamGroup[]) {
    const seen = new Set<Tensor>();
    for (const g of groups) {
      if (g.nesterov && g.momentum <= 0) {
        throw new UserError(`sgd: group ${g.name}: Nesterov momentum requires a momentum > 0`);
      }
      for (const p of g.params) {
        if (seen.has(p)) throw new UserError(`sgd: a parameter appears in two groups (${g.name})`);
        seen.add(p);
      }
    }
    this.groups = groups;
  }

  /** Sets every group's learning rate (the scheduler's per-iteration update). */
  setLr(lr: number): void {
    for (const g of this.groups) g.lr = lr;
  }

  /**
   * Clears every parameter's gradient (torch's zero_grad(set_to_none=True)). The old gradient
   * arrays go back to the allocator (engine/memory.ts) for the next backward to reuse, so a
   * caller must not keep references to them past this call.
   */
  zeroGrad(): void {
    for (const g of this.groups) {
      for (const p of g.params) {
        if (p.grad !== null) releaseF32(p.grad);
        p.grad = null;
      }
    }
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    for (const { params, lr, momentum: mu, weightDecay: wd, nesterov } of this.groups) {
      for (const p of params) {
        const g = p.grad;
        if (g === null) continue;
        const x = p.data;
        let buf = this.buffers.get(p);
        const first = buf === undefined;
        if (buf === undefined && mu !== 0) {
          buf = new Float32Array(x.length);
          this.buffers.set(p, buf);
        }
        for (let i = 0; i < x.length; i++) {
          let d = wd !== 0 ? g[i] + wd * x[i] : g[i];
          if (buf !== undefined) {
            const b = first ? d : mu * buf[i] + d;
            buf[i] = b;
            d = nesterov ? d + mu * buf[i] : buf[i];
          }
          x[i] = x[i] - lr * d;
        }
      }
    }
  }

  /** The momentum buffer of `p` (undefined before its first step). */
  momentumBuffer(p: Tensor): Float32Array | undefined {
    return this.buffers.get(p);
  }

  /** Sets the momentum buffer of `p` (restoring a training checkpoint). */
  setMomentumBuffer(p: Tensor, buf: Float32Array): void {
    if (buf.length !== p.size) throw new UserError('sgd: momentum buffer of the wrong size');
    this.buffers.set(p, buf);
  }
}

/**
 * The official groups (`Exp.get_optimizer`): weights of BatchNorm modules (module name contains
 * "bn") without decay; every other weight (the convs) with `weightDecay`; every bias (BN β and
 * the 9 prediction-conv biases) without decay. All groups share lr, momentum 0.9 and Nesterov.
 * `named` lists parameters by state-dict name (`<module>.weight` / `<module>.bias`).
 */
export function yoloxParamGroups(
  named: readonly (readonly [string, Tensor])[],
  { lr = 0, momentum = 0.9, weightDecay = 5e-4 } = {},
): ParamGroup[] {
  const bn: Tensor[] = [], decay: Tensor[] = [], bias: Tensor[] = [];
  for (const [name, t] of named) {
    const dot = name.lastIndexOf('.');
    const moduleName = name.slice(0, dot), leaf = name.slice(dot + 1);
    if (leaf === 'bias') bias.push(t);
    else if (leaf !== 'weight') throw new UserError(`yoloxParamGroups: unexpected param ${name}`);
    else if (moduleName.includes('bn')) bn.push(t);
    else decay.push(t);
  }
  const g = (name: string, params: Tensor[], wd: number): ParamGroup =>
    ({ name, params, lr, momentum, weightDecay: wd, nesterov: true });
  return [g('bn_weights', bn, 0), g('weights', decay, weightDecay), g('biases', bias, 0)];
}
