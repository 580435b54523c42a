import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import type { TrainingResult } from '../../domain/training.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { listVersions } from '../../platform/registry.js';
import { training } from '../../workflows/training.js';
import { runCli, startTestApi } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';
import { exampleSpec } from '../helpers/training.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

/**
 * Starting a run is idempotent (an Idempotency-Key fixes the workflow id, so a retried POST gets the same run), and
 * a finished run's result comes from the workflow result: readable through the API and the CLI with no worker.
 */
describe('starting runs through the API, and reading them back with no worker', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers | undefined;
  let api: { app: FastifyInstance; url: string };
  const prefix = uniquePrefix('start');

  beforeAll(async () => {
    db = await createTestDb('start');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `start-${randomBytes(4).toString('hex')}`,
      forcePathStyle: true,
    });
    client = await testClient();
    api = await startTestApi({ client, db: db.pool, store, queuePrefix: prefix });
    workers = await startTestWorkers({
      tags: ['cpu'],
      prefix,
      deps: {
        db: db.pool,
        store,
        log: testLog,
        workerIdentity: 'start-box',
        device: 'cpu',
        codeVersion: 'test',
      },
    });
  });

  afterAll(async () => {
    await api?.app.close();
    await workers?.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  const post = (spec: unknown, key?: string) =>
    api.app.inject({
      method: 'POST',
      url: '/v1/training-runs',
      payload: { spec },
      // The API on loopback answers only to a loopback Host with its port (DNS rebinding).
      headers: { host: new URL(api.url).host, ...(key === undefined ? {} : { 'idempotency-key': key }) },
    });

  it('a retried POST with the same Idempotency-Key returns the same run; another spec under that key is refused', async () => {
    const spec = await exampleSpec('elec2-logistic.yaml');
    const key = `deploy-${randomBytes(6).toString('hex')}`;
    const first = await post(spec, key);
    expect(first.statusCode).toBe(202);
    const { workflowId } = first.json<{ workflowId: string }>();
    const retried = await post(spec, key);
    expect(retried.statusCode).toBe(200);
    expect(retried.headers['idempotent-replayed']).toBe('true');
    expect(retried.json()).toEqual(first.json());

    const conflict = await post({ ...spec, seed: 7 }, key);
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json<{ detail: string }>().detail).toBe(
      `Idempotency-Key ${JSON.stringify(key)} already started ${workflowId} with a different spec; use a new key for a new run`,
    );
    // Without a key, each POST is a run of its own.
    const unkeyed = [await post(spec), await post(spec)].map(
      (r) => r.json<{ workflowId: string }>().workflowId,
    );
    expect(new Set([workflowId, ...unkeyed]).size).toBe(3);
    await Promise.all(unkeyed.map((id) => client.workflow.getHandle(id).terminate('not needed')));

    const result: TrainingResult = await client.workflow.getHandle(workflowId).result();
    expect(result.outcome).toBe('registered');
    // After it finished, the same key still names that run, and nothing new starts.
    const late = await post(spec, key);
    expect(late.statusCode).toBe(200);
    expect(late.json<{ workflowId: string }>().workflowId).toBe(workflowId);
    expect(await listVersions(db.pool, spec.model)).toHaveLength(1);
    const executions = await client.workflow.count(`WorkflowId = "${workflowId}"`);
    expect(executions.count).toBe(1);
  });

  it('refuses a malformed Idempotency-Key, naming the header', async () => {
    const response = await post(await exampleSpec('elec2-logistic.yaml'), 'has spaces in it');
    expect(response.statusCode).toBe(400);
    expect(response.json<{ detail: string }>().detail).toMatch(/idempotency-key/i);
  });

  it('reads a finished run back from its workflow result with no worker running: API and `slipway run`', async () => {
    const spec = await exampleSpec('elec2-logistic.yaml');
    const started = await post(spec, randomBytes(8).toString('hex'));
    const { workflowId } = started.json<{ workflowId: string }>();
    // A run started elsewhere (the Temporal UI, `temporal workflow start`) under an id of its own choosing.
    const typed = await client.workflow.start(training, {
      workflowId: `from-the-ui-${randomBytes(4).toString('hex')}`,
      taskQueue: workflowTaskQueue(prefix),
      args: [{ spec: await exampleSpec('elec2-logistic.yaml'), queuePrefix: prefix }],
    });
    const result: TrainingResult = await client.workflow.getHandle(workflowId).result();
    expect(result.outcome).toBe('registered');
    const typedResult: TrainingResult = await typed.result();
    await workers?.stop();
    workers = undefined;

    const fromUi = await runCli(['run', typed.workflowId, '--json'], { SLIPWAY_API_URL: api.url });
    expect(fromUi.code, fromUi.stderr).toBe(0);
    expect(JSON.parse(fromUi.stdout)).toEqual(typedResult);
    // Only training runs: another workflow's id is not found here.
    const skeleton = await client.workflow.start('skeleton', {
      workflowId: `skeleton-${randomBytes(4).toString('hex')}`,
      taskQueue: workflowTaskQueue(prefix),
      args: [{ message: 'not a training run', queuePrefix: prefix }],
    });
    const other = await api.app.inject({
      method: 'GET',
      url: `/v1/training-runs/${skeleton.workflowId}`,
      headers: { host: new URL(api.url).host },
    });
    expect(other.statusCode).toBe(404);
    await skeleton.terminate('not needed');

    const status = await api.app.inject({
      method: 'GET',
      url: `/v1/training-runs/${workflowId}`,
      headers: { host: new URL(api.url).host },
    });
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({
      state: 'COMPLETED',
      stage: 'done',
      result: { outcome: 'registered', version: 1 },
    });

    const shown = await runCli(['run', workflowId, '--json'], { SLIPWAY_API_URL: api.url });
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual(result);
    const text = await runCli(['run', workflowId], { SLIPWAY_API_URL: api.url });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`registered ${spec.model} version 1`);
  });
});
