/**
 * @file Detections in the standard COCO results format: a JSON list of
 *   {image_id, category_id, bbox: [x, y, w, h], score}
 * read (validated: a missing or wrongly-typed field names the field and the record index) and
 * written atomically. Extra fields (an `area`, an `id`, a `segmentation`) are ignored, as
 * pycocotools' `loadRes` overwrites them for boxes: a detection's area is always w·h and its id
 * is its 1-based position in the list.
 */
import { writeFileAtomic, readFileOrFail } from '../../engine/formats/files.js';
import { UserError } from '../../engine/errors.js';
import { RecordReader, describe, parseJsonText } from './fields.js';
import type { BoxXYWH } from './annotations.js';

export interface CocoDetection {
  image_id: number;
  category_id: number;
  bbox: BoxXYWH;
  score: number;
}

/**
 * The same list in columns (what the evaluator works on; cheaper for 10⁵–10⁶ detections).
 * N detections: imageId, categoryId, score are [N]; bbox is [N, 4] row-major (x, y, w, h).
 */
export interface DetectionColumns {
  imageId: Float64Array;
  categoryId: Float64Array;
  bbox: Float64Array;
  score: Float64Array;
}

/** Detections as columns, in list order. */
export function toColumns(dets: readonly CocoDetection[]): DetectionColumns {
  const n = dets.length;
  const cols: DetectionColumns = {
    imageId: new Float64Array(n),
    categoryId: new Float64Array(n),
    bbox: new Float64Array(4 * n),
    score: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const d = dets[i];
    cols.imageId[i] = d.image_id;
    cols.categoryId[i] = d.category_id;
    cols.score[i] = d.score;
    cols.bbox.set(d.bbox, 4 * i);
  }
  return cols;
}

/** Validates a parsed results list; `source` names the file in messages. */
export function parseResults(json: unknown, source = 'results'): CocoDetection[] {
  if (!Array.isArray(json)) {
    throw new UserError(
      `${source}: results must be a JSON list of detections, got ${describe(json)}`,
    );
  }
  return json.map((v, i) => {
    const r = RecordReader.of(`${source}: results[${i}]`, v);
    return {
      image_id: r.integer('image_id'),
      category_id: r.integer('category_id'),
      bbox: r.box('bbox'),
      score: r.number('score'),
    };
  });
}

/** Reads and validates a results file. */
export function readResults(file: string): CocoDetection[] {
  const text = new TextDecoder().decode(readFileOrFail(file));
  return parseResults(parseJsonText(text, file), file);
}

/** The results list as JSON text, one detection per line. Numbers round-trip exactly. */
export function formatResults(dets: readonly CocoDetection[]): string {
  if (dets.length === 0) return '[]\n';
  const lines = dets.map((d) =>
    JSON.stringify({
      image_id: d.image_id, category_id: d.category_id, bbox: d.bbox, score: d.score,
    }),
  );
  return `[\n${lines.join(',\n')}\n]\n`;
}

/** Writes a results file atomically (temporary file, then rename). */
export function writeResults(file: string, dets: readonly CocoDetection[]): void {
  writeFileAtomic(file, formatResults(dets));
}
