/**
 * @file The worker-thread pool. Ops run synchronously (autograd calls kernels directly), so
 * `runTask` posts the task to T−1 workers, runs jobs on the main thread too, then blocks in
 * Atomics.wait until every job is done. Jobs are blocks of the output, claimed from a shared
 * counter: which thread runs which job changes nothing in the result.
 *
 * Thread count T: `setThreads(n)`, else the environment variable YOLOXQ_THREADS, else
 * min(2, os.availableParallelism()). Workers start lazily on the first task that needs them and
 * are unref'd, so they never keep the process alive.
 */
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { UserError } from '../errors.js';
import { kernelModule, mainThreadKernels, sharedMemory } from '../wasm/runtime.js';
import { drain, jobsByThread, newControl, waitAll } from './control.js';
import { jobCount, type Task } from './tasks.js';

/** Upper bound on the thread count (the wasm memory holds one scratch region per thread). */
export const MAX_THREADS = 64;

let threads: number | null = null;
const workers: Worker[] = [];
let lastControl: Int32Array | null = null;
let lastThreads = 1;

function parseThreads(value: string | number, source: string): number {
  const n = typeof value === 'number' ? value : Number(value.trim());
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new UserError(`${source} must be an integer from 1 to ${MAX_THREADS}, got '${value}'`);
  }
  return n;
}

/** The number of threads (main included) that kernels use. */
export function getThreads(): number {
  if (threads === null) {
    const env = process.env.YOLOXQ_THREADS;
    threads = env !== undefined && env !== ''
      ? parseThreads(env, 'YOLOXQ_THREADS')
      : Math.min(2, os.availableParallelism());
  }
  return threads;
}

/** Set the thread count (1 = main thread only). Extra workers are stopped. */
export function setThreads(n: number): void {
  threads = parseThreads(n, 'thread count');
  while (workers.length > threads - 1) void workers.pop()!.terminate();
}

/** Start workers until `count` exist; worker w runs as thread w+1 (scratch region w+1). */
function ensureWorkers(count: number): void {
  if (workers.length >= count) return;
  const memory = sharedMemory(count + 1);
  const module = kernelModule();
  while (workers.length < count) {
    const index = workers.length + 1;
    // execArgv: [] — workers need no CLI flags, and inheriting e.g. `-e <code>` breaks them.
    const w = new Worker(new URL('./worker.js', import.meta.url),
      { workerData: { module, memory, index }, execArgv: [] });
    w.unref();
    // A worker that dies is dropped; the jobs it never claimed are run by the other threads.
    w.on('error', () => dropWorker(w));
    w.on('exit', () => dropWorker(w));
    workers.push(w);
  }
}

function dropWorker(w: Worker): void {
  const i = workers.indexOf(w);
  if (i >= 0) workers.splice(i, 1);
}

/**
 * Run every job of `task` and return when all are done. `parallel` false (or one thread, or one
 * job) runs them on the main thread alone. The task's arrays must live on SharedArrayBuffers
 * when it is run in parallel.
 */
export function runTask(task: Task, parallel = true): void {
  const jobs = jobCount(task);
  const t = parallel ? Math.min(getThreads(), jobs) : 1;
  const ctl = newControl();
  lastControl = ctl;
  lastThreads = t;
  if (t > 1) {
    ensureWorkers(t - 1);
    for (let w = 0; w < t - 1 && w < workers.length; w++) workers[w].postMessage({ task, ctl });
  }
  drain(task, ctl, mainThreadKernels(), 0);
  waitAll(ctl, jobs);
}

/** Stop all workers (tests use this to prove a fresh pool starts lazily). */
export async function shutdownPool(): Promise<void> {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
}

/** Jobs each thread ran in the last task (index 0 = main thread); for tests. */
export function lastTaskJobs(): number[] {
  return lastControl === null ? [] : jobsByThread(lastControl, lastThreads);
}

/** Number of live workers (for tests). */
export function workerCount(): number {
  return workers.length;
}
