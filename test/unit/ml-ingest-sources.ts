// Byte sources for the ingest tests: fixture files streamed in small chunks, and strings cut into pieces.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ByteSource } from '../../ml/ingest/byte-source.js';

export const fixturePath = (name: string): string =>
  fileURLToPath(new URL(`../fixtures/data/${name}`, import.meta.url));

/** A fixture file as a Node Readable with a small buffer, so every test crosses many chunk boundaries. */
export function fixture(name: string, chunkBytes = 7): ByteSource {
  return createReadStream(fixturePath(name), { highWaterMark: chunkBytes });
}

function* pieces(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** Bytes or text as a stream of chunks of `size` bytes (1 by default: every boundary is exercised). */
export function chunks(data: string | Uint8Array, size = 1): ByteSource {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Readable.from(pieces(bytes, size));
}
