/**
 * @file ONNX Runtime set-up shared by the export specs: onnxruntime-node (the dev dependency, an
 * independent ONNX implementation) or a skipped test when it is absent, and one session run of
 * exported model bytes on the eval_416 fixture input with the I/O names checked.
 */
import { expect } from 'chai';
import type { Tensor as OrtTensor } from 'onnxruntime-node';
import { fixtureF32 } from './fixtures.js';

export type Ort = typeof import('onnxruntime-node');

/** onnxruntime-node; skips the running test (throws mocha's Pending) when it is not installed. */
export async function ortOrSkip(ctx: Mocha.Context): Promise<Ort> {
  try {
    return await import('onnxruntime-node');
  } catch {
    ctx.skip(); // dev dependency absent: nothing to check against
    throw new Error('unreachable: mocha skip throws');
  }
}

/**
 * Runs the ONNX model bytes in ORT on the eval_416 input ([1, 3, 416, 416] = shape), after
 * checking it has the one input `images` and the one output `output`; returns that input (x)
 * and ORT's output tensor.
 */
export async function runOnEval416(
  ort: Ort, bytes: Uint8Array, shape: number[],
): Promise<{ x: Float32Array; output: OrtTensor }> {
  const session = await ort.InferenceSession.create(bytes);
  expect(session.inputNames).to.deep.equal(['images']);
  expect(session.outputNames).to.deep.equal(['output']);
  const x = fixtureF32('yolox_tiny', 'eval_416', 'input.npy');
  const res = await session.run({ images: new ort.Tensor('float32', Float32Array.from(x), shape) });
  return { x, output: res.output };
}
