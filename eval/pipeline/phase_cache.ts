/**
 * @file Crash-safe phases for long workflows: each finished phase leaves OUT/phases/<name>.json =
 * {key, result}, written atomically after the phase's own files. A rerun whose key (a digest of
 * everything the phase depends on: options, input file digests, the upstream phases' keys) is
 * unchanged reuses the saved result and skips the work; anything else reruns the phase.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../engine/formats/files.js';

/** sha256 of a file's bytes (hex, first 16 digits), or 'missing'. */
export function fileDigest(file: string): string {
  if (!fs.existsSync(file)) return 'missing';
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16);
}

/** A short digest of a JSON-serialisable value (the key of a phase). */
export function keyOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

export class PhaseCache {
  constructor(readonly outDir: string) {}

  private file(name: string): string {
    return path.join(this.outDir, 'phases', `${name}.json`);
  }

  /** The saved result of `name` when its key matches and every `needs` file exists. */
  get<T>(name: string, key: string, needs: readonly string[] = []): T | null {
    try {
      const saved = JSON.parse(fs.readFileSync(this.file(name), 'utf8')) as
        { key: string; result: T };
      if (saved.key !== key) return null;
      if (!needs.every((f) => fs.existsSync(f))) return null;
      return saved.result;
    } catch {
      return null;
    }
  }

  /** Records a finished phase (call after its files are written). */
  put<T>(name: string, key: string, result: T): void {
    writeFileAtomic(this.file(name), `${JSON.stringify({ key, result })}\n`);
  }

  /** Runs `work` unless a matching result is saved; `skipped` tells which happened. */
  run<T>(name: string, key: string, needs: readonly string[], work: () => T):
    { result: T; skipped: boolean } {
    const saved = this.get<T>(name, key, needs);
    if (saved !== null) return { result: saved, skipped: true };
    const result = work();
    this.put(name, key, result);
    return { result, skipped: false };
  }
}
