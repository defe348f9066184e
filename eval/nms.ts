/**
 * @file Exact greedy non-maximum suppression, as torchvision's `nms` / `batched_nms` (CPU kernel).
 *
 * Boxes are xyxy (x1, y1, x2, y2), float32. Rules, all in float32 like the kernel:
 *   area = (x2 − x1)·(y2 − y1)                                  (no +1)
 *   inter = max(0, min(x2) − max(x1)) · max(0, min(y2) − max(y1))
 *   IoU = inter / (area_i + area_j − inter)
 * Walk the boxes by decreasing score; keep a box unless an already-kept box has IoU > threshold
 * (strictly greater; the float32 IoU is compared with the threshold as a float64, as the C++
 * kernel's double parameter does).
 * Tie rule (torch's sort is not stable; ours is explicit): equal scores are visited in increasing
 * index order. Class-aware NMS (`batchedNms`) runs this per class — boxes of different classes
 * never suppress each other — and returns all kept indices by decreasing score, ties by index.
 */

const f32 = Math.fround;

/** Indices 0…n−1 ordered by decreasing score, ties by increasing index. */
export function orderByScore(scores: ArrayLike<number>, indices?: readonly number[]): number[] {
  const idx = indices ? [...indices] : Array.from({ length: scores.length }, (_, i) => i);
  return idx.sort((a, b) => scores[b] - scores[a] || a - b);
}

/** IoU of boxes i and j of an [N, 4] xyxy array, in float32 steps (see the file header). */
export function iouXyxyF32(boxes: ArrayLike<number>, i: number, j: number): number {
  const ax1 = boxes[4 * i], ay1 = boxes[4 * i + 1], ax2 = boxes[4 * i + 2], ay2 = boxes[4 * i + 3];
  const bx1 = boxes[4 * j], by1 = boxes[4 * j + 1], bx2 = boxes[4 * j + 2], by2 = boxes[4 * j + 3];
  const areaA = f32(f32(ax2 - ax1) * f32(ay2 - ay1));
  const areaB = f32(f32(bx2 - bx1) * f32(by2 - by1));
  const w = Math.max(0, f32(Math.min(ax2, bx2) - Math.max(ax1, bx1)));
  const h = Math.max(0, f32(Math.min(ay2, by2) - Math.max(ay1, by1)));
  const inter = f32(w * h);
  return f32(inter / f32(f32(areaA + areaB) - inter));
}

/**
 * Greedy NMS over `candidates` (default: all boxes). Returns kept indices by decreasing score.
 * boxes: [N, 4] xyxy; scores: [N].
 */
export function nms(
  boxes: ArrayLike<number>,
  scores: ArrayLike<number>,
  iouThreshold: number,
  candidates?: readonly number[],
): number[] {
  const order = orderByScore(scores, candidates);
  const suppressed = new Uint8Array(order.length);
  const keep: number[] = [];
  for (let a = 0; a < order.length; a++) {
    if (suppressed[a]) continue;
    const i = order[a];
    keep.push(i);
    for (let b = a + 1; b < order.length; b++) {
      if (!suppressed[b] && iouXyxyF32(boxes, i, order[b]) > iouThreshold) suppressed[b] = 1;
    }
  }
  return keep;
}

/** Class-aware NMS: `nms` within each class; kept indices by decreasing score (ties by index). */
export function batchedNms(
  boxes: ArrayLike<number>,
  scores: ArrayLike<number>,
  classes: ArrayLike<number>,
  iouThreshold: number,
): number[] {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < scores.length; i++) {
    const list = byClass.get(classes[i]);
    if (list) list.push(i);
    else byClass.set(classes[i], [i]);
  }
  const kept: number[] = [];
  for (const members of byClass.values()) kept.push(...nms(boxes, scores, iouThreshold, members));
  return orderByScore(scores, kept);
}
