import { spawn } from 'node:child_process';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { stopChild } from '../../platform/temporal-dev-server.js';
import { findExecutable } from '../../platform/tool-cache.js';

export interface S3Server {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly kind: 'minio';
  stop(): Promise<void>;
}

/** Starts MinIO (built into the tool cache by infra/scripts/provision.sh) on loopback and waits until it serves. */
export async function startMinio(options: {
  port: number;
  dataDir: string;
  env: Record<string, string | undefined>;
}): Promise<S3Server> {
  const minio = await findExecutable('minio', options.env.PATH);
  if (!minio)
    throw new Error(
      'MinIO not found: run `bash infra/scripts/provision.sh install` (needs Go) or set S3_ENDPOINT',
    );
  const accessKeyId = 'slipway-test';
  const secretAccessKey = 'slipway-test-secret';
  const child = spawn(
    minio,
    ['server', '--quiet', '--address', `127.0.0.1:${options.port}`, options.dataDir],
    {
      env: {
        ...options.env,
        MINIO_ROOT_USER: accessKeyId,
        MINIO_ROOT_PASSWORD: secretAccessKey,
        MINIO_BROWSER: 'off',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const endpoint = `http://127.0.0.1:${options.port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`MinIO exited with code ${child.exitCode}: ${stderr}`);
    try {
      await client.send(new ListBucketsCommand({}));
      break;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`MinIO did not answer within 120 s: ${String(error)} ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  client.destroy();
  return { endpoint, accessKeyId, secretAccessKey, kind: 'minio', stop: () => stopChild(child) };
}

/** Creates `bucket` unless it exists. */
export async function ensureBucket(
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string },
  bucket: string,
) {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  } finally {
    client.destroy();
  }
}
