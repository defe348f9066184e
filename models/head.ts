/**
 * @file YOLOXHead (official yolox/models/yolo_head.py, decoupled head). Per level k (input
 * c_k = 96/192/384 channels for tiny, hidden h = int(256·width) = 96):
 *   x = stems.k(in_k)                 BaseConv c_k→h 1×1
 *   cls_feat = cls_convs.k(x)         two BaseConv h→h 3×3
 *   reg_feat = reg_convs.k(x)         two BaseConv h→h 3×3
 *   cls = cls_preds.k(cls_feat) [B,C,h,w];  reg = reg_preds.k(reg_feat) [B,4,h,w];
 *   obj = obj_preds.k(reg_feat) [B,1,h,w]   (objectness from the REG branch)
 * Eval: out_k = cat[reg, σ(obj), σ(cls)] (channels 4 + 1 + C), then the decode
 * (models/head_decode.ts) → [B, A, 5 + C]. Training returns the raw levels (the loss builds its
 * own outputs, models/loss/train_outputs.ts).
 * Registration order (= state-dict order) is the official one: cls_convs, reg_convs, cls_preds,
 * reg_preds, obj_preds, stems. Prediction biases for cls and obj start at −log((1 − p)/p),
 * p = 0.01.
 */
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { sigmoid } from '../ops/activation.js';
import { concat } from '../ops/shape.js';
import { BaseConv } from './blocks.js';
import { decodeCats, type RawLevel } from './head_decode.js';
import { Conv2d } from './layers.js';
import { Module, ModuleList, Sequential, withScope } from './module.js';
import { callReleasing, releaseDead } from './release.js';

export interface HeadOutputs {
  /** Raw per-level prediction maps (before any activation), strides 8, 16, 32. */
  readonly levels: RawLevel[];
  /** Eval mode: the per-level concatenations [B, 5 + C, h, w]; null in training. */
  readonly cats: Tensor[] | null;
  /** Eval mode: decoded [B, A, 5 + C]; null in training. */
  readonly output: Tensor | null;
}

export class YOLOXHead extends Module<[readonly Tensor[]], HeadOutputs> {
  readonly numClasses: number;
  readonly strides: readonly number[];
  readonly cls_convs: ModuleList<Sequential>;
  readonly reg_convs: ModuleList<Sequential>;
  readonly cls_preds: ModuleList<Conv2d>;
  readonly reg_preds: ModuleList<Conv2d>;
  readonly obj_preds: ModuleList<Conv2d>;
  readonly stems: ModuleList<BaseConv>;

  constructor(
    numClasses: number, width: number, rng: Rng,
    strides: readonly number[] = [8, 16, 32], inChannels: readonly number[] = [256, 512, 1024],
  ) {
    super();
    this.numClasses = numClasses;
    this.strides = strides;
    const h = Math.trunc(256 * width);
    // Built level by level (the official construction order), registered list by list.
    const stems: BaseConv[] = [], clsConvs: Sequential[] = [], regConvs: Sequential[] = [];
    const clsPreds: Conv2d[] = [], regPreds: Conv2d[] = [], objPreds: Conv2d[] = [];
    for (const cin of inChannels) {
      stems.push(new BaseConv(Math.trunc(cin * width), h, 1, 1, rng));
      clsConvs.push(new Sequential([new BaseConv(h, h, 3, 1, rng), new BaseConv(h, h, 3, 1, rng)]));
      regConvs.push(new Sequential([new BaseConv(h, h, 3, 1, rng), new BaseConv(h, h, 3, 1, rng)]));
      clsPreds.push(new Conv2d({ cin: h, cout: numClasses, k: 1, bias: true }, rng));
      regPreds.push(new Conv2d({ cin: h, cout: 4, k: 1, bias: true }, rng));
      objPreds.push(new Conv2d({ cin: h, cout: 1, k: 1, bias: true }, rng));
    }
    this.cls_convs = this.addModule('cls_convs', new ModuleList(clsConvs));
    this.reg_convs = this.addModule('reg_convs', new ModuleList(regConvs));
    this.cls_preds = this.addModule('cls_preds', new ModuleList(clsPreds));
    this.reg_preds = this.addModule('reg_preds', new ModuleList(regPreds));
    this.obj_preds = this.addModule('obj_preds', new ModuleList(objPreds));
    this.stems = this.addModule('stems', new ModuleList(stems));
    this.initializeBiases(0.01);
  }

  /** cls and obj prediction biases = −log((1 − p)/p), so every score starts at p (official). */
  initializeBiases(priorProb: number): void {
    const b = -Math.log((1 - priorProb) / priorProb);
    for (const m of [...this.cls_preds.items, ...this.obj_preds.items]) m.bias!.data.fill(b);
  }

  forward(inputs: readonly Tensor[]): HeadOutputs {
    const levels: RawLevel[] = inputs.map((xin, k) => {
      // Features are freed after their last read (models/release.ts); the levels are returned.
      const x = this.stems.items[k].call(xin);
      const clsFeat = callReleasing(this.cls_convs.items[k], x);
      const cls = this.cls_preds.items[k].call(clsFeat);
      releaseDead([clsFeat], [xin]);
      const regFeat = callReleasing(this.reg_convs.items[k], x);
      releaseDead([x], [xin]);
      const reg = this.reg_preds.items[k].call(regFeat);
      const obj = this.obj_preds.items[k].call(regFeat);
      releaseDead([regFeat], [xin]);
      return { reg, obj, cls };
    });
    if (this.training) return { levels, cats: null, output: null };
    const cats = levels.map(({ reg, obj, cls }, k) => withScope(`out${k}`, () => {
      const sObj = sigmoid(obj), sCls = sigmoid(cls);
      const cat = concat([reg, sObj, sCls], 1);
      releaseDead([sObj, sCls]);
      return cat;
    }));
    return { levels, cats, output: decodeCats(cats, this.strides) };
  }
}
