/**
 * @file Typed field readers for COCO JSON records. Every failure is a one-line UserError naming
 * the file, the record (`annotations[12]`) and the field, e.g.
 *   gt.json: annotations[12].bbox must be an array of 4 finite numbers, got [1,2,3]
 */
import { UserError } from '../../engine/errors.js';

export type JsonRecord = Record<string, unknown>;

/** A short rendering of a bad value for error messages. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** Reads the fields of one record; `where` is e.g. "gt.json: annotations[3]". */
export class RecordReader {
  constructor(private readonly where: string, private readonly rec: JsonRecord) {}

  static of(where: string, v: unknown): RecordReader {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new UserError(`${where} must be an object, got ${describe(v)}`);
    }
    return new RecordReader(where, v as JsonRecord);
  }

  private fail(name: string, what: string): never {
    throw new UserError(`${this.where}.${name} must be ${what}, got ${describe(this.rec[name])}`);
  }

  has(name: string): boolean {
    return this.rec[name] !== undefined;
  }

  /** A finite number. */
  number(name: string): number {
    const v = this.rec[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(name, 'a finite number');
    return v;
  }

  /** An integer (ids). */
  integer(name: string): number {
    const v = this.rec[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(name, 'an integer');
    return v;
  }

  /** 0/1 or false/true (COCO's `iscrowd`). */
  flag(name: string): boolean {
    const v = this.rec[name];
    if (v === 0 || v === 1 || v === false || v === true) return v === 1 || v === true;
    this.fail(name, '0, 1, false or true');
  }

  string(name: string): string {
    const v = this.rec[name];
    if (typeof v !== 'string') this.fail(name, 'a string');
    return v;
  }

  /** `[x, y, w, h]`: an array of exactly 4 finite numbers. */
  box(name: string): [number, number, number, number] {
    const v = this.rec[name];
    const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
    if (!Array.isArray(v) || v.length !== 4 || !v.every(finite)) {
      this.fail(name, 'an array of 4 finite numbers [x, y, w, h]');
    }
    return [v[0], v[1], v[2], v[3]];
  }

  /** An optional field, read only when present. */
  optional<T>(name: string, read: (name: string) => T): T | undefined {
    return this.has(name) ? read.call(this, name) : undefined;
  }
}

/** Parses JSON text, naming the file on a syntax error. */
export function parseJsonText(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${source}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

/** A top-level array field of an object (`images`, `annotations`, `categories`). */
export function arrayField(source: string, top: unknown, name: string): unknown[] {
  if (typeof top !== 'object' || top === null || Array.isArray(top)) {
    throw new UserError(
      `${source}: the top level must be an object with images, annotations, categories`,
    );
  }
  const v = (top as JsonRecord)[name];
  if (!Array.isArray(v)) {
    throw new UserError(`${source}: '${name}' must be an array, got ${describe(v)}`);
  }
  return v;
}
