/**
 * @file Access to the golden fixtures in ../shared/fixtures (read-only, made by the official code)
 * and the comparison every golden test uses.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { readNpy } from '../engine/formats/files.js';
import { npyToFloat32, type NpyArray } from '../engine/formats/npy.js';

/** ../shared beside the checkout (CI lays it at the same place). */
export const SHARED = path.resolve(process.cwd(), '..', 'shared');
export const FIXTURES = path.join(SHARED, 'fixtures');

export function fixturePath(...parts: string[]): string {
  return path.join(FIXTURES, ...parts);
}

export function fixtureNpy(...parts: string[]): NpyArray {
  return readNpy(fixturePath(...parts));
}

export function fixtureF32(...parts: string[]): Float32Array {
  return npyToFloat32(fixtureNpy(...parts));
}

export function fixtureJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(fixturePath(...parts), 'utf8')) as T;
}

/** max |a − b| / max |b|: the relative error measure of fixtures/README.md. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}
