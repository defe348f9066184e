/**
 * @file One image × category slot of COCOeval (pycocotools `computeIoU` + `evaluateImg`):
 * box IoUs, then greedy matching per IoU threshold and per area range.
 *
 * Shapes: D detections (score order, cut to maxDets[-1]), G ground truths (file order),
 * T IoU thresholds.  ious [D, G]; per area range: gtOrder [G] (non-ignored first, stable),
 * match [T, D] (position in gtOrder, or −1), dtIgnore [T, D].
 *
 * IoU (maskApi.c `bbIou`, float64, per pair, in this order):
 *   w = min(dx+dw, gx+gw) − max(dx, gx); if w ≤ 0 → 0;  h likewise;  i = w·h
 *   u = crowd ? dw·dh : (dw·dh + gw·gh) − i;  iou = i / u
 * Matching (cocoeval.py L273-299), for each threshold t and each detection in score order:
 *   best = min(t, 1 − 1e-10), m = −1; for GTs in gtOrder:
 *     skip a GT already taken at t unless it is crowd;
 *     stop if m is a regular GT and this GT is ignored;
 *     skip if iou < best, else best = iou, m = this GT
 *   (so iou ≥ t matches, and on an exact tie the later GT wins)
 *   matched → dtIgnore = gtIgnore[m], the GT is taken. A detection whose match is "0" (unmatched,
 *   or matched to a GT whose id is 0, which pycocotools cannot tell apart) is ignored when its
 *   own area w·h is outside [lo, hi].
 */
import type { GroupedEval } from './prepare.js';
import { argsortDescStable } from './sort.js';

/** Evaluates one slot at a time into reusable buffers (grown on demand). */
export class SlotEvaluator {
  /** Detections of the loaded slot: column indices in score order, cut to maxDet. */
  D = 0;
  dt = new Int32Array(64);
  /** Ground truths of the loaded slot: column indices in file order. */
  G = 0;
  gt = new Int32Array(64);
  ious = new Float64Array(64);
  /** After matchArea: GT positions (into `gt`) with non-ignored first. */
  gtOrder = new Int32Array(64);
  gtIgnore = new Uint8Array(64); // by position in gtOrder
  match = new Int32Array(64); // [T, D]
  dtIgnore = new Uint8Array(64); // [T, D]

  private crowdS = new Uint8Array(64);
  private idNonZero = new Uint8Array(64);
  private taken = new Uint8Array(64);
  private dtArea = new Float64Array(64);
  private key = new Float64Array(64);
  private idx = new Int32Array(64);
  private tmp = new Int32Array(64);

  constructor(
    private readonly g: GroupedEval,
    private readonly iouThrs: Float64Array,
    private readonly maxDet: number,
  ) {}

  /** Loads slot s; returns false when it has neither GT nor detections (pycocotools' None). */
  load(s: number): boolean {
    const g = this.g;
    const g0 = g.gtStart[s], G = g.gtStart[s + 1] - g0;
    const d0 = g.dtStart[s], nAll = g.dtStart[s + 1] - d0;
    if (G === 0 && nAll === 0) return false;
    const D = Math.min(nAll, this.maxDet);
    this.G = G;
    this.D = D;
    this.ensure(G, D, nAll);
    for (let j = 0; j < G; j++) this.gt[j] = g.gtList[g0 + j];
    // Detections by descending score, stable (np.argsort(-score, kind='mergesort')), cut to D.
    const score = g.dets.score;
    for (let j = 0; j < nAll; j++) {
      this.key[j] = score[g.dtList[d0 + j]];
      this.idx[j] = j;
    }
    const sorted = argsortDescStable(this.key, this.idx, nAll, this.tmp);
    const box = g.dets.bbox;
    for (let d = 0; d < D; d++) {
      const c = g.dtList[d0 + sorted[d]];
      this.dt[d] = c;
      this.dtArea[d] = box[4 * c + 2] * box[4 * c + 3];
    }
    if (G > 0 && D > 0) this.computeIous();
    return true;
  }

  private computeIous(): void {
    const { D, G, dt, gt, ious } = this;
    const db = this.g.dets.bbox, gb = this.g.gtBox, crowd = this.g.gtCrowd;
    for (let j = 0; j < G; j++) {
      const c = gt[j];
      const gx = gb[4 * c], gy = gb[4 * c + 1], gw = gb[4 * c + 2], gh = gb[4 * c + 3];
      const ga = gw * gh;
      const isCrowd = crowd[c] === 1;
      for (let d = 0; d < D; d++) {
        const e = dt[d];
        const dx = db[4 * e], dy = db[4 * e + 1], dw = db[4 * e + 2], dh = db[4 * e + 3];
        const da = dw * dh;
        let v = 0;
        const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
        if (w > 0) {
          const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
          if (h > 0) {
            const inter = w * h;
            v = inter / (isCrowd ? da : da + ga - inter);
          }
        }
        ious[d * G + j] = v;
      }
    }
  }

  /**
   * Matches the loaded slot for the area range [lo, hi]; fills gtOrder, gtIgnore, match and
   * dtIgnore. Returns the number of non-ignored GTs (pycocotools' npig contribution).
   */
  matchArea(lo: number, hi: number): number {
    const { D, G, gt, ious, gtOrder, gtIgnore, match, dtIgnore, crowdS, idNonZero, taken } = this;
    const area = this.g.gtArea, crowd = this.g.gtCrowd, ids = this.g.gtId;
    // GT ignore = iscrowd or area outside [lo, hi]; stable partition, non-ignored first.
    let nReg = 0;
    for (let j = 0; j < G; j++) {
      const c = gt[j];
      if (!(crowd[c] === 1 || area[c] < lo || area[c] > hi)) gtOrder[nReg++] = j;
    }
    let p = nReg;
    for (let j = 0; j < G; j++) {
      const c = gt[j];
      if (crowd[c] === 1 || area[c] < lo || area[c] > hi) gtOrder[p++] = j;
    }
    for (let q = 0; q < G; q++) {
      const c = gt[gtOrder[q]];
      gtIgnore[q] = q >= nReg ? 1 : 0;
      crowdS[q] = crowd[c];
      idNonZero[q] = ids[c] !== 0 ? 1 : 0;
    }
    const T = this.iouThrs.length;
    for (let t = 0; t < T; t++) {
      taken.fill(0, 0, G);
      const thr = Math.min(this.iouThrs[t], 1 - 1e-10);
      for (let d = 0; d < D; d++) {
        let best = thr;
        let m = -1;
        const row = d * G;
        for (let q = 0; q < G; q++) {
          if (taken[q] === 1 && crowdS[q] === 0) continue;
          if (m > -1 && gtIgnore[m] === 0 && gtIgnore[q] === 1) break;
          const v = ious[row + gtOrder[q]];
          if (v < best) continue;
          best = v;
          m = q;
        }
        let ig = 0;
        let matchedNonZero = false;
        if (m >= 0) {
          taken[m] = 1;
          ig = gtIgnore[m];
          matchedNonZero = idNonZero[m] === 1;
        }
        if (!matchedNonZero && (this.dtArea[d] < lo || this.dtArea[d] > hi)) ig = 1;
        match[t * D + d] = m;
        dtIgnore[t * D + d] = ig;
      }
    }
    return nReg;
  }

  /**
   * After matchArea: packs detection d's outcome over thresholds into one word,
   * bit t = true positive at threshold t, bit 16 + t = ignored at t (neither: false positive).
   */
  outcome(d: number): number {
    const { D, match, dtIgnore, idNonZero } = this;
    let code = 0;
    for (let t = 0; t < this.iouThrs.length; t++) {
      const m = match[t * D + d];
      if (dtIgnore[t * D + d] === 1) code |= 1 << (16 + t);
      else if (m >= 0 && idNonZero[m] === 1) code |= 1 << t;
    }
    return code >>> 0;
  }

  private ensure(G: number, D: number, nAll: number): void {
    const T = this.iouThrs.length;
    if (G > this.gt.length) {
      const n = Math.max(G, 2 * this.gt.length);
      this.gt = new Int32Array(n);
      this.gtOrder = new Int32Array(n);
      this.gtIgnore = new Uint8Array(n);
      this.crowdS = new Uint8Array(n);
      this.idNonZero = new Uint8Array(n);
      this.taken = new Uint8Array(n);
    }
    if (nAll > this.key.length) {
      const n = Math.max(nAll, 2 * this.key.length);
      this.key = new Float64Array(n);
      this.idx = new Int32Array(n);
      this.tmp = new Int32Array(n);
    }
    if (D > this.dt.length) {
      const n = Math.max(D, 2 * this.dt.length);
      this.dt = new Int32Array(n);
      this.dtArea = new Float64Array(n);
    }
    if (T * D > this.match.length) {
      this.match = new Int32Array(T * D);
      this.dtIgnore = new Uint8Array(T * D);
    }
    if (G * D > this.ious.length) {
      this.ious = new Float64Array(Math.max(G * D, 2 * this.ious.length));
    }
  }
}
