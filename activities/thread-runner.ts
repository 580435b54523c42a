// One way to run an activity's heavy work off the event loop: a worker thread (activities/thread-boot.mjs loads
// the TypeScript entry), messages for progress, one `done` or `error` message at the end. The activity's heartbeats,
// cancellation and every other activity of the worker keep flowing while the thread computes.
import { Worker } from 'node:worker_threads';
import { ApplicationFailure } from '@temporalio/activity';

const threadBoot = new URL('./thread-boot.mjs', import.meta.url);

/** The last message of a thread that failed: the error's name, message and where in the data. */
export interface ThreadError {
  readonly type: 'error';
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly row?: number;
  readonly column?: string;
}

/** Error names that mean bad input (the same input fails the same way): not retried, the run is rejected. */
const badInput: Record<string, string> = {
  DataError: 'DataError',
  ModelInputError: 'DataError',
  InvalidParams: 'InvalidParams',
};

/** A thread's error as the activity's failure: bad input non-retryable with its row and column, the rest retried. */
export function threadFailure(message: ThreadError): Error {
  const type = badInput[message.name];
  if (!type) return new Error(message.message);
  return ApplicationFailure.create({
    message: message.message,
    type,
    nonRetryable: true,
    details: [{ code: message.code ?? type, row: message.row, column: message.column }],
  });
}

/** The bytes in an ArrayBuffer of their own (a Buffer may be a slice of a shared pool, which can't be transferred). */
export function ownBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes as Uint8Array<ArrayBuffer>)
    : new Uint8Array(bytes);
}

/**
 * Runs `entry` (a module that calls `serveThread`) in a worker thread with `input`. Buffers in `transfer` move to
 * the thread instead of being copied. Progress messages go to `onProgress` in order; the promise settles with the
 * thread's `done` value, or its error (see {@link threadFailure}). The thread is terminated on every path out, and
 * at once when `signal` aborts (activity cancellation).
 */
export async function runInThread<Done, Progress = never>(options: {
  readonly entry: URL;
  readonly input: unknown;
  readonly transfer?: readonly ArrayBuffer[];
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: Progress) => void;
}): Promise<Done> {
  // Cancelled already (while the inputs downloaded, say): don't start. The signal's reason is the activity's
  // CancelledFailure, which reports the attempt as cancelled rather than failed.
  const cancelled = () =>
    options.signal?.reason instanceof Error ? options.signal.reason : new Error('cancelled');
  if (options.signal?.aborted) throw cancelled();
  const thread = new Worker(threadBoot, {
    workerData: { entry: options.entry.href, input: options.input },
    transferList: [...(options.transfer ?? [])],
  });
  const abort = () => void thread.terminate();
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    return await new Promise<Done>((resolve, reject) => {
      thread.on(
        'message',
        (message: { type: 'progress'; progress: Progress } | { type: 'done'; value: Done } | ThreadError) => {
          if (message.type === 'progress') options.onProgress?.(message.progress);
          else if (message.type === 'done') resolve(message.value);
          else reject(threadFailure(message));
        },
      );
      thread.on('error', reject);
      thread.on('exit', (code) =>
        reject(
          options.signal?.aborted
            ? cancelled()
            : new Error(`worker thread exited (code ${code}) before it finished`),
        ),
      );
    });
  } finally {
    options.signal?.removeEventListener('abort', abort);
    await thread.terminate();
  }
}
