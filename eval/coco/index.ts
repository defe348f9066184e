/**
 * @file The COCO evaluation library: read ground truth and results, evaluate as pycocotools does.
 *
 *   const gt = readCocoDataset('instances_val2017.json');
 *   const res = evaluateCoco(gt, detections);          // CocoDetection[] or DetectionColumns
 *   res.stats[0]            // AP@[.50:.95]
 *   res.summary             // pycocotools' printed text
 *   res.perCategoryAP[k]    // for category res.catIds[k]
 */
export {
  type BoxXYWH, type CocoAnnotation, type CocoCategory, type CocoDataset, type CocoImage,
  parseCocoDataset, readCocoDataset,
} from './annotations.js';
export {
  type CocoDetection, type DetectionColumns, formatResults, parseResults, readResults, toColumns,
  writeResults,
} from './results.js';
export { type CocoEvalOptions, type CocoEvalParams, numpyLinspace } from './params.js';
export { type CocoEvalResult, evaluateCoco, evaluateCurves } from './cocoeval.js';
export { STAT_NAMES, formatFixedPy, summaryText } from './summary.js';
export { numpyMean, numpySum } from './numpy_sum.js';
