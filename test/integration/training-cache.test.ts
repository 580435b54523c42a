import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePipelineSpec, type PipelineSpec } from '../../domain/pipeline-spec.js';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import type { TrainingResult } from '../../domain/training.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { listVersions } from '../../platform/registry.js';
import { specHash } from '../../platform/spec-file.js';
import { training, trainingStatusQuery } from '../../workflows/training.js';
import { repoRoot } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

describe(
  'step caching: a run with the dataset, spec and code of a finished run reuses its outputs',
  { timeout: 240_000 },
  () => {
    let db: { pool: Pool; schema: string };
    let store: ArtifactStore;
    let client: Client;
    const workers: RunningWorkers[] = [];
    const prefixes = {
      pinned: uniquePrefix('cache'),
      other: uniquePrefix('cache2'),
      dirty: uniquePrefix('cache3'),
    };
    const model = `elec2-cache-${randomBytes(3).toString('hex')}`;
    const spec: PipelineSpec = parsePipelineSpec({
      model,
      dataset: { source: join(repoRoot, 'datasets', 'elec2-early.csv') },
      target: 'class',
      positiveClass: '1',
      split: { kind: 'time', testFraction: 0.2 },
      trainer: { kind: 'builtin', name: 'logistic_regression' },
      evaluation: { bootstrap: { iterations: 100 } },
    });

    const run = async (prefix: string, runSpec: PipelineSpec, cache?: boolean) => {
      const handle = await client.workflow.start(training, {
        workflowId: `training-${model}-${randomBytes(4).toString('hex')}`,
        taskQueue: workflowTaskQueue(prefix),
        args: [
          {
            spec: runSpec,
            specHash: specHash(runSpec),
            queuePrefix: prefix,
            requestedBy: 'test',
            ...(cache === undefined ? {} : { cache }),
          },
        ],
      });
      const result: TrainingResult = await handle.result();
      return { result, status: await handle.query(trainingStatusQuery), workflowId: handle.workflowId };
    };

    beforeAll(async () => {
      db = await createTestDb('cache');
      store = createArtifactStore({
        kind: 's3',
        ...testStack().s3,
        prefix: `cache-${randomBytes(4).toString('hex')}`,
        forcePathStyle: true,
      });
      client = await testClient();
      const deps = { db: db.pool, store, log: testLog, workerIdentity: 'cache-box', device: 'cpu' };
      workers.push(
        await startTestWorkers({
          tags: ['cpu'],
          prefix: prefixes.pinned,
          deps: { ...deps, codeVersion: 'abc123' },
        }),
      );
      workers.push(
        await startTestWorkers({
          tags: ['cpu'],
          prefix: prefixes.other,
          deps: { ...deps, codeVersion: 'def456' },
        }),
      );
      workers.push(
        await startTestWorkers({
          tags: ['cpu'],
          prefix: prefixes.dirty,
          deps: { ...deps, codeVersion: 'abc123-dirty' },
        }),
      );
    });

    afterAll(async () => {
      for (const w of workers) await w.stop();
      await client?.connection.close();
      await store?.close();
      if (db) await dropTestSchema(db.pool, db.schema);
    });

    it('trains once, reuses the version on a repeat, and says why each run hit or missed', async () => {
      const first = await run(prefixes.pinned, spec);
      expect(first.result).toMatchObject({ outcome: 'registered', version: 1, cache: { hit: false } });
      expect(first.result.cache?.reason).toMatch(
        /no finished run of .* registered a version from dataset 058c5fd715c3/,
      );

      const repeat = await run(prefixes.pinned, spec);
      expect(repeat.result).toMatchObject({
        outcome: 'registered',
        version: 1,
        metrics: first.result.metrics,
        artifactSha256: first.result.artifactSha256,
        cache: { hit: true, fromWorkflowId: first.workflowId, version: 1 },
      });
      expect(repeat.result.cache?.reason).toContain(`run ${first.workflowId} registered version 1`);
      expect(repeat.status.stages.map((s) => [s.stage, s.state])).toEqual([
        ['spec', 'done'],
        ['ingest', 'done'],
        ['validate', 'cached'],
        ['train', 'cached'],
        ['evaluate', 'cached'],
        ['register', 'cached'],
      ]);
      expect(repeat.status.cache?.hit).toBe(true);
      expect((await listVersions(db.pool, model)).map((v) => v.version)).toEqual([1]);
      // The repeat is a run of its own in the runs table, pointing at the reused version.
      const { rows } = await db.pool.query<{ status: string }>(
        'SELECT status FROM runs WHERE model_name = $1 ORDER BY started_at',
        [model],
      );
      expect(rows.map((r) => r.status)).toEqual(['registered', 'registered']);

      const forced = await run(prefixes.pinned, spec, false);
      expect(forced.result).toMatchObject({
        version: 2,
        cache: { hit: false, reason: 'caching is off for this run (cache: false)' },
      });

      const otherSpec = await run(prefixes.pinned, { ...spec, seed: 7 });
      expect(otherSpec.result).toMatchObject({ version: 3, cache: { hit: false } });
      expect(otherSpec.result.cache?.reason).toMatch(/used another spec .*; this spec is/);

      const otherCode = await run(prefixes.other, spec);
      expect(otherCode.result).toMatchObject({ version: 4, cache: { hit: false } });
      expect(otherCode.result.cache?.reason).toMatch(
        /version 2 was trained from the same dataset and spec by code abc123; this worker runs def456/,
      );

      const dirty = await run(prefixes.dirty, spec);
      expect(dirty.result).toMatchObject({ version: 5, cache: { hit: false } });
      expect(dirty.result.cache?.reason).toMatch(/"abc123-dirty" does not pin the code/);
    });
  },
);
