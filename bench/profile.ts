/**
 * @file Per-op time profile of a forward (and of a backward) for `--profile`.
 *
 * Forward: a passive op listener (engine/autograd.ts `withOpListener`) stamps the clock each
 * time an op is recorded or a fused fast path reports itself ('conv_fused', the eval BaseConv);
 * passive, so the forward runs exactly the path it runs unprofiled. The time since the previous
 * stamp is charged to that op, so module glue between ops is included in the op that follows.
 * Work that records no op (the eval decode) is reported as "(untaped)". Convolutions are split by kernel and stride and report GFLOP/s
 * (2·N·O·OH·OW·Cg·KH·KW per conv). Time is also summed per model stage (module path prefix).
 *
 * Backward: every tape node reachable from the loss has its backward closure wrapped with a
 * timer before `backward` runs.
 */
import { backward, withOpListener } from '../engine/autograd.js';
import type { Tensor } from '../engine/tensor.js';
import { currentScope } from '../models/module.js';

export interface OpStat {
  count: number;
  ms: number;
  /** Multiply-adds ×2 (convolutions only; 0 otherwise). */
  flops: number;
}

export interface Profile {
  totalMs: number;
  byOp: Map<string, OpStat>;
  byStage: Map<string, OpStat>;
}

/** 'conv2d 3×3 s2' etc.; other ops keep their name. */
function opKey(op: string, inputs: readonly Tensor[], output: Tensor,
  attrs: Readonly<Record<string, unknown>>): [string, number] {
  if ((op !== 'conv2d' && op !== 'conv_fused') || inputs.length < 2) return [op, 0];
  const [, cg, kh, kw] = inputs[1].shape;
  const [n, o, oh, ow] = output.shape;
  const s = Number(attrs.stride ?? 1);
  return [`${op} ${kh}×${kw} s${s}`, 2 * n * o * oh * ow * cg * kh * kw];
}

/**
 * Module path → stage: backbone.backbone.dark3.1.m.0 → backbone.backbone.dark3 (3 parts),
 * head.cls_convs.0.1 → head.cls_convs (2 parts).
 */
function stageOf(scope: string): string {
  const parts = scope.split('.');
  const depth = scope.startsWith('backbone.backbone.') ? 3 : 2;
  return parts.slice(0, depth).join('.') || '(root)';
}

function add(m: Map<string, OpStat>, key: string, ms: number, flops: number): void {
  const s = m.get(key) ?? { count: 0, ms: 0, flops: 0 };
  s.count++;
  s.ms += ms;
  s.flops += flops;
  m.set(key, s);
}

/** Runs `fn` once with every recorded op timed. */
export function profileForward<T>(fn: () => T): { result: T; profile: Profile } {
  const byOp = new Map<string, OpStat>(), byStage = new Map<string, OpStat>();
  const t0 = performance.now();
  let last = t0;
  const result = withOpListener({
    passive: true,
    onOp(op, inputs, output, attrs) {
      const now = performance.now();
      const [key, flops] = opKey(op, inputs, output, attrs);
      add(byOp, key, now - last, flops);
      add(byStage, stageOf(currentScope()), now - last, flops);
      last = now;
    },
  }, fn);
  const end = performance.now();
  if (end - last > 0.01) add(byOp, '(untaped)', end - last, 0);
  return { result, profile: { totalMs: end - t0, byOp, byStage } };
}

/** Runs `backward(root)` with each tape node's backward timed (by op name). */
export function profileBackward(root: Tensor): Profile {
  const byOp = new Map<string, OpStat>();
  const seen = new Set<Tensor>();
  const stack = [root];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t) || t.producer === null) continue;
    seen.add(t);
    const p = t.producer;
    const op = p.op === 'conv2d' ? convKey(p.inputs, t) : p.op;
    t.producer = {
      op: p.op, inputs: p.inputs,
      backward: (g) => {
        const s = performance.now();
        p.backward(g);
        add(byOp, op, performance.now() - s, 0);
      },
    };
    for (const i of p.inputs) stack.push(i);
  }
  const t0 = performance.now();
  backward(root);
  return { totalMs: performance.now() - t0, byOp, byStage: new Map() };
}

/** The forward's conv key (stride from the input and output heights). */
function convKey(inputs: readonly Tensor[], output: Tensor): string {
  const [, , kh, kw] = inputs[1].shape;
  const s = Math.trunc(inputs[0].shape[2] / output.shape[2]); // H = s·OH here
  return `conv2d ${kh}×${kw} s${s}`;
}

/** Prints a table of `m` sorted by time, with shares of `totalMs`. */
export function printProfile(title: string, m: Map<string, OpStat>, totalMs: number): void {
  console.log(`\n${title} — total ${totalMs.toFixed(1)} ms`);
  console.log(`${'op'.padEnd(34)} ${'calls'.padStart(5)} ${'ms'.padStart(9)} ` +
    `${'share'.padStart(6)}  GFLOP/s`);
  const rows = [...m.entries()].sort((a, b) => b[1].ms - a[1].ms);
  for (const [k, s] of rows) {
    const gf = s.flops > 0 ? (s.flops / s.ms / 1e6).toFixed(1) : '';
    console.log(`${k.padEnd(34)} ${String(s.count).padStart(5)} ${s.ms.toFixed(1).padStart(9)} ` +
      `${(100 * s.ms / totalMs).toFixed(1).padStart(5)}%  ${gf}`);
  }
}
