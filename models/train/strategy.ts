/**
 * @file What the trainer needs from a network, as an interface, so the same loop trains the FP32
 * model and (later) the fake-quantized QAT graph: the training-mode forward up to the head's raw
 * levels, which parameters train (and their SGD groups), and the state the EMA and checkpoints
 * cover.
 *
 * `fp32Strategy(model)` is the plain YOLO-X: all 5.06 M parameters in the official groups (BN
 * weights / conv weights with decay / biases), BatchNorm on batch statistics. With
 * `freezeBnStats` every BatchNorm runs in evaluation mode during training (running statistics
 * used and never updated, γ and β still train), which is what QAT needs after calibration.
 */
import type { Tensor } from '../../engine/tensor.js';
import type { HeadLevelOutput } from '../loss/train_outputs.js';
import { BatchNorm2d } from '../layers.js';
import type { StateEntry } from '../module.js';
import { yoloxParamGroups, type ParamGroup } from '../optim/sgd.js';
import type { YOLOX } from '../yolox.js';

export interface TrainStrategy {
  /** Strides of the head levels, in level order (8, 16, 32). */
  readonly strides: readonly number[];
  /** Sets training mode before a step (BN on batch statistics unless frozen). */
  trainMode(): void;
  /** The training forward of a batch [B, 3, H, W] up to the head's raw levels. */
  forward(images: Tensor): HeadLevelOutput[];
  /** The parameters SGD updates, by state-dict name (names key the momentum in checkpoints). */
  namedParameters(): [string, Tensor][];
  /** SGD parameter groups over `namedParameters()` (lr is set per iteration). */
  paramGroups(opts: { momentum: number; weightDecay: number }): ParamGroup[];
  /** Live views of every float state entry the EMA follows (parameters and BN statistics). */
  floatState(): Map<string, Float32Array>;
  /** The full state dict (copies), official names and order, for checkpoints. */
  stateDict(): Map<string, StateEntry>;
  /** Loads a state dict written by `stateDict()` (strict). */
  loadStateDict(state: ReadonlyMap<string, StateEntry>): void;
}

export interface Fp32StrategyOptions {
  /** BatchNorm in evaluation mode while training (running statistics frozen). */
  readonly freezeBnStats?: boolean;
  /** Keep only the parameters whose name passes (default: all train). */
  readonly trainable?: (name: string) => boolean;
}

/** The FP32 YOLO-X as a training strategy. */
export function fp32Strategy(model: YOLOX, opts: Fp32StrategyOptions = {}): TrainStrategy {
  const keep = opts.trainable ?? (() => true);
  const named = model.namedParameters().filter(([n]) => keep(n));
  const trainSet = new Set(named.map(([, t]) => t));
  // Parameters that do not train must not be reached by backward: no gradient is computed.
  for (const [, t] of model.namedParameters()) t.requiresGrad = trainSet.has(t);
  const bns = model.namedModules().map(([, m]) => m).filter((m) => m instanceof BatchNorm2d);
  return {
    strides: model.head.strides,
    trainMode() {
      model.train();
      if (opts.freezeBnStats === true) for (const bn of bns) bn.training = false;
    },
    forward(images) {
      return model.call(images).levels;
    },
    namedParameters: () => named,
    paramGroups: ({ momentum, weightDecay }) =>
      yoloxParamGroups(named, { momentum, weightDecay }).filter((g) => g.params.length > 0),
    floatState: () => model.floatState(),
    stateDict: () => model.stateDict(),
    loadStateDict(state) {
      model.loadStateDict(state);
    },
  };
}
