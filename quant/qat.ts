/**
 * @file Quantization-aware training step on the calibrated graph (Quark's recipe, quark.md §4.2):
 * observers OFF, fake-quant ON, BN statistics frozen (convBn always folds the running statistics,
 * so nothing updates them), every scale fixed at its PTQ value; gradients reach conv weights and
 * BN γ/β through the identity straight-through estimator.
 *
 * The loss reads what Quark's reads: per level the quantized logits cat `head.out<k>.train_cat`
 * [B, 4 + 1 + C, h, w], sliced back into reg / obj / cls, and — for the L1 term — the reg output
 * at its own quantizer (`head.reg_preds.<k>.conv_out`, Quark's `l1_loss_reg_output`).
 * The optimizer side (SGD Nesterov, param groups, lr ≈ 1e−4, EMA) is models/optim's, unchanged:
 * the graph reads the model's own parameter tensors.
 */
import { backward } from '../engine/autograd.js';
import type { Tensor } from '../engine/tensor.js';
import type { HeadLevelOutput } from '../models/loss/train_outputs.js';
import { trainOutputs } from '../models/loss/train_outputs.js';
import { yoloxLoss, type YoloxLossResult } from '../models/loss/yolox_loss.js';
import { yoloxParamGroups } from '../models/optim/sgd.js';
import type { TrainStrategy } from '../models/train/strategy.js';
import type { YOLOX } from '../models/yolox.js';
import { slice } from '../ops/shape.js';
import { setQuantState } from './calibrate.js';
import type { Graph } from './graph/graph.js';
import { runGraph } from './graph/interpreter.js';

/** The head levels the QAT loss sees: the quantized logits cats and the quantized reg outputs. */
export function qatLevels(
  g: Graph, x: Tensor, strides: readonly number[],
): { levels: HeadLevelOutput[]; regForL1: Tensor[] } {
  const regTaps = new Map<string, Tensor>();
  const outs = runGraph(g, x, {
    onValue: (n, v) => {
      if (/^fq\.head\.reg_preds\.\d+\.conv_out$/.test(n.name)) regTaps.set(n.name, v);
    },
  });
  const levels = strides.map((_, k) => {
    const t = outs.get(`head.out${k}.train_cat`)!;
    const D = t.shape[1];
    return { reg: slice(t, 1, 0, 4), obj: slice(t, 1, 4, 5), cls: slice(t, 1, 5, D) };
  });
  const regForL1 = strides.map((_, k) => regTaps.get(`fq.head.reg_preds.${k}.conv_out`)!);
  return { levels, regForL1 };
}

/** Quark's `_quant_train_mode_adjust`: observers OFF, fake-quant ON (BN is always frozen here). */
export function enterQatMode(g: Graph): void {
  setQuantState(g, { observer: false, fakeQuant: true });
}

/**
 * One QAT forward + loss + backward (no optimizer step) with the quantizers as they are (call
 * `enterQatMode` first). Clears the parameters' gradients first, leaves the new ones in `.grad`.
 */
export function qatLossAndGrad(
  model: YOLOX, g: Graph, input: Tensor, labels: Tensor, opts: { useL1: boolean },
): YoloxLossResult {
  for (const p of model.parameters()) p.grad = null;
  const strides = model.head.strides;
  const { levels, regForL1 } = qatLevels(g, input, strides);
  const to = trainOutputs(levels, strides);
  const originPreds = opts.useL1
    ? trainOutputs(levels.map((l, k) => ({ ...l, reg: regForL1[k] })), strides).originPreds
    : to.originPreds;
  const result = yoloxLoss({ output: to.output, originPreds, grid: to.grid }, labels, opts);
  backward(result.loss);
  return result;
}

/**
 * The QAT network as a models/train strategy, so `Trainer` / `runTraining` train it unchanged:
 * the forward is the quantized graph up to the logits cats (sliced into levels), every model
 * parameter trains in YOLO-X's groups (Quark's get_optimizer: BN γ / conv weights with decay /
 * biases), and the EMA and checkpoints cover the model's state (scales stay in scales.json).
 * Difference from Quark: the trainer's L1 term reads the reg slice of the logits cat (its scale),
 * where Quark's reads the reg output at its own quantizer (`qatLossAndGrad` does that).
 */
export function qatStrategy(model: YOLOX, g: Graph): TrainStrategy {
  const named = model.namedParameters();
  for (const [, t] of named) t.requiresGrad = true;
  const strides = model.head.strides;
  return {
    strides,
    trainMode: () => enterQatMode(g),
    forward: (images) => qatLevels(g, images, strides).levels,
    namedParameters: () => named,
    paramGroups: ({ momentum, weightDecay }) =>
      yoloxParamGroups(named, { momentum, weightDecay }).filter((p) => p.params.length > 0),
    floatState: () => model.floatState(),
    stateDict: () => model.stateDict(),
    loadStateDict: (state) => {
      model.loadStateDict(state);
    },
  };
}
