/**
 * @file Capture of YOLO-X's body: backbone, PAFPN and head convs up to the per-level cats, i.e.
 * what Quark traces between QuantStub and the DeQuantStubs (quark.md §2.1). Decode, loss and NMS
 * are not in the graph.
 *
 * Outputs, per level k:
 *   head.out<k>.cat        cat[reg, σ(obj), σ(cls)] — the eval output (decoded outside, FP32);
 *   head.out<k>.train_cat  cat[reg, obj, cls] — the logits Quark's QAT loss reads.
 * The model runs in eval mode (BN with running statistics) during capture; its mode is restored.
 */
import { Tensor } from '../../engine/tensor.js';
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
      const head = model.head.call([fpn.panOut2, fpn.panOut1, fpn.panOut0]);
      const outs = new Map<string, Tensor>();
      head.levels.forEach(({ reg, obj, cls }, k) => {
        const logits = withScope(`head.out${k}`, () => concat([reg, obj, cls], 1));
        outs.set(`head.out${k}.train_cat`, logits);
        outs.set(`head.out${k}.cat`, head.cats![k]);
      });
      return outs;
    }, x, { params, scope: currentScope });
  } finally {
    model.train(wasTraining);
  }
}
