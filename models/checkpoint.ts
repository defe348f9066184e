/**
 * @file YOLO-X from a checkpoint file (.pth as torch.save({"model": state_dict}) or
 * safetensors; the readers live in engine/formats/). The class count is read from the
 * checkpoint (`head.cls_preds.0.weight` is [C, 96, 1, 1]); depth and width are Tiny's.
 * Loading is strict: a wrong or incomplete checkpoint is a one-line UserError naming the file.
 * Saving writes safetensors with the official keys (loadable by `safetensors.torch.load_file` +
 * `model.load_state_dict` on the PyTorch side).
 */
import { UserError } from '../engine/errors.js';
import { loadCheckpoint } from '../engine/formats/checkpoint.js';
import { writeSafetensors } from '../engine/formats/safetensors.js';
import { formatReport, type StateEntry } from './module.js';
import { YOLOX, type YoloxConfig } from './yolox.js';

/** The number of classes the checkpoint's head predicts (80 when the key is absent). */
export function checkpointClasses(state: ReadonlyMap<string, StateEntry>): number {
  const w = state.get('head.cls_preds.0.weight');
  return w !== undefined && w.shape.length === 4 && w.shape[0] > 0 ? w.shape[0] : 80;
}

/** A YOLO-X Tiny with the state dict `state` loaded (strict). */
export function yoloxFromState(
  state: ReadonlyMap<string, StateEntry>, where = 'checkpoint', config: Partial<YoloxConfig> = {},
): YOLOX {
  const model = new YOLOX({ numClasses: checkpointClasses(state), ...config });
  const report = model.loadStateDict(state, { strict: false });
  if (report.missing.length || report.unexpected.length || report.wrongShape.length) {
    throw new UserError(`${where}: not a YOLO-X Tiny checkpoint: ${formatReport(report)}`);
  }
  for (const [k, v] of model.floatState()) {
    if (!v.every(Number.isFinite)) {
      throw new UserError(`${where}: ${k} holds NaN or infinite values`);
    }
  }
  return model;
}

/** Reads `file` and returns the model (in training mode, as after construction). */
export function loadYoloxCheckpoint(file: string, config: Partial<YoloxConfig> = {}): YOLOX {
  let state: ReadonlyMap<string, StateEntry>;
  try {
    state = loadCheckpoint(file) as ReadonlyMap<string, StateEntry>;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: cannot read checkpoint (${(e as Error).message.split('\n')[0]})`);
  }
  return yoloxFromState(state, file, config);
}

/** Writes the model's state dict (official keys and order) as a safetensors file, atomically. */
export function saveYoloxSafetensors(model: YOLOX, file: string): void {
  writeSafetensors(file, model.stateDict(), { format: 'pt' });
}
