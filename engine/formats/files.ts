/**
 * @file File helpers: atomic writes (temp file + rename, so a crash never leaves a half-written
 * output) and reading .npy files from disk with the file name in every error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { formatNpy, parseNpy, type NpyArray } from './npy.js';

let tempCounter = 0;

/** Writes `data` to `file` atomically: a temporary file in the same folder, then rename. */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.${tempCounter++}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Reads a whole file, turning "not found" and friends into a one-line UserError. */
export function readFileOrFail(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`cannot read ${file}: ${code ?? (e as Error).message}`);
  }
}

export function readNpy(file: string): NpyArray {
  return parseNpy(readFileOrFail(file), file);
}

export function writeNpy(file: string, arr: NpyArray): void {
  writeFileAtomic(file, formatNpy(arr));
}
