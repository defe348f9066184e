/**
 * @file The shared control block of one dispatched task, and the job loop every thread runs.
 *
 * Int32 words of the control block (a fresh SharedArrayBuffer per task):
 *   [NEXT] next job to claim (Atomics.add) · [DONE] jobs finished · [FAILED] 1 if any job threw
 *   [ERR_LEN] length of the error message · [BY_THREAD + t] jobs run by thread t (for tests)
 *   bytes from ERR_AT: the first error's message, UTF-8
 * A thread that arrives after every job was claimed finds nothing to do and touches nothing else,
 * so a slow or just-started worker can never write into a later task.
 */
import type { Kernels } from '../wasm/runtime.js';
import { jobCount, runJob, type Task } from './tasks.js';

export const NEXT = 0, DONE = 1, FAILED = 2, ERR_LEN = 3, BY_THREAD = 4;
const MAX_T = 64, ERR_AT = 4 * (BY_THREAD + MAX_T), CTL_BYTES = ERR_AT + 1024;

export function newControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(CTL_BYTES));
}

/** Claim and run jobs until none are left; count each one done, recording the first error. */
export function drain(task: Task, ctl: Int32Array, kern: Kernels, t: number): void {
  const jobs = jobCount(task);
  for (;;) {
    const j = Atomics.add(ctl, NEXT, 1);
    if (j >= jobs) return;
    try {
      runJob(task, j, kern, t);
      Atomics.add(ctl, BY_THREAD + Math.min(t, MAX_T - 1), 1);
    } catch (e) {
      if (Atomics.compareExchange(ctl, FAILED, 0, 1) === 0) {
        const msg = new TextEncoder().encode(`thread ${t}: ${(e as Error)?.stack ?? String(e)}`);
        const bytes = new Uint8Array(ctl.buffer, ERR_AT, CTL_BYTES - ERR_AT);
        const n = Math.min(msg.length, bytes.length);
        bytes.set(msg.subarray(0, n));
        Atomics.store(ctl, ERR_LEN, n);
      }
    } finally {
      if (Atomics.add(ctl, DONE, 1) + 1 === jobs) Atomics.notify(ctl, DONE);
    }
  }
}

/** Block (Atomics.wait) until all `jobs` are done; then throw the first recorded error, if any. */
export function waitAll(ctl: Int32Array, jobs: number): void {
  for (let d = Atomics.load(ctl, DONE); d < jobs; d = Atomics.load(ctl, DONE)) {
    Atomics.wait(ctl, DONE, d);
  }
  if (Atomics.load(ctl, FAILED) !== 0) {
    const n = Atomics.load(ctl, ERR_LEN);
    const msg = new TextDecoder().decode(new Uint8Array(ctl.buffer, ERR_AT, n).slice());
    throw new Error(`parallel job failed: ${msg}`);
  }
}

/** Jobs run by each of the first `threads` threads of a finished task. */
export function jobsByThread(ctl: Int32Array, threads: number): number[] {
  return Array.from({ length: threads }, (_, t) => Atomics.load(ctl, BY_THREAD + t));
}
