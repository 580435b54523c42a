import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { inheritedEnvironment } from '../../platform/config.js';
import type { Pool } from '../../platform/db.js';
import { listVersions } from '../../platform/registry.js';
import { trainingStatusQuery } from '../../workflows/training.js';
import { repoRoot } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';
import { exampleSpec, startTraining } from '../helpers/training.js';
import { testClient, uniquePrefix } from '../helpers/workers.js';

interface Heartbeat {
  step?: number;
  checkpointStep?: number;
}

/** A real worker process (workers/main.ts), configured through its environment like a deployed one. */
function spawnWorker(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: repoRoot,
    env: { ...inheritedEnvironment(), ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

describe('a killed worker resumes training from its last checkpoint', () => {
  let db: { pool: Pool; schema: string; url: string };
  let client: Client;
  const workers: ChildProcess[] = [];
  const prefix = uniquePrefix('resume');

  beforeAll(async () => {
    db = await createTestDb('resume');
    client = await testClient();
  });

  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await client?.connection.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  it('SIGKILL mid-training: the retry resumes past epoch 0, completes, and registers exactly one version', async () => {
    const stack = testStack();
    const env = {
      TEMPORAL_ADDRESS: stack.temporalAddress,
      TEMPORAL_NAMESPACE: stack.temporalNamespace,
      DATABASE_URL: db.url,
      DATABASE_SCHEMA: db.schema,
      ARTIFACT_STORE: 's3',
      S3_ENDPOINT: stack.s3.endpoint,
      S3_BUCKET: stack.s3.bucket,
      S3_REGION: stack.s3.region,
      S3_ACCESS_KEY_ID: stack.s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: stack.s3.secretAccessKey,
      S3_PREFIX: `resume-${randomBytes(4).toString('hex')}`,
      TASK_QUEUE_PREFIX: prefix,
      WORKER_TAGS: 'cpu',
      LOG_LEVEL: 'warn',
      SLIPWAY_CODE_VERSION: 'test',
    };
    const spec = await exampleSpec('adult-mlp.yaml', {
      trainer: {
        kind: 'builtin',
        name: 'mlp',
        params: { hiddenLayerSizes: [64], maxEpochs: 40, earlyStopping: false },
      },
      checkpointEvery: 1,
    });
    const first = spawnWorker(env);
    workers.push(first);
    const handle = await startTraining(client, spec, prefix);

    // Wait until training has checkpointed a few epochs, then kill the worker process outright.
    let beat: Heartbeat | undefined;
    const deadline = Date.now() + 240_000;
    while (!(beat?.checkpointStep !== undefined && beat.checkpointStep >= 3)) {
      if (Date.now() > deadline)
        throw new Error(
          `no checkpoint heartbeat in time: ${JSON.stringify(beat)} ${JSON.stringify(await handle.query(trainingStatusQuery).catch(String))}`,
        );
      const description = await handle.describe();
      const pending = (description.raw.pendingActivities ?? []).find(
        (a) => a.activityType?.name === 'trainModel',
      );
      const payload = pending?.heartbeatDetails?.payloads?.[0];
      beat = payload ? (JSON.parse(Buffer.from(payload.data!).toString()) as Heartbeat) : undefined;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await handle.query(trainingStatusQuery)).stage).toBe('train');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    workers.push(spawnWorker(env));
    const result = await handle.result();
    expect(result.outcome).toBe('registered');
    expect(result.training?.resumedFromStep).toBeGreaterThanOrEqual(3);
    const versions = await listVersions(db.pool, spec.model);
    expect(versions).toHaveLength(1);
    expect(versions[0]?.metadata).toMatchObject({
      training: { resumedFromStep: result.training?.resumedFromStep },
    });
  });
});
