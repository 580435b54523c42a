import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { RolloutDefaults } from '../../domain/rollout-plan.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { readDeployment } from '../../platform/deployments.js';
import { findVersion } from '../../platform/registry.js';
import { approveUpdate } from '../../workflows/rollout.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import {
  auditOf,
  deploymentHistory,
  makeChampion,
  registerVersions,
  startRollout,
  uniqueModel,
  waitForStatus,
} from '../helpers/rollout.js';
import { testStack } from '../helpers/stack.js';
import { startTrafficWriter, type Behaviour, type TrafficWriter } from '../helpers/traffic-writer.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

/** Seconds instead of minutes: the same code paths, fast. */
const fast: RolloutDefaults = {
  analysisIntervalMs: 500,
  bakeTimeMs: 1500,
  maxWaitMs: 10_000,
  minSamples: 60,
  approvalTimeoutMs: 60_000,
};

const approver = { name: 'alice', role: 'approver' as const };

describe(
  'the rollout workflow on real Temporal, PostgreSQL and S3, with traffic in the prediction log',
  { timeout: 120_000 },
  () => {
    let db: { pool: Pool; schema: string };
    let store: ArtifactStore;
    let client: Client;
    let workers: RunningWorkers;
    const writers: TrafficWriter[] = [];
    const prefix = uniquePrefix('rollout');

    beforeAll(async () => {
      db = await createTestDb('rollout');
      store = createArtifactStore({
        kind: 's3',
        ...testStack().s3,
        prefix: `rollout-${randomBytes(4).toString('hex')}`,
        forcePathStyle: true,
      });
      client = await testClient();
      workers = await startTestWorkers({
        tags: ['cpu'],
        prefix,
        deps: {
          db: db.pool,
          store,
          log: testLog,
          workerIdentity: 'rollout-box',
          device: 'cpu',
          codeVersion: 'test',
          rolloutDefaults: fast,
        },
      });
    });

    afterAll(async () => {
      for (const w of writers) await w.stop();
      await workers?.stop();
      await client?.connection.close();
      await store?.close();
      if (db) await dropTestSchema(db.pool, db.schema);
    });

    /** A model with v1 champion (all traffic) and v2 registered, with traffic flowing. */
    async function championWithTraffic(
      label: string,
      challenger: Behaviour = { kind: 'healthy' },
      rate = 150,
    ) {
      const model = uniqueModel(label);
      const [v1, v2] = await registerVersions(db.pool, store, model, 2);
      await makeChampion(db.pool, model, v1!);
      const writer = startTrafficWriter({
        pool: db.pool,
        model,
        requestsPerSecond: rate,
        behaviours: { [v2!]: challenger },
      });
      writers.push(writer);
      return { model, v1: v1!, v2: v2!, writer };
    }

    it('a healthy challenger goes shadow -> 5 -> 25 -> 50 %, waits for approval, and is promoted; the alias moves once', async () => {
      const { model, v1, v2, writer } = await championWithTraffic('healthy');
      const handle = await startRollout(client, prefix, { model, version: v2 });
      const gate = await waitForStatus(
        handle,
        (s) => s.phase === 'awaiting-approval' || s.phase === 'rolled-back',
      );
      expect(gate.reason).toBeUndefined();
      expect(gate.phase).toBe('awaiting-approval');
      expect(gate.history.map((h) => [h.stage, h.outcome])).toEqual([
        ['shadow', 'pass'],
        ['canary-5', 'pass'],
        ['canary-25', 'pass'],
        ['canary-50', 'pass'],
      ]);
      expect(gate.traffic).toEqual({ champion: v1, challenger: v2, challengerWeight: 0.5, shadow: true });
      const outcome = await handle.executeUpdate(approveUpdate, {
        args: [{ caller: approver, comment: 'ship it' }],
      });
      expect(outcome).toMatchObject({ counted: true, approvers: ['alice'], needed: 1 });
      const result = await handle.result();
      await writer.stop();
      expect(result).toMatchObject({ outcome: 'promoted', champion: v2, previousChampion: v1 });
      expect(result.approvals).toEqual([
        expect.objectContaining({ approver: 'alice', source: 'api', comment: 'ship it' }),
      ]);

      expect((await findVersion(db.pool, model, { alias: 'champion' }))?.version).toBe(v2);
      const deployment = await readDeployment(db.pool, model);
      expect(deployment).toMatchObject({
        champion: v2,
        challenger: null,
        challengerWeight: 0,
        shadow: false,
        rolloutWorkflowId: null,
      });
      const history = await deploymentHistory(db.pool, model);
      expect(
        history.map((h) => [h.champion_version, h.challenger_version, Number(h.challenger_weight), h.shadow]),
      ).toEqual([
        [v1, null, 0, false],
        [v1, v2, 0, true],
        [v1, v2, 0.05, true],
        [v1, v2, 0.25, true],
        [v1, v2, 0.5, true],
        [v2, null, 0, false],
      ]);
      const moves = (await auditOf(db.pool, `${model}@champion`)).filter((a) => a.action === 'alias.move');
      expect(moves.map((m) => m.details)).toEqual([
        { from: null, to: v1 },
        { from: v1, to: v2 },
      ]);
      const description = await handle.describe();
      expect(description.typedSearchAttributes.getAll()).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ key: expect.objectContaining({ name: 'Stage' }), value: 'promoted' }),
          expect.objectContaining({ key: expect.objectContaining({ name: 'ChampionVersion' }), value: v2 }),
          expect.objectContaining({ key: expect.objectContaining({ name: 'ModelName' }), value: model }),
        ]),
      );
      const approvals = (await auditOf(db.pool, `${model}:${v2}`)).filter(
        (a) => a.action === 'rollout.approve',
      );
      expect(approvals).toEqual([expect.objectContaining({ actor: 'alice', source: 'api' })]);
    });

    it('NaN outputs are rolled back automatically, the alias untouched', async () => {
      const { model, v1, v2, writer } = await championWithTraffic('nan', { kind: 'nan' });
      const handle = await startRollout(client, prefix, { model, version: v2, plan: { shadow: false } });
      const result = await handle.result();
      await writer.stop();
      expect(result.outcome).toBe('rolled-back');
      expect(result.reason).toMatch(/^canary-5 failed: error rate of v2 100\.0 %/);
      expect((await findVersion(db.pool, model, { alias: 'champion' }))?.version).toBe(v1);
      expect(await readDeployment(db.pool, model)).toMatchObject({
        champion: v1,
        challenger: null,
        challengerWeight: 0,
      });
      expect(writer.stats.failed).toBe(0);
    });

    it('a bad input typed into Temporal ends the run with every problem by field path', async () => {
      const model = uniqueModel('bad');
      const handle = await client.workflow.start('rollout', {
        workflowId: `rollout-${model}`,
        taskQueue: `${prefix}.cpu`,
        args: [
          {
            model,
            version: 0,
            plan: { steps: [{ weight: 50 }, { weight: 5 }] },
            colour: 'red',
          },
        ],
      });
      const error = await handle.result().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkflowFailedError);
      const message = String((error as WorkflowFailedError).cause?.message);
      expect(message).toContain('version: expected a version number ≥ 1');
      expect(message).toContain('(input): Unrecognized key: "colour"');
      expect(message).toContain(
        'plan.steps.1.weight: expected weights in increasing order (5 % follows 50 %)',
      );
      expect(await readDeployment(db.pool, model)).toMatchObject({ revision: 0 });
    });
  },
);
