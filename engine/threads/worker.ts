/**
 * @file Worker-thread entry of the pool. It instantiates the kernel module over the shared wasm
 * memory it was given, then loops forever: sleep in Atomics.wait on its doorbell word, and for
 * each ring take the task message synchronously from its port (receiveMessageOnPort) and claim
 * jobs until none are left (`drain` in control.ts). A futex wake costs ~20 µs where a posted
 * message through the event loop costs ~100+ µs. It never dispatches work itself; terminate()
 * and process exit interrupt the wait.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { instantiateKernels, setWorkerKernels } from '../wasm/runtime.js';
import { drain } from './control.js';
import type { Task } from './tasks.js';

interface Init {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Thread index (1…T−1): the scratch region this worker owns. */
  index: number;
  /** Doorbells, one Int32 per worker (slot index − 1): the count of tasks posted to it. */
  bell: Int32Array;
  port: MessagePort;
}

interface Message {
  task: Task;
  ctl: Int32Array;
}

const init = workerData as Init;
const kern = instantiateKernels(init.module, init.memory);
setWorkerKernels(kern, init.index);
const slot = init.index - 1;
let seen = 0;
for (;;) {
  if (Atomics.load(init.bell, slot) === seen) {
    Atomics.wait(init.bell, slot, seen);
    continue;
  }
  // The main thread posts the message before ringing, so it is already queued here.
  const msg = receiveMessageOnPort(init.port)?.message as Message | undefined;
  if (msg === undefined) {
    Atomics.wait(init.bell, slot, Atomics.load(init.bell, slot), 1);
    continue;
  }
  seen++;
  drain(msg.task, msg.ctl, kern, init.index);
}
