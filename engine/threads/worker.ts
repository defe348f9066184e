/**
 * @file Worker-thread entry of the pool. It instantiates the kernel module over the shared wasm
 * memory it was given, then for every posted task claims jobs from the task's shared counter
 * until none are left (see `drain` in control.ts). It never dispatches work itself.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateKernels } from '../wasm/runtime.js';
import { drain } from './control.js';
import type { Task } from './tasks.js';

interface Init {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  index: number;
}

const init = workerData as Init;
const kern = instantiateKernels(init.module, init.memory);

parentPort!.on('message', (msg: { task: Task; ctl: Int32Array }) => {
  drain(msg.task, msg.ctl, kern, init.index);
});
