import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleResult } from '../../domain/lifecycle.js';
import { rolloutWorkflowId } from '../../domain/rollout.js';
import { championVersionKey, modelNameKey, stageKey } from '../../domain/search-attributes.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { readDeployment } from '../../platform/deployments.js';
import { findVersion } from '../../platform/registry.js';
import { replay } from '../../cli/replay.js';
import {
  approveSignal,
  approveUpdate,
  pauseUpdate,
  resumeUpdate,
  retrainNowUpdate,
  rollbackUpdate,
} from '../../workflows/lifecycle.js';
import { rolloutStatusQuery } from '../../workflows/rollout.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { eventKinds, refusal, startLifecycle, waitForLifecycle } from '../helpers/lifecycle.js';
import { repoRoot } from '../helpers/api.js';
import { testStack } from '../helpers/stack.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

const alice = { name: 'alice', role: 'approver' as const };
const olga = { name: 'olga', role: 'operator' as const };
const vera = { name: 'vera', role: 'viewer' as const };

/**
 * A lifecycle on Elec2's early stretch with every duration in seconds: the monitor judges a window every 2 s, and
 * drift on the Victorian columns (constant in the early stretch, moving from row 17,425 on) fires the retrain.
 */
function fastSpec(model: string) {
  return {
    pipeline: {
      model,
      dataset: { source: join(repoRoot, 'datasets', 'elec2-early.csv') },
      target: 'class',
      positiveClass: '1',
      split: { kind: 'time', testFraction: 0.2 },
      trainer: { kind: 'builtin', name: 'logistic_regression' },
      evaluation: { gates: { min: { auc: 0.6 } }, bootstrap: { iterations: 100 } },
    },
    monitor: { interval: '2s', lag: '500ms', minRows: 150, predictionDrift: false },
    rollout: {
      shadow: { bakeTime: '1s', minSamples: 30, maxWait: '60s' },
      steps: [{ weight: 50, bakeTime: '1s', minSamples: 30, maxWait: '60s' }],
      analysis: {
        interval: '500ms',
        maxScoreDivergence: 0.9,
        // Judging the retrain's quality is the rollout tests' business; here it must get through.
        maxAccuracyDrop: 0.25,
        maxAucDrop: 0.25,
        minLabels: 20,
        latencyToleranceMs: 200,
      },
      approval: { approvers: ['alice', 'bob'], timeout: '2m' },
    },
    retrain: {
      checkEvery: '1s',
      cooldown: '2s',
      budget: { max: 1, per: '1h' },
      triggers: {
        drift: { features: ['vicprice', 'vicdemand', 'transfer'] },
        // Elec2's accuracy stays well above this: the drift trigger is the one that fires.
        performance: { metric: 'accuracy', floor: 0.3, windowRows: 300, minLabels: 300 },
      },
      data: { window: { maxRows: 3000 }, minRows: 300, original: { maxRows: 3000 } },
    },
  };
}

/** Waits for the rollout's approval gate; a rollout that ends first fails the test with its reason. */
async function awaitingApproval(rollout: WorkflowHandle): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const status = await rollout.query(rolloutStatusQuery);
    if (status.phase === 'awaiting-approval') return;
    if (status.phase === 'rolled-back') throw new Error(`the rollout rolled back: ${status.reason}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the rollout did not reach its approval gate in 90 s');
}

describe(
  'the lifecycle workflow on the real stack: training, rollout, a retrain on replayed Elec2 traffic',
  { timeout: 300_000 },
  () => {
    let db: { pool: Pool; schema: string };
    let store: ArtifactStore;
    let client: Client;
    let workers: RunningWorkers;
    let gateway: RunningGateway;
    const prefix = uniquePrefix('lifecycle');
    const s3Prefix = `lifecycle-${randomBytes(4).toString('hex')}`;

    beforeAll(async () => {
      db = await createTestDb('lifecycle');
      store = createArtifactStore({ kind: 's3', ...testStack().s3, prefix: s3Prefix, forcePathStyle: true });
      client = await testClient();
      workers = await startTestWorkers({
        tags: ['cpu'],
        prefix,
        deps: {
          db: db.pool,
          store,
          log: testLog,
          workerIdentity: 'lifecycle-box',
          device: 'cpu',
          codeVersion: 'test-lifecycle',
        },
      });
      gateway = await startGateway({ schema: db.schema, store: { s3Prefix }, processes: 1 });
    });

    afterAll(async () => {
      await gateway?.stop();
      await workers?.stop();
      await client?.connection.close();
      await store?.close();
      if (db) await dropTestSchema(db.pool, db.schema);
    });

    it('refuses a bad spec with every problem by field path, and a workflow id that is not lifecycle-<model>', async () => {
      const bad = await startLifecycle(client, prefix, 'broken', {
        spec: { pipeline: { model: 'x' }, retrain: { budget: { max: 0 }, cooldown: 'later' } },
      });
      const result: LifecycleResult = await bad.result();
      expect(result.outcome).toBe('rejected');
      expect(result.problems?.map((p) => p.path)).toEqual(
        expect.arrayContaining(['pipeline.dataset', 'pipeline.target', 'pipeline.split', 'retrain.cooldown']),
      );
      const model = `elec2-wrong-${randomBytes(3).toString('hex')}`;
      const wrongId = await startLifecycle(
        client,
        prefix,
        model,
        { spec: fastSpec(model) },
        `lifecycle-${model}-2`,
      );
      const refused: LifecycleResult = await wrongId.result();
      expect(refused.problems).toEqual([
        { path: '(workflow id)', message: expect.stringContaining(`runs as lifecycle-${model}`) },
      ]);
    });

    it('trains a champion, retrains on the labelled traffic it served, rolls the retrain out and promotes it', async () => {
      const model = `elec2-lc-${randomBytes(3).toString('hex')}`;
      const handle = await startLifecycle(client, prefix, model, { spec: fastSpec(model) });

      // The first version has no champion to beat: its rollout is the approval gate, approved through the lifecycle.
      await waitForLifecycle(handle, (s) => s.active?.kind === 'rollout', 'the first rollout');
      const rollout = client.workflow.getHandle(rolloutWorkflowId(model));
      await awaitingApproval(rollout);
      expect(
        await refusal(handle.executeUpdate(approveUpdate, { args: [{ caller: vera, comment: 'me?' }] })),
      ).toMatch(/needs the approver role/);
      const approved = await handle.executeUpdate(approveUpdate, {
        args: [{ caller: alice, comment: 'first' }],
      });
      expect(approved.accepted).toBe(true);
      const first = await waitForLifecycle(
        handle,
        (s) => s.champion === 1 && s.phase === 'monitoring',
        'v1 champion',
      );
      expect(first.versions).toEqual([
        expect.objectContaining({ version: 1, state: 'champion', cause: 'the first training' }),
      ]);

      // Elec2 after the early stretch, in time order, labels 20 rows late.
      const abort = new AbortController();
      const replaying = replay({
        csv: join(repoRoot, 'datasets', 'electricity.csv'),
        model,
        gatewayUrl: gateway.url,
        speed: 300,
        labelDelay: 20,
        startRow: 15_000,
        batch: 5,
        concurrency: 4,
        progressEveryMs: 60_000,
        signal: abort.signal,
        say: () => undefined,
      });
      try {
        // Victoria turns on -> drift alert -> retrain on the exported traffic -> rollout of v2 under live traffic.
        await waitForLifecycle(
          handle,
          (s) => s.candidate === 2 && s.active?.kind === 'rollout',
          'the retrain in rollout',
          180_000,
        );
        await awaitingApproval(rollout);
        await handle.signal(approveSignal, { approver: 'bob', comment: 'from the Temporal UI' });
        const second = await waitForLifecycle(handle, (s) => s.champion === 2, 'v2 champion', 60_000);
        expect(second.versions.map((v) => [v.version, v.state])).toEqual([
          [1, 'retired'],
          [2, 'champion'],
        ]);
        expect(second.versions[1]?.cause).toMatch(/^drift on (vicprice|vicdemand|transfer)/);
      } finally {
        abort.abort();
        await replaying;
      }

      const kinds = await eventKinds(db.pool, model);
      const story = kinds.filter(
        (k) => !['retrain-deferred', 'approval', 'alert', 'alert-cleared'].includes(k),
      );
      expect(story).toEqual([
        'started',
        'training-started',
        'trained',
        'rollout-started',
        'promoted',
        'monitor-started',
        'retrain-triggered',
        'data-exported',
        'training-started',
        'trained',
        'rollout-started',
        'promoted',
      ]);
      expect(kinds.filter((k) => k === 'approval')).toHaveLength(2);
      const { rows: events } = await db.pool.query<{
        kind: string;
        message: string;
        reports: Record<string, string>;
      }>(
        `SELECT kind, message, reports FROM lifecycle_events WHERE model_name = $1 AND kind IN ('alert', 'retrain-triggered', 'data-exported') ORDER BY id`,
        [model],
      );
      // The alert came before the retrain, named a Victorian feature, and links the monitor's HTML report.
      const alert = events.find((e) => e.kind === 'alert');
      expect(alert?.message).toMatch(/vicprice|vicdemand|transfer/);
      expect(alert?.reports.report).toMatch(/\.html$/);
      expect(events.findIndex((e) => e.kind === 'alert')).toBeLessThan(
        events.findIndex((e) => e.kind === 'retrain-triggered'),
      );
      expect(events.find((e) => e.kind === 'retrain-triggered')?.reports.report).toMatch(/\.html$/);

      // The retrain trained on the export: its lineage names the exported dataset, ingested like any other.
      const v2 = await findVersion(db.pool, model, 2);
      const { rows: exports } = await db.pool.query<{
        dataset_sha256: string;
        traffic_rows: number;
        original_rows: number;
        uri: string;
      }>(
        'SELECT dataset_sha256, traffic_rows, original_rows, uri FROM traffic_exports WHERE model_name = $1',
        [model],
      );
      expect(exports).toHaveLength(1);
      expect(v2?.datasetSha256).toBe(exports[0]!.dataset_sha256);
      expect(exports[0]!.traffic_rows).toBeGreaterThanOrEqual(300);
      expect(exports[0]!.original_rows).toBe(3000);
      expect(events.find((e) => e.kind === 'data-exported')?.reports.dataset).toBe(exports[0]!.uri);
      const { rows: datasets } = await db.pool.query<{ row_count: string }>(
        'SELECT row_count FROM datasets WHERE sha256 = $1',
        [exports[0]!.dataset_sha256],
      );
      expect(Number(datasets[0]?.row_count)).toBe(exports[0]!.traffic_rows + 3000);

      // Search attributes follow it; the loops continued as new runs with their state.
      const description = await handle.describe();
      expect(description.typedSearchAttributes.get(championVersionKey)).toBe(2);
      expect(description.typedSearchAttributes.get(modelNameKey)).toBe(model);
      expect(description.typedSearchAttributes.get(stageKey)).toBe('monitoring');
      // The loop that promoted v2 continues as new once its events are written: the third run.
      const status = await waitForLifecycle(handle, (s) => s.runNumber >= 3, 'the third run', 60_000);
      expect(status.runNumber).toBeGreaterThanOrEqual(3);
      expect(status.totals.retrains).toBe(1);

      // Pause and resume (operator); retrainNow refused while paused; a viewer refused.
      expect(await refusal(handle.executeUpdate(pauseUpdate, { args: [{ caller: vera }] }))).toMatch(
        /needs the operator role/,
      );
      await handle.executeUpdate(pauseUpdate, { args: [{ caller: olga, comment: 'investigating' }] });
      await waitForLifecycle(handle, (s) => s.stage === 'paused', 'paused');
      expect(await refusal(handle.executeUpdate(retrainNowUpdate, { args: [{ caller: olga }] }))).toMatch(
        /paused: resume it first/,
      );
      await handle.executeUpdate(resumeUpdate, { args: [{ caller: olga }] });

      // Roll the champion back to v1: alias and traffic follow, audited.
      const back = await handle.executeUpdate(rollbackUpdate, {
        args: [{ caller: olga, comment: 'v2 misbehaves' }],
      });
      expect(back.message).toMatch(/version 1 is the champion/);
      expect((await findVersion(db.pool, model, { alias: 'champion' }))?.version).toBe(1);
      expect((await readDeployment(db.pool, model)).champion).toBe(1);
      const rolledBack = await waitForLifecycle(handle, (s) => s.champion === 1, 'v1 back');
      expect(rolledBack.versions.map((v) => [v.version, v.state])).toEqual([
        [1, 'champion'],
        [2, 'rolled-back'],
      ]);
      const { rows: audit } = await db.pool.query<{ actor: string; action: string }>(
        `SELECT actor, action FROM audit_log WHERE subject = $1 AND action LIKE 'lifecycle.%' ORDER BY id`,
        [model],
      );
      expect(audit.map((a) => `${a.actor} ${a.action}`)).toEqual(
        expect.arrayContaining([
          'olga lifecycle.paused',
          'olga lifecycle.resumed',
          'olga lifecycle.rollback',
        ]),
      );
      await handle.terminate('test over');
      // The monitor outlives its lifecycle's runs by design (ABANDON); this test ends it too.
      await client.workflow.getHandle(`monitor-${model}`).terminate('test over');
    });
  },
);
