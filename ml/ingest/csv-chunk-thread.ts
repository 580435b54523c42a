// Worker-thread side of parallel CSV parsing: parses the chunks it is sent and moves the typed columns back.
import { parentPort } from 'node:worker_threads';
import { chunkTransferList, parseCsvChunk, type ChunkSettings } from './csv-chunk.js';

export interface ChunkJob {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly settings: ChunkSettings;
}

const port = parentPort!;
port.on('message', (job: ChunkJob) => {
  try {
    const result = parseCsvChunk(job.bytes, job.settings);
    port.postMessage({ id: job.id, result }, chunkTransferList(result));
  } catch (error) {
    port.postMessage({ id: job.id, error: error instanceof Error ? error.message : String(error) });
  }
});
