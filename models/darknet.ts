/**
 * @file CSPDarknet, the YOLO-X backbone (official yolox/models/darknet.py), for depth/width
 * multipliers (tiny: 0.33 / 0.375 → base 24 channels, base depth 1):
 *   stem  Focus 3→c (3×3)                                     → c  @ /2
 *   dark2 BaseConv c→2c s2, CSPLayer n=d                      → 2c @ /4
 *   dark3 BaseConv 2c→4c s2, CSPLayer n=3d                    → 4c @ /8
 *   dark4 BaseConv 4c→8c s2, CSPLayer n=3d                    → 8c @ /16
 *   dark5 BaseConv 8c→16c s2, SPPBottleneck, CSPLayer n=d (no shortcut) → 16c @ /32
 */
import type { Rng } from '../engine/rng.js';
import { roundHalfEven } from '../engine/round.js';
import type { Tensor } from '../engine/tensor.js';
import { BaseConv, CSPLayer, Focus, SPPBottleneck } from './blocks.js';
import { Module, Sequential } from './module.js';
import { callReleasing } from './release.js';

export interface DarknetFeatures {
  readonly stem: Tensor;
  readonly dark2: Tensor;
  readonly dark3: Tensor;
  readonly dark4: Tensor;
  readonly dark5: Tensor;
}

export class CSPDarknet extends Module<[Tensor], DarknetFeatures> {
  readonly stem: Focus;
  readonly dark2: Sequential;
  readonly dark3: Sequential;
  readonly dark4: Sequential;
  readonly dark5: Sequential;

  constructor(depth: number, width: number, rng: Rng) {
    super();
    const c = Math.trunc(width * 64);
    const d = Math.max(roundHalfEven(depth * 3), 1); // Python round()
    this.stem = this.addModule('stem', new Focus(3, c, 3, rng));
    this.dark2 = this.addModule('dark2', new Sequential([
      new BaseConv(c, 2 * c, 3, 2, rng), new CSPLayer(2 * c, 2 * c, d, true, rng)]));
    this.dark3 = this.addModule('dark3', new Sequential([
      new BaseConv(2 * c, 4 * c, 3, 2, rng), new CSPLayer(4 * c, 4 * c, 3 * d, true, rng)]));
    this.dark4 = this.addModule('dark4', new Sequential([
      new BaseConv(4 * c, 8 * c, 3, 2, rng), new CSPLayer(8 * c, 8 * c, 3 * d, true, rng)]));
    this.dark5 = this.addModule('dark5', new Sequential([
      new BaseConv(8 * c, 16 * c, 3, 2, rng),
      new SPPBottleneck(16 * c, 16 * c, rng),
      new CSPLayer(16 * c, 16 * c, d, false, rng)]));
  }

  forward(x: Tensor): DarknetFeatures {
    const stem = this.stem.call(x);
    // Each stage's inner outputs are freed as soon as read (models/release.ts).
    const dark2 = callReleasing(this.dark2, stem);
    const dark3 = callReleasing(this.dark3, dark2);
    const dark4 = callReleasing(this.dark4, dark3);
    const dark5 = callReleasing(this.dark5, dark4);
    return { stem, dark2, dark3, dark4, dark5 };
  }
}
