import { constants, createReadStream } from 'node:fs';
import { open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { isAbsolute, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatasetFormat } from '../domain/dataset-schema.js';
import type { ByteSource } from '../ml/ingest/byte-source.js';
import type { ArtifactStore } from '../platform/artifact-store.js';

/** A dataset source the worker can read, checked before any byte is read. */
export interface ResolvedSource {
  readonly describe: string;
  readonly format: DatasetFormat;
  /** Size in bytes when known before reading. */
  readonly size: number;
  /** A fresh stream of the same bytes on every call (ingest reads twice: infer, then build). */
  open(): ByteSource;
  /** Releases the open file, if any. */
  close(): Promise<void>;
}

/** A directory datasets may be read from, as configured and with its symlinks resolved. */
export interface DataRoot {
  readonly given: string;
  readonly real: string;
}

/** Caps on one dataset, set by the worker's operator (SLIPWAY_MAX_DATASET_BYTES, SLIPWAY_MAX_DATASET_ROWS). */
export interface DatasetLimits {
  readonly maxBytes: number;
  readonly maxRows: number;
}

/** The caps when the operator sets none: 4 GiB and 20 million rows. */
export const defaultDatasetLimits: DatasetLimits = { maxBytes: 4 * 1024 ** 3, maxRows: 20_000_000 };

/** Thrown for a source the worker refuses or cannot find; not worth retrying. */
export class SourceError extends Error {
  override readonly name = 'DataError';
}

function formatOf(source: string, declared?: DatasetFormat): DatasetFormat {
  if (declared) return declared;
  if (/\.parquet$/i.test(source)) return 'parquet';
  return /\.(ndjson|jsonl)(\.gz)?$/i.test(source) ? 'ndjson' : 'csv';
}

function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

/** Counts the bytes going through and stops at the cap: an object or file that grows while read is still bounded. */
async function* capped(source: ByteSource, maxBytes: number, what: string): ByteSource {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge(what, maxBytes);
    yield chunk;
  }
}

/** `what` names the data: `dataset.source <path>` for a spec's source, the file name for an upload. */
function tooLarge(what: string, maxBytes: number): SourceError {
  return new SourceError(
    `${what}: larger than this worker's limit of ${maxBytes} bytes (SLIPWAY_MAX_DATASET_BYTES)`,
  );
}

/** The path the kernel has for an open file: what the descriptor refers to, whatever the name it was opened by. */
async function pathOfHandle(handle: FileHandle, opened: string): Promise<string> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    // No /proc (macOS, BSD): resolve the name, then check below that it names the very file that is open.
    const real = await realpath(opened);
    const [a, b] = await Promise.all([
      handle.stat(),
      open(real, 'r').then(async (h) => h.stat().finally(() => h.close())),
    ]);
    if (a.dev !== b.dev || a.ino !== b.ino)
      throw new SourceError(`dataset.source ${opened}: the file changed while opened`);
    return real;
  }
}

/**
 * Opens a local dataset under the data roots. A relative path is looked up in each root in turn; an absolute one
 * must name a place inside a root before it is opened at all (opening some device files does something). The
 * file is opened once, and the checks that matter are made on the open descriptor: it is a regular file, and the
 * kernel's path for it (symlinks followed) lies inside a root. Nothing is checked by name and then opened again,
 * so a symlink swapped in between cannot lead the read elsewhere.
 */
async function openLocal(
  source: string,
  path: string,
  roots: readonly DataRoot[],
): Promise<{ handle: FileHandle; real: string; size: number }> {
  if (roots.length === 0) {
    throw new SourceError(`dataset.source ${source}: this worker has no data roots (SLIPWAY_DATA_ROOTS)`);
  }
  const candidates = isAbsolute(path)
    ? [normalize(path)]
    : roots.map((root) => resolve(root.real, path)).filter((p) => roots.some((r) => isUnder(p, r.real)));
  const inside = candidates.filter((p) => roots.some((r) => isUnder(p, r.real) || isUnder(p, r.given)));
  if (inside.length === 0) {
    throw new SourceError(
      `dataset.source ${source}: outside this worker's data roots; datasets are read only from the directories in SLIPWAY_DATA_ROOTS (a relative path is looked up in each)`,
    );
  }
  // O_NONBLOCK: a FIFO must not hang the open; O_NOCTTY: a terminal must not become ours.
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;
  for (const candidate of inside) {
    const handle = await open(candidate, flags).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw new SourceError(`dataset.source ${source}: cannot be opened (${error.code ?? error.message})`);
    });
    if (!handle) continue;
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new SourceError(`dataset.source ${source}: not a regular file`);
      const real = await pathOfHandle(handle, candidate);
      if (!roots.some((root) => isUnder(real, root.real))) {
        throw new SourceError(
          `dataset.source ${source}: leads outside this worker's data roots (a symbolic link?); datasets are read only from the directories in SLIPWAY_DATA_ROOTS`,
        );
      }
      return { handle, real, size: info.size };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }
  throw new SourceError(
    isAbsolute(path)
      ? `dataset.source ${source}: file not found`
      : `dataset.source ${source}: file not found in this worker's data roots`,
  );
}

/** Whether `uri` names an object of `store`. */
function storesUri(store: ArtifactStore, uri: string): boolean {
  try {
    store.parseUri(uri);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves a spec's dataset source. A local path (absolute, relative to the data roots, or a file:// URI) must lie
 * inside one of the worker's data roots, unless it names an object of a local artifact store; an s3:// URI must be
 * in the configured artifact store's bucket. That is
 * the allowlist: a spec can't make a worker read /etc/passwd or fetch an arbitrary URL. Sizes above
 * `limits.maxBytes` are refused before reading, and the bytes are counted while read as well.
 */
export async function resolveSource(
  source: string,
  declaredFormat: DatasetFormat | undefined,
  store: ArtifactStore,
  options: { dataRoots: readonly DataRoot[]; limits: DatasetLimits },
): Promise<ResolvedSource> {
  const format = formatOf(source, declaredFormat);
  const { maxBytes } = options.limits;
  // The artifact store's own objects (a retrain's exported traffic, say) are read through the store, which checks
  // their sha256: s3:// in its bucket, or file:// inside a local store's directory.
  const inLocalStore = store.kind === 'local' && source.startsWith('file://') && storesUri(store, source);
  if (source.startsWith('s3://') || inLocalStore) {
    let key: string;
    try {
      key = store.parseUri(source);
    } catch {
      throw new SourceError(
        `dataset.source ${source}: only s3:// URIs in the configured artifact bucket can be read`,
      );
    }
    const head = await store.head(key);
    if (!head) throw new SourceError(`dataset.source ${source}: no such object`);
    if (head.size > maxBytes) throw tooLarge(`dataset.source ${source}`, maxBytes);
    return {
      describe: source,
      format,
      size: head.size,
      // Streamed from S3 as it is parsed: never held whole in memory.
      open: () =>
        capped(
          (async function* () {
            yield* await store.getStream(key);
          })() as ByteSource,
          maxBytes,
          `dataset.source ${source}`,
        ),
      close: () => Promise.resolve(),
    };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !source.startsWith('file://')) {
    throw new SourceError(`dataset.source ${source}: expected a file path, a file:// URI or an s3:// URI`);
  }
  let path: string;
  try {
    path = source.startsWith('file://') ? fileURLToPath(source) : source;
  } catch {
    throw new SourceError(`dataset.source ${source}: not a valid file:// URI`);
  }
  const { handle, real, size } = await openLocal(source, path, options.dataRoots);
  if (size > maxBytes) {
    await handle.close();
    throw tooLarge(`dataset.source ${source}`, maxBytes);
  }
  return {
    describe: real,
    format,
    size,
    // Positional reads from offset 0 of the one descriptor: every pass reads the file that was checked.
    open: () =>
      capped(
        createReadStream('', { fd: handle, start: 0, autoClose: false, highWaterMark: 256 * 1024 }),
        maxBytes,
        `dataset.source ${source}`,
      ),
    close: () => handle.close(),
  };
}

/**
 * An object already in the artifact store (an upload, named by its key or uri), read under the worker's byte cap
 * like a dataset and checked against its sha256 as it streams. `describe` names it in errors (the upload's file name).
 */
export async function storedSource(
  ref: string,
  store: ArtifactStore,
  options: { describe: string; limits: DatasetLimits; expectSha256?: string; format?: DatasetFormat },
): Promise<ResolvedSource> {
  const { describe, limits } = options;
  const head = await store.head(ref);
  if (!head) throw new SourceError(`${describe}: no such object in the artifact store (${ref})`);
  if (head.size > limits.maxBytes) throw tooLarge(describe, limits.maxBytes);
  return {
    describe,
    format: formatOf(describe, options.format),
    size: head.size,
    open: () =>
      capped(
        (async function* () {
          yield* await store.getStream(
            ref,
            options.expectSha256 ? { expectSha256: options.expectSha256 } : undefined,
          );
        })() as ByteSource,
        limits.maxBytes,
        describe,
      ),
    close: () => Promise.resolve(),
  };
}

/** The data roots as given and as real paths (symlinks resolved); roots that do not exist are left out. */
export async function resolveDataRoots(dirs: readonly string[]): Promise<DataRoot[]> {
  const roots = await Promise.all(
    dirs.map(async (dir) => {
      const given = resolve(dir);
      const real = await realpath(given).catch(() => undefined);
      return real ? { given, real } : undefined;
    }),
  );
  return roots.filter((r): r is DataRoot => r !== undefined);
}
