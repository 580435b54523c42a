import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { startTestApi } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';
import { exampleSpec, runTraining, startTraining } from '../helpers/training.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

interface Status {
  stage?: string;
  trainQueue?: string;
  waiting?: string[];
  pending: { activity: string; state: string }[];
}

describe('GPU routing by resource tags', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let api: { app: FastifyInstance; url: string };
  const running: RunningWorkers[] = [];
  const prefix = uniquePrefix('gpu');
  const deps = (identity: string, device: string) => ({
    db: db.pool,
    store,
    log: testLog,
    workerIdentity: identity,
    device,
    codeVersion: 'test',
  });

  beforeAll(async () => {
    db = await createTestDb('gpu');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `gpu-${randomBytes(4).toString('hex')}`,
      forcePathStyle: true,
    });
    client = await testClient();
    api = await startTestApi({ client, db: db.pool, store, queuePrefix: prefix });
    running.push(await startTestWorkers({ tags: ['cpu'], prefix, deps: deps('cpu-box', 'cpu') }));
  });

  afterAll(async () => {
    await api?.app.close();
    for (const w of running) await w.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  const status = async (workflowId: string) =>
    (await (await fetch(`${api.url}/v1/training-runs/${workflowId}`)).json()) as Status;

  async function waitUntil(
    workflowId: string,
    ok: (s: Status) => boolean,
    timeoutMs = 120_000,
  ): Promise<Status> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await status(workflowId);
      if (ok(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out; last status ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  it('waits on the GPU queue while only a CPU worker runs, then trains on the GPU worker once one starts', async () => {
    const spec = await exampleSpec('elec2-logistic.yaml', { resources: { gpu: 1 } });
    const handle = await startTraining(client, spec, prefix);
    const waiting = await waitUntil(
      handle.workflowId,
      (s) => s.stage === 'train' && (s.waiting?.length ?? 0) > 0,
    );
    expect(waiting.trainQueue).toBe(`${prefix}.gpu`);
    expect(waiting.waiting?.[0]).toContain(`trainModel is waiting for a worker on ${prefix}.gpu`);
    // The CPU worker keeps taking work (a CPU-only run goes from ingest to registered meanwhile), and never this.
    const cpuOnly = await runTraining(client, await exampleSpec('elec2-logistic.yaml'), prefix);
    expect(cpuOnly.training?.worker).toBe('cpu-box/cpu');
    expect((await status(handle.workflowId)).waiting?.length).toBe(1);

    running.push(await startTestWorkers({ tags: ['gpu'], prefix, deps: deps('gpu-box', 'cpu') }));
    const result = await handle.result();
    expect(result.outcome).toBe('registered');
    expect(result.training?.worker).toBe('gpu-box/gpu');
  });

  it('sends gpuClass work to that class queue only', async () => {
    const spec = await exampleSpec('elec2-logistic.yaml', { resources: { gpu: 1, gpuClass: 'a100' } });
    const handle = await startTraining(client, spec, prefix);
    const waiting = await waitUntil(
      handle.workflowId,
      (s) => s.stage === 'train' && (s.waiting?.length ?? 0) > 0,
    );
    // The generic GPU worker started above does not take a100 work.
    expect(waiting.trainQueue).toBe(`${prefix}.gpu.a100`);
    running.push(await startTestWorkers({ tags: ['gpu:a100'], prefix, deps: deps('a100-box', 'cpu') }));
    const result = await handle.result();
    expect(result.training?.worker).toBe('a100-box/gpu:a100');
  });
});
