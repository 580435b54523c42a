// A helper thread of a GBDT team: waits on shared memory for a task, does its share, says it is done.
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import {
  CTRL_FAILED,
  CTRL_GENERATION,
  CTRL_PENDING,
  CTRL_READY,
  OP_NEW_FIT,
  OP_STOP,
  runShare,
  T_OP,
  type FitBuffers,
} from './team-protocol.js';

interface HelperData {
  readonly ctrl: Int32Array;
  readonly task: Float64Array;
  readonly results: Float64Array;
  readonly port: MessagePort;
  readonly index: number;
  readonly threads: number;
}

const { ctrl, task, results, port, index, threads } = workerData as HelperData;
let buffers: FitBuffers | undefined;
let seen = Atomics.load(ctrl, CTRL_GENERATION);
Atomics.add(ctrl, CTRL_READY, 1);
Atomics.notify(ctrl, CTRL_READY);
for (;;) {
  Atomics.wait(ctrl, CTRL_GENERATION, seen);
  const generation = Atomics.load(ctrl, CTRL_GENERATION);
  if (generation === seen) continue;
  seen = generation;
  const op = task[T_OP];
  if (op === OP_STOP) break;
  try {
    if (op === OP_NEW_FIT)
      buffers = (receiveMessageOnPort(port)?.message as FitBuffers | undefined) ?? buffers;
    else runShare(buffers!, task, results, index, threads);
  } catch {
    Atomics.store(ctrl, CTRL_FAILED, 1);
  }
  if (Atomics.sub(ctrl, CTRL_PENDING, 1) === 1) Atomics.notify(ctrl, CTRL_PENDING);
}
port.close();
