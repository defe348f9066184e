/**
 * @file The quantization pipeline up to calibration (quant/README.md):
 *
 *   capture → name → fold Conv+BN → rewrite activations → insert quantizers
 *
 * and the quantized model's forward: the graph's per-level cats decoded in FP32.
 */
import type { Tensor } from '../engine/tensor.js';
import { decodeCats } from '../models/head_decode.js';
import type { YOLOX } from '../models/yolox.js';
import type { Graph } from './graph/graph.js';
import { runGraph, type RunOptions } from './graph/interpreter.js';
import { foldConvBn } from './graph/passes/fold_conv_bn.js';
import { insertQuantizers, type InsertOptions } from './graph/passes/insert_quantizers.js';
import { nameYoloxNodes } from './graph/passes/name_yolox.js';
import { rewriteActivations, type ActivationOptions } from './graph/passes/rewrite_activations.js';
import { captureYoloxBody } from './graph/yolox_capture.js';

export interface PrepareOptions extends InsertOptions {
  activations?: ActivationOptions;
  /** Capture example (shapes shown by formatGraph); default [1, 3, 416, 416]. */
  example?: Tensor;
}

/** The float graph after fold and rewrite, without quantizers. */
export function floatYoloxGraph(model: YOLOX, opts: PrepareOptions = {}): Graph {
  let g = captureYoloxBody(model, opts.example);
  g = nameYoloxNodes(g);
  g = foldConvBn(g);
  return rewriteActivations(g, opts.activations);
}

/** The graph with its 444 quantizers (Quark's rules), observers off and fake-quant on. */
export function prepareYolox(model: YOLOX, opts: PrepareOptions = {}): Graph {
  return insertQuantizers(floatYoloxGraph(model, opts), opts);
}

export interface QuantForward {
  /** [B, A, 5 + C] decoded FP32 from the quantized cats. */
  output: Tensor;
  cats: Tensor[];
  trainCats: Tensor[];
}

/** Runs the graph and decodes its eval cats (FP32, outside the graph). */
export function runYoloxGraph(
  g: Graph, x: Tensor, strides: readonly number[], opts: RunOptions = {},
): QuantForward {
  const outs = runGraph(g, x, opts);
  const cats = strides.map((_, k) => outs.get(`head.out${k}.cat`)!);
  const trainCats = strides.map((_, k) => outs.get(`head.out${k}.train_cat`)!);
  return { output: decodeCats(cats, strides), cats, trainCats };
}
