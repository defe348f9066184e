/**
 * @file Training utilities of the official YOLO-X recipe: SGD (Nesterov) with its parameter
 * groups, the warm-up + cosine learning-rate schedule, and the model EMA.
 */
export { Sgd, yoloxParamGroups, type ParamGroup } from './sgd.js';
export { yoloxWarmCosLr, BASIC_LR_PER_IMG, type YoloxLrConfig } from './lr_schedule.js';
export { ModelEma, type EmaOptions } from './ema.js';
