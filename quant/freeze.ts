/**
 * @file Freeze for the NPU (Quark's `quantizer.freeze` in pow2 mode, quark.md §3.1–3.2): a new
 * graph — the calibrated one is left as it is — with
 *   A frozen copies of every quantizer (passes/freeze_quantizers.ts),
 *   B BN merged into the convs once, numpy's float32 order (passes/merge_bn.ts),
 *   C the NPU scale passes, one sweep each, in Quark's order:
 *     2 concat alignment, 3 pool alignment, 4 slice alignment (passes/npu_align.ts),
 *     5 shift_read, 6 shift_write, 7 shift_cut, 8 shift_bias (passes/npu_shifts.ts),
 *     9 hardsigmoid positions, 10 swish shift, 11 DPU hardsigmoid ×1.0001220703125
 *     (passes/npu_hardsigmoid.ts).
 * (Pass 1, clip → relu, has nothing to act on in YOLO-X.) The published PTQ/QAT accuracies are
 * measured before freeze; the frozen graph is what the NPU runs and what export writes.
 */
import type { Graph } from './graph/graph.js';
import { freezeQuantizers } from './graph/passes/freeze_quantizers.js';
import { mergeBnIntoConv } from './graph/passes/merge_bn.js';
import { alignConcatScales, alignSingleInOutScales } from './graph/passes/npu_align.js';
import {
  adjustShiftBias, adjustShiftCut, adjustShiftRead, adjustShiftWrite,
} from './graph/passes/npu_shifts.js';
import {
  adjustHardsigmoid, adjustShiftSwish, dpuHardsigmoid,
} from './graph/passes/npu_hardsigmoid.js';

/** The passes in order, named (for reports and tests). */
export const NPU_FREEZE_PASSES: readonly [string, (g: Graph) => Graph][] = [
  ['freeze_quantizers', freezeQuantizers],
  ['merge_bn', mergeBnIntoConv],
  ['align_concat', alignConcatScales],
  ['align_pool', (g) => alignSingleInOutScales(g, ['maxPool2d'])],
  ['align_slice', (g) => alignSingleInOutScales(g, ['slice'])],
  ['shift_read', adjustShiftRead],
  ['shift_write', adjustShiftWrite],
  ['shift_cut', adjustShiftCut],
  ['shift_bias', adjustShiftBias],
  ['hardsigmoid', adjustHardsigmoid],
  ['shift_swish', adjustShiftSwish],
  ['dpu_hardsigmoid', dpuHardsigmoid],
];

/** The frozen NPU graph of a calibrated graph. */
export function freezeForNpu(g: Graph): Graph {
  return NPU_FREEZE_PASSES.reduce((acc, [, pass]) => pass(acc), g);
}
