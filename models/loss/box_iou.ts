/**
 * @file IoU of (cx, cy, w, h) boxes, in the two forms the YOLO-X loss uses.
 *
 * - `iouCxcywhF32`: the official `bboxes_iou(a, b, xyxy=False)` with every step rounded to float32
 *   in the official order, so SimOTA sees bit-identical IoUs (+, −, ·, / are correctly rounded in
 *   both float32 implementations):
 *     tl = max(a_c − a_wh/2, b_c − b_wh/2), br = min(a_c + a_wh/2, b_c + b_wh/2),
 *     inter = (br_x − tl_x)·(br_y − tl_y)·[tl < br on both axes],
 *     IoU = inter / (area_a + area_b − inter)            (no epsilon)
 * - `iouLossCxcywh`: the official `IOUloss` ("iou" type): loss = 1 − IoU², IoU = inter /
 *   (area_p + area_g − inter + 1e-16), with its gradient w.r.t. the predicted box, in float64.
 */

const f32 = Math.fround;

/** IoU of box a = (ax, ay, aw, ah) and box b, float32 arithmetic as in `bboxes_iou`. */
export function iouCxcywhF32(
  ax: number, ay: number, aw: number, ah: number,
  bx: number, by: number, bw: number, bh: number,
): number {
  const aw2 = f32(aw / 2), ah2 = f32(ah / 2), bw2 = f32(bw / 2), bh2 = f32(bh / 2);
  const tlx = Math.max(f32(ax - aw2), f32(bx - bw2));
  const tly = Math.max(f32(ay - ah2), f32(by - bh2));
  const brx = Math.min(f32(ax + aw2), f32(bx + bw2));
  const bry = Math.min(f32(ay + ah2), f32(by + bh2));
  const areaA = f32(aw * ah), areaB = f32(bw * bh);
  const en = tlx < brx && tly < bry ? 1 : 0;
  const inter = f32(f32(brx - tlx) * f32(bry - tly)) * en;
  return f32(inter / f32(f32(areaA + areaB) - inter));
}

/** ∂max(u, v)/∂u as torch defines it: 1 if u > v, ½ on a tie, 0 otherwise (min: mirror). */
function pickGrad(u: number, v: number, wantLarger: boolean): number {
  if (u === v) return 0.5;
  return (u > v) === wantLarger ? 1 : 0;
}

/**
 * 1 − IoU² of predicted box p = (px, py, pw, ph) against target g, and its gradient w.r.t. p
 * written into `gradP[0..3]` (overwritten) scaled by `scale`. Returns [loss, IoU].
 */
export function iouLossCxcywh(
  p: ArrayLike<number>, pOff: number, g: ArrayLike<number>, gOff: number,
  gradP: Float64Array, scale: number,
): [number, number] {
  const px = p[pOff], py = p[pOff + 1], pw = p[pOff + 2], ph = p[pOff + 3];
  const gx = g[gOff], gy = g[gOff + 1], gw = g[gOff + 2], gh = g[gOff + 3];
  const pLoX = px - pw / 2, pHiX = px + pw / 2, gLoX = gx - gw / 2, gHiX = gx + gw / 2;
  const pLoY = py - ph / 2, pHiY = py + ph / 2, gLoY = gy - gh / 2, gHiY = gy + gh / 2;
  const tlx = Math.max(pLoX, gLoX), brx = Math.min(pHiX, gHiX);
  const tly = Math.max(pLoY, gLoY), bry = Math.min(pHiY, gHiY);
  const en = tlx < brx && tly < bry ? 1 : 0;
  const dx = brx - tlx, dy = bry - tly;
  const inter = dx * dy * en;
  const areaP = pw * ph, areaG = gw * gh;
  const den = areaP + areaG - inter + 1e-16;
  const iou = inter / den;
  // L = 1 − iou²; iou = I / D with D = Ap + Ag − I + ε.
  const dLdIou = -2 * iou * scale;
  const dIoudI = 1 / den + inter / (den * den);
  const dIoudAp = -inter / (den * den);
  const dLdDx = dLdIou * dIoudI * dy * en, dLdDy = dLdIou * dIoudI * dx * en;
  const dLdAp = dLdIou * dIoudAp;
  // dx = min(pHiX, gHiX) − max(pLoX, gLoX); pHi = c + w/2, pLo = c − w/2.
  const hiX = pickGrad(pHiX, gHiX, false), loX = pickGrad(pLoX, gLoX, true);
  const hiY = pickGrad(pHiY, gHiY, false), loY = pickGrad(pLoY, gLoY, true);
  gradP[0] = dLdDx * (hiX - loX);
  gradP[1] = dLdDy * (hiY - loY);
  gradP[2] = dLdDx * (hiX + loX) / 2 + dLdAp * ph;
  gradP[3] = dLdDy * (hiY + loY) / 2 + dLdAp * pw;
  return [1 - iou * iou, iou];
}
