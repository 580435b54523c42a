import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { checkpointPrefix } from '../../activities/checkpoints.js';
import type { PipelineSpec } from '../../domain/pipeline-spec.js';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import type { TrainingResult } from '../../domain/training.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { training } from '../../workflows/training.js';
import { createActivityGate } from '../helpers/activity-gate.js';
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
 * Checkpoints live only while a run may resume: during training the last two (complete ones) or the chain (GBDT,
 * each link holding only the trees since the one before); once the run is registered or rejected, none.
 */
describe('training checkpoints in the artifact store', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers;
  const gate = createActivityGate();
  const prefix = uniquePrefix('ckpt');

  beforeAll(async () => {
    db = await createTestDb('ckpt');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `ckpt-${randomBytes(4).toString('hex')}`,
      forcePathStyle: true,
    });
    client = await testClient();
    workers = await startTestWorkers({
      tags: ['cpu'],
      prefix,
      activityInterceptors: [gate.interceptor],
      deps: {
        db: db.pool,
        store,
        log: testLog,
        workerIdentity: 'ckpt-box',
        device: 'cpu',
        codeVersion: 'test',
      },
    });
  });

  afterAll(async () => {
    gate.releaseAll();
    await workers?.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  const stored = async (runId: string) => {
    const items: { key: string; size: number }[] = [];
    for await (const item of store.list(checkpointPrefix(runId))) items.push(item);
    return items.sort((a, b) => a.key.localeCompare(b.key));
  };

  /** Runs `spec` held before `activity`; returns the checkpoints stored at that moment, then the result. */
  async function checkpointsBefore(spec: PipelineSpec, activity: string) {
    const workflowId = `training-${spec.model}-${randomBytes(4).toString('hex')}`;
    const held = gate.hold(workflowId, activity);
    const handle = await client.workflow.start(training, {
      workflowId,
      taskQueue: workflowTaskQueue(prefix),
      args: [{ spec, queuePrefix: prefix, requestedBy: 'test' }],
    });
    await held.started;
    const runId = `${workflowId}:${handle.firstExecutionRunId}`;
    const during = await stored(runId);
    held.release();
    const result: TrainingResult = await handle.result();
    return { during, result, after: await stored(runId) };
  }

  it('keeps the last two complete checkpoints while the run may resume, none once it is registered', async () => {
    const spec = await exampleSpec('adult-mlp.yaml', {
      trainer: {
        kind: 'builtin',
        name: 'mlp',
        params: { hiddenLayerSizes: [16], maxEpochs: 8, earlyStopping: false },
      },
      checkpointEvery: 1,
    });
    const { during, result, after } = await checkpointsBefore(spec, 'registerModel');
    expect(result.outcome).toBe('registered');
    expect(during.map((c) => c.key.slice(c.key.lastIndexOf('/') + 1))).toEqual([
      '0000000007-a1.ckpt',
      '0000000008-a1.ckpt',
    ]);
    expect(after).toEqual([]);
  });

  it('keeps a GBDT chain, each link holding only its new trees; none once the run is rejected', async () => {
    const spec = await exampleSpec('elec2-gbdt.yaml', {
      trainer: { kind: 'builtin', name: 'gbdt', params: { maxIter: 40, earlyStopping: false } },
      checkpointEvery: 5,
      evaluation: {
        threshold: 0.5,
        slices: [],
        gates: { min: { auc: 0.999 }, max: {}, maxRegression: {} },
        bootstrap: { iterations: 100, seed: 7 },
      },
    });
    const { during, result, after } = await checkpointsBefore(spec, 'evaluateModel');
    expect(result).toMatchObject({ outcome: 'rejected', rejectedAt: 'evaluate' });
    const names = during.map((c) => c.key.slice(c.key.lastIndexOf('/') + 1));
    expect(names).toEqual([
      '0000000005-a1.ckpt',
      ...[10, 15, 20, 25, 30, 35, 40].map(
        (step) => `${String(step).padStart(10, '0')}-a1-after-${String(step - 5).padStart(10, '0')}-a1.ckpt`,
      ),
    ]);
    // Links after the first (which also holds the bins) are about the same size: five trees each, not all so far.
    const later = during.slice(1).map((c) => c.size);
    expect(Math.max(...later) / Math.min(...later)).toBeLessThan(1.5);
    expect(after).toEqual([]);
  });
});
