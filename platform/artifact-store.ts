// The artifact store contract shared by the local-directory and S3 implementations, with the helpers both use:
// key validation (a key can never escape the store's root), sha256 hashing and the verifying read stream.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';

/** Bytes in memory or a stream of bytes; streams are read once. */
export type ArtifactBody = Uint8Array | Readable;

export type ArtifactErrorCode = 'not_found' | 'integrity' | 'invalid_key' | 'invalid_argument' | 'io';

/** The one error type the artifact stores throw; `code` says what went wrong, `uri` where. */
export class ArtifactError extends Error {
  override readonly name = 'ArtifactError';
  readonly code: ArtifactErrorCode;
  /** The artifact's uri, or the offending key or uri as given when it was refused. */
  readonly uri: string;
  /** For `integrity`: the sha256 the caller (or the stored metadata) expected and the one the bytes have. */
  readonly expectedSha256: string | undefined;
  readonly actualSha256: string | undefined;

  constructor(
    code: ArtifactErrorCode,
    uri: string,
    message: string,
    options: { cause?: unknown; expectedSha256?: string; actualSha256?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.uri = uri;
    this.expectedSha256 = options.expectedSha256;
    this.actualSha256 = options.actualSha256;
  }
}

/** What a write stored. */
export interface StoredObject {
  readonly uri: string;
  readonly key: string;
  /** Lower-case hex sha256 of the bytes. */
  readonly sha256: string;
  readonly size: number;
}

export interface PutOptions {
  /** Stored on S3 as the object's Content-Type; ignored by the local store. */
  readonly contentType?: string;
}

export interface PutContentOptions extends PutOptions {
  /** Key prefix (a valid key, e.g. `datasets`); the object lands at `<prefix>/sha256/<hex>[.ext]`. */
  readonly prefix: string;
  /** File extension without or with its dot, e.g. `onnx` or `.tar.gz`. */
  readonly ext?: string;
}

export interface GetOptions {
  /**
   * The sha256 the bytes must have. Without it, a read is still checked against the sha256 recorded at write
   * time when the store has one.
   */
  readonly expectSha256?: string;
}

export interface ArtifactHead {
  readonly size: number;
  /** Recorded at write time; absent for objects written by other tools. */
  readonly sha256?: string;
}

export interface ArtifactListing {
  readonly key: string;
  readonly size: number;
}

/**
 * A place to keep datasets, models and reports, addressed by key (`a/b/c.onnx`) or by uri (`file://...`,
 * `s3://bucket/...`). Writes are atomic: no reader ever sees a partial object under its final key.
 * Every method that takes `ref` accepts either a key or a uri of this store.
 */
export interface ArtifactStore {
  readonly kind: 'local' | 's3';
  /** The uri of a key; throws `invalid_key` for a bad key. */
  uriFor(key: string): string;
  /** The key of a uri of this store; throws `invalid_key` for a uri elsewhere. */
  parseUri(uri: string): string;
  /** Stores content under a key derived from its sha256; storing the same content again changes nothing. */
  putContent(body: ArtifactBody, options: PutContentOptions): Promise<StoredObject>;
  /** Stores bytes under a key, replacing what was there. */
  put(key: string, body: ArtifactBody, options?: PutOptions): Promise<StoredObject>;
  get(ref: string, options?: GetOptions): Promise<Buffer>;
  /** A stream of the bytes; it fails at its end with an `integrity` ArtifactError if the sha256 does not match. */
  getStream(ref: string, options?: GetOptions): Promise<Readable>;
  head(ref: string): Promise<ArtifactHead | undefined>;
  /** Objects whose key starts with `prefix` (a string prefix, as on S3), in no guaranteed order. */
  list(prefix: string): AsyncIterable<ArtifactListing>;
  /** Removes an object; removing a missing object is not an error. */
  delete(ref: string): Promise<void>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

// A safe character set keeps keys identical in file paths, file:// and s3:// uris without any escaping. A
// segment may not start with a dot: that rules out `.` and `..`, and leaves dot names to the local store's
// temp files and sidecars.
const segmentPattern = /^[A-Za-z0-9_\-=+,@~][A-Za-z0-9._\-=+,@~]*$/;
const maxSegmentLength = 200;
const maxKeyLength = 900;
const sha256Pattern = /^[0-9a-f]{64}$/;
const extPattern = /^[A-Za-z0-9]+(\.[A-Za-z0-9]+)*$/;

/**
 * Checks a key and returns it. A key is `/`-separated segments of letters, digits and `_-=+,@~.`, none empty
 * and none starting with a dot, with no leading `/`; so it can't be absolute or climb out of the store's root.
 * @throws ArtifactError `invalid_key`
 */
export function validateKey(key: string): string {
  const problem = keyProblem(key);
  if (problem !== undefined) {
    throw new ArtifactError('invalid_key', key, `Invalid artifact key ${JSON.stringify(key)}: ${problem}`);
  }
  return key;
}

/** True when `key` passes {@link validateKey}. */
export function isValidKey(key: string): boolean {
  return keyProblem(key) === undefined;
}

function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'it is empty';
  if (key.length > maxKeyLength) return `it is longer than ${maxKeyLength} characters`;
  if (key.startsWith('/')) return 'it is absolute; keys are relative to the store root';
  for (const segment of key.split('/')) {
    if (segment === '') return 'it has an empty segment (a doubled or trailing "/")';
    if (segment === '.' || segment === '..') return `it has a "${segment}" segment`;
    if (segment.length > maxSegmentLength) return `a segment is longer than ${maxSegmentLength} characters`;
    if (!segmentPattern.test(segment)) {
      return `segment ${JSON.stringify(segment)} must use letters, digits and _-=+,@~. only, and not start with "."`;
    }
  }
  return undefined;
}

/**
 * Checks a list prefix: empty (everything), or a valid key, optionally with a trailing `/`.
 * @throws ArtifactError `invalid_key`
 */
export function validatePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  validateKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}

/**
 * Normalises a sha256 given by a caller to lower-case hex.
 * @throws ArtifactError `invalid_argument` when it is not 64 hex digits
 */
export function normalizeSha256(sha256: string, uri: string): string {
  const lower = sha256.toLowerCase();
  if (!sha256Pattern.test(lower)) {
    throw new ArtifactError(
      'invalid_argument',
      uri,
      `Expected sha256 ${JSON.stringify(sha256)} is not 64 hex digits`,
    );
  }
  return lower;
}

/** True for a lower-case 64-digit hex string, the form the stores record. */
export function isSha256Hex(value: string): boolean {
  return sha256Pattern.test(value);
}

/**
 * The key content with this sha256 gets: `<prefix>/sha256/<hex>[.ext]`.
 * @throws ArtifactError `invalid_key` for a bad prefix or extension
 */
export function contentKey(prefix: string, sha256: string, ext?: string): string {
  validateKey(prefix);
  let suffix = '';
  if (ext !== undefined && ext !== '') {
    const bare = ext.startsWith('.') ? ext.slice(1) : ext;
    if (!extPattern.test(bare)) {
      throw new ArtifactError(
        'invalid_key',
        ext,
        `Invalid extension ${JSON.stringify(ext)}: use letters and digits, e.g. "onnx" or "tar.gz"`,
      );
    }
    suffix = `.${bare}`;
  }
  return validateKey(`${prefix}/sha256/${sha256}${suffix}`);
}

/** Lower-case hex sha256 of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A sha256 that is fed chunk by chunk, counting bytes as it goes. */
export interface RunningHash {
  update(chunk: Uint8Array): void;
  readonly size: number;
  digest(): string;
}

export function createRunningHash(): RunningHash {
  const hash: Hash = createHash('sha256');
  let size = 0;
  return {
    update(chunk) {
      hash.update(chunk);
      size += chunk.byteLength;
    },
    get size() {
      return size;
    },
    digest: () => hash.digest('hex'),
  };
}

/** Turns a stream chunk into bytes; a stream with an encoding set yields strings. */
export function chunkBytes(chunk: unknown): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`Expected a byte stream, got a chunk of type ${typeof chunk}`);
}

/** The integrity error for `uri`, naming both hashes. */
export function integrityError(uri: string, expectedSha256: string, actualSha256: string): ArtifactError {
  return new ArtifactError(
    'integrity',
    uri,
    `Artifact ${uri} failed its integrity check: expected sha256 ${expectedSha256}, got ${actualSha256}`,
    { expectedSha256, actualSha256 },
  );
}

/**
 * Pipes `source` through a pass-through that hashes the bytes and, when `expectedSha256` is given, fails at the
 * end with an `integrity` ArtifactError instead of ending cleanly. Errors of `source` reach the returned stream.
 */
export function verifyingStream(source: Readable, uri: string, expectedSha256: string | undefined): Readable {
  const hash = createRunningHash();
  const verifier = new Transform({
    transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback) {
      const bytes = chunkBytes(chunk);
      hash.update(bytes);
      callback(null, bytes);
    },
    flush(callback: TransformCallback) {
      const actual = hash.digest();
      if (expectedSha256 !== undefined && actual !== expectedSha256) {
        callback(integrityError(uri, expectedSha256, actual));
        return;
      }
      callback();
    },
  });
  source.on('error', (error: unknown) => {
    verifier.destroy(
      error instanceof ArtifactError
        ? error
        : new ArtifactError('io', uri, `Reading ${uri} failed`, { cause: error }),
    );
  });
  verifier.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
  source.pipe(verifier);
  return verifier;
}

/** True when `ref` is a uri (`scheme://...`) rather than a key. */
export function isUri(ref: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(ref);
}
