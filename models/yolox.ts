/**
 * @file YOLOX = YOLOPAFPN backbone + YOLOXHead (official yolox/models/yolox.py), and the
 * YOLO-X Tiny configuration (exps/default/yolox_tiny.py: depth 0.33, width 0.375, 80 classes,
 * BN eps 1e-3 momentum 0.03, prior bias 0.01). About 5.06 M parameters; 462 state-dict entries.
 *
 * `forward(x)` (x: [B, 3, H, W] BGR 0..255, H and W multiples of 32) returns every named
 * intermediate (the fixture names: backbone.backbone.stem, …dark2..dark5, backbone.pan_out0..2),
 * the raw head levels and, in eval mode, the decoded [B, A, 5 + C] output.
 */
import { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import type { RawLevel } from './head_decode.js';
import { YOLOXHead } from './head.js';
import { Module } from './module.js';
import { YOLOPAFPN } from './pafpn.js';

export interface YoloxConfig {
  readonly depth: number;
  readonly width: number;
  readonly numClasses: number;
  /** Seed of the parameter initialisation. */
  readonly seed: number;
}

export const YOLOX_TINY: YoloxConfig = { depth: 0.33, width: 0.375, numClasses: 80, seed: 0 };

export interface YoloxOutputs {
  /** Fixture-named intermediates, in forward order. */
  readonly named: Map<string, Tensor>;
  readonly levels: RawLevel[];
  /** Eval mode: [B, A, 5 + C] decoded; null in training mode. */
  readonly output: Tensor | null;
}

export class YOLOX extends Module<[Tensor], YoloxOutputs> {
  readonly config: YoloxConfig;
  readonly backbone: YOLOPAFPN;
  readonly head: YOLOXHead;
  /** All float parameters and buffers, in state-dict order (named views into it). */
  readonly arena: Float32Array;

  constructor(config: Partial<YoloxConfig> = {}) {
    super();
    this.config = { ...YOLOX_TINY, ...config };
    const { depth, width, numClasses, seed } = this.config;
    const rng = new Rng(seed);
    this.backbone = this.addModule('backbone', new YOLOPAFPN(depth, width, rng));
    this.head = this.addModule('head', new YOLOXHead(numClasses, width, rng));
    this.assignPaths();
    this.arena = this.packParameters();
  }

  forward(x: Tensor): YoloxOutputs {
    const fpn = this.backbone.call(x);
    const head = this.head.call([fpn.panOut2, fpn.panOut1, fpn.panOut0]);
    const named = new Map<string, Tensor>();
    const b = fpn.backbone;
    named.set('backbone.backbone.stem', b.stem);
    named.set('backbone.backbone.dark2', b.dark2);
    named.set('backbone.backbone.dark3', b.dark3);
    named.set('backbone.backbone.dark4', b.dark4);
    named.set('backbone.backbone.dark5', b.dark5);
    named.set('backbone.pan_out2', fpn.panOut2);
    named.set('backbone.pan_out1', fpn.panOut1);
    named.set('backbone.pan_out0', fpn.panOut0);
    head.levels.forEach((l, k) => {
      named.set(`head.reg_preds.${k}`, l.reg);
      named.set(`head.obj_preds.${k}`, l.obj);
      named.set(`head.cls_preds.${k}`, l.cls);
    });
    if (head.output !== null) named.set('head.output', head.output);
    return { named, levels: head.levels, output: head.output };
  }
}

/** A YOLO-X Tiny with the official initialisation (seeded), in training mode like get_model(). */
export function yoloxTiny(seed = 0): YOLOX {
  return new YOLOX({ seed });
}
