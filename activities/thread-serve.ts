// The thread side of activities/thread-runner.ts: a thread entry calls serveThread once with its work.
import { parentPort, workerData } from 'node:worker_threads';
import type { ThreadError } from './thread-runner.js';

/** What a thread's work returns: the value for the activity, and buffers to move rather than copy. */
export interface ThreadDone<D> {
  readonly value: D;
  readonly transfer?: readonly ArrayBuffer[];
}

/**
 * Runs `work` on this thread's input and posts its result (or its error: name, message, row and column) to the
 * activity. `progress` posts a progress message, moving `transfer` buffers.
 */
export function serveThread<I, D, P = never>(
  work: (
    input: I,
    progress: (p: P, transfer?: readonly ArrayBuffer[]) => void,
  ) => ThreadDone<D> | Promise<ThreadDone<D>>,
): void {
  const port = parentPort;
  if (!port) throw new Error('serveThread runs in a worker thread only');
  const data = workerData as { input: I };
  const input = data.input;
  // The thread owns its input now; dropping the reference lets transferred buffers go once the work is done with them.
  (data as { input?: I }).input = undefined;
  const progress = (p: P, transfer: readonly ArrayBuffer[] = []) =>
    port.postMessage({ type: 'progress', progress: p }, [...transfer]);
  Promise.resolve()
    .then(() => work(input, progress))
    .then(
      (done) => port.postMessage({ type: 'done', value: done.value }, [...(done.transfer ?? [])]),
      (error: unknown) => {
        const e = error instanceof Error ? error : new Error(String(error));
        const where = e as { code?: unknown; row?: unknown; column?: unknown };
        const message: ThreadError = {
          type: 'error',
          name: e.name,
          message: e.message,
          ...(typeof where.code === 'string' ? { code: where.code } : {}),
          ...(typeof where.row === 'number' ? { row: where.row } : {}),
          ...(typeof where.column === 'string' ? { column: where.column } : {}),
        };
        port.postMessage(message);
      },
    );
}
