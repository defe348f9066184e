/**
 * @file The worker-thread pool. Ops run synchronously (autograd calls kernels directly), so
 * `runTask` hands the task to T−1 workers, runs jobs on the main thread too, then blocks in
 * Atomics.wait until every job is done. Jobs are blocks of the output, claimed from a shared
 * counter: which thread runs which job changes nothing in the result.
 *
 * Wake-up: the task goes to the worker's MessagePort, then its doorbell word in shared memory is
 * incremented and notified; the worker sleeps in Atomics.wait on that word (see worker.ts).
 *
 * Thread count T: `setThreads(n)`, else the environment variable YOLOXQ_THREADS, else
 * min(2, os.availableParallelism()). Workers start lazily on the first task that needs them and
 * are unref'd, so they never keep the process alive.
 */
import * as os from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { UserError } from '../errors.js';
import { kernelModule, mainThreadKernels, sharedMemory } from '../wasm/runtime.js';
import { drain, jobsByThread, newControl, waitAll } from './control.js';
import { jobCount, type Task } from './tasks.js';

/** Upper bound on the thread count (the wasm memory holds one scratch region per thread). */
export const MAX_THREADS = 64;

let threads: number | null = null;
/** A live worker: it runs as thread `index` (scratch region `index`), doorbell word index − 1. */
interface WorkerEntry {
  worker: Worker;
  port: MessagePort;
  index: number;
}
const workers: WorkerEntry[] = [];
const bell = new Int32Array(new SharedArrayBuffer(4 * MAX_THREADS));
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
  while (workers.length > threads - 1) void stopWorker(workers.pop()!);
}

/** Start workers until `count` exist, each with the smallest thread index not in use. */
function ensureWorkers(count: number): void {
  if (workers.length >= count) return;
  const module = kernelModule();
  while (workers.length < count) {
    let index = 1;
    while (workers.some((w) => w.index === index)) index++;
    const memory = sharedMemory(index + 1);
    const { port1, port2 } = new MessageChannel();
    Atomics.store(bell, index - 1, 0);
    // execArgv: [] — workers need no CLI flags, and inheriting e.g. `-e <code>` breaks them.
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { module, memory, index, bell, port: port2 }, transferList: [port2],
      execArgv: [],
    });
    worker.unref();
    port1.unref();
    const entry = { worker, port: port1, index };
    // A worker that dies is dropped; the jobs it never claimed are run by the other threads.
    worker.on('error', () => dropWorker(entry));
    worker.on('exit', () => dropWorker(entry));
    workers.push(entry);
  }
}

function dropWorker(entry: WorkerEntry): void {
  const i = workers.indexOf(entry);
  if (i >= 0) void stopWorker(workers.splice(i, 1)[0]);
}

function stopWorker(entry: WorkerEntry): Promise<number> {
  entry.port.close();
  return entry.worker.terminate();
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
  lastThreads = 1;
  if (t > 1) {
    ensureWorkers(t - 1);
    for (const w of workers.slice(0, t - 1)) {
      lastThreads = Math.max(lastThreads, w.index + 1);
      w.port.postMessage({ task, ctl });
      Atomics.add(bell, w.index - 1, 1);
      Atomics.notify(bell, w.index - 1, 1);
    }
  }
  drain(task, ctl, mainThreadKernels(), 0);
  waitAll(ctl, jobs);
}

/** Stop all workers (tests use this to prove a fresh pool starts lazily). */
export async function shutdownPool(): Promise<void> {
  await Promise.all(workers.splice(0).map(stopWorker));
}

/** Scratch regions that threads may use (0 … n−1); memory above them is free for a task. */
export function regionsInUse(): number {
  return Math.max(getThreads(), ...workers.map((w) => w.index + 1));
}

/** Jobs each thread index ran in the last task (index 0 = main thread); for tests. */
export function lastTaskJobs(): number[] {
  return lastControl === null ? [] : jobsByThread(lastControl, lastThreads);
}

/** Number of live workers (for tests). */
export function workerCount(): number {
  return workers.length;
}
