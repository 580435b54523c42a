import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { buildApi } from '../../api/server.js';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { skeleton, skeletonStatusQuery } from '../../workflows/skeleton.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

describe('walking skeleton on real Temporal, PostgreSQL and MinIO', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  const prefix = uniquePrefix('skel');
  let cpuWorker: RunningWorkers;
  let gpuWorker: RunningWorkers;

  beforeAll(async () => {
    const stack = testStack();
    db = await createTestDb('skeleton');
    store = createArtifactStore({
      kind: 's3',
      ...stack.s3,
      prefix: `skeleton-${randomBytes(4).toString('hex')}`,
      forcePathStyle: true,
    });
    client = await testClient();
    const base = { db: db.pool, store, log: testLog };
    // Two separate worker sets, as two processes on two machines would be: one CPU-only, one GPU-only.
    cpuWorker = await startTestWorkers({
      tags: ['cpu'],
      prefix,
      deps: { ...base, workerIdentity: 'cpu-box', device: 'cpu', codeVersion: 'test' },
    });
    gpuWorker = await startTestWorkers({
      tags: ['gpu'],
      prefix,
      deps: { ...base, workerIdentity: 'gpu-box', device: 'fake-gpu-0', codeVersion: 'test' },
    });
  });

  afterAll(async () => {
    await cpuWorker?.stop();
    await gpuWorker?.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  it('runs the GPU activity on the GPU-queue worker and the CPU activities on the CPU worker', async () => {
    const workflowId = `skeleton-test-${randomBytes(4).toString('hex')}`;
    const result = await client.workflow.execute(skeleton, {
      workflowId,
      taskQueue: workflowTaskQueue(prefix),
      args: [{ message: 'hello', queuePrefix: prefix }],
    });
    expect(result.gpuWorker).toBe('gpu-box/gpu');
    expect(result.gpuDevice).toBe('fake-gpu-0');
    expect(result.cpuWorker).toBe('cpu-box/cpu');

    const { rows } = await db.pool.query('SELECT * FROM skeleton_runs WHERE run_key = $1', [workflowId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      gpu_worker: 'gpu-box/gpu',
      cpu_worker: 'cpu-box/cpu',
      artifact_sha256: result.artifactSha256,
    });

    const bytes = await store.get(result.artifactUri, { expectSha256: result.artifactSha256 });
    expect(JSON.parse(bytes.toString())).toEqual({ workflowId, message: 'hello' });
    const status = await client.workflow.getHandle(workflowId).query(skeletonStatusQuery);
    expect(status.stage).toBe('done');
  });

  it('serves health, starts the skeleton and reports its status through the API', async () => {
    const app = await buildApi({ client, db: db.pool, store, log: testLog, queuePrefix: prefix });
    try {
      const health = await app.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(200);
      expect(health.json()).toMatchObject({
        status: 'ok',
        temporal: { ok: true },
        database: { ok: true },
        artifactStore: { ok: true },
      });

      const bad = await app.inject({ method: 'POST', url: '/v1/skeleton-runs', payload: { message: '' } });
      expect(bad.statusCode).toBe(400);
      expect(bad.headers['content-type']).toContain('application/problem+json');
      expect(bad.json().detail).toContain('message');

      const started = await app.inject({
        method: 'POST',
        url: '/v1/skeleton-runs',
        payload: { message: 'via api' },
      });
      expect(started.statusCode).toBe(202);
      const { workflowId } = started.json<{ workflowId: string }>();
      await client.workflow.getHandle(workflowId).result();
      const status = await app.inject({ method: 'GET', url: `/v1/skeleton-runs/${workflowId}` });
      expect(status.statusCode).toBe(200);
      expect(status.json()).toMatchObject({
        state: 'COMPLETED',
        stage: 'done',
        result: { gpuWorker: 'gpu-box/gpu' },
      });

      const openapi = await app.inject({ method: 'GET', url: '/openapi.json' });
      expect(openapi.statusCode).toBe(200);
      expect(Object.keys(openapi.json<{ paths: object }>().paths)).toEqual(
        expect.arrayContaining(['/health', '/v1/training-runs', '/v1/models/{model}']),
      );

      const missing = await app.inject({
        method: 'GET',
        url: `/v1/skeleton-runs/skeleton-${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}`,
      });
      expect(missing.statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('reports a broken dependency as degraded health', async () => {
    const broken = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      endpoint: 'http://127.0.0.1:1',
      prefix: 'x',
      forcePathStyle: true,
    });
    const app = await buildApi({ client, db: db.pool, store: broken, log: testLog, queuePrefix: prefix });
    try {
      const health = await app.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({
        status: 'degraded',
        artifactStore: { ok: false },
        database: { ok: true },
      });
    } finally {
      await app.close();
      await broken.close();
    }
  });
});
