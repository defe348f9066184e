/**
 * @file Specs of the worker-thread pool: lazy start, 1 vs 2 threads bit-identical for the float
 * and int8 GEMMs (with proof that the worker really ran jobs), thread-count settings, and that
 * unref'd workers never keep the process alive.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { gemm } from '../engine/gemm.js';
import { gemmInt8 } from '../engine/gemm_int8.js';
import { UserError } from '../engine/errors.js';
import {
  getThreads, lastTaskJobs, runTask, setThreads, shutdownPool, workerCount,
} from '../engine/threads/pool.js';
import { planJobs } from '../engine/wasm/sgemm.js';
import { caseName, makeF32, makeI8, type Case } from './gemm_cases.js';

const poolUrl = new URL('../engine/threads/pool.js', import.meta.url).href;
const gemmUrl = new URL('../engine/gemm.js', import.meta.url).href;

/** Run `fn` with 2 threads until the worker (thread 1) ran at least one job (≤ 400 tries). */
function runWithWorker(fn: () => void): void {
  setThreads(2);
  for (let i = 0; i < 400; i++) {
    fn();
    if ((lastTaskJobs()[1] ?? 0) > 0) return;
    // The worker may still be starting: give it a moment (not a timing assertion).
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
  }
  throw new Error('the worker never ran a job');
}

/** A fresh node process running `code` (ESM) with the given environment; returns stdout. */
function child(code: string, env: Record<string, string>): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', code],
    { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
}

describe('engine/threads pool', () => {
  after(() => setThreads(2));

  it('starts workers lazily: none for tiny or single-thread work', async () => {
    await shutdownPool();
    setThreads(2);
    const g = makeF32({ M: 8, K: 8, N: 8 }, 1);
    gemm(g);
    expect(workerCount()).to.equal(0);
    setThreads(1);
    gemm(makeF32({ M: 96, K: 300, N: 200 }, 2));
    expect(workerCount()).to.equal(0);
    runWithWorker(() => gemm(makeF32({ M: 96, K: 300, N: 200 }, 2)));
    expect(workerCount()).to.equal(1);
  });

  const f32Cases: Case[] = [
    { M: 96, K: 864, N: 676 }, { M: 192, K: 96, N: 676, transA: true, accumulate: true },
    { M: 101, K: 333, N: 257, transB: true, pad: 5 },
    { M: 250, K: 64, N: 1000, transA: true, transB: true, accumulate: true, pad: 1 },
  ];
  f32Cases.forEach((c, i) => {
    it(`float GEMM, 1 vs 2 threads bit-identical: ${caseName(c)}`, () => {
      const one = makeF32(c, 10 + i), two = makeF32(c, 10 + i);
      setThreads(1);
      gemm(one);
      expect(lastTaskJobs()).to.have.length(1);
      const c0 = two.c.slice();
      runWithWorker(() => {
        two.c.set(c0);
        gemm(two);
      });
      expect(Buffer.from(two.c.buffer).equals(Buffer.from(one.c.buffer))).to.equal(true);
    });
  });

  it('3 threads (more than this machine may have) give the same bits as 1', () => {
    const c: Case = { M: 200, K: 150, N: 900, transB: true };
    const one = makeF32(c, 21), three = makeF32(c, 21);
    setThreads(1);
    gemm(one);
    setThreads(3);
    gemm(three);
    expect(workerCount()).to.equal(2);
    expect(Buffer.from(three.c.buffer).equals(Buffer.from(one.c.buffer))).to.equal(true);
    setThreads(2);
    expect(workerCount()).to.equal(1);
  });

  it('int8 GEMM, 1 vs 2 threads identical', () => {
    const c: Case = { M: 96, K: 433, N: 500, transB: true, accumulate: true, pad: 2 };
    const one = makeI8(c, 3), two = makeI8(c, 3), c0 = two.c.slice();
    setThreads(1);
    gemmInt8(one);
    runWithWorker(() => {
      two.c.set(c0);
      gemmInt8(two);
    });
    expect(Buffer.from(two.c.buffer).equals(Buffer.from(one.c.buffer))).to.equal(true);
  });

  it('a throwing job (any thread) fails the task with its message; the pool still works', () => {
    setThreads(2);
    const g = makeF32({ M: 96, K: 64, N: 600 }, 4);
    const broken = { ...g, a: null as unknown as Float32Array };
    const plan = planJobs(96, 600, 2);
    expect(plan.mJobs * plan.nJobs).to.be.greaterThan(1);
    expect(() => runTask({ kind: 'sgemm', g: broken, plan, aShared: -1 }))
      .to.throw(/parallel job failed/);
    const one = makeF32({ M: 96, K: 64, N: 600 }, 4);
    setThreads(1);
    gemm(one);
    runWithWorker(() => gemm(g));
    expect(Array.from(g.c)).to.deep.equal(Array.from(one.c));
  });

  it('setThreads rejects bad counts with a UserError', () => {
    for (const bad of [0, -1, 1.5, NaN, 65]) expect(() => setThreads(bad)).to.throw(UserError);
    setThreads(3);
    expect(getThreads()).to.equal(3);
  });

  it('YOLOXQ_THREADS sets the default; a bad value is a UserError', () => {
    const code = `import { getThreads } from '${poolUrl}';
      try { console.log(getThreads()); } catch (e) { console.log(e.name); }`;
    expect(child(code, { YOLOXQ_THREADS: '3' }).trim()).to.equal('3');
    expect(child(code, { YOLOXQ_THREADS: 'many' }).trim()).to.equal('UserError');
  });

  it('a process whose workers ran jobs still exits on its own (workers are unref\'d)', () => {
    const code = `import { gemm } from '${gemmUrl}';
      import { lastTaskJobs, workerCount } from '${poolUrl}';
      const n = 200 * 300, a = new Float32Array(new SharedArrayBuffer(4 * n)).fill(1);
      const c = new Float32Array(new SharedArrayBuffer(4 * 200 * 200));
      let used = false;
      for (let i = 0; i < 400 && !used; i++) {
        gemm({ M: 200, N: 200, K: 300, a, lda: 300, b: a, ldb: 200, c, ldc: 200 });
        used = lastTaskJobs()[1] > 0;
        if (!used) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
      }
      console.log(workerCount(), used, c[0]);`;
    // execFileSync returns only once the child exits (the 60 s timeout would fail the test).
    expect(child(code, { YOLOXQ_THREADS: '2' }).trim()).to.equal('1 true 300');
  });
});
