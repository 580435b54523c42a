import {
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex, type ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import {
  artifactError,
  chunkedStream,
  collect,
  describeArtifactStoreSuite,
  failingStream,
  pseudoRandomBytes,
  readAll,
} from '../helpers/artifact-store-suite.js';
import { testStack } from '../helpers/stack.js';

// Small pages force the store through ListObjectsV2 continuation tokens; 5 MiB parts (the S3 minimum) make the
// suite's 6 MiB stream a real multipart upload.
const listPageSize = 3;
const partSizeBytes = 5 * 1024 * 1024;
const runPrefix = `artifact-store-test-${randomBytes(6).toString('hex')}`;

function makeStore(prefix: string): ArtifactStore {
  return createArtifactStore({
    kind: 's3',
    ...testStack().s3,
    prefix,
    forcePathStyle: true,
    listPageSize,
    partSizeBytes,
  });
}

function rawClient(): S3Client {
  const { endpoint, region, accessKeyId, secretAccessKey } = testStack().s3;
  return new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
}

async function removeAll(store: ArtifactStore): Promise<void> {
  for await (const { key } of store.list('')) await store.delete(key);
}

let testCount = 0;

describeArtifactStoreSuite(
  'S3',
  () => {
    testCount += 1;
    const store = makeStore(`${runPrefix}/suite-${testCount}`);
    return Promise.resolve({
      store,
      cleanup: async () => {
        await removeAll(store);
        await store.close();
      },
    });
  },
  { listPageSize, foreignUri: `s3://another-bucket/${runPrefix}/x` },
);

describe('S3 artifact store specifics', () => {
  let store: ArtifactStore;
  let client: S3Client;
  const prefix = `${runPrefix}/specifics`;

  beforeAll(() => {
    store = makeStore(prefix);
    client = rawClient();
  });

  afterAll(async () => {
    if (store) {
      await removeAll(store);
      await store.close();
    }
    client?.destroy();
  });

  it('names objects s3://bucket/prefix/key and records the sha256 as x-amz-meta-sha256', async () => {
    const { bucket } = testStack().s3;
    const put = await store.put('models/m.onnx', Buffer.from('model'), {
      contentType: 'application/octet-stream',
    });
    expect(put.uri).toBe(`s3://${bucket}/${prefix}/models/m.onnx`);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}/models/m.onnx` }));
    expect(head.Metadata?.['sha256']).toBe(sha256Hex(Buffer.from('model')));
    expect(head.ContentType).toBe('application/octet-stream');
    // Another store on the same bucket under another prefix does not own this uri.
    const neighbour = makeStore(`${runPrefix}/neighbour`);
    try {
      await artifactError(neighbour.get(put.uri), 'invalid_key');
    } finally {
      await neighbour.close();
    }
  });

  it('leaves no multipart upload behind when a large body fails', async () => {
    const { bucket } = testStack().s3;
    await artifactError(store.put('big/failed.bin', failingStream(7 * 1024 * 1024)), 'io');
    const uploads = await client.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }),
    );
    expect(uploads.Uploads ?? []).toEqual([]);
    expect(await collect(store.list('big/'))).toEqual([]);

    const bytes = pseudoRandomBytes(11 * 1024 * 1024, 5);
    const put = await store.put('big/ok.bin', chunkedStream(bytes));
    expect(await store.head('big/ok.bin')).toEqual({ size: bytes.length, sha256: sha256Hex(bytes) });
    expect(put.size).toBe(bytes.length);
    const after = await client.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }),
    );
    expect(after.Uploads ?? []).toEqual([]);
  });

  it('catches an object whose bytes no longer match its recorded sha256', async () => {
    const { bucket } = testStack().s3;
    const recorded = sha256Hex(Buffer.from('what was written'));
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${prefix}/tampered`,
        Body: 'what is there now',
        Metadata: { sha256: recorded },
      }),
    );
    const error = await artifactError(store.get('tampered'), 'integrity');
    expect(error).toMatchObject({
      expectedSha256: recorded,
      actualSha256: sha256Hex(Buffer.from('what is there now')),
    });
    await artifactError(readAll(await store.getStream('tampered')), 'integrity');
  });

  it('reports an unreachable server as an io error, not as a missing object', async () => {
    const broken = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      endpoint: 'http://127.0.0.1:1',
      prefix: 'x',
      forcePathStyle: true,
    });
    try {
      await artifactError(broken.head('anything'), 'io');
      await artifactError(broken.get('anything'), 'io');
    } finally {
      await broken.close();
    }
  });
});
