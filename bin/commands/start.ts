/**
 * @file `yoloxq start` (what `npm start` runs): the seed workflow on the embedded default.
 * Until the full pipeline lands it runs the engine's self-check and says what exists.
 */
import type { Command } from '../cli.js';
import { Tensor } from '../../engine/tensor.js';
import { backward } from '../../engine/autograd.js';

export const startCommand: Command = {
  name: 'start',
  summary: 'run the default workflow on the embedded dataset and checkpoint',
  usage: '',
  options: {},
  run() {
    // A two-line autograd self-check: d/dx (x·x) = 2x.
    const x = Tensor.from([3], [1], true);
    const y = new Tensor(Float32Array.from([x.data[0] * x.data[0]]), [1]);
    y.requiresGrad = true;
    y.producer = { op: 'square', inputs: [x], backward: (g) => { x.gradBuffer()[0] += 2 * x.data[0] * g[0]; } };
    backward(y);
    console.log(`engine self-check: d(x²)/dx at x=3 is ${x.grad?.[0]} (expected 6)`);
    console.log('The full workflow (FP32 eval → PTQ → QAT → export) is being built; see README.md.');
  },
};
