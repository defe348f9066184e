/**
 * @file The two parametrised layers of YOLO-X: `Conv2d` and `BatchNorm2d`, with PyTorch's state
 * names (weight, bias; weight, bias, running_mean, running_var, num_batches_tracked) and
 * PyTorch's default initialisation drawn from our seeded Rng:
 *   conv weight ~ U(−b, b), b = 1/√fan_in  (kaiming_uniform_ with a = √5: gain·√(3/fan_in),
 *   gain = √(2/(1 + 5)));  conv bias ~ U(−b, b) with the same b;  fan_in = (C/groups)·k·k.
 *   BN: γ = 1, β = 0, running mean 0, running var 1. YOLO-X sets eps = 1e-3, momentum = 0.03.
 */
import { allocF32 } from '../engine/memory.js';
import { Rng } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';
import { conv2d } from '../ops/conv.js';
import { batchNorm2d } from '../ops/batchnorm.js';
import { Counter, Module } from './module.js';

export interface Conv2dConfig {
  readonly cin: number;
  readonly cout: number;
  readonly k: number;
  readonly stride?: number;
  readonly padding?: number;
  readonly groups?: number;
  readonly bias?: boolean;
}

/** y = conv(x, W) (+ b); W [cout, cin/groups, k, k]. */
export class Conv2d extends Module {
  readonly stride: number;
  readonly padding: number;
  readonly groups: number;
  readonly hasBias: boolean;

  constructor(cfg: Conv2dConfig, rng: Rng) {
    super();
    const { cin, cout, k, stride = 1, padding = 0, groups = 1, bias = false } = cfg;
    this.stride = stride;
    this.padding = padding;
    this.groups = groups;
    this.hasBias = bias;
    const fanIn = (cin / groups) * k * k;
    const bound = 1 / Math.sqrt(fanIn);
    const w = Tensor.zeros([cout, cin / groups, k, k]);
    rng.fillUniform(w.data, -bound, bound);
    this.addParameter('weight', w);
    if (bias) {
      const b = Tensor.zeros([cout]);
      rng.fillUniform(b.data, -bound, bound);
      this.addParameter('bias', b);
    }
  }

  get weight(): Tensor {
    return this.param('weight');
  }

  get bias(): Tensor | null {
    return this.hasBias ? this.param('bias') : null;
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, {
      stride: this.stride, padding: this.padding, groups: this.groups,
    });
  }
}

/** Batch normalisation over (N, H, W) per channel; training updates the running statistics. */
export class BatchNorm2d extends Module {
  eps: number;
  momentum: number;

  constructor(channels: number, { eps = 1e-3, momentum = 0.03 } = {}) {
    super();
    this.eps = eps;
    this.momentum = momentum;
    this.addParameter('weight', Tensor.full([channels], 1));
    this.addParameter('bias', Tensor.zeros([channels]));
    this.addBuffer('running_mean', Tensor.zeros([channels]));
    this.addBuffer('running_var', Tensor.full([channels], 1));
    this.addBuffer('num_batches_tracked', new Counter());
  }

  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor {
    return this.param('bias');
  }
  get runningMean(): Tensor {
    return this.buffer('running_mean');
  }
  get runningVar(): Tensor {
    return this.buffer('running_var');
  }
  get numBatchesTracked(): Counter {
    return this.buffer<Counter>('num_batches_tracked');
  }

  /**
   * Evaluation-mode BN (after a conv with bias `convBias`, or none) as one per-channel affine map
   * y = scale·x + shift: scale = γ/√(var + eps), shift = β + (b − mean)·scale, each computed in
   * float64 from the current tensors and rounded once. O(channels): callers recompute it on every
   * forward, so it can never be stale (the trainer and loadStateDict write the tensors in place).
   */
  evalAffine(convBias: Float32Array | null = null): { scale: Float32Array; shift: Float32Array } {
    const C = this.weight.size;
    const gamma = this.weight.data, beta = this.bias.data;
    const mean = this.runningMean.data, variance = this.runningVar.data;
    const scale = allocF32(C), shift = allocF32(C);
    for (let c = 0; c < C; c++) {
      const s = gamma[c] / Math.sqrt(variance[c] + this.eps);
      scale[c] = s;
      shift[c] = beta[c] + ((convBias === null ? 0 : convBias[c]) - mean[c]) * s;
    }
    return { scale, shift };
  }

  forward(x: Tensor): Tensor {
    const y = batchNorm2d(x, this.weight, this.bias, this.runningMean, this.runningVar, {
      training: this.training, momentum: this.momentum, eps: this.eps,
    });
    if (this.training) this.numBatchesTracked.value += 1;
    return y;
  }
}
