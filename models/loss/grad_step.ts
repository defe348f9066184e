/**
 * @file One training-mode forward + loss + backward of a YOLO-X model (what the official
 * `model(inps, targets)` then `loss.backward()` do), without an optimizer step.
 *
 * BatchNorm runs on batch statistics and updates its running statistics (momentum 0.03, unbiased
 * variance), exactly once per call, like one official training iteration. Parameter gradients are
 * left in each parameter's `.grad` (previous gradients are cleared first).
 */
import { backward } from '../../engine/autograd.js';
import type { Tensor } from '../../engine/tensor.js';
import type { YOLOX } from '../yolox.js';
import { trainOutputs } from './train_outputs.js';
import { yoloxLoss, type YoloxLossResult } from './yolox_loss.js';

/** Forward (training mode), the official loss, backward. Returns the loss and SimOTA details. */
export function lossAndGrad(
  model: YOLOX, input: Tensor, labels: Tensor, opts: { useL1: boolean },
): YoloxLossResult {
  model.train();
  for (const p of model.parameters()) p.grad = null;
  const { levels } = model.call(input);
  const result = yoloxLoss(trainOutputs(levels, model.head.strides), labels, opts);
  // The graph's intermediates are not returned, so backward may recycle their memory.
  backward(result.loss, undefined, { freeTape: true });
  return result;
}
