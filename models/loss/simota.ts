/**
 * @file SimOTA label assignment of one image (official `get_assignments`,
 * `get_geometry_constraint`, `simota_matching` at YOLOX commit 6ddff48). No gradient: the
 * official code runs it under no_grad, so it works on plain typed arrays.
 *
 * Shape legend: A anchors, D = 5 + C channels of the training output, G ground-truth boxes,
 * M candidate anchors.
 * 1. Candidates: anchor a (cell centre xc = (col + 0.5)·s, yc = (row + 0.5)·s, s its stride) is in
 *    GT g's centre region when min(xc − (cx−1.5s), (cx+1.5s) − xc, yc − (cy−1.5s), (cy+1.5s) − yc)
 *    > 0 (strict). Candidates = anchors in at least one region, in anchor order. (Centre prior
 *    only; no "inside the box" test at this commit.)
 * 2. IoU[g, m] between GT g and candidate m's decoded box (float32, `iouCxcywhF32`).
 * 3. cost[g, m] = Σ_c BCE(√(σ(cls_mc)·σ(obj_m)), onehot(class_g)_c) (logs clamped at −100)
 *    + 3·(−log(IoU + 1e-8)) + 1e6·[m not in g's region].
 * 4. k_g = max(1, trunc(Σ of the min(10, M) largest IoU[g, ·])).
 * 5. GT g takes its k_g lowest-cost candidates. Ties: torch's CPU top-k leaves the choice among
 *    exactly equal costs unspecified; we take the lowest anchor index (the fixtures avoid ties).
 * 6. A candidate taken by several GTs goes to the GT of lowest cost for it (first GT on a tie).
 * Results are in anchor order. Float32 rounding is reproduced step by step where it matters
 * for ranking (sums of a transcendental term are computed in float64, then rounded).
 */
import type { AnchorGrid } from './anchors.js';
import { iouCxcywhF32 } from './box_iou.js';

const f32 = Math.fround;
const CENTER_RADIUS = 1.5;
const NOT_CANDIDATE_COST = 1e6;
const IOU_COST_WEIGHT = 3.0;
const MAX_TOPK_FOR_K = 10;

export interface SimotaInput {
  /** [A, D] decoded training output of this image (cx, cy, w, h, obj logit, C class logits). */
  readonly preds: Float32Array;
  readonly numClasses: number;
  /** [G, 4] GT boxes (cx, cy, w, h), input pixels. */
  readonly gtBoxes: Float32Array;
  /** [G] GT class indices. */
  readonly gtClasses: ArrayLike<number>;
  readonly grid: AnchorGrid;
}

export interface SimotaResult {
  /** [M] anchor index of each candidate. */
  readonly candidateAnchors: Int32Array;
  /** [G, M] 1 where candidate m lies in GT g's centre region. */
  readonly geometry: Uint8Array;
  /** [G, M] matching cost. */
  readonly cost: Float32Array;
  /** [G, M] IoU between GT g and candidate m's predicted box. */
  readonly pairWiseIous: Float32Array;
  /** [G] dynamic k. */
  readonly dynamicKs: Int32Array;
  /** [F] foreground anchor indices, increasing. */
  readonly fgAnchors: Int32Array;
  /** [F] GT index of each foreground anchor. */
  readonly matchedGtInds: Int32Array;
  /** [F] class of that GT. */
  readonly gtMatchedClasses: Int32Array;
  /** [F] IoU between the anchor's predicted box and its GT. */
  readonly predIousThisMatching: Float32Array;
}

/** Step 1: candidate anchors and the G×M in-centre-region matrix. */
export function geometryConstraint(
  gtBoxes: Float32Array, grid: AnchorGrid,
): { candidates: Int32Array; geometry: Uint8Array } {
  const G = gtBoxes.length / 4, A = grid.numAnchors;
  const inRegion = new Uint8Array(G * A);
  const any = new Uint8Array(A);
  for (let a = 0; a < A; a++) {
    const s = grid.strides[a];
    const xc = f32(f32(grid.xShifts[a] + 0.5) * s), yc = f32(f32(grid.yShifts[a] + 0.5) * s);
    const dist = f32(s * CENTER_RADIUS);
    for (let g = 0; g < G; g++) {
      const cx = gtBoxes[g * 4], cy = gtBoxes[g * 4 + 1];
      const l = f32(xc - f32(cx - dist)), r = f32(f32(cx + dist) - xc);
      const t = f32(yc - f32(cy - dist)), b = f32(f32(cy + dist) - yc);
      if (Math.min(l, t, r, b) > 0) {
        inRegion[g * A + a] = 1;
        any[a] = 1;
      }
    }
  }
  const cand: number[] = [];
  for (let a = 0; a < A; a++) if (any[a]) cand.push(a);
  const candidates = Int32Array.from(cand);
  const M = candidates.length;
  const geometry = new Uint8Array(G * M);
  for (let g = 0; g < G; g++) {
    for (let m = 0; m < M; m++) geometry[g * M + m] = inRegion[g * A + candidates[m]];
  }
  return { candidates, geometry };
}

/** σ(x) rounded to float32. */
function sigmoidF32(x: number): number {
  return f32(1 / (1 + Math.exp(-x)));
}

/** F.binary_cross_entropy of probability p against target y, each log clamped at −100. */
function bce(p: number, y: number): number {
  const logP = Math.max(f32(Math.log(p)), -100);
  const log1mP = Math.max(f32(Math.log1p(-p)), -100);
  return f32(-(y * logP + (1 - y) * log1mP));
}

/** Steps 2–3: IoU and cost matrices [G, M]. */
function costMatrix(inp: SimotaInput, candidates: Int32Array, geometry: Uint8Array) {
  const { preds, numClasses: C, gtBoxes, gtClasses } = inp;
  const D = 5 + C, G = gtBoxes.length / 4, M = candidates.length;
  const ious = new Float32Array(G * M);
  const cost = new Float32Array(G * M);
  // The class-probability term depends on the GT only through its class: Σ_c BCE(p_c, 0) over
  // all classes, then swap in BCE(p_cls, 1) for the GT's class.
  const p = new Float32Array(C);
  for (let m = 0; m < M; m++) {
    const o = candidates[m] * D;
    const so = sigmoidF32(preds[o + 4]);
    let sumNeg = 0;
    for (let c = 0; c < C; c++) {
      p[c] = f32(Math.sqrt(f32(sigmoidF32(preds[o + 5 + c]) * so)));
      sumNeg += bce(p[c], 0);
    }
    for (let g = 0; g < G; g++) {
      const cls = gtClasses[g];
      const clsCost = f32(sumNeg - bce(p[cls], 0) + bce(p[cls], 1));
      const iou = iouCxcywhF32(gtBoxes[g * 4], gtBoxes[g * 4 + 1], gtBoxes[g * 4 + 2],
        gtBoxes[g * 4 + 3], preds[o], preds[o + 1], preds[o + 2], preds[o + 3]);
      ious[g * M + m] = iou;
      const iouCost = f32(-f32(Math.log(f32(iou + f32(1e-8)))));
      const c = f32(clsCost + f32(IOU_COST_WEIGHT * iouCost));
      cost[g * M + m] = f32(c + (geometry[g * M + m] ? 0 : NOT_CANDIDATE_COST));
    }
  }
  return { ious, cost };
}

/** Indices of the k smallest values of row[0..n), ties broken by lower index. */
function kSmallest(row: Float32Array, k: number): number[] {
  const idx = Array.from({ length: row.length }, (_, i) => i);
  idx.sort((i, j) => row[i] - row[j] || i - j);
  return idx.slice(0, Math.min(k, row.length));
}

/** Steps 4–6 and the result tensors. */
export function simota(inp: SimotaInput): SimotaResult {
  const { candidates, geometry } = geometryConstraint(inp.gtBoxes, inp.grid);
  const { ious, cost } = costMatrix(inp, candidates, geometry);
  const G = inp.gtBoxes.length / 4, M = candidates.length;
  const n = Math.min(MAX_TOPK_FOR_K, M);
  const dynamicKs = new Int32Array(G);
  const matching = new Uint8Array(G * M);
  for (let g = 0; g < G; g++) {
    const iouRow = Array.from(ious.subarray(g * M, (g + 1) * M)).sort((u, v) => v - u);
    let s = 0;
    for (let i = 0; i < n; i++) s += iouRow[i];
    dynamicKs[g] = Math.max(1, Math.trunc(f32(s)));
    const row = cost.subarray(g * M, (g + 1) * M);
    for (const m of kSmallest(row, dynamicKs[g])) matching[g * M + m] = 1;
  }
  const fg: number[] = [], gtOf: number[] = [];
  for (let m = 0; m < M; m++) {
    let count = 0, best = -1;
    for (let g = 0; g < G; g++) {
      if (!matching[g * M + m]) continue;
      count++;
      // Several GTs took m: the lowest cost over ALL GTs wins (official torch.min over the column).
      if (best < 0) best = g;
    }
    if (count === 0) continue;
    if (count > 1) {
      best = 0;
      for (let g = 1; g < G; g++) if (cost[g * M + m] < cost[best * M + m]) best = g;
    }
    fg.push(m);
    gtOf.push(best);
  }
  const F = fg.length;
  const fgAnchors = new Int32Array(F), matchedGtInds = Int32Array.from(gtOf);
  const gtMatchedClasses = new Int32Array(F), predIous = new Float32Array(F);
  for (let i = 0; i < F; i++) {
    fgAnchors[i] = candidates[fg[i]];
    gtMatchedClasses[i] = inp.gtClasses[gtOf[i]];
    predIous[i] = ious[gtOf[i] * M + fg[i]];
  }
  return {
    candidateAnchors: candidates, geometry, cost, pairWiseIous: ious, dynamicKs,
    fgAnchors, matchedGtInds, gtMatchedClasses, predIousThisMatching: predIous,
  };
}
