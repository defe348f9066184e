/**
 * @file Inference decode of the head's outputs into [B, A, 5 + C] boxes and probabilities.
 * The implementation lives with the model (models/head_decode.ts, the official
 * `YOLOXHead.decode_outputs`); eval code imports it from here.
 */
export { decodeCats, decodeOutputs, evalCat, type RawLevel } from '../models/head_decode.js';
