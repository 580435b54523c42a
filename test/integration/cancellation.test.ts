import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { checkpointPrefix } from '../../activities/checkpoints.js';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import type { TrainingResult } from '../../domain/training.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { listVersions } from '../../platform/registry.js';
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
 * A run cancelled in any stage ends with the runs table and the registry telling the same story: cancelled before
 * registration, a `failed` run (reason `cancelled`) and no version; cancelled while registering, the registration
 * completes and the run is `registered` with exactly its one version. Each activity is held at its start (by an
 * activity interceptor) while the cancellation arrives, then let go.
 */
describe('cancelling a training run in each stage', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers;
  const gate = createActivityGate();
  const prefix = uniquePrefix('cancel');

  beforeAll(async () => {
    db = await createTestDb('cancel');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `cancel-${randomBytes(4).toString('hex')}`,
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
        workerIdentity: 'cancel-box',
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

  const runRows = (model: string) =>
    db.pool
      .query<{ run_id: string; status: string; reason: string | null; finished: boolean }>(
        'SELECT run_id, status, reason, finished_at IS NOT NULL AS finished FROM runs WHERE model_name = $1',
        [model],
      )
      .then((r) => r.rows);

  /** Starts a run (MLP with a few epochs, so training checkpoints), held at `activity`, and cancels it there. */
  async function cancelAt(activity: string) {
    const spec = await exampleSpec('elec2-logistic.yaml', {
      trainer: {
        kind: 'builtin',
        name: 'mlp',
        params: { hiddenLayerSizes: [8], maxEpochs: 3, earlyStopping: false },
      },
      checkpointEvery: 1,
    });
    const workflowId = `training-${spec.model}-${randomBytes(4).toString('hex')}`;
    const held = gate.hold(workflowId, activity);
    const handle = await client.workflow.start(training, {
      workflowId,
      taskQueue: workflowTaskQueue(prefix),
      args: [{ spec, queuePrefix: prefix, requestedBy: 'test' }],
    });
    await held.started;
    await handle.cancel();
    held.release();
    const outcome = await handle.result().then(
      (result: TrainingResult) => ({ result }),
      (error: unknown) => ({ error }),
    );
    return { spec, handle, outcome, runId: `${workflowId}:${handle.firstExecutionRunId}` };
  }

  it('cancelled while its spec is checked: nothing recorded, nothing registered', async () => {
    const { spec, handle, outcome } = await cancelAt('resolveTrainingSpec');
    expect((outcome as { error: unknown }).error).toBeInstanceOf(WorkflowFailedError);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(await runRows(spec.model)).toEqual([]);
    expect(await listVersions(db.pool, spec.model)).toEqual([]);
  });

  it.each(['ingestDataset', 'validateDataset', 'trainModel', 'evaluateModel'])(
    'cancelled at %s: the run is recorded as failed (cancelled), no version, no checkpoints left',
    async (activity) => {
      const { spec, handle, outcome, runId } = await cancelAt(activity);
      const error = (outcome as { error: unknown }).error;
      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      expect(await runRows(spec.model)).toEqual([
        { run_id: runId, status: 'failed', reason: 'cancelled', finished: true },
      ]);
      expect(await listVersions(db.pool, spec.model)).toEqual([]);
      const left = [];
      for await (const item of store.list(checkpointPrefix(runId))) left.push(item.key);
      expect(left).toEqual([]);
    },
  );

  it('cancelled while registering: registration completes, the run is registered with its one version', async () => {
    const { spec, handle, outcome, runId } = await cancelAt('registerModel');
    const result = (outcome as { result: TrainingResult }).result;
    expect(result).toMatchObject({ outcome: 'registered', version: 1 });
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(await runRows(spec.model)).toEqual([
      { run_id: runId, status: 'registered', reason: null, finished: true },
    ]);
    const versions = await listVersions(db.pool, spec.model);
    expect(versions.map((v) => [v.version, v.runId])).toEqual([[1, runId]]);
  });
});
