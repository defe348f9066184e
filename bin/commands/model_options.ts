/**
 * @file Options and helpers shared by the commands that run the model (dump, detect, eval):
 * option specs with every key spelled out (bin/cli.ts hands them all to parseArgs), the thread
 * count, loading the checkpoint in eval mode, and reading a preprocessed network input .npy.
 */
import type { OptionSpec } from '../cli.js';
import { numberOption, requireString } from '../cli.js';
import { UserError } from '../../engine/errors.js';
import { readNpy } from '../../engine/formats/files.js';
import { npyToFloat32 } from '../../engine/formats/npy.js';
import { Tensor } from '../../engine/tensor.js';
import { setThreads } from '../../engine/threads/pool.js';
import { loadYoloxCheckpoint } from '../../models/checkpoint.js';
import type { YOLOX } from '../../models/yolox.js';

export const str = (short: string, def: string, help: string): OptionSpec =>
  ({ type: 'string', short, multiple: false, default: def, help });

export const flag = (short: string, help: string): OptionSpec =>
  ({ type: 'boolean', short, multiple: false, default: false, help });

export const CKPT_OPTION =
  str('c', '', 'FILE  checkpoint (.pth with {"model": state_dict}, or safetensors)');
export const THREADS_OPTION =
  str('t', '', 'N  worker threads (default: YOLOXQ_THREADS or min(2, cores))');

/** Applies --threads when given. */
export function applyThreads(cmd: string, opts: Record<string, unknown>): void {
  if (opts.threads === undefined || opts.threads === '') return;
  setThreads(numberOption(cmd, opts, 'threads', 1, { integer: true, min: 1, max: 64 }));
}

/** The checkpoint of --ckpt, in eval mode. */
export function loadEvalModel(cmd: string, opts: Record<string, unknown>): YOLOX {
  return loadYoloxCheckpoint(requireString(cmd, opts, 'ckpt')).eval();
}

/** --size: the square network input side, a positive multiple of 32. */
export function sizeOption(cmd: string, opts: Record<string, unknown>): number {
  const s = numberOption(cmd, opts, 'size', 416, { integer: true, min: 32, max: 4096 });
  if (s % 32 !== 0) throw new UserError(`${cmd}: --size must be a multiple of 32, got ${s}`);
  return s;
}

/** A network input .npy [B, 3, H, W] (H, W multiples of 32) as a float32 Tensor. */
export function readInputNpy(inputFile: string): Tensor {
  const npy = readNpy(inputFile);
  const [B, C, H, W] = npy.shape;
  if (npy.shape.length !== 4 || C !== 3 || H % 32 !== 0 || W % 32 !== 0 || B < 1) {
    const want = 'want [B, 3, H, W] with H, W multiples of 32';
    throw new UserError(`${inputFile}: ${want}, got [${npy.shape.join(', ')}]`);
  }
  return new Tensor(npyToFloat32(npy), npy.shape);
}
