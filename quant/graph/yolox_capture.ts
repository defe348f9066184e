/**
 * @file Capture of YOLO-X's body: backbone, PAFPN and head convs up to the per-level cats, i.e.
 * what Quark traces between QuantStub and the DeQuantStubs (quark.md §2.1). Decode, loss and NMS
 * are not in the graph.
 *
 * Outputs, per level k:
 *   head.out<k>.cat        cat[reg, σ(obj), σ(cls)] — the eval output (decoded outside, FP32);
 *   head.out<k>.train_cat  cat[reg, obj, cls] — the logits Quark's QAT loss reads.
 * The head is walked here, level by level, with the model's own modules, in the order of Quark's
 * yolo_head.py (stem, cls convs, cls pred, reg convs, reg pred, obj pred, train cat, sigmoids,
 * eval cat) — the same ops as models/head.ts (spec/quant_graph.spec.ts checks it against the
 * model's forward). The model runs in eval mode (BN with running statistics) during capture; its
 * mode is restored.
 */
import { Tensor } from '../../engine/tensor.js';
import { sigmoid } from '../../ops/activation.js';
import { concat } from '../../ops/shape.js';
import { currentScope, withScope } from '../../models/module.js';
import type { YOLOX } from '../../models/yolox.js';
import { capture } from './capture.js';
import type { Graph } from './graph.js';

/** The raw graph (provisional names; see passes/name_yolox.ts). `example` fixes printed shapes. */
export function captureYoloxBody(model: YOLOX, example?: Tensor): Graph {
  const x = example ?? Tensor.zeros([1, 3, 416, 416]);
  const wasTraining = model.training;
  model.eval();
  try {
    const params = model.namedState().filter((e): e is [string, Tensor] => e[1] instanceof Tensor);
    return capture((inp) => {
      const fpn = model.backbone.call(inp);
      const h = model.head;
      const outs = new Map<string, Tensor>();
      // The head walked level by level in the order of Quark's yolo_head.py (the freeze passes
      // sweep nodes in this order, and the reg output is shared by both cats of a level).
      [fpn.panOut2, fpn.panOut1, fpn.panOut0].forEach((xin, k) => {
        const x0 = h.stems.items[k].call(xin);
        const cls = h.cls_preds.items[k].call(h.cls_convs.items[k].call(x0));
        const regFeat = h.reg_convs.items[k].call(x0);
        const reg = h.reg_preds.items[k].call(regFeat);
        const obj = h.obj_preds.items[k].call(regFeat);
        withScope(`head.out${k}`, () => {
          outs.set(`head.out${k}.train_cat`, concat([reg, obj, cls], 1));
          outs.set(`head.out${k}.cat`, concat([reg, sigmoid(obj), sigmoid(cls)], 1));
        });
      });
      return outs;
    }, x, { params, scope: currentScope });
  } finally {
    model.train(wasTraining);
  }
}
