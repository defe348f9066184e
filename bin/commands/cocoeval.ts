/**
 * @file `yoloxq cocoeval --gt gt.json --dt results.json [--json out.json] [--class-agnostic]`:
 * COCO bbox evaluation of a results file, printing pycocotools' summary text; --json writes
 * {stats, stats_names, per_category_ap, per_category_ar, summary_text} (per-category values keyed
 * by category id, −1 where the category has no GT) atomically.
 */
import type { Command } from '../cli.js';
import { requireString } from '../cli.js';
import { writeFileAtomic } from '../../engine/formats/files.js';
import {
  STAT_NAMES, evaluateCoco, readCocoDataset, readResults, type CocoEvalResult,
} from '../../eval/coco/index.js';

/** The JSON report written by --json. */
export function cocoevalReport(res: CocoEvalResult): string {
  const byId = (vals: number[]) =>
    Object.fromEntries(res.catIds.map((id, k) => [String(id), vals[k]]));
  return `${JSON.stringify(
    {
      stats: res.stats,
      stats_names: STAT_NAMES,
      per_category_ap: byId(res.perCategoryAP),
      per_category_ar: byId(res.perCategoryAR),
      class_agnostic: !res.params.useCats,
      summary_text: res.summary,
    },
    null,
    2,
  )}\n`;
}

export const cocoevalCommand: Command = {
  name: 'cocoeval',
  summary: 'COCO bbox mAP of a results file, identical to pycocotools',
  usage: '--gt instances.json --dt results.json [--json out.json] [--class-agnostic]',
  options: {
    gt: { type: 'string', short: 'g',
      help: 'FILE  ground truth, COCO instances JSON' },
    dt: { type: 'string', short: 'd',
      help: 'FILE  detections, COCO results JSON list' },
    json: { type: 'string', short: 'j',
      help: 'FILE  also write stats and per-category AP/AR as JSON' },
    'class-agnostic': { type: 'boolean', short: 'a',
      help: 'pool categories (pycocotools useCats = 0)' },
  },
  run(opts) {
    const gt = readCocoDataset(requireString('cocoeval', opts, 'gt'));
    const dets = readResults(requireString('cocoeval', opts, 'dt'));
    const res = evaluateCoco(gt, dets, { useCats: opts['class-agnostic'] !== true });
    if (res.droppedDetections > 0) {
      console.error(`note: ${res.droppedDetections} detection(s) have a category_id absent from ` +
        'the ground truth categories and were not evaluated (pycocotools drops them too)');
    }
    process.stdout.write(res.summary);
    if (typeof opts.json === 'string' && opts.json !== '') {
      writeFileAtomic(opts.json, cocoevalReport(res));
    }
  },
};
