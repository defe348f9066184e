/**
 * @file One entry point for checkpoints: `loadCheckpoint(file)` reads a PyTorch `.pth` (zip) or a
 * safetensors file, chosen by content, never by extension, and returns the state dict.
 *
 * Recognised by their first bytes: "PK\3\4" → PyTorch zip; a u64 header length followed by '{' →
 * safetensors; a pickle protocol byte (0x80) → torch's pre-1.6 format, refused with a hint.
 */
import { readFileOrFail } from './files.js';
import { parsePth } from './pth.js';
import { parseSafetensors } from './safetensors.js';
import { FormatError, type StateDict } from './state_dict.js';
import { looksLikeZip } from './zip.js';

export type CheckpointFormat = 'pth' | 'safetensors';

/** Which reader `bytes` need (a FormatError if neither). */
export function detectCheckpointFormat(bytes: Uint8Array, where = 'checkpoint'): CheckpointFormat {
  if (looksLikeZip(bytes)) return 'pth';
  if (bytes.length >= 9 && bytes[8] === 0x7b /* { */) return 'safetensors';
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] <= 5) {
    throw new FormatError(where, 'legacy (pre-1.6, non-zip) PyTorch checkpoints are not ' +
      'supported: re-save it with torch.save(obj, path) from torch ≥ 1.6');
  }
  throw new FormatError(where, bytes.length < 4
    ? 'truncated checkpoint (file too short)'
    : 'not a checkpoint (wrong magic: neither a PyTorch zip .pth nor safetensors)');
}

/** Parses checkpoint bytes of either format. */
export function parseCheckpoint(bytes: Uint8Array, where = 'checkpoint'): StateDict {
  return detectCheckpointFormat(bytes, where) === 'pth'
    ? parsePth(bytes, where)
    : parseSafetensors(bytes, where).tensors;
}

/** Reads a checkpoint file (`.pth` or safetensors) into a state dict. */
export function loadCheckpoint(file: string): StateDict {
  return parseCheckpoint(readFileOrFail(file), file);
}
