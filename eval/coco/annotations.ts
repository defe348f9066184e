/**
 * @file COCO ground truth (the "instances" JSON: images, annotations, categories), read and
 * validated. Field rules follow pycocotools' `COCO` class (coco.py) where it is well defined,
 * and are stricter where it would crash later or silently misbehave:
 * - annotations need id, image_id, category_id (integers), bbox [x, y, w, h], area (numbers) and
 *   iscrowd (0/1); `area` is used as given (for real COCO it is the mask area, not w·h);
 * - a GT `ignore` field is accepted and has no effect (pycocotools overwrites it with iscrowd);
 * - duplicate annotation ids are an error (pycocotools would silently evaluate the later object
 *   twice); duplicate image or category ids are harmless and merged, as pycocotools' dicts do;
 * - annotations on images or categories not listed are kept here and dropped by the evaluator,
 *   exactly as pycocotools drops them.
 */
import { UserError } from '../../engine/errors.js';
import { readFileOrFail } from '../../engine/formats/files.js';
import { RecordReader, arrayField, parseJsonText } from './fields.js';

/** [x, y, w, h] in pixels, x/y the top-left corner (COCO's box format). */
export type BoxXYWH = [number, number, number, number];

export interface CocoImage {
  id: number;
  file_name?: string;
  width?: number;
  height?: number;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: BoxXYWH;
  /** Object area used for the small/medium/large ranges (not necessarily w·h). */
  area: number;
  iscrowd: boolean;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
}

export interface CocoDataset {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

/** Validates a parsed instances JSON; `source` names the file in messages. */
export function parseCocoDataset(json: unknown, source = 'ground truth'): CocoDataset {
  const images = arrayField(source, json, 'images').map((v, i) => {
    const r = RecordReader.of(`${source}: images[${i}]`, v);
    const img: CocoImage = { id: r.integer('id') };
    const fileName = r.optional('file_name', r.string);
    if (fileName !== undefined) img.file_name = fileName;
    const width = r.optional('width', r.number);
    if (width !== undefined) img.width = width;
    const height = r.optional('height', r.number);
    if (height !== undefined) img.height = height;
    return img;
  });
  const categories = arrayField(source, json, 'categories').map((v, i) => {
    const r = RecordReader.of(`${source}: categories[${i}]`, v);
    const id = r.integer('id');
    const cat: CocoCategory = { id, name: r.optional('name', r.string) ?? String(id) };
    const superName = r.optional('supercategory', r.string);
    if (superName !== undefined) cat.supercategory = superName;
    return cat;
  });
  const seen = new Map<number, number>();
  const annotations = arrayField(source, json, 'annotations').map((v, i) => {
    const r = RecordReader.of(`${source}: annotations[${i}]`, v);
    const ann: CocoAnnotation = {
      id: r.integer('id'),
      image_id: r.integer('image_id'),
      category_id: r.integer('category_id'),
      bbox: r.box('bbox'),
      area: r.number('area'),
      iscrowd: r.flag('iscrowd'),
    };
    const before = seen.get(ann.id);
    if (before !== undefined) {
      throw new UserError(
        `${source}: annotations[${i}].id ${ann.id} repeats annotations[${before}].id ` +
          '(ids must be unique)',
      );
    }
    seen.set(ann.id, i);
    return ann;
  });
  return { images, annotations, categories };
}

/** Reads and validates an instances JSON file. */
export function readCocoDataset(file: string): CocoDataset {
  const text = new TextDecoder().decode(readFileOrFail(file));
  return parseCocoDataset(parseJsonText(text, file), file);
}
