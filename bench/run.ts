/**
 * @file `npm run bench`: every benchmark in sequence (never two at once), one table at the end,
 * and optionally the rows as JSON.
 *
 *   node dist/bench/run.js [--only gemm,forward,cocoeval,trainstep] [--json FILE] [--runs N]
 *                          [--profile]
 *
 * --only     comma-separated subset (default: all, in the order below)
 * --json     write [{name, ours_ms, peer, peer_ms, ratio}, …] to FILE (atomically)
 * --runs     timed runs per figure for forward (≥ 5) and trainstep (default 7 and 3)
 * --profile  per-op time tables for forward and trainstep
 * Run from the checkout (the fixtures are found at ../shared). Timings on a shared machine are
 * noisy: every figure is measured beside its peer in the same run, and the ratio is the figure.
 */
import { parseArgs } from 'node:util';
import { UserError } from '../engine/errors.js';
import { benchCocoeval } from './cocoeval.js';
import { benchForward } from './forward.js';
import { benchGemm } from './gemm.js';
import { printRows, writeRowsJson, type BenchRow } from './report.js';
import { benchTrainstep } from './trainstep.js';

interface RunOptions {
  runs?: number;
  profile: boolean;
}

/** The benchmarks, in run order. */
const BENCHES: ReadonlyArray<[string, (o: RunOptions) => Promise<BenchRow[]>]> = [
  ['gemm', () => benchGemm()],
  ['forward', (o) => benchForward({ runs: o.runs, profile: o.profile })],
  ['cocoeval', async () => [await benchCocoeval()]],
  ['trainstep', (o) => benchTrainstep({ runs: o.runs, profile: o.profile })],
];

function parse(argv: string[]): { only: string[]; json: string | null; opts: RunOptions } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        only: { type: 'string' }, json: { type: 'string' }, runs: { type: 'string' },
        profile: { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    throw new UserError(`bench: ${(e as Error).message.split('\n')[0]}`);
  }
  const names = BENCHES.map(([n]) => n);
  const only = values.only === undefined ? names : values.only.split(',').map((s) => s.trim());
  const unknown = only.filter((n) => !names.includes(n));
  if (unknown.length > 0 || only.length === 0) {
    throw new UserError(`bench: --only takes a comma-separated subset of ${names.join(',')}` +
      (unknown.length > 0 ? `; unknown: ${unknown.join(',')}` : ''));
  }
  let runs: number | undefined;
  if (values.runs !== undefined) {
    runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1) {
      throw new UserError(`bench: --runs must be a positive integer, got '${values.runs}'`);
    }
  }
  return { only, json: values.json ?? null, opts: { runs, profile: values.profile ?? false } };
}

async function main(): Promise<void> {
  const { only, json, opts } = parse(process.argv.slice(2));
  const rows: BenchRow[] = [];
  for (const [name, bench] of BENCHES) {
    if (!only.includes(name)) continue;
    const t0 = performance.now();
    console.error(`bench: ${name}…`);
    rows.push(...await bench(opts));
    console.error(`bench: ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  console.log();
  printRows(rows);
  if (json !== null) {
    writeRowsJson(json, rows);
    console.error(`bench: wrote ${rows.length} rows to ${json}`);
  }
}

try {
  await main();
} catch (e) {
  if (!(e instanceof UserError)) throw e;
  console.error(e.message);
  process.exitCode = 2;
}
