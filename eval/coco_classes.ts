/**
 * @file The 80 COCO detection classes: names in the model's class-index order, and their COCO
 * category ids (1…90 with gaps). The official evaluator maps class index i to
 * `sorted(coco.getCatIds())[i]`; for a COCO-format json other than COCO itself, use that file's
 * own sorted ids (`sortedCategoryIds`).
 */

export const COCO_CLASS_NAMES: readonly string[] = [
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
  'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog',
  'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella',
  'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite',
  'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
  'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
  'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant',
  'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone',
  'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
  'teddy bear', 'hair drier', 'toothbrush',
];

/** COCO 2017 category ids: 1–11, 13–25, 27–28, 31–44, 46–65, 67, 70, 72–82, 84–90. */
export const COCO_CATEGORY_IDS: readonly number[] = (() => {
  const ranges: [number, number][] = [
    [1, 11], [13, 25], [27, 28], [31, 44], [46, 65], [67, 67], [70, 70], [72, 82], [84, 90],
  ];
  const ids: number[] = [];
  for (const [a, b] of ranges) for (let i = a; i <= b; i++) ids.push(i);
  return ids;
})();

/** A dataset's category ids sorted ascending (the official `class_ids`). */
export function sortedCategoryIds(categories: readonly { id: number }[]): number[] {
  return categories.map((c) => c.id).sort((a, b) => a - b);
}
