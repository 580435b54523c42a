// Starts the real servers the integration tests need, once per run: a Temporal dev server, PostgreSQL and MinIO.
// Servers the environment already names (TEMPORAL_ADDRESS, DATABASE_URL, S3_ENDPOINT + keys + S3_BUCKET) are used
// as they are. Missing tools are installed by infra/scripts/provision.sh first, and the example Python trainer's
// requirements go into a virtual environment under the tool cache (provision.sh python), whose interpreter the
// command-trainer tests register.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { inheritedEnvironment } from '../../platform/config.js';
import { findPostgresBinDir, startLocalPostgres } from '../../platform/local-postgres.js';
import { exampleTrainerPython } from '../../platform/python-env.js';
import { startDevServer } from '../../platform/temporal-dev-server.js';
import { freePort } from './free-port.js';
import { ensureBucket, startMinio } from './minio.js';
import { newPaths } from './source-tree.js';
import type { TestStack } from './stack.js';

const run = promisify(execFile);

const repoRoot = join(import.meta.dirname, '..', '..');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = inheritedEnvironment();
  const before = await newPaths(repoRoot);
  const stops: (() => Promise<void>)[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'slipway-test-'));
  // PostgreSQL runs as its own user when we are root: it must be able to enter this directory.
  await chmod(dir, 0o755);
  const say = (line: string) => process.stderr.write(`[stack] ${line}\n`);
  const needsTools = !env.TEMPORAL_ADDRESS || !env.DATABASE_URL || !env.S3_ENDPOINT;
  if (needsTools) {
    const { stderr } = await run('bash', ['infra/scripts/provision.sh', 'install'], {
      env,
      maxBuffer: 1 << 24,
    }).catch((error: { stderr?: string; message?: string }) => ({
      stderr: error.stderr ?? error.message ?? 'provisioning failed',
    }));
    say(stderr.trim());
  }
  const python = await exampleTrainerPython(env);
  say(`example trainer python: ${python}`);
  try {
    let temporalAddress = env.TEMPORAL_ADDRESS;
    if (!temporalAddress) {
      const server = await startDevServer({ port: await freePort(), env, readyTimeoutMs: 300_000 });
      stops.push(() => server.stop());
      temporalAddress = server.address;
      say(`temporal dev server at ${temporalAddress}`);
    }

    let databaseUrl = env.DATABASE_URL;
    if (!databaseUrl) {
      const binDir = await findPostgresBinDir(env.PATH);
      if (!binDir)
        throw new Error(
          'PostgreSQL not found: run `bash infra/scripts/provision.sh install` or set DATABASE_URL',
        );
      const pg = await startLocalPostgres({ binDir, dataDir: join(dir, 'pg'), port: await freePort(), env });
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
      say(`postgresql at ${databaseUrl}`);
    }

    let s3: TestStack['s3'];
    let s3Server = 'external';
    if (env.S3_ENDPOINT && env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY && env.S3_BUCKET) {
      s3 = {
        endpoint: env.S3_ENDPOINT,
        region: env.S3_REGION ?? 'us-east-1',
        accessKeyId: env.S3_ACCESS_KEY_ID,
        secretAccessKey: env.S3_SECRET_ACCESS_KEY,
        bucket: env.S3_BUCKET,
      };
    } else {
      const minio = await startMinio({ port: await freePort(), dataDir: join(dir, 'minio'), env });
      stops.push(() => minio.stop());
      s3 = {
        endpoint: minio.endpoint,
        accessKeyId: minio.accessKeyId,
        secretAccessKey: minio.secretAccessKey,
        region: 'us-east-1',
        bucket: 'slipway-test',
      };
      s3Server = 'minio';
      say(`MinIO at ${minio.endpoint}`);
    }
    await ensureBucket(s3, s3.bucket);

    const stack: TestStack = {
      temporalAddress,
      temporalNamespace: env.TEMPORAL_NAMESPACE ?? 'default',
      databaseUrl,
      s3,
      s3Server,
      python,
    };
    project.provide('stack', stack);
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw error;
  }

  return async () => {
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => say(`stop failed: ${String(e)}`));
    await rm(dir, { recursive: true, force: true });
    const after = await newPaths(repoRoot);
    const written = before && after ? [...after].filter((p) => !before.has(p)) : [];
    if (written.length > 0) {
      // vitest reports an error thrown here but still exits 0: fail the run explicitly.
      say(
        `FAILED: the tests wrote into the source tree (write to a temporary folder): ${written.join(', ')}`,
      );
      process.exitCode = 1;
    }
  };
}
