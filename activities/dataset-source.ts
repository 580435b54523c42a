import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatasetFormat } from '../domain/dataset-schema.js';
import type { ByteSource } from '../ml/ingest/byte-source.js';
import type { ArtifactStore } from '../platform/artifact-store.js';

/** A dataset source the worker can read, checked before any byte is read. */
export interface ResolvedSource {
  readonly describe: string;
  readonly format: DatasetFormat;
  /** A fresh stream of the same bytes on every call (ingest reads twice: infer, then build). */
  open(): ByteSource;
}

/** Thrown for a source the worker refuses or cannot find; not worth retrying. */
export class SourceError extends Error {
  override readonly name = 'DataError';
}

function formatOf(source: string, declared?: DatasetFormat): DatasetFormat {
  if (declared) return declared;
  if (/\.parquet$/i.test(source)) return 'parquet';
  return /\.(ndjson|jsonl)(\.gz)?$/i.test(source) ? 'ndjson' : 'csv';
}

/**
 * Resolves a spec's dataset source. Local paths must be absolute (the CLI and API resolve them) and exist; s3://
 * URIs must be in the configured artifact store's bucket. That is the allowlist: a spec can't make a worker fetch
 * an arbitrary URL.
 */
export async function resolveSource(
  source: string,
  declaredFormat: DatasetFormat | undefined,
  store: ArtifactStore,
  dataRoots?: readonly string[],
): Promise<ResolvedSource> {
  const format = formatOf(source, declaredFormat);
  if (source.startsWith('s3://')) {
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
    return {
      describe: source,
      format,
      open: () =>
        (async function* () {
          yield* await store.getStream(key);
        })() as ByteSource,
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
  if (!isAbsolute(path))
    throw new SourceError(
      `dataset.source ${source}: a path must be absolute here (resolve it against the spec file)`,
    );
  const real = await realpath(path).catch(() => undefined);
  if (!real) throw new SourceError(`dataset.source ${source}: file not found`);
  // The worker reads only under its data roots (when configured): a spec can't make it read /etc/passwd.
  if (
    dataRoots &&
    !dataRoots.some((root) => real === root || real.startsWith(root.endsWith(sep) ? root : `${root}${sep}`))
  ) {
    throw new SourceError(`dataset.source ${source}: not under an allowed data root (SLIPWAY_DATA_ROOTS)`);
  }
  path = real;
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new SourceError(`dataset.source ${source}: file not found`);
  if (!info.isFile()) throw new SourceError(`dataset.source ${source}: not a regular file`);
  return { describe: path, format, open: () => createReadStream(path, { highWaterMark: 256 * 1024 }) };
}
