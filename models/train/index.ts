/**
 * @file The trainer used for FP32 training and QAT: config, the network strategy, one iteration,
 * checkpoints and the whole run.
 */
export { TRAIN_DEFAULTS, resolveTrainConfig, type TrainConfig } from './config.js';
export { fp32Strategy, type Fp32StrategyOptions, type TrainStrategy } from './strategy.js';
export { Trainer, type StepResult, type TrainData } from './trainer.js';
export {
  emaStateDict, loadTrainState, readTrainStateMeta, saveEmaModel, saveTrainState,
} from './state.js';
export {
  BEST_FILE, LAST_FILE, METRICS_FILE, TRAIN_STATE_FILE, runTraining,
  type EpochMetrics, type EvalResult, type RunOptions, type RunRecord,
} from './run.js';
