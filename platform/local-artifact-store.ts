// The artifact store on a local directory: the embedded default. Every write goes to a dot-named temp file in the
// object's own directory, is fsynced, then renamed (or hard-linked, for content-addressed puts) into place, so a
// reader sees the old object or the whole new one. The sha256 of each object sits in a dot-named sidecar beside it.
import { randomBytes } from 'node:crypto';
import { link, open, opendir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import {
  ArtifactError,
  contentKey,
  integrityError,
  isSha256Hex,
  isUri,
  isValidKey,
  normalizeSha256,
  sha256Hex,
  validateKey,
  validatePrefix,
  verifyingStream,
  type ArtifactBody,
  type ArtifactHead,
  type ArtifactListing,
  type ArtifactStore,
  type GetOptions,
  type PutContentOptions,
  type StoredObject,
} from './artifact-store.js';
import { writeTempFile as writeTemp } from './artifact-temp-file.js';

export interface LocalArtifactStoreOptions {
  /** The directory holding the objects; created on first write. */
  readonly root: string;
}

/**
 * Sidecar contents. `ino` ties the record to one file: a plain put writes the sidecar before renaming its temp
 * file into place, so until the rename the record names an inode that isn't there yet and is ignored. Content-
 * addressed objects leave `ino` out, since every writer of that key writes the same bytes.
 */
interface Sidecar {
  readonly sha256: string;
  readonly size: number;
  readonly ino?: string;
}

/** An artifact store on the directory `options.root`, with `file://` uris. */
export function createLocalArtifactStore(options: LocalArtifactStoreOptions): ArtifactStore {
  const root = resolve(options.root);
  const pathOf = (key: string): string => join(root, ...key.split('/'));
  const uriFor = (key: string): string => pathToFileURL(pathOf(validateKey(key))).href;

  function parseUri(uri: string): string {
    const outside = (why: string): ArtifactError =>
      new ArtifactError(
        'invalid_key',
        uri,
        `Artifact uri ${uri} is not in the local store at ${root}: ${why}`,
      );
    if (!uri.startsWith('file://')) throw outside('expected a file:// uri');
    let path: string;
    try {
      path = fileURLToPath(uri);
    } catch (error) {
      throw new ArtifactError('invalid_key', uri, `Artifact uri ${uri} is not a valid file uri`, {
        cause: error,
      });
    }
    const rel = relative(root, path);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw outside('the path is outside the root');
    const key = rel.split(sep).join('/');
    if (!isValidKey(key)) throw outside('the path is not a valid key');
    return key;
  }

  const keyOf = (ref: string): string => (isUri(ref) ? parseUri(ref) : validateKey(ref));

  async function put(key: string, body: ArtifactBody): Promise<StoredObject> {
    const valid = validateKey(key);
    const uri = uriFor(valid);
    const path = pathOf(valid);
    const dir = dirname(path);
    const temp = await ioStep(uri, 'writing', () => writeTemp(dir, tempName(basename(path)), body));
    try {
      await writeSidecar(path, { sha256: temp.sha256, size: temp.size, ino: temp.ino.toString() });
      await rename(temp.path, path);
      await syncDir(dir);
    } catch (error) {
      await rm(temp.path, { force: true });
      throw ioError(uri, 'writing', error);
    }
    return { uri, key: valid, sha256: temp.sha256, size: temp.size };
  }

  async function putContent(body: ArtifactBody, opts: PutContentOptions): Promise<StoredObject> {
    // Check prefix and extension before reading any bytes.
    contentKey(opts.prefix, '0'.repeat(64), opts.ext);
    const dir = pathOf(`${opts.prefix}/sha256`);
    const temp = await ioStep(uriFor(opts.prefix), 'writing', () => writeTemp(dir, tempName('put'), body));
    const key = contentKey(opts.prefix, temp.sha256, opts.ext);
    const uri = uriFor(key);
    const path = pathOf(key);
    try {
      const existing = await statFile(path);
      if (existing?.size !== BigInt(temp.size)) {
        await writeSidecar(path, { sha256: temp.sha256, size: temp.size });
        try {
          // link fails on an existing name, so of several concurrent writers exactly one creates the object.
          await link(temp.path, path);
        } catch (error) {
          if (errnoCode(error) !== 'EEXIST') throw error;
          const raced = await statFile(path);
          if (raced?.size !== BigInt(temp.size)) await rename(temp.path, path);
        }
        await syncDir(dir);
      }
    } catch (error) {
      throw ioError(uri, 'writing', error);
    } finally {
      await rm(temp.path, { force: true });
    }
    return { uri, key, sha256: temp.sha256, size: temp.size };
  }

  /** Opens an object for reading and finds the sha256 it must have: the caller's, else the recorded one. */
  async function openForRead(
    ref: string,
    opts: GetOptions,
  ): Promise<{ uri: string; handle: FileHandle; want?: string }> {
    const key = keyOf(ref);
    const uri = uriFor(key);
    const expected = opts.expectSha256 === undefined ? undefined : normalizeSha256(opts.expectSha256, uri);
    const path = pathOf(key);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw missingCodes.has(errnoCode(error) ?? '') ? notFound(uri) : ioError(uri, 'opening', error);
    }
    try {
      const stats = await handle.stat({ bigint: true });
      if (!stats.isFile()) throw notFound(uri);
      const want = expected ?? (await readSidecar(path, stats));
      return want === undefined ? { uri, handle } : { uri, handle, want };
    } catch (error) {
      await handle.close();
      throw error instanceof ArtifactError ? error : ioError(uri, 'opening', error);
    }
  }

  async function get(ref: string, opts: GetOptions = {}): Promise<Buffer> {
    const { uri, handle, want } = await openForRead(ref, opts);
    let bytes: Buffer;
    try {
      bytes = await handle.readFile();
    } catch (error) {
      throw ioError(uri, 'reading', error);
    } finally {
      await handle.close();
    }
    const actual = sha256Hex(bytes);
    if (want !== undefined && actual !== want) throw integrityError(uri, want, actual);
    return bytes;
  }

  async function getStream(ref: string, opts: GetOptions = {}): Promise<Readable> {
    const { uri, handle, want } = await openForRead(ref, opts);
    return verifyingStream(handle.createReadStream(), uri, want);
  }

  async function head(ref: string): Promise<ArtifactHead | undefined> {
    const key = keyOf(ref);
    const path = pathOf(key);
    const stats = await ioStep(uriFor(key), 'reading', () => statFile(path));
    if (stats === undefined) return undefined;
    const sha256 = await readSidecar(path, stats);
    const size = Number(stats.size);
    return sha256 === undefined ? { size } : { size, sha256 };
  }

  async function* list(prefix: string): AsyncIterable<ArtifactListing> {
    validatePrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    yield* walk(slash < 0 ? '' : prefix.slice(0, slash), prefix);
  }

  async function* walk(dirKey: string, prefix: string): AsyncIterable<ArtifactListing> {
    let dir;
    try {
      dir = await opendir(dirKey === '' ? root : pathOf(dirKey));
    } catch (error) {
      if (missingCodes.has(errnoCode(error) ?? '')) return;
      throw ioError(uriFor(dirKey === '' ? prefix : dirKey), 'listing', error);
    }
    for await (const entry of dir) {
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      // Dot names are temp files and sidecars; names that aren't keys were not written by this store.
      if (!isValidKey(key) || !key.startsWith(prefix)) continue;
      if (entry.isDirectory()) {
        yield* walk(key, prefix);
      } else if (entry.isFile()) {
        const stats = await statFile(pathOf(key));
        if (stats !== undefined) yield { key, size: Number(stats.size) };
      }
    }
  }

  async function deleteObject(ref: string): Promise<void> {
    const key = keyOf(ref);
    const path = pathOf(key);
    try {
      const stats = await statFile(path);
      if (stats === undefined) return;
      await rm(path, { force: true });
      await rm(sidecarPath(path), { force: true });
    } catch (error) {
      throw ioError(uriFor(key), 'deleting', error);
    }
  }

  return {
    kind: 'local',
    uriFor,
    parseUri,
    putContent,
    put: (key, body) => put(key, body),
    get,
    getStream,
    head,
    list,
    delete: deleteObject,
    close: () => Promise.resolve(),
  };
}

const missingCodes = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string')
    return error.code;
  return undefined;
}

function notFound(uri: string): ArtifactError {
  return new ArtifactError('not_found', uri, `Artifact ${uri} does not exist`);
}

function ioError(uri: string, doing: string, error: unknown): ArtifactError {
  if (error instanceof ArtifactError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new ArtifactError('io', uri, `Failed ${doing} artifact ${uri}: ${detail}`, { cause: error });
}

async function ioStep<T>(uri: string, doing: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw ioError(uri, doing, error);
  }
}

const tempName = (base: string): string => `.${base}.${randomBytes(6).toString('hex')}.tmp`;
const sidecarPath = (path: string): string => join(dirname(path), `.${basename(path)}.sha256`);

/** A regular file's stats, or undefined when there is none at `path`. */
async function statFile(path: string): Promise<BigIntStats | undefined> {
  try {
    const stats = await stat(path, { bigint: true });
    return stats.isFile() ? stats : undefined;
  } catch (error) {
    if (missingCodes.has(errnoCode(error) ?? '')) return undefined;
    throw error;
  }
}

async function writeSidecar(objectPath: string, record: Sidecar): Promise<void> {
  const target = sidecarPath(objectPath);
  const temp = await writeTemp(
    dirname(target),
    tempName(basename(target)),
    Buffer.from(JSON.stringify(record)),
  );
  try {
    await rename(temp.path, target);
  } catch (error) {
    await rm(temp.path, { force: true });
    throw error;
  }
}

/** The recorded sha256 of the file with these stats, or undefined when there is no record for exactly it. */
async function readSidecar(objectPath: string, stats: BigIntStats): Promise<string | undefined> {
  let record: unknown;
  try {
    record = JSON.parse(await readFile(sidecarPath(objectPath), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof record !== 'object' || record === null) return undefined;
  const { sha256, size, ino } = record as Record<string, unknown>;
  if (typeof sha256 !== 'string' || !isSha256Hex(sha256) || size !== Number(stats.size)) return undefined;
  if (ino !== undefined && ino !== stats.ino.toString()) return undefined;
  return sha256;
}

/** Makes a rename durable: the new directory entry survives a crash only once the directory is synced. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic there.
    if (errnoCode(error) !== 'EINVAL' && errnoCode(error) !== 'EISDIR') throw error;
  } finally {
    await handle.close();
  }
}
