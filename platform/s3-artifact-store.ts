// The artifact store on an S3 API (AWS S3, MinIO, R2...). Objects appear atomically: a single PUT, or a multipart
// upload that only becomes visible on completion and is aborted on error. The sha256 rides along as object
// metadata (x-amz-meta-sha256), so it must be known before the upload starts: a stream body is first spooled to
// a local temp file while it is hashed, which also lets a content-addressed put learn its key before uploading.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  ArtifactError,
  chunkBytes,
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
  type PutOptions,
  type StoredObject,
} from './artifact-store.js';
import { writeTempFile } from './artifact-temp-file.js';

export interface S3ArtifactStoreOptions {
  /** Custom endpoint (MinIO, R2...); AWS S3 when absent. */
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  /** Key prefix inside the bucket that this store owns, e.g. `slipway/`; a `/` is appended when missing. */
  readonly prefix?: string;
  /** Static credentials; without them the SDK's default chain (environment, profile, instance role) applies. */
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  /** Path-style addressing (`endpoint/bucket/key`), which MinIO and most self-hosted servers need. */
  readonly forcePathStyle?: boolean;
  /** Keys per ListObjectsV2 page (1..1000, default 1000). */
  readonly listPageSize?: number;
  /** Multipart part size in bytes (at least 5 MiB, default 8 MiB); bodies up to this size go in one PUT. */
  readonly partSizeBytes?: number;
  /** Where stream bodies are spooled before upload; the OS temp directory by default. */
  readonly spoolDir?: string;
}

interface Payload {
  readonly body: Uint8Array | Readable;
  readonly sha256: string;
  readonly size: number;
  /** Removes the spool file, if any. */
  release(): Promise<void>;
}

const minPartSize = 5 * 1024 * 1024;
const bucketPattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** An artifact store in `options.bucket` under `options.prefix`, with `s3://bucket/key` uris. */
export function createS3ArtifactStore(options: S3ArtifactStoreOptions): ArtifactStore {
  const { bucket } = options;
  if (!bucketPattern.test(bucket)) {
    throw new ArtifactError('invalid_argument', bucket, `Invalid S3 bucket name ${JSON.stringify(bucket)}`);
  }
  const rootPrefix = normalizeRootPrefix(options.prefix ?? '');
  const pageSize = options.listPageSize ?? 1000;
  const partSize = options.partSizeBytes ?? 8 * 1024 * 1024;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw new ArtifactError(
      'invalid_argument',
      bucket,
      `listPageSize must be an integer in 1..1000, got ${pageSize}`,
    );
  }
  if (!Number.isInteger(partSize) || partSize < minPartSize) {
    throw new ArtifactError(
      'invalid_argument',
      bucket,
      `partSizeBytes must be an integer of at least ${minPartSize}, got ${partSize}`,
    );
  }
  if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
    throw new ArtifactError(
      'invalid_argument',
      bucket,
      'Give both accessKeyId and secretAccessKey, or neither',
    );
  }
  const config: S3ClientConfig = {
    region: options.region,
    forcePathStyle: options.forcePathStyle ?? false,
    // Checksums only where the API demands them: the default CRC32 trailers are not understood by every S3
    // server, and the sha256 metadata already guards the bytes end to end.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.accessKeyId !== undefined && options.secretAccessKey !== undefined) {
    config.credentials = { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey };
  }
  const client = new S3Client(config);
  const uriBase = `s3://${bucket}/${rootPrefix}`;

  const uriFor = (key: string): string => `${uriBase}${validateKey(key)}`;

  function parseUri(uri: string): string {
    const key = uri.startsWith(uriBase) ? uri.slice(uriBase.length) : undefined;
    if (key === undefined || !isValidKey(key)) {
      throw new ArtifactError('invalid_key', uri, `Artifact uri ${uri} is not a valid key under ${uriBase}`);
    }
    return key;
  }

  const keyOf = (ref: string): string => (isUri(ref) ? parseUri(ref) : validateKey(ref));

  /** Bytes with their sha256; a stream is spooled to disk first, since the hash must precede the upload. */
  async function preparePayload(body: ArtifactBody, uri: string): Promise<Payload> {
    if (body instanceof Uint8Array) {
      return { body, sha256: sha256Hex(body), size: body.byteLength, release: () => Promise.resolve() };
    }
    let dir: string | undefined;
    try {
      dir = await mkdtemp(join(options.spoolDir ?? tmpdir(), 'slipway-spool-'));
      const spool = await writeTempFile(dir, 'body', body);
      const spoolDir = dir;
      return {
        body: createReadStream(spool.path),
        sha256: spool.sha256,
        size: spool.size,
        release: () => rm(spoolDir, { recursive: true, force: true }),
      };
    } catch (error) {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      throw s3Error(uri, 'writing', error);
    }
  }

  async function upload(
    key: string,
    uri: string,
    payload: Payload,
    contentType: string | undefined,
  ): Promise<void> {
    const uploader = new Upload({
      client,
      params: {
        Bucket: bucket,
        Key: rootPrefix + key,
        Body: payload.body,
        ContentLength: payload.size,
        Metadata: { sha256: payload.sha256 },
        ...(contentType === undefined ? {} : { ContentType: contentType }),
      },
      partSize,
      queueSize: 4,
      // The default, said out loud: a failed multipart upload is aborted so no parts linger.
      leavePartsOnError: false,
    });
    try {
      await uploader.done();
    } catch (error) {
      throw s3Error(uri, 'writing', error);
    }
  }

  async function put(key: string, body: ArtifactBody, opts: PutOptions = {}): Promise<StoredObject> {
    const valid = validateKey(key);
    const uri = uriFor(valid);
    const payload = await preparePayload(body, uri);
    try {
      await upload(valid, uri, payload, opts.contentType);
      return { uri, key: valid, sha256: payload.sha256, size: payload.size };
    } finally {
      await payload.release();
    }
  }

  async function putContent(body: ArtifactBody, opts: PutContentOptions): Promise<StoredObject> {
    contentKey(opts.prefix, '0'.repeat(64), opts.ext);
    const payload = await preparePayload(body, uriFor(opts.prefix));
    try {
      const key = contentKey(opts.prefix, payload.sha256, opts.ext);
      const uri = uriFor(key);
      const existing = await head(key);
      // Same key means same bytes; concurrent writers that both miss here upload identical objects.
      if (existing?.size !== payload.size) await upload(key, uri, payload, opts.contentType);
      return { uri, key, sha256: payload.sha256, size: payload.size };
    } finally {
      await payload.release();
    }
  }

  async function fetchObject(
    ref: string,
    opts: GetOptions,
  ): Promise<{ uri: string; body: Readable; want?: string }> {
    const key = keyOf(ref);
    const uri = uriFor(key);
    const expected = opts.expectSha256 === undefined ? undefined : normalizeSha256(opts.expectSha256, uri);
    try {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: rootPrefix + key }));
      if (!(response.Body instanceof Readable)) throw new Error('the response body is not a Node.js stream');
      const recorded = response.Metadata?.['sha256'];
      const want = expected ?? (recorded !== undefined && isSha256Hex(recorded) ? recorded : undefined);
      return want === undefined ? { uri, body: response.Body } : { uri, body: response.Body, want };
    } catch (error) {
      throw s3Error(uri, 'reading', error);
    }
  }

  async function get(ref: string, opts: GetOptions = {}): Promise<Buffer> {
    const { uri, body, want } = await fetchObject(ref, opts);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of body) chunks.push(chunkBytes(chunk));
    } catch (error) {
      throw s3Error(uri, 'reading', error);
    }
    const bytes = Buffer.concat(chunks);
    const actual = sha256Hex(bytes);
    if (want !== undefined && actual !== want) throw integrityError(uri, want, actual);
    return bytes;
  }

  async function getStream(ref: string, opts: GetOptions = {}): Promise<Readable> {
    const { uri, body, want } = await fetchObject(ref, opts);
    return verifyingStream(body, uri, want);
  }

  async function head(ref: string): Promise<ArtifactHead | undefined> {
    const key = keyOf(ref);
    try {
      const response = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: rootPrefix + key }));
      const size = response.ContentLength ?? 0;
      const sha256 = response.Metadata?.['sha256'];
      return sha256 !== undefined && isSha256Hex(sha256) ? { size, sha256 } : { size };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw s3Error(uriFor(key), 'reading', error);
    }
  }

  async function* list(prefix: string): AsyncIterable<ArtifactListing> {
    validatePrefix(prefix);
    let token: string | undefined;
    do {
      let page;
      try {
        page = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: rootPrefix + prefix,
            MaxKeys: pageSize,
            ContinuationToken: token,
          }),
        );
      } catch (error) {
        throw s3Error(`${uriBase}${prefix}`, 'listing', error);
      }
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(rootPrefix.length);
        // Objects other tools wrote under names that aren't keys can't be read through this store anyway.
        if (key !== undefined && isValidKey(key)) yield { key, size: object.Size ?? 0 };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async function deleteObject(ref: string): Promise<void> {
    const key = keyOf(ref);
    try {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: rootPrefix + key }));
    } catch (error) {
      if (!isNotFound(error)) throw s3Error(uriFor(key), 'deleting', error);
    }
  }

  return {
    kind: 's3',
    uriFor,
    parseUri,
    putContent,
    put,
    get,
    getStream,
    head,
    list,
    delete: deleteObject,
    close: () => {
      client.destroy();
      return Promise.resolve();
    },
  };
}

function normalizeRootPrefix(prefix: string): string {
  if (prefix === '') return '';
  const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  validateKey(bare);
  return `${bare}/`;
}

function isNotFound(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const name = 'name' in error ? error.name : undefined;
  const status =
    '$metadata' in error &&
    typeof error.$metadata === 'object' &&
    error.$metadata !== null &&
    'httpStatusCode' in error.$metadata
      ? error.$metadata.httpStatusCode
      : undefined;
  return name === 'NoSuchKey' || name === 'NotFound' || (status === 404 && name !== 'NoSuchBucket');
}

function s3Error(uri: string, doing: string, error: unknown): ArtifactError {
  if (error instanceof ArtifactError) return error;
  if (doing !== 'writing' && isNotFound(error)) {
    return new ArtifactError('not_found', uri, `Artifact ${uri} does not exist`, { cause: error });
  }
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new ArtifactError('io', uri, `Failed ${doing} artifact ${uri}: ${detail}`, { cause: error });
}
