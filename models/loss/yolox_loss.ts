/**
 * @file The YOLO-X training loss (official `YOLOXHead.get_losses`, commit 6ddff48).
 *
 * Shape legend: B images, A anchors, C classes, D = 5 + C, L = 5 label columns
 * (class, cx, cy, w, h in input pixels; all-zero rows pad the end), F foreground anchors.
 * Per image SimOTA (simota.ts) picks the foreground anchors and their GTs; then, with
 * N = max(F_total over the batch, 1):
 *   iou  = Σ_fg (1 − IoU(pred, gt)²) / N          (IOUloss, ε = 1e-16 in its denominator)
 *   obj  = Σ_{all B·A} BCEWithLogits(obj, [anchor is fg]) / N
 *   cls  = Σ_fg Σ_c BCEWithLogits(cls_c, onehot(class)_c · IoU_assign) / N
 *   l1   = Σ_fg Σ_4 |raw t − (gx/s − col, gy/s − row, log(gw/s + 1e-8), log(gh/s + 1e-8))| / N
 *   total = 5·iou + obj + cls + l1 (l1 only with useL1)
 * and reports (like the official head) iou already ×5 and num_fg = F_total / max(G_total, 1).
 * IoU_assign (the soft class target) is SimOTA's IoU, a constant. The whole loss is one autograd
 * op: values and gradients are computed together in float64 from the float32 inputs, and
 * backward scales the stored gradient by dL/d(total).
 */
import { record } from '../../engine/autograd.js';
import { ShapeError, UserError } from '../../engine/errors.js';
import { Tensor } from '../../engine/tensor.js';
import type { AnchorGrid } from './anchors.js';
import { iouLossCxcywh } from './box_iou.js';
import { simota, type SimotaResult } from './simota.js';

const f32 = Math.fround;
const REG_WEIGHT = 5.0;

/** The six numbers the official head returns, in its naming. */
export interface LossTerms {
  readonly total_loss: number;
  /** Already multiplied by the regression weight 5. */
  readonly iou_loss: number;
  readonly conf_loss: number;
  readonly cls_loss: number;
  /** 0 without L1. */
  readonly l1_loss: number;
  /** Foreground anchors per GT over the batch (not the count). */
  readonly num_fg: number;
}

export interface YoloxLossResult {
  /** Scalar total loss on the tape. */
  readonly loss: Tensor;
  readonly terms: LossTerms;
  /** SimOTA result per image (null for an image without GT). */
  readonly assignments: readonly (SimotaResult | null)[];
  /** Total foreground anchors over the batch (before the max(·, 1)). */
  readonly numFgAnchors: number;
}

export interface YoloxLossInput {
  /** [B, A, D] training output (train_outputs.ts). */
  readonly output: Tensor;
  /** [B, A, 4] raw regressions; needed only with useL1. */
  readonly originPreds?: Tensor | null;
  readonly grid: AnchorGrid;
}

/** BCEWithLogits(x, y) = max(x, 0) − x·y + log(1 + e^−|x|), and its derivative σ(x) − y. */
function bceLogits(x: number, y: number): [number, number] {
  const v = Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
  return [v, 1 / (1 + Math.exp(-x)) - y];
}

/** Number of valid label rows of image b: rows whose five values sum to > 0 (valid rows first). */
function countGts(labels: Float32Array, b: number, M: number): number {
  let n = 0;
  for (let j = 0; j < M; j++) {
    const r = (b * M + j) * 5;
    let s = 0;
    for (let q = 0; q < 5; q++) s = f32(s + labels[r + q]);
    if (s > 0) n++;
  }
  return n;
}

/** The loss of a batch. `labels` is [B, Mlabels, 5]. */
export function yoloxLoss(
  inp: YoloxLossInput,
  labels: Tensor,
  opts: {
    useL1: boolean;
    /** Reuse these SimOTA results instead of assigning (gradient checks, frozen assignment). */
    assignments?: readonly (SimotaResult | null)[];
  },
): YoloxLossResult {
  const { output, grid } = inp;
  const [B, A, D] = output.shape;
  const C = D - 5;
  if (output.rank !== 3 || A !== grid.numAnchors || C < 1) {
    const want = `output must be [B, ${grid.numAnchors}, 5+C]`;
    throw new ShapeError('yoloxLoss', want, [output.shape]);
  }
  if (labels.rank !== 3 || labels.shape[0] !== B || labels.shape[2] !== 5) {
    throw new ShapeError('yoloxLoss', 'labels must be [B, M, 5]', [labels.shape, output.shape]);
  }
  const origin = inp.originPreds ?? null;
  if (opts.useL1 && (origin === null || origin.shape.join() !== [B, A, 4].join())) {
    throw new ShapeError('yoloxLoss', 'useL1 needs originPreds [B, A, 4]', [origin?.shape ?? []]);
  }
  const Ml = labels.shape[1];
  const out = output.data;

  // Assignment (no gradient).
  const assignments: (SimotaResult | null)[] = [];
  let fgTotal = 0, gtTotal = 0;
  const gtBoxesOf: Float32Array[] = [];
  for (let b = 0; b < B; b++) {
    const G = countGts(labels.data, b, Ml);
    gtTotal += G;
    const boxes = new Float32Array(G * 4), classes = new Int32Array(G);
    for (let g = 0; g < G; g++) {
      const r = (b * Ml + g) * 5;
      const cls = labels.data[r];
      if (!(Number.isInteger(cls) && cls >= 0 && cls < C)) {
        throw new UserError(`yoloxLoss: image ${b} label ${g}: class ${cls} not in [0, ${C})`);
      }
      classes[g] = cls;
      for (let q = 0; q < 4; q++) boxes[g * 4 + q] = labels.data[r + 1 + q];
    }
    gtBoxesOf.push(boxes);
    if (G === 0) { assignments.push(null); continue; }
    const res = opts.assignments?.[b] ?? simota({
      preds: out.subarray(b * A * D, (b + 1) * A * D), numClasses: C,
      gtBoxes: boxes, gtClasses: classes, grid,
    });
    assignments.push(res);
    fgTotal += res.fgAnchors.length;
  }
  const N = Math.max(fgTotal, 1);

  // Gradients kept sparse: the obj logit of every anchor, and full rows for fg anchors only.
  const fgRows = new Int32Array(fgTotal); // b·A + a of each fg anchor
  const gFg = new Float64Array(fgTotal * D); // dL/d(output row) of each fg anchor (obj excluded)
  const gFgOrigin = opts.useL1 ? new Float64Array(fgTotal * 4) : null;
  const gObj = new Float64Array(B * A);
  const isFg = new Uint8Array(B * A);
  let j = 0; // running fg row
  let iouSum = 0, clsSum = 0, l1Sum = 0, objSum = 0;
  const gBox = new Float64Array(4);
  for (let b = 0; b < B; b++) {
    const res = assignments[b];
    if (res === null) continue;
    const boxes = gtBoxesOf[b];
    for (let i = 0; i < res.fgAnchors.length; i++, j++) {
      const a = res.fgAnchors[i], g = res.matchedGtInds[i];
      const o = (b * A + a) * D;
      isFg[b * A + a] = 1;
      fgRows[j] = b * A + a;
      // IoU loss on the decoded box.
      iouSum += iouLossCxcywh(out, o, boxes, g * 4, gBox, REG_WEIGHT / N)[0];
      for (let q = 0; q < 4; q++) gFg[j * D + q] = gBox[q];
      // Class loss: soft one-hot target.
      const cls = res.gtMatchedClasses[i], iou = res.predIousThisMatching[i];
      for (let c = 0; c < C; c++) {
        const [v, d] = bceLogits(out[o + 5 + c], c === cls ? iou : 0);
        clsSum += v;
        gFg[j * D + 5 + c] = d / N;
      }
      if (gFgOrigin !== null && origin !== null) {
        const s = grid.strides[a];
        const t = [
          f32(f32(boxes[g * 4] / s) - grid.xShifts[a]),
          f32(f32(boxes[g * 4 + 1] / s) - grid.yShifts[a]),
          f32(Math.log(f32(f32(boxes[g * 4 + 2] / s) + f32(1e-8)))),
          f32(Math.log(f32(f32(boxes[g * 4 + 3] / s) + f32(1e-8)))),
        ];
        for (let q = 0; q < 4; q++) {
          const diff = origin.data[(b * A + a) * 4 + q] - t[q];
          l1Sum += Math.abs(diff);
          gFgOrigin[j * 4 + q] = Math.sign(diff) / N;
        }
      }
    }
  }
  // Objectness over every anchor of every image.
  for (let ba = 0; ba < B * A; ba++) {
    const [v, d] = bceLogits(out[ba * D + 4], isFg[ba]);
    objSum += v;
    gObj[ba] = d / N;
  }

  const iouLoss = REG_WEIGHT * iouSum / N, confLoss = objSum / N, clsLoss = clsSum / N;
  const l1Loss = opts.useL1 ? l1Sum / N : 0;
  const total = iouLoss + confLoss + clsLoss + l1Loss;
  const terms: LossTerms = {
    total_loss: total, iou_loss: iouLoss, conf_loss: confLoss, cls_loss: clsLoss,
    l1_loss: l1Loss, num_fg: N / Math.max(gtTotal, 1),
  };

  const loss = Tensor.from([total], []);
  const inputs = gFgOrigin !== null && origin !== null ? [output, origin] : [output];
  record('yoloxLoss', inputs, loss, (g) => {
    const s = g[0];
    if (output.requiresGrad) {
      const go = output.gradBuffer();
      for (let ba = 0; ba < B * A; ba++) go[ba * D + 4] += s * gObj[ba];
      for (let r = 0; r < fgTotal; r++) {
        const o = fgRows[r] * D;
        for (let d = 0; d < D; d++) if (d !== 4) go[o + d] += s * gFg[r * D + d];
      }
    }
    if (gFgOrigin !== null && origin !== null && origin.requiresGrad) {
      const gr = origin.gradBuffer();
      for (let r = 0; r < fgTotal; r++) {
        for (let q = 0; q < 4; q++) gr[fgRows[r] * 4 + q] += s * gFgOrigin[r * 4 + q];
      }
    }
  });
  return { loss, terms, assignments, numFgAnchors: fgTotal };
}
