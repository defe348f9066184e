/**
 * @file Recycling the buffers of a forward's dead intermediates (evaluation fast path).
 *
 * A fresh SharedArrayBuffer costs a page fault per 4 KiB on first touch; on the VMs this runs on
 * that is ~3.5 ms per MB, and a 416 px forward makes ~64 MB of activations, so allocation rivals
 * the convolutions. The blocks therefore hand each intermediate they created and no longer need
 * (a CSP branch, a concat, a pool, a slice) back to engine/memory.ts's free lists right after
 * its last reader, and the next allocation of that size reuses the memory (zero-filled).
 *
 * Safe only when nothing else can hold the tensor, so it happens only under `noGrad` (with grad
 * on, a backward closure may keep any op input, even one that needs no gradient itself: a conv
 * keeps its input for the weight gradient) and without graph capture (a non-passive op listener
 * keeps every op's tensors). A passive listener (the
 * profiler) must not keep tensors past its callback. Module outputs (what `forward` returns) are
 * never released here; the caller owns them.
 */
import { isGradEnabled, opListenerActive } from '../engine/autograd.js';
import { releaseF32 } from '../engine/memory.js';
import type { Tensor } from '../engine/tensor.js';
import type { RawLevel } from './head_decode.js';
import type { Module, Sequential } from './module.js';

let enabled = true;

/** Turn the recycling off (false) or back on; for A/B benchmarks. */
export function setReleaseIntermediates(on: boolean): void {
  enabled = on;
}

/** True when the block may release intermediates now (no tape, no capture listening). */
export function releasing(): boolean {
  return enabled && !isGradEnabled() && !opListenerActive();
}

/**
 * Hands the buffers of `dead` back to the allocator (when `releasing()`), except parameters
 * (they require grad) and the tensors in `keep` (outputs, inputs). Call after the last read.
 */
export function releaseDead(dead: readonly Tensor[], keep: readonly Tensor[] = []): void {
  if (!releasing()) return;
  for (const t of dead) {
    if (!t.requiresGrad && !keep.includes(t)) releaseF32(t.data);
  }
}

/**
 * `seq.call(x)` with the outputs between its items released as soon as the next item has read
 * them (never `x`, never the result). Scopes are the items' own paths, as under `seq.call`.
 */
export function callReleasing(seq: Sequential, x: Tensor): Tensor {
  let y = x;
  for (let i = 0; i < seq.length; i++) {
    const next = seq.child<Module>(String(i)).call(y);
    if (y !== x && next !== y) releaseDead([y]);
    y = next;
  }
  return y;
}

/**
 * Hands every tensor of a finished forward's outputs (the named intermediates, which include the
 * decoded output, and the raw levels) back to the allocator, for loops that run many forwards
 * (evaluation, benchmarks): the next forward then reuses that memory instead of faulting in
 * fresh pages. Call after the last read of any of them; same rules as `releaseDead` (nothing
 * happens with grad on or under capture).
 */
export function releaseForward(o: { named: ReadonlyMap<string, Tensor>;
  levels: readonly RawLevel[] }): void {
  const all = new Set<Tensor>(o.named.values());
  for (const l of o.levels) for (const t of [l.reg, l.obj, l.cls]) all.add(t);
  releaseDead([...all]);
}
