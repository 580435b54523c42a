import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { PipelineSpec } from '../../domain/pipeline-spec.js';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import { trainingTimeouts } from '../../domain/training-timeouts.js';
import { createRng } from '../../ml/rng.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import { resolveDataRoots } from '../../activities/dataset-source.js';
import type { Pool } from '../../platform/db.js';
import { moveAlias } from '../../platform/registry.js';
import { training } from '../../workflows/training.js';
import { createActivityGate } from '../helpers/activity-gate.js';
import { repoRoot } from '../helpers/api.js';
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

const rows = 1_000_000;

/** Writes a 1M-row CSV: eight numeric features, a 20-level category, and a label that depends on them. */
async function writeBigCsv(path: string): Promise<void> {
  const rng = createRng(5);
  const out = createWriteStream(path);
  out.write('a,b,c,d,e,f,g,h,region,y\n');
  for (let start = 0; start < rows; start += 10_000) {
    const lines: string[] = [];
    for (let i = start; i < start + 10_000; i++) {
      const x = Array.from({ length: 8 }, () => rng.nextFloat() * 2 - 1);
      const region = rng.nextInt(20);
      const z = x[0]! * 1.5 - x[1]! + x[2]! * x[3]! + (region % 3) * 0.3 + (rng.nextFloat() - 0.5);
      lines.push(`${x.map((v) => v.toFixed(4)).join(',')},r${region},${z > 0 ? 1 : 0}`);
    }
    if (!out.write(`${lines.join('\n')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Event types in a run's history that would mean a heartbeat or other activity timeout. */
async function timeouts(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.activityTaskTimedOutEventAttributes)
    .map((e) => JSON.stringify(e.activityTaskTimedOutEventAttributes?.failure?.message));
}

/**
 * Evaluating a million rows against a champion (half of them held out: both models scored, metrics, slices, a
 * 200-round paired bootstrap) is long CPU work, far more than the train activity's 20 s heartbeat timeout on one
 * core. It runs in a worker thread, so a training activity on the same worker keeps heartbeating meanwhile: no
 * heartbeat timeout, no retry.
 */
describe('validate and evaluate work off the event loop', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers;
  let scratch: string;
  const gate = createActivityGate();
  const prefix = uniquePrefix('beat');

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'slipway-beat-'));
    db = await createTestDb('beat');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `beat-${randomBytes(4).toString('hex')}`,
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
        workerIdentity: 'beat-box',
        device: 'cpu',
        codeVersion: 'test',
        // The generated dataset is in a scratch folder, Adult in the repository's datasets/: both are data roots.
        dataRoots: await resolveDataRoots([scratch, join(repoRoot, 'datasets')]),
      },
    });
  });

  afterAll(async () => {
    gate.releaseAll();
    await workers?.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('a 1M-row evaluate beside a training activity (20 s heartbeat timeout): no heartbeat timeout', async () => {
    expect(trainingTimeouts.train.heartbeat).toBe('20 seconds');
    const source = join(scratch, 'big.csv');
    await writeBigCsv(source);
    const big: PipelineSpec = {
      ...(await exampleSpec('elec2-logistic.yaml')),
      model: `big-${randomBytes(3).toString('hex')}`,
      dataset: { source },
      target: 'y',
      positiveClass: '1',
      split: { kind: 'random', testFraction: 0.5, seed: 1 },
      trainer: { kind: 'builtin', name: 'logistic_regression', params: { maxIter: 20 } },
      evaluation: {
        threshold: 0.5,
        slices: ['region'],
        gates: { min: {}, max: {}, maxRegression: {} },
        bootstrap: { iterations: 200, seed: 7 },
      },
    };
    // A long training run on the same worker: an MLP that would take many minutes.
    const long = await exampleSpec('adult-mlp.yaml', {
      trainer: {
        kind: 'builtin',
        name: 'mlp',
        params: { hiddenLayerSizes: [64], maxEpochs: 5000, earlyStopping: false },
      },
      checkpointEvery: 50,
    });
    // A first version becomes the champion, so the evaluation under test also scores it and runs the bootstrap.
    const first = await client.workflow.execute(training, {
      workflowId: `training-${big.model}-${randomBytes(4).toString('hex')}`,
      taskQueue: workflowTaskQueue(prefix),
      args: [{ spec: big, queuePrefix: prefix, requestedBy: 'test' }],
    });
    expect(first.outcome).toBe('registered');
    const promoted = await moveAlias(db.pool, {
      model: big.model,
      alias: 'champion',
      version: 1,
      expected: null,
      actor: 'test',
    });
    expect(promoted.moved).toBe(true);
    const bigId = `training-${big.model}-${randomBytes(4).toString('hex')}`;
    const evaluate = gate.hold(bigId, 'evaluateModel');
    // The same spec and data again: `cache: false`, or step caching would reuse version 1 without evaluating.
    const bigRun = await client.workflow.start(training, {
      workflowId: bigId,
      taskQueue: workflowTaskQueue(prefix),
      args: [{ spec: big, queuePrefix: prefix, requestedBy: 'test', cache: false }],
    });
    await evaluate.started;
    const longRun = await client.workflow.start(training, {
      workflowId: `training-${long.model}-${randomBytes(4).toString('hex')}`,
      taskQueue: workflowTaskQueue(prefix),
      args: [{ spec: long, queuePrefix: prefix, requestedBy: 'test' }],
    });
    // Once the long run is training (it has heartbeated progress), let the big evaluation go.
    for (const deadline = Date.now() + 180_000; ;) {
      const pending = (await longRun.describe()).raw.pendingActivities ?? [];
      const train = pending.find((a) => a.activityType?.name === 'trainModel');
      if (train?.heartbeatDetails?.payloads?.length) break;
      if (Date.now() > deadline) throw new Error('the long run never started training');
      await new Promise((r) => setTimeout(r, 500));
    }
    evaluate.release();
    const result = await bigRun.result();
    expect(result.reasons).toBeUndefined();
    expect(result.outcome).toBe('registered');
    expect(result.championVersion).toBe(1);
    expect(Object.keys(result.versusChampion ?? {})).toContain('auc');

    // The long run trained through the whole evaluation, in its first attempt.
    const pending = (await longRun.describe()).raw.pendingActivities ?? [];
    const train = pending.find((a) => a.activityType?.name === 'trainModel');
    expect(train?.attempt).toBe(1);
    expect(train?.lastFailure?.message).toBeUndefined();
    await longRun.terminate('done with it');
    expect(await timeouts(longRun)).toEqual([]);
    expect(await timeouts(bigRun)).toEqual([]);
  }, 1_200_000);
});
