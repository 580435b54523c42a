// Writing an artifact body to a fresh file while hashing it: the local store's temp-then-rename step, and the S3
// store's spool for streams whose sha256 must be known before the upload starts.
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { chunkBytes, createRunningHash, type ArtifactBody } from './artifact-store.js';

export interface TempFile {
  readonly path: string;
  /** Lower-case hex sha256 of what was written. */
  readonly sha256: string;
  readonly size: number;
  /** The file's inode number, which a rename keeps. */
  readonly ino: bigint;
}

/**
 * Streams `body` into the new file `dir/name` (created exclusively, `dir` made if missing), hashing as it goes,
 * and fsyncs it. On any failure, the body's own error included, the file is removed and the error rethrown.
 */
export async function writeTempFile(dir: string, name: string, body: ArtifactBody): Promise<TempFile> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  const handle = await open(path, 'wx');
  const hash = createRunningHash();
  try {
    if (body instanceof Uint8Array) {
      hash.update(body);
      await writeAll(handle, body);
    } else {
      for await (const chunk of body) {
        const bytes = chunkBytes(chunk);
        hash.update(bytes);
        await writeAll(handle, bytes);
      }
    }
    await handle.sync();
    const { ino } = await handle.stat({ bigint: true });
    await handle.close();
    return { path, sha256: hash.digest(), size: hash.size, ino };
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(path, { force: true });
    throw error;
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, offset);
    offset += bytesWritten;
  }
}
