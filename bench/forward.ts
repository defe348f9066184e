/**
 * @file Benchmark: FP32 eval forward of YOLO-X Tiny at 416×416, batch 1 (seed-0 weights from the
 * fixtures' ckpt.pth, the ONNX fixture's seeded check input), decode included, no NMS.
 *
 * Peers, measured in the same run and interleaved with ours round by round:
 *   - onnxruntime-node (CPU EP, default graph optimisations) on the official ONNX export of the
 *     same weights, intraOpNumThreads 1 and 2 (interOp 1, sequential execution);
 *   - TensorFlow.js on its wasm backend (XNNPACK, SIMD, 1 thread: see peers/tfjs_yolox.ts).
 * Ours runs with 1 thread beside the 1-thread peers and with 2 threads beside ORT's 2 threads.
 *
 * Before timing, once: our output vs ORT's, vs the fixture's check_output.npy and vs tfjs's,
 * as max |a − b| / max |b| (fixtures/README.md's measure).
 *
 * `--profile`: one extra forward per thread count with every op timed (bench/profile.ts).
 * Run alone: node dist/bench/forward.js [--runs N] [--profile]   (cwd: the checkout)
 */
import { pathToFileURL } from 'node:url';
import { noGrad } from '../engine/autograd.js';
import { readNpy } from '../engine/formats/files.js';
import { npyToFloat32 } from '../engine/formats/npy.js';
import { Tensor } from '../engine/tensor.js';
import { getThreads, setThreads } from '../engine/threads/pool.js';
import { loadYoloxCheckpoint } from '../models/checkpoint.js';
import { Counter } from '../models/module.js';
import { releaseForward } from '../models/release.js';
import type { YOLOX } from '../models/yolox.js';
import { fixturePath, maxRelDiff } from '../spec/fixtures.js';
import { loadTfWasm, TfjsYolox, type StateTensor } from './peers/tfjs_yolox.js';
import { printProfile, profileForward } from './profile.js';
import { printRows, row, type BenchRow } from './report.js';
import { fmtRel, interleavedMedians } from './timing.js';

export interface ForwardBenchOptions {
  /** Timed rounds per thread count (median); at least 5. */
  runs?: number;
  profile?: boolean;
}

interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
  release?(): Promise<void>;
}
interface Ort {
  InferenceSession: {
    create(path: string, opts: Record<string, unknown>): Promise<OrtSession>;
  };
  Tensor: new (type: string, data: Float32Array, dims: readonly number[]) => unknown;
}

const ONNX = ['yolox_tiny', 'onnx'];

/** The model in eval mode and the check input/output. */
export function loadForwardCase(): { model: YOLOX; input: Tensor; checkOutput: Float32Array } {
  const model = loadYoloxCheckpoint(fixturePath('yolox_tiny', 'weights', 'ckpt.pth')).eval();
  const x = readNpy(fixturePath(...ONNX, 'yolox_tiny_416.check_input.npy'));
  const input = new Tensor(npyToFloat32(x), x.shape);
  const check = readNpy(fixturePath(...ONNX, 'yolox_tiny_416.check_output.npy'));
  const checkOutput = npyToFloat32(check);
  return { model, input, checkOutput };
}

/** Float state entries by official key (what the tfjs peer is built from). */
export function floatStateOf(model: YOLOX): Map<string, StateTensor> {
  const out = new Map<string, StateTensor>();
  for (const [k, v] of model.namedState()) if (!(v instanceof Counter)) out.set(k, v);
  return out;
}

/**
 * max rel diff over the whole [1, A, 85] output (dominated by the box coordinates, up to ~10³)
 * and over the 81 score columns alone (values ≤ 1, so score errors are not hidden).
 */
function relDiffs(a: Float32Array, b: Float32Array, D = 85): string {
  const scores = (x: Float32Array) => x.filter((_, i) => i % D >= 4);
  return `${fmtRel(maxRelDiff(a, b))} (scores ${fmtRel(maxRelDiff(scores(a), scores(b)))})`;
}

async function ortSession(ort: Ort, threads: number): Promise<OrtSession> {
  return ort.InferenceSession.create(fixturePath(...ONNX, 'yolox_tiny_416.onnx'), {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

export async function benchForward(opts: ForwardBenchOptions = {}): Promise<BenchRow[]> {
  const runs = Math.max(5, opts.runs ?? 7);
  const savedThreads = getThreads();
  const { model, input, checkOutput } = loadForwardCase();
  // Like the tfjs peer's tidy/dispose, each run hands its outputs back to the allocator once
  // read (models/release.ts releaseForward), so runs reuse memory as an eval loop would.
  const ours = (): Float32Array => noGrad(() => {
    const o = model.call(input);
    const out = Float32Array.from(o.output!.data);
    releaseForward(o);
    return out;
  });

  let ort: Ort | null = null, ortWhy = '';
  try {
    ort = (await import('onnxruntime-node')) as unknown as Ort;
  } catch (e) {
    ortWhy = (e as Error).message.split('\n')[0];
  }
  const tfl = await loadTfWasm();
  const tfjs = typeof tfl === 'string' ? null : new TfjsYolox(tfl.tf, floatStateOf(model));

  // Correctness, once, outside timing.
  setThreads(1);
  const out = ours();
  const checks = [`ours vs check_output ${relDiffs(out, checkOutput)}`];
  let ortRun: ((s: OrtSession) => Promise<Float32Array>) | null = null;
  if (ort !== null) {
    // A copy: ORT rejects typed arrays on a SharedArrayBuffer (our tensors' storage).
    const feed = new ort.Tensor('float32', new Float32Array(input.data), input.shape);
    ortRun = async (s) => (await s.run({ images: feed })).output.data as Float32Array;
    const s = await ortSession(ort, 1);
    const ref = await ortRun(s);
    checks.push(`ours vs ORT ${relDiffs(out, ref)}`,
      `ORT vs check_output ${relDiffs(ref, checkOutput)}`);
    await s.release?.();
  }
  if (tfjs !== null) {
    checks.push(`tfjs vs ours ${relDiffs(tfjs.forward(input.data, input.shape), out)}`);
  }
  console.log(`forward416 output, max |a − b| / max |b|:\n  ${checks.join('\n  ')}`);

  const rows: BenchRow[] = [];
  for (const threads of [1, 2]) {
    setThreads(threads);
    const timed: Array<[string, () => unknown]> = [['ours', ours]];
    let session: OrtSession | null = null;
    if (ort !== null && ortRun !== null) {
      const s = session = await ortSession(ort, threads);
      const run = ortRun;
      timed.push(['ort', () => run(s)]);
    }
    if (threads === 1 && tfjs !== null) {
      timed.push(['tfjs', () => tfjs.forward(input.data, input.shape)]);
    }
    const medians = await interleavedMedians(timed.map(([, fn]) => fn), runs, 2);
    const ms = new Map(timed.map(([k], i) => [k, medians[i]]));
    const oursMs = ms.get('ours')!;
    const suffix = threads === 2 ? '' : '.1thread';
    const note = `median of ${runs}, ${(1000 / oursMs).toFixed(1)} img/s`;
    rows.push(ort !== null
      ? row(`forward416.bs1${suffix}`, oursMs, `onnxruntime-node ${threads} thread(s)`,
        ms.get('ort')!, note)
      : row(`forward416.bs1${suffix}`, oursMs, `none (onnxruntime-node: ${ortWhy})`, null, note));
    if (threads === 1) {
      rows.push(typeof tfl !== 'string'
        ? row('forward416.bs1.1thread-vs-tfjs', oursMs,
          `tfjs-backend-wasm (XNNPACK, SIMD, ${tfl.threads} thread)`, ms.get('tfjs')!)
        : row('forward416.bs1.1thread-vs-tfjs', oursMs, `none (${tfl})`, null));
    }
    await session?.release?.();
    if (opts.profile) {
      const { profile } = profileForward(ours);
      printProfile(`forward416.bs1 per op, ${threads} thread(s)`, profile.byOp, profile.totalMs);
      printProfile(`forward416.bs1 per stage, ${threads} thread(s)`, profile.byStage,
        profile.totalMs);
    }
  }
  tfjs?.dispose();
  setThreads(savedThreads);
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--runs');
  printRows(await benchForward({
    runs: i >= 0 ? Number(args[i + 1]) : undefined, profile: args.includes('--profile'),
  }));
}
