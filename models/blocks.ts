/**
 * @file YOLO-X building blocks (official yolox/models/network_blocks.py), attribute names = the
 * official state-dict names. Shapes NCHW; "k" kernel, "s" stride; padding is always (k − 1)/2.
 */
import { isGradEnabled, opListenerActive } from '../engine/autograd.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { silu } from '../ops/activation.js';
import { conv2dAffineAct } from '../ops/conv_fused.js';
import { add } from '../ops/elementwise.js';
import { maxPool2d } from '../ops/pool.js';
import { concat, slice, spaceToDepth2 } from '../ops/shape.js';
import { BatchNorm2d, Conv2d } from './layers.js';
import { Module, Sequential, withScope } from './module.js';
import { callReleasing, releaseDead, releasing } from './release.js';

let fusedEnabled = true;

/** Turn BaseConv's fused evaluation path off (false) or back on; for A/B checks and benchmarks. */
export function setFusedBaseConv(enabled: boolean): void {
  fusedEnabled = enabled;
}

/**
 * BaseConv: Conv2d(k, s, no bias) → BatchNorm2d(eps 1e-3, momentum 0.03) → SiLU.
 * In evaluation mode, when nothing will be recorded (no gradient wanted: grad disabled or no
 * input requires it) and no op listener (graph capture) is running, the three ops run as one
 * fused conv (ops/conv_fused.ts: BN as a per-channel scale and shift in the GEMM epilogue, then
 * SiLU). The result differs from the three-op chain only by float32 rounding (spec/
 * conv_fused.spec.ts). Training mode, gradients and capture always take the three-op chain.
 */
export class BaseConv extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;

  constructor(cin: number, cout: number, k: number, stride: number, rng: Rng) {
    super();
    const padding = (k - 1) / 2;
    this.conv = this.addModule('conv', new Conv2d({ cin, cout, k, stride, padding }, rng));
    this.bn = this.addModule('bn', new BatchNorm2d(cout));
  }

  forward(x: Tensor): Tensor {
    if (this.canFuse(x)) {
      const { scale, shift } = this.bn.evalAffine(this.conv.bias?.data ?? null);
      return conv2dAffineAct(x, this.conv.weight, scale, shift, 'silu', {
        stride: this.conv.stride, padding: this.conv.padding, groups: this.conv.groups,
      });
    }
    return silu(this.bn.call(this.conv.call(x)));
  }

  /** True when the fused path gives what the chain would, tape and listeners included. */
  private canFuse(x: Tensor): boolean {
    if (!fusedEnabled || this.bn.training || opListenerActive()) return false;
    if (!isGradEnabled()) return true;
    const c = this.conv, b = this.bn;
    return ![x, c.weight, c.bias, b.weight, b.bias].some((t) => t !== null && t.requiresGrad);
  }
}

/** Bottleneck: BaseConv 1×1 → BaseConv 3×3, plus the input when `shortcut` and cin = cout. */
export class Bottleneck extends Module {
  readonly conv1: BaseConv;
  readonly conv2: BaseConv;
  readonly useAdd: boolean;

  constructor(cin: number, cout: number, shortcut: boolean, rng: Rng, expansion = 1.0) {
    super();
    const hidden = Math.trunc(cout * expansion);
    this.conv1 = this.addModule('conv1', new BaseConv(cin, hidden, 1, 1, rng));
    this.conv2 = this.addModule('conv2', new BaseConv(hidden, cout, 3, 1, rng));
    this.useAdd = shortcut && cin === cout;
  }

  forward(x: Tensor): Tensor {
    const h = this.conv1.call(x);
    const y = this.conv2.call(h);
    releaseDead([h], [x]);
    if (!this.useAdd) return y;
    const out = add(y, x);
    releaseDead([y], [x]);
    return out;
  }
}

/** CSPLayer: conv3(cat[m(conv1(x)), conv2(x)]), m = n Bottlenecks on hidden = cout/2 channels. */
export class CSPLayer extends Module {
  readonly conv1: BaseConv;
  readonly conv2: BaseConv;
  readonly conv3: BaseConv;
  readonly m: Sequential;

  constructor(cin: number, cout: number, n: number, shortcut: boolean, rng: Rng, expansion = 0.5) {
    super();
    const hidden = Math.trunc(cout * expansion);
    this.conv1 = this.addModule('conv1', new BaseConv(cin, hidden, 1, 1, rng));
    this.conv2 = this.addModule('conv2', new BaseConv(cin, hidden, 1, 1, rng));
    this.conv3 = this.addModule('conv3', new BaseConv(2 * hidden, cout, 1, 1, rng));
    const blocks = Array.from({ length: n },
      () => new Bottleneck(hidden, hidden, shortcut, rng, 1.0));
    this.m = this.addModule('m', new Sequential(blocks));
  }

  forward(x: Tensor): Tensor {
    const a = this.conv1.call(x);
    const x1 = callReleasing(this.m, a);
    const x2 = this.conv2.call(x);
    const cat = concat([x1, x2], 1);
    releaseDead([a, x1, x2], [x]);
    const y = this.conv3.call(cat);
    releaseDead([cat]);
    return y;
  }
}

/** SPPBottleneck: conv2(cat[x, pool5(x), pool9(x), pool13(x)]) with x = conv1(input) (cin/2). */
export class SPPBottleneck extends Module {
  readonly conv1: BaseConv;
  readonly conv2: BaseConv;
  readonly kernels: readonly number[];

  constructor(cin: number, cout: number, rng: Rng, kernels: readonly number[] = [5, 9, 13]) {
    super();
    const hidden = Math.trunc(cin / 2);
    this.kernels = kernels;
    this.conv1 = this.addModule('conv1', new BaseConv(cin, hidden, 1, 1, rng));
    const cat = hidden * (kernels.length + 1);
    this.conv2 = this.addModule('conv2', new BaseConv(cat, cout, 1, 1, rng));
  }

  forward(x: Tensor): Tensor {
    const y = this.conv1.call(x);
    // Stride-1 max-pools with padding k/2 (−∞) keep the size: the official nn.ModuleList `m`.
    const pools = this.kernels.map((k) =>
      withScope(`pool${k}`,
        () => maxPool2d(y, { kernel: k, stride: 1, padding: Math.trunc(k / 2) })));
    const cat = concat([y, ...pools], 1);
    releaseDead([y, ...pools], [x]);
    const out = this.conv2.call(cat);
    releaseDead([cat]);
    return out;
  }
}

/**
 * Focus: space-to-depth then BaseConv. [B, C, H, W] → 4 patches [B, C, H/2, W/2] concatenated in
 * the order top-left (even row, even col), bottom-left (odd row, even col), top-right, bottom-right
 * → [B, 4C, H/2, W/2] → conv.
 */
export class Focus extends Module {
  readonly conv: BaseConv;

  constructor(cin: number, cout: number, k: number, rng: Rng) {
    super();
    this.conv = this.addModule('conv', new BaseConv(4 * cin, cout, k, 1, rng));
  }

  forward(x: Tensor): Tensor {
    if (releasing() && x.shape[2] % 2 === 0 && x.shape[3] % 2 === 0) {
      // Nothing recorded or captured: the slices and concat as one copy (same values).
      const cat = spaceToDepth2(x);
      const y = this.conv.call(cat);
      releaseDead([cat], [x]);
      return y;
    }
    const offsets: [number, number][] = [[0, 0], [1, 0], [0, 1], [1, 1]]; // (row, col) parity
    const patches = offsets.map(([r, c], i) => withScope(`focus.slice${i}`, () => {
      const rows = slice(x, 2, r, Infinity, 2);
      const patch = slice(rows, 3, c, Infinity, 2);
      releaseDead([rows], [x]);
      return patch;
    }));
    const cat = concat(patches, 1);
    releaseDead(patches, [x]);
    const y = this.conv.call(cat);
    releaseDead([cat], [x]);
    return y;
  }
}
