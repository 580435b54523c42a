import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { PipelineSpec } from '../../domain/pipeline-spec.js';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import type { TrainingResult } from '../../domain/training.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { resolveCommandTrainers, type CommandTrainer } from '../../platform/command-trainers.js';
import { exampleTrainerEntry } from '../../platform/python-env.js';
import { repoRoot } from '../helpers/api.js';
import { findVersion } from '../../platform/registry.js';
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
 * GPU workers with injected GPU counts (there is no GPU here: jobs are pinned to device indexes, and onnxruntime's
 * CUDA provider falls back to the CPU). A worker with N GPUs holds at most N GPU jobs, each on a device of its own,
 * and never accepts one it can't start, so a job it can't take goes to an idle GPU worker instead.
 */
describe('GPU jobs pinned to devices', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  const running: RunningWorkers[] = [];
  const prefix = uniquePrefix('pin');
  let commandTrainers: CommandTrainer[];
  const deps = (identity: string) => ({
    db: db.pool,
    store,
    log: testLog,
    workerIdentity: identity,
    device: 'cpu',
    codeVersion: 'test',
    commandTrainers,
  });

  beforeAll(async () => {
    db = await createTestDb('pin');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `pin-${randomBytes(4).toString('hex')}`,
      forcePathStyle: true,
    });
    client = await testClient();
    // The example trainer in the virtual environment the global setup made, registered as an operator would.
    commandTrainers = await resolveCommandTrainers(exampleTrainerEntry(testStack().python), {
      cwd: repoRoot,
      searchPath: process.env.PATH,
    });
    running.push(await startTestWorkers({ tags: ['cpu'], prefix, deps: deps('cpu-box') }));
  });

  afterAll(async () => {
    for (const w of running) await w.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  const start = (spec: PipelineSpec) =>
    client.workflow.start(training, {
      workflowId: `training-${spec.model}-${randomBytes(4).toString('hex')}`,
      taskQueue: workflowTaskQueue(prefix),
      args: [{ spec, queuePrefix: prefix, requestedBy: 'test' }],
    });

  async function trainState(workflowId: string): Promise<string | undefined> {
    const pending = (await client.workflow.getHandle(workflowId).describe()).raw.pendingActivities ?? [];
    const train = pending.find((a) => a.activityType?.name === 'trainModel');
    return train ? String(train.state) : undefined;
  }

  it('a worker whose only GPU is busy accepts no other GPU job: the idle GPU worker takes it', async () => {
    const gate = createActivityGate();
    const busy = await startTestWorkers({
      tags: ['gpu', 'gpu:a100'],
      prefix,
      gpuCount: 1,
      activityInterceptors: [gate.interceptor],
      deps: deps('busy-box'),
    });
    running.push(busy);
    const first = await start(await exampleSpec('elec2-logistic.yaml', { resources: { gpu: 1 } }));
    const held = gate.hold(first.workflowId, 'trainModel');
    await held.started;

    // Another GPU job, for the a100 queue that the busy worker also polls: it stays scheduled in Temporal.
    const second = await start(
      await exampleSpec('elec2-logistic.yaml', { resources: { gpu: 1, gpuClass: 'a100' } }),
    );
    for (const deadline = Date.now() + 120_000; (await trainState(second.workflowId)) === undefined;) {
      if (Date.now() > deadline) throw new Error('the second run never reached training');
      await new Promise((r) => setTimeout(r, 300));
    }
    // 1 = PENDING_ACTIVITY_STATE_SCHEDULED: no worker has accepted it.
    expect(await trainState(second.workflowId)).toBe('1');

    running.push(await startTestWorkers({ tags: ['gpu:a100'], prefix, gpuCount: 1, deps: deps('idle-box') }));
    const result: TrainingResult = await second.result();
    expect(result.outcome).toBe('registered');
    expect(result.training?.worker).toBe('idle-box/gpu:a100');
    expect(result.training?.device).toBe('cuda:0 (GPU 0)');

    // The first job was held on the busy worker the whole time; it finishes once let go.
    held.release();
    const firstResult: TrainingResult = await first.result();
    expect(firstResult.training?.worker).toBe('busy-box/gpu');
  });

  it('N GPUs run at most N jobs at once, each on a device of its own; the command trainer sees only its GPU', async () => {
    // Records when each train activity runs on the worker under test.
    const spans: { workflowId: string; start: number; end: number }[] = [];
    const recorder: ActivityInterceptorsFactory = (ctx) => ({
      inbound: {
        async execute(input, next) {
          const span = {
            workflowId: ctx.info.workflowExecution?.workflowId ?? '',
            start: Date.now(),
            end: 0,
          };
          try {
            return await next(input);
          } finally {
            if (ctx.info.activityType === 'trainModel') spans.push({ ...span, end: Date.now() });
          }
        },
      },
    });
    running.push(
      await startTestWorkers({
        tags: ['gpu:t4'],
        prefix,
        gpuCount: 2,
        activityInterceptors: [recorder],
        deps: deps('two-gpu-box'),
      }),
    );
    const gpu = { gpu: 1, gpuClass: 't4' };
    const handles = await Promise.all([
      start(await exampleSpec('elec2-python.yaml', { resources: gpu })),
      start(await exampleSpec('elec2-python.yaml', { resources: gpu })),
      start(await exampleSpec('adult-mlp.yaml', { resources: gpu })),
    ]);
    const results: TrainingResult[] = await Promise.all(handles.map((h) => h.result()));
    for (const r of results) expect(r.reasons).toBeUndefined();
    const deviceOf = new Map(handles.map((h, i) => [h.workflowId, results[i]!.training!.device]));
    for (const device of deviceOf.values()) expect(device).toMatch(/^cuda:([01]) \(GPU \1\)$/);

    // No moment with more than two jobs (the most at once is reached at some job's start); jobs at the same moment
    // on different devices; and some overlap.
    let overlaps = 0;
    for (const a of spans) {
      const atStart = spans.filter((b) => b.start <= a.start && a.start < b.end);
      expect(atStart.length).toBeLessThanOrEqual(2);
      const concurrent = spans.filter((b) => b !== a && b.start < a.end && a.start < b.end);
      for (const b of concurrent) expect(deviceOf.get(b.workflowId)).not.toBe(deviceOf.get(a.workflowId));
      overlaps += concurrent.length;
    }
    expect(overlaps).toBeGreaterThan(0);

    // The command trainer ran with CUDA_VISIBLE_DEVICES naming its device; evaluation fell back to the CPU.
    for (const [i, handle] of handles.slice(0, 2).entries()) {
      const version = await findVersion(db.pool, results[i]!.model, 1);
      const index = /^cuda:(\d)/.exec(deviceOf.get(handle.workflowId)!)?.[1];
      expect(version?.metadata.trainerMetrics).toMatchObject({ cudaVisibleDevices: index });
    }
    const report = JSON.parse((await store.get(results[2]!.reports.evaluationJson!)).toString()) as {
      provider: string;
    };
    expect(report.provider).toBe('cpu');
  });
});
