/**
 * @file A COCO-format detection dataset for training (YOLOX `COCODataset`): an image folder plus an
 * instances JSON, with images decoded lazily.
 *
 * - Images in JSON order; each with its non-crowd annotations in JSON order.
 * - Class index = position of the category id in the sorted list of category ids (YOLOX
 *   `class_ids = sorted(coco.getCatIds())`); `classIds[index]` maps back for COCO results.
 * - Boxes as YOLOX `load_anno_from_ids`: x1 = max(0, x), y1 = max(0, y),
 *   x2 = min(W, x1 + max(0, w)), y2 = min(H, y1 + max(0, h));
 *   kept when area > 0, x2 ≥ x1 and y2 ≥ y1.
 * - `pullItem(i, H, W)` (YOLOX `pull_item` / `load_resized_img`): the image resized by
 *   r = min(H/h, W/w) to (int(w·r), int(h·r)) and its boxes times r.
 * JSON parsing and validation are eval/coco's (`readCocoDataset`).
 */
import * as path from 'node:path';
import { UserError } from '../../engine/errors.js';
import { readCocoDataset } from '../coco/annotations.js';
import { readImage } from '../image/decode.js';
import type { Image8 } from '../image/image8.js';
import { resizeLinear } from '../image/resize.js';
import type { TargetRow } from './augment.js';
import type { DetectionSource } from './mosaic.js';

export interface CocoItem {
  id: number;
  fileName: string;
  width: number;
  height: number;
  /** (x1, y1, x2, y2, class index) in original image pixels. */
  targets: TargetRow[];
}

export interface CocoDatasetOptions {
  /**
   * Keep decoded images in memory, up to this many bytes in total (w·h·3 each): the first
   * images used stay decoded, and once the budget is spent the others are decoded on every
   * use. Default 0: no cache. Cached images are never handed out (pullItem resizes a copy), so
   * the cache cannot change what a caller sees.
   */
  cacheBytes?: number;
}

export class CocoDetectionDataset implements DetectionSource {
  readonly items: CocoItem[];
  /** Sorted category ids: class index → COCO category id. */
  readonly classIds: number[];
  /** Category names in class-index order. */
  readonly classNames: string[];
  private readonly indexOfId: Map<number, number>;
  private readonly cache = new Map<number, Image8>();
  private readonly cacheBudget: number;
  private cacheUsed = 0;

  constructor(
    readonly imageDir: string,
    readonly annotationFile: string,
    options: CocoDatasetOptions = {},
  ) {
    const gt = readCocoDataset(annotationFile);
    const names = new Map<number, string>();
    for (const c of gt.categories) if (!names.has(c.id)) names.set(c.id, c.name);
    this.classIds = [...names.keys()].sort((a, b) => a - b);
    this.classNames = this.classIds.map((id) => names.get(id) ?? String(id));
    this.indexOfId = new Map(this.classIds.map((id, i) => [id, i]));
    const byImage = new Map<number, TargetRow[]>();
    const items: CocoItem[] = [];
    for (const im of gt.images) {
      if (byImage.has(im.id)) continue; // duplicate ids merge, first position wins
      if (im.file_name === undefined || im.width === undefined || im.height === undefined) {
        throw new UserError(`${annotationFile}: image ${im.id} needs file_name, width and height`);
      }
      const targets: TargetRow[] = [];
      byImage.set(im.id, targets);
      const { id, file_name: fileName, width, height } = im;
      items.push({ id, fileName, width, height, targets });
    }
    const size = new Map(items.map((it) => [it.id, it]));
    for (const a of gt.annotations) {
      const it = size.get(a.image_id);
      const cls = this.indexOfId.get(a.category_id);
      if (a.iscrowd || it === undefined) continue;
      if (cls === undefined) {
        throw new UserError(
          `${annotationFile}: annotation ${a.id} has unknown category ${a.category_id}`,
        );
      }
      const [x, y, w, h] = a.bbox;
      const x1 = Math.max(0, x);
      const y1 = Math.max(0, y);
      const x2 = Math.min(it.width, x1 + Math.max(0, w));
      const y2 = Math.min(it.height, y1 + Math.max(0, h));
      if (a.area > 0 && x2 >= x1 && y2 >= y1) it.targets.push([x1, y1, x2, y2, cls]);
    }
    this.items = items;
    this.cacheBudget = options.cacheBytes ?? 0;
  }

  get length(): number {
    return this.items.length;
  }

  get numClasses(): number {
    return this.classIds.length;
  }

  /** The class index of a COCO category id. */
  classIndexOf(categoryId: number): number {
    const i = this.indexOfId.get(categoryId);
    if (i === undefined) throw new UserError(`unknown category id ${categoryId}`);
    return i;
  }

  /** Decodes image i (RGB); checks it has the size the annotations state. */
  loadImage(i: number): Image8 {
    const cached = this.cache.get(i);
    if (cached !== undefined) return cached;
    const it = this.items[i];
    const img = readImage(path.join(this.imageDir, it.fileName));
    if (img.width !== it.width || img.height !== it.height) {
      throw new UserError(
        `${it.fileName}: image is ${img.width}×${img.height}, ` +
          `annotations say ${it.width}×${it.height}`,
      );
    }
    if (this.cacheUsed + img.data.length <= this.cacheBudget) {
      this.cache.set(i, img);
      this.cacheUsed += img.data.length;
    }
    return img;
  }

  /** Image i resized to fit H × W (keeping its aspect) and its targets scaled alike. */
  pullItem(i: number, inputH: number, inputW: number): { image: Image8; targets: TargetRow[] } {
    const img = this.loadImage(i);
    const r = Math.min(inputH / img.height, inputW / img.width);
    const image = resizeLinear(img, Math.trunc(img.width * r), Math.trunc(img.height * r));
    const targets = this.items[i].targets.map(
      ([x1, y1, x2, y2, c]): TargetRow => [x1 * r, y1 * r, x2 * r, y2 * r, c],
    );
    return { image, targets };
  }
}
