/**
 * @file YOLOPAFPN, the YOLO-X neck (official yolox/models/yolo_pafpn.py). With w = width and
 * backbone outputs x2 = dark3 (256w ch, /8), x1 = dark4 (512w, /16), x0 = dark5 (1024w, /32):
 *   fpn_out0 = lateral_conv0(x0)                      f_out0 = C3_p4(cat[up2(fpn_out0), x1])
 *   fpn_out1 = reduce_conv1(f_out0)                   pan_out2 = C3_p3(cat[up2(fpn_out1), x2])
 *   pan_out1 = C3_n3(cat[bu_conv2(pan_out2), fpn_out1])
 *   pan_out0 = C3_n4(cat[bu_conv1(pan_out1), fpn_out0])
 * CSP depth round(3·depth), no shortcut; up2 = nearest ×2. Sub-scopes f_out0, f_out1, p_out1,
 * p_out0 name the upsample/concat ops for graph capture (the official variable names).
 */
import type { Rng } from '../engine/rng.js';
import { roundHalfEven } from '../engine/round.js';
import type { Tensor } from '../engine/tensor.js';
import { concat } from '../ops/shape.js';
import { upsampleNearest2x } from '../ops/upsample.js';
import { BaseConv, CSPLayer } from './blocks.js';
import { CSPDarknet, type DarknetFeatures } from './darknet.js';
import { Module, withScope } from './module.js';
import { releaseDead } from './release.js';

export interface PafpnOutputs {
  readonly backbone: DarknetFeatures;
  /** Strides 8, 16, 32 (the official tuple order pan_out2, pan_out1, pan_out0). */
  readonly panOut2: Tensor;
  readonly panOut1: Tensor;
  readonly panOut0: Tensor;
}

export class YOLOPAFPN extends Module<[Tensor], PafpnOutputs> {
  readonly backbone: CSPDarknet;
  readonly lateral_conv0: BaseConv;
  readonly C3_p4: CSPLayer;
  readonly reduce_conv1: BaseConv;
  readonly C3_p3: CSPLayer;
  readonly bu_conv2: BaseConv;
  readonly C3_n3: CSPLayer;
  readonly bu_conv1: BaseConv;
  readonly C3_n4: CSPLayer;

  constructor(
    depth: number, width: number, rng: Rng, inChannels: readonly number[] = [256, 512, 1024],
  ) {
    super();
    const [c2, c1, c0] = inChannels.map((c) => Math.trunc(c * width));
    const n = roundHalfEven(3 * depth);
    this.backbone = this.addModule('backbone', new CSPDarknet(depth, width, rng));
    this.lateral_conv0 = this.addModule('lateral_conv0', new BaseConv(c0, c1, 1, 1, rng));
    this.C3_p4 = this.addModule('C3_p4', new CSPLayer(2 * c1, c1, n, false, rng));
    this.reduce_conv1 = this.addModule('reduce_conv1', new BaseConv(c1, c2, 1, 1, rng));
    this.C3_p3 = this.addModule('C3_p3', new CSPLayer(2 * c2, c2, n, false, rng));
    this.bu_conv2 = this.addModule('bu_conv2', new BaseConv(c2, c2, 3, 2, rng));
    this.C3_n3 = this.addModule('C3_n3', new CSPLayer(2 * c2, c1, n, false, rng));
    this.bu_conv1 = this.addModule('bu_conv1', new BaseConv(c1, c1, 3, 2, rng));
    this.C3_n4 = this.addModule('C3_n4', new CSPLayer(2 * c1, c0, n, false, rng));
  }

  forward(x: Tensor): PafpnOutputs {
    const feats = this.backbone.call(x);
    const { dark3: x2, dark4: x1, dark5: x0 } = feats;
    // Intermediates are freed after their last read (models/release.ts); the features and the
    // pan outputs are returned.
    const upCat = (name: string, t: Tensor, skip: Tensor): Tensor => withScope(name, () => {
      const up = upsampleNearest2x(t);
      const cat = concat([up, skip], 1);
      releaseDead([up]);
      return cat;
    });
    const downCat = (name: string, conv: BaseConv, t: Tensor, skip: Tensor): Tensor =>
      withScope(name, () => {
        const down = conv.call(t);
        const cat = concat([down, skip], 1);
        releaseDead([down]);
        return cat;
      });
    const fpnOut0 = this.lateral_conv0.call(x0);
    const fOut0 = upCat('f_out0', fpnOut0, x1);
    const c3p4 = this.C3_p4.call(fOut0);
    const fpnOut1 = this.reduce_conv1.call(c3p4);
    releaseDead([fOut0, c3p4]);
    const fOut1 = upCat('f_out1', fpnOut1, x2);
    const panOut2 = this.C3_p3.call(fOut1);
    releaseDead([fOut1]);
    const pOut1 = downCat('p_out1', this.bu_conv2, panOut2, fpnOut1);
    const panOut1 = this.C3_n3.call(pOut1);
    releaseDead([pOut1, fpnOut1]);
    const pOut0 = downCat('p_out0', this.bu_conv1, panOut1, fpnOut0);
    const panOut0 = this.C3_n4.call(pOut0);
    releaseDead([pOut0, fpnOut0]);
    return { backbone: feats, panOut2, panOut1, panOut0 };
  }
}
