/**
 * @file Threaded elementwise / per-channel / per-plane ops are bit-identical to the serial loops
 * they replaced (spec/threaded_ops_reference.ts, verbatim copies from before threading) with 1
 * thread and with 2 threads, and their range kernels give the same bits for any job split.
 *
 * Tolerance: none; every comparison is bit for bit (===, NaN and −0 included), because a
 * training run started before threading must be reproducible with the threaded code.
 * Sizes span the parallel threshold (ops/parallel.ts PARALLEL_MIN_ELEMENTS = 65536 elements of
 * work): below it the op runs inline, above it over the pool. Cases marked `parallel` must have
 * been run partly by the worker (checked on the op's last task, retried until the worker is up).
 * Gradients accumulate into non-zero starting values, and the upstream gradient is seeded random.
 */
import { expect } from 'chai';
import { backward } from '../engine/autograd.js';
import { allocF32, sharedCopy } from '../engine/memory.js';
import { Rng } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';
import { lastTaskJobs, setThreads } from '../engine/threads/pool.js';
import {
  exp, hardsigmoid, log, relu, sigmoid, silu, UNARY_KERNELS, type UnaryOp,
} from '../ops/activation.js';
import { batchNorm2d } from '../ops/batchnorm.js';
import {
  add, binaryBackward, binaryForward, div, mul, sub, type BinaryOp,
} from '../ops/elementwise.js';
import { col2im, im2col, outSize, type ConvGeometry } from '../ops/im2col.js';
import { maxPool2d } from '../ops/pool.js';
import { RANGE_KERNELS, type RangeArgs, type RangeFn } from '../ops/range_kernels.js';
import { reshape } from '../ops/shape.js';
import { upsampleNearest2x } from '../ops/upsample.js';
import {
  refBatchNorm, refCol2im, refIm2col, refMaxPoolBackward, refMaxPoolForward,
  refUpsampleNearest2xBackward, refUpsampleNearest2xForward,
} from './threaded_ops_reference.js';

type F32 = Float32Array;

/** Index of the first element whose bits differ, or −1. */
function firstDiff(a: F32, b: F32): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (ua.length !== ub.length) return Math.min(ua.length, ub.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

function expectSameBits(got: readonly F32[], want: readonly F32[], what: string): void {
  expect(got.length).to.equal(want.length);
  got.forEach((g, k) => {
    const i = firstDiff(g, want[k]);
    const detail = i < 0 ? '' : `output ${k} element ${i}: ${g[i]} vs ${want[k][i]}`;
    expect(i, `${what}: ${detail}`).to.equal(-1);
  });
}

/** Seeded uniform values in [lo, hi) on shared memory. */
function rand(n: number, seed: number, lo = -1, hi = 1): F32 {
  return new Rng(seed).fillUniform(allocF32(n), lo, hi);
}

/** Values on a coarse grid (multiples of 1/4 in [−2, 2]): many ties, for maxPool's argmax. */
function coarse(n: number, seed: number): F32 {
  const rng = new Rng(seed), x = allocF32(n);
  for (let i = 0; i < n; i++) x[i] = (rng.int(17) - 8) / 4;
  return x;
}

/** A leaf requiring grad whose gradient starts at non-zero values (backward must add to it). */
function leaf(data: F32, shape: number[], seed: number): Tensor {
  const t = new Tensor(data, shape, true);
  t.grad = rand(data.length, seed, -0.5, 0.5);
  return t;
}

/** Copies of arrays (so a later run cannot change what was captured). */
const copies = (xs: readonly F32[]): F32[] => xs.map((x) => x.slice());

/**
 * Runs `run` with 1 thread, then with 2 threads (retrying until the worker ran part of the last
 * task when `parallel`), and checks both against `ref`.
 */
function checkThreeWays(run: () => F32[], ref: () => F32[], parallel: boolean): void {
  setThreads(1);
  const one = copies(run());
  setThreads(2);
  let two = copies(run());
  for (let i = 0; parallel && (lastTaskJobs()[1] ?? 0) === 0; i++) {
    if (i >= 400) throw new Error('the worker never ran a job');
    // The worker may still be starting: give it a moment (not a timing assertion).
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
    two = copies(run());
  }
  const want = ref();
  expectSameBits(one, want, '1 thread vs serial loop');
  expectSameBits(two, want, '2 threads vs serial loop');
}

/**
 * Runs range kernel `fn` over [0, n) in one piece and, on fresh arguments, as uneven chunks in
 * reverse order; the outputs `out(args)` must have the same bits.
 */
function checkSplit<K extends RangeFn>(fn: K, make: () => RangeArgs[K], n: number,
  out: (a: RangeArgs[K]) => F32[]): void {
  const whole = make();
  RANGE_KERNELS[fn](whole, 0, n);
  const split = make();
  const cuts = [0, 1, Math.floor(n / 3), Math.floor(n / 2) + 1, n - 1, n]
    .filter((c, i, all) => c >= 0 && c <= n && (i === 0 || c > all[i - 1]));
  for (let k = cuts.length - 2; k >= 0; k--) RANGE_KERNELS[fn](split, cuts[k], cuts[k + 1]);
  expectSameBits(out(split), out(whole), `${fn} split [${cuts.join(', ')}]`);
}

const THRESHOLD = 65536;
const SIZES = [1000, 65535, 65536, 70001, 200003];

after(() => setThreads(2));

describe('threaded ops: unary activations', () => {
  const ops: UnaryOp[] = ['silu', 'sigmoid', 'hardsigmoid', 'relu', 'exp', 'log'];
  const apply = { silu, sigmoid, hardsigmoid, relu, exp, log };
  for (const op of ops) {
    for (const n of SIZES) {
      it(`${op} n=${n}: forward and backward`, () => {
        // log needs x > 0; the others see both signs, large |x| (sigmoid's two branches), ±0.
        const x0 = op === 'log' ? rand(n, n, 1e-3, 8) : rand(n, n, -20, 20);
        if (op !== 'log') x0.set([0, -0, 3, -3, 88, -104]);
        const gy = rand(n, n + 1), g0 = leaf(x0, [n], n + 2).grad!;
        checkThreeWays(() => {
          const x = new Tensor(x0.slice(), [n], true);
          x.grad = g0.slice();
          const y = apply[op](x);
          backward(y, gy);
          return [y.data, x.grad];
        }, () => {
          const y = new Float32Array(n), gx = g0.slice();
          UNARY_KERNELS[op].forward(x0, y);
          UNARY_KERNELS[op].backward(x0, gy, gx);
          return [y, gx];
        }, n >= THRESHOLD);
      });
    }
  }
});

describe('threaded ops: batchNorm2d', () => {
  // [N, C, H, W]; work = N·C·H·W: 945 and 64680 run inline, the others over the pool.
  const shapes = [[3, 5, 7, 9], [8, 7, 33, 35], [2, 16, 45, 47], [4, 12, 52, 52], [5, 33, 21, 19]];
  for (const shape of shapes) {
    for (const training of [true, false]) {
      const [N, C, H, W] = shape, n = N * C * H * W, d = { N, C, HW: H * W };
      it(`x=[${shape}] training=${training}: y, running stats, dx, dγ, dβ`, () => {
        const x0 = rand(n, n, -3, 5), gy = rand(n, n + 1);
        const gamma0 = rand(C, 1, 0.5, 1.5), beta0 = rand(C, 2), rm0 = rand(C, 3);
        const rv0 = rand(C, 4, 0.5, 2);
        const opts = { training, momentum: 0.03, eps: 1e-3 };
        checkThreeWays(() => {
          const x = leaf(x0.slice(), shape, 5);
          const gamma = leaf(gamma0.slice(), [C], 6), beta = leaf(beta0.slice(), [C], 7);
          const rm = Tensor.from(rm0, [C]), rv = Tensor.from(rv0, [C]);
          const y = batchNorm2d(x, gamma, beta, rm, rv, opts);
          backward(y, gy);
          return [y.data, rm.data, rv.data, x.grad!, gamma.grad!, beta.grad!];
        }, () => {
          const rm = rm0.slice(), rv = rv0.slice();
          const gx = leaf(x0, shape, 5).grad!, gg = leaf(gamma0, [C], 6).grad!;
          const gb = leaf(beta0, [C], 7).grad!;
          const grads = { gx, ggamma: gg, gbeta: gb };
          const y = refBatchNorm(x0, gamma0, beta0, rm, rv, gy, grads, d, opts);
          return [y, rm, rv, gx, gg, gb];
        }, n >= THRESHOLD);
      });
    }
  }
});

describe('threaded ops: im2col and col2im', () => {
  // [C, H, W] k s p; x holds 2 images and the kernels read / write the second (offset C·H·W).
  const cases = [
    [3, 9, 11, 3, 1, 1], [12, 52, 52, 3, 1, 1], [7, 33, 35, 3, 2, 1], [16, 26, 26, 5, 1, 2],
    [5, 40, 41, 1, 2, 0], [32, 13, 13, 3, 2, 1],
  ];
  for (const [C, H, W, K, S, P] of cases) {
    const OH = outSize(H, K, S, P), OW = outSize(W, K, S, P);
    const g: ConvGeometry = { C, H, W, KH: K, KW: K, S, P, OH, OW };
    const cols = C * K * K * OH * OW, off = C * H * W;
    it(`x=[2,${C},${H},${W}] k=${K} s=${S} p=${P}: col, and gx += col2im(dcol)`, () => {
      const x = rand(2 * off, cols, -2, 2), dcol = rand(cols, cols + 1);
      const gx0 = rand(2 * off, cols + 2);
      checkThreeWays(() => {
        const col = allocF32(cols).fill(7), gx = sharedCopy(gx0);
        im2col(x, off, g, col);
        col2im(dcol, g, gx, off);
        return [col, gx];
      }, () => {
        const col = new Float32Array(cols), gx = gx0.slice();
        refIm2col(x, off, g, col);
        refCol2im(dcol, g, gx, off);
        return [col, gx];
      }, cols >= THRESHOLD);
    });
  }
});

describe('threaded ops: maxPool2d and upsampleNearest2x', () => {
  // [N, C, H, W] k s p, YOLO-X's SPP kernels and a strided case; values with many ties.
  const pools = [
    [2, 3, 5, 7, 3, 1, 1], [3, 40, 13, 13, 5, 1, 2], [2, 24, 13, 13, 9, 1, 4],
    [2, 16, 13, 13, 13, 1, 6], [2, 8, 33, 31, 2, 2, 1],
  ];
  for (const [N, C, H, W, K, S, P] of pools) {
    const OH = outSize(H, K, S, P), OW = outSize(W, K, S, P);
    const d = { N, C, H, W, K, S, P, OH, OW }, nx = N * C * H * W, ny = N * C * OH * OW;
    it(`maxPool2d x=[${N},${C},${H},${W}] k=${K} s=${S} p=${P}: y, dx`, () => {
      const x0 = coarse(nx, nx), gy = rand(ny, ny);
      checkThreeWays(() => {
        const x = leaf(x0.slice(), [N, C, H, W], 1);
        const y = maxPool2d(x, { kernel: K, stride: S, padding: P });
        backward(y, gy);
        return [y.data, x.grad!];
      }, () => {
        const y = new Float32Array(ny), arg = new Int32Array(ny);
        const gx = leaf(x0, [N, C, H, W], 1).grad!;
        refMaxPoolForward(x0, y, arg, d);
        refMaxPoolBackward(gy, arg, gx, d);
        return [y, gx];
      }, ny * K * K >= THRESHOLD);
    });
  }

  const ups = [[2, 16, 13, 13], [8, 24, 26, 26], [3, 7, 17, 19], [1, 96, 26, 26]];
  for (const [N, C, H, W] of ups) {
    const nx = N * C * H * W;
    it(`upsampleNearest2x x=[${N},${C},${H},${W}]: y, dx`, () => {
      const x0 = rand(nx, nx), gy = rand(4 * nx, nx + 1);
      checkThreeWays(() => {
        const x = leaf(x0.slice(), [N, C, H, W], 1);
        const y = upsampleNearest2x(x);
        backward(y, gy);
        return [y.data, x.grad!];
      }, () => {
        const y = new Float32Array(4 * nx), gx = leaf(x0, [N, C, H, W], 1).grad!;
        refUpsampleNearest2xForward(x0, y, N * C, H, W);
        refUpsampleNearest2xBackward(gy, gx, N * C, H, W);
        return [y, gx];
      }, 5 * nx >= THRESHOLD);
    });
  }
});

describe('threaded ops: add, sub, mul, div and reshape', () => {
  const ops = { add, sub, mul, div };
  for (const op of ['add', 'sub', 'mul', 'div'] as BinaryOp[]) {
    for (const n of [1000, 30001, 200003]) {
      it(`${op} a=[${n}] b=[${n}] (same shape, threaded when large): y, da, db`, () => {
        const a0 = rand(n, n, -2, 2), b0 = rand(n, n + 1, 0.5, 2), gy = rand(n, n + 2);
        checkThreeWays(() => {
          const a = leaf(a0.slice(), [n], 3), b = leaf(b0.slice(), [n], 4);
          const y = ops[op](a, b);
          backward(y, gy);
          return [y.data, a.grad!, b.grad!];
        }, () => {
          const y = new Float32Array(n);
          const ga = leaf(a0, [n], 3).grad!, gb = leaf(b0, [n], 4).grad!;
          binaryForward(op, a0, null, b0, null, y);
          binaryBackward(op, a0, null, b0, null, gy, ga, gb);
          return [y, ga, gb];
        }, 3 * n >= THRESHOLD);
      });
    }
  }

  it('add(x, x) of [200003]: both gradient contributions land in the one buffer', () => {
    const n = 200003, x0 = rand(n, 1), gy = rand(n, 2);
    checkThreeWays(() => {
      const x = leaf(x0.slice(), [n], 3);
      const y = add(x, x);
      backward(y, gy);
      return [y.data, x.grad!];
    }, () => {
      const y = new Float32Array(n), gx = leaf(x0, [n], 3).grad!;
      binaryForward('add', x0, null, x0, null, y);
      binaryBackward('add', x0, null, x0, null, gy, gx, gx);
      return [y, gx];
    }, true);
  });

  it('mul with broadcasting [8,16,1,1]·[8,16,26,26] (serial path) is unchanged', () => {
    const a0 = rand(128, 1), b0 = rand(8 * 16 * 676, 2), gy = rand(b0.length, 3);
    const run = (): F32[] => {
      const a = leaf(a0.slice(), [8, 16, 1, 1], 4), b = leaf(b0.slice(), [8, 16, 26, 26], 5);
      const y = mul(a, b);
      backward(y, gy);
      return [y.data, a.grad!, b.grad!];
    };
    setThreads(1);
    const one = copies(run());
    setThreads(2);
    expectSameBits(run(), one, 'broadcast mul, 2 threads vs 1');
  });

  it('reshape [8,16,26,26] → [8,16,676]: dx = dy added to the starting gradient', () => {
    const n = 8 * 16 * 676, x0 = rand(n, 1), gy = rand(n, 2);
    checkThreeWays(() => {
      const x = leaf(x0.slice(), [8, 16, 26, 26], 3);
      const y = reshape(x, [8, 16, 676]);
      backward(y, gy);
      return [y.data, x.grad!];
    }, () => {
      const gx = leaf(x0, [n], 3).grad!;
      for (let i = 0; i < n; i++) gx[i] += gy[i];
      return [x0, gx];
    }, true);
  });
});

describe('threaded ops: range kernels give the same bits for any split', () => {
  const n = 5003, C = 11, d = { N: 3, C, HW: 35 }, nb = 3 * C * 35;
  const f64 = (k: number): Float64Array => new Float64Array(k);
  it('unaryForward / unaryBackward (silu)', () => {
    const x = rand(n, 1, -9, 9), gy = rand(n, 2);
    checkSplit('unaryForward', () => ({ op: 'silu' as const, x, y: allocF32(n) }), n,
      (a) => [a.y]);
    checkSplit('unaryBackward', () => ({ op: 'silu' as const, x, gy, gx: rand(n, 3) }), n,
      (a) => [a.gx]);
  });
  it('bnTrainForward and bnBackward (per channel)', () => {
    const x = rand(nb, 1), gamma = rand(C, 2), beta = rand(C, 3), gy = rand(nb, 4);
    const make = () => ({ ...d, x, gamma, beta, mean: f64(C), rstd: f64(C), variance: f64(C),
      y: allocF32(nb), eps: 1e-3 });
    checkSplit('bnTrainForward', make, C, (a) => [a.y, new Float32Array(a.rstd)]);
    const s = make();
    RANGE_KERNELS.bnTrainForward(s, 0, C);
    checkSplit('bnBackward', () => ({ ...d, x, gamma, mean: s.mean, rstd: s.rstd, gy,
      gx: rand(nb, 5), ggamma: rand(C, 6), gbeta: rand(C, 7), batchStats: true }), C,
    (a) => [a.gx!, a.ggamma!, a.gbeta!]);
  });
  it('col2im and maxPoolBackward (per channel / plane, float64 scratch per thread)', () => {
    const g: ConvGeometry = { C: 6, H: 9, W: 8, KH: 3, KW: 3, S: 2, P: 1, OH: 5, OW: 4 };
    const col = rand(6 * 9 * 20, 1);
    checkSplit('col2im', () => ({ col, g, gx: rand(6 * 72, 2), gxOffset: 0 }), 6,
      (a) => [a.gx]);
    const pd = { N: 2, C: 3, H: 7, W: 7, K: 5, S: 1, P: 2, OH: 7, OW: 7 };
    const x = coarse(294, 3), argmax = new Int32Array(294);
    RANGE_KERNELS.maxPoolForward({ x, y: allocF32(294), argmax, d: pd }, 0, 6);
    checkSplit('maxPoolBackward', () => ({ gy: rand(294, 4), argmax, gx: rand(294, 5), d: pd }),
      6, (a) => [a.gx]);
  });
});
