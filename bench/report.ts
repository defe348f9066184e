/**
 * @file Benchmark rows and their report. Every figure is printed beside a peer's figure measured in
 * the same run (the machines are noisy), as a ratio ours/peer: below 1 means we are faster.
 */
import { writeFileAtomic } from '../engine/formats/files.js';

export interface BenchRow {
  /** Stable name for tracking over time, e.g. 'gemm.192x864x676', 'forward416.bs1'. */
  name: string;
  ours_ms: number;
  /** What we compare against, e.g. 'onnxruntime-node 2 threads'; 'none' when there is no peer. */
  peer: string;
  peer_ms: number | null;
  /** ours_ms / peer_ms (null without a peer). */
  ratio: number | null;
  /** Free text: GFLOP/s, images/s, peak RSS… */
  note?: string;
}

export function row(name: string, oursMs: number, peer: string, peerMs: number | null, note?: string): BenchRow {
  return { name, ours_ms: oursMs, peer, peer_ms: peerMs, ratio: peerMs === null ? null : oursMs / peerMs, note };
}

/** Median of `runs` timings (ms) of `fn`, after `warmup` untimed calls. */
export async function medianMs(fn: () => unknown, runs = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export function printRows(rows: readonly BenchRow[]): void {
  const fmt = (x: number | null) => (x === null ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(2));
  console.log(['name'.padEnd(28), 'ours ms'.padStart(10), 'peer ms'.padStart(10), 'ratio'.padStart(7), '  peer / note'].join(' '));
  for (const r of rows) {
    console.log([r.name.padEnd(28), fmt(r.ours_ms).padStart(10), fmt(r.peer_ms).padStart(10),
      (r.ratio === null ? '—' : r.ratio.toFixed(2)).padStart(7), `  ${r.peer}${r.note ? ` · ${r.note}` : ''}`].join(' '));
  }
}

export function writeRowsJson(file: string, rows: readonly BenchRow[]): void {
  writeFileAtomic(file, JSON.stringify(rows.map(({ note: _note, ...r }) => r), null, 2) + '\n');
}
