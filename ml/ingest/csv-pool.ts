// A small pool of worker threads that parse CSV chunks. Started on first use and kept for the next read (a thread
// costs tens of milliseconds to start); idle threads do not keep the process alive.
import { Worker } from 'node:worker_threads';
import type { ChunkResult, ChunkSettings } from './csv-chunk.js';
import type { ChunkJob } from './csv-chunk-thread.js';

const boot = new URL('../thread-boot.mjs', import.meta.url);
const entry = new URL(
  import.meta.url.endsWith('.ts') ? './csv-chunk-thread.ts' : './csv-chunk-thread.js',
  import.meta.url,
).href;

interface Slot {
  readonly worker: Worker;
  busy: boolean;
}

interface Pending {
  readonly job: ChunkJob;
  readonly resolve: (result: ChunkResult) => void;
  readonly reject: (error: Error) => void;
}

export interface ChunkPool {
  readonly size: number;
  parse(bytes: Uint8Array, settings: ChunkSettings): Promise<ChunkResult>;
}

let shared: { pool: ChunkPool; size: number } | undefined;

function createPool(size: number): ChunkPool {
  const slots: Slot[] = [];
  const queue: Pending[] = [];
  const waiting = new Map<number, Pending>();
  let nextId = 0;

  const spawn = (): Slot => {
    const worker = new Worker(boot, { workerData: { entry } });
    const slot: Slot = { worker, busy: false };
    worker.unref();
    worker.on('message', (message: { id: number; result?: ChunkResult; error?: string }) => {
      const pending = waiting.get(message.id);
      waiting.delete(message.id);
      slot.busy = false;
      worker.unref();
      if (pending) {
        if (message.result) pending.resolve(message.result);
        else pending.reject(new Error(`CSV parsing thread failed: ${message.error ?? 'unknown error'}`));
      }
      pump();
    });
    worker.on('error', (error) => {
      // A thread that dies fails the jobs it held; the next job gets a fresh thread.
      slots.splice(slots.indexOf(slot), 1);
      for (const [id, pending] of waiting) {
        waiting.delete(id);
        pending.reject(error);
      }
      pump();
    });
    slots.push(slot);
    return slot;
  };

  const pump = (): void => {
    while (queue.length > 0) {
      let slot = slots.find((s) => !s.busy);
      if (!slot && slots.length < size) slot = spawn();
      if (!slot) return;
      const pending = queue.shift()!;
      slot.busy = true;
      slot.worker.ref();
      waiting.set(pending.job.id, pending);
      slot.worker.postMessage(pending.job, [pending.job.bytes.buffer as ArrayBuffer]);
    }
  };

  return {
    size,
    parse(bytes, settings) {
      // The bytes move to the thread: they must own their whole buffer.
      const own =
        bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
          ? bytes
          : new Uint8Array(bytes);
      return new Promise((resolve, reject) => {
        queue.push({ job: { id: nextId++, bytes: own, settings }, resolve, reject });
        pump();
      });
    },
  };
}

/** The process's CSV parsing pool with `size` threads (made again when a different size is asked for). */
export function csvChunkPool(size: number): ChunkPool {
  if (!shared || shared.size !== size) shared = { pool: createPool(size), size };
  return shared.pool;
}
