/**
 * @file The work the thread pool knows how to run. A task is plain data (typed arrays on shared
 * memory plus numbers), so it can be posted to a worker; it is cut into numbered jobs, and any
 * thread may run any job: a job writes its own block of the output and nothing else.
 *   sgemm, igemm  GEMM blocks of C (engine/wasm/)
 *   range         a named op kernel over a chunk of elements, channels or planes
 *                 (ops/range_kernels.ts, dispatched by ops/parallel.ts)
 */
import type { GemmArgs } from '../gemm.js';
import type { GemmInt8Args } from '../gemm_int8.js';
import type { Kernels } from '../wasm/runtime.js';
import { igemmJob } from '../wasm/igemm.js';
import { sgemmJob, type JobPlan } from '../wasm/sgemm.js';
import { runRangeJob, type RangeTask } from '../../ops/range_kernels.js';

export type { RangeTask };

export type Task =
  | { kind: 'sgemm'; g: GemmArgs; plan: JobPlan; aShared: number }
  | { kind: 'igemm'; g: GemmInt8Args; plan: JobPlan; aShared: number }
  | RangeTask;

/** Number of jobs in a task. */
export function jobCount(task: Task): number {
  if (task.kind === 'range') return Math.ceil(task.n / task.grain);
  return task.plan.mJobs * task.plan.nJobs;
}

/** Run job `job` of `task` on thread `t` (which owns scratch region t of the wasm memory). */
export function runJob(task: Task, job: number, kern: Kernels, t: number): void {
  switch (task.kind) {
    case 'sgemm': return sgemmJob(task.g, task.plan, task.aShared, job, kern, t);
    case 'igemm': return igemmJob(task.g, task.plan, task.aShared, job, kern, t);
    case 'range': return runRangeJob(task, job);
  }
}
