/**
 * @file The YOLO-X training loss: anchor grid, training-output construction, SimOTA, loss terms.
 */
export { anchorGrid, anchorGridForInput, type AnchorGrid, type AnchorLevel } from './anchors.js';
export { trainOutputs, type HeadLevelOutput, type TrainOutputs } from './train_outputs.js';
export { iouCxcywhF32, iouLossCxcywh } from './box_iou.js';
export { simota, geometryConstraint, type SimotaInput, type SimotaResult } from './simota.js';
export {
  yoloxLoss, type LossTerms, type YoloxLossInput, type YoloxLossResult,
} from './yolox_loss.js';
export { lossAndGrad } from './grad_step.js';
