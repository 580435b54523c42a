import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { readDeployment } from '../../platform/deployments.js';
import { findVersion } from '../../platform/registry.js';
import { approveUpdate, rolloutStatusQuery } from '../../workflows/rollout.js';
import {
  analysesPerPhase,
  auditOf,
  deploymentHistory,
  fastRolloutDefaults,
  makeChampion,
  registerVersions,
  startRollout,
  startRolloutTestStack,
  uniqueModel,
  waitForStatus,
  type RolloutTestStack,
} from '../helpers/rollout.js';

const approver = { name: 'alice', role: 'approver' as const };

/** The message of a failed workflow run. */
async function failureOf(result: Promise<unknown>): Promise<string> {
  const error = await result.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return String((error as WorkflowFailedError).cause?.message);
}

describe(
  'the rollout workflow judges challengers from the prediction log (real Temporal, PostgreSQL, S3)',
  { timeout: 120_000 },
  () => {
    let stack: RolloutTestStack;

    beforeAll(async () => {
      stack = await startRolloutTestStack('rollout');
    });
    afterAll(async () => stack?.close());

    it('a healthy challenger goes shadow -> 5 -> 25 -> 50 %, waits for approval, and is promoted; the alias moves once', async () => {
      const { client, prefix, db } = stack;
      const { model, v1, v2, writer } = await stack.championWithTraffic('healthy');
      const handle = await startRollout(client, prefix, { model, version: v2 });
      const canary = await waitForStatus(handle, (s) => s.stage === 'canary-25');
      expect(canary.traffic).toEqual({ champion: v1, challenger: v2, challengerWeight: 0.25, shadow: true });
      expect(Date.parse(canary.earliestEndAt!) - Date.parse(canary.stepStartedAt!)).toBe(
        fastRolloutDefaults.bakeTimeMs,
      );
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
      // Every phase passed on measured metrics, never on missing ones.
      for (const phase of gate.history) {
        expect(phase.verdict?.checks.filter((c) => c.status === 'missing' || c.status === 'fail')).toEqual(
          [],
        );
      }
      expect(gate.traffic).toEqual({ champion: v1, challenger: v2, challengerWeight: 0.5, shadow: true });
      expect(gate.metrics?.champion.version).toBe(v1);
      expect(gate.approvalDeadlineAt).toBeDefined();

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
      expect(await readDeployment(db.pool, model)).toMatchObject({
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
      const attributes = (await handle.describe()).typedSearchAttributes
        .getAll()
        .map((p) => [p.key.name, p.value]);
      expect(attributes).toEqual(
        expect.arrayContaining([
          ['Stage', 'promoted'],
          ['ChampionVersion', v2],
          ['ModelName', model],
        ]),
      );
      const approvals = (await auditOf(db.pool, `${model}:${v2}`)).filter(
        (a) => a.action === 'rollout.approve',
      );
      expect(approvals).toEqual([expect.objectContaining({ actor: 'alice', source: 'api' })]);
    });

    it('NaN outputs: rolled back within one analysis interval of the fault, the alias untouched', async () => {
      const { client, prefix, db } = stack;
      const { model, v1, v2, writer } = await stack.championWithTraffic('nan', { kind: 'nan' });
      const handle = await startRollout(client, prefix, { model, version: v2, plan: { shadow: false } });
      const result = await handle.result();
      await writer.stop();
      expect(result.outcome).toBe('rolled-back');
      expect(result.reason).toMatch(/^canary-5 failed: error rate of v2 100\.0 % \(\d+ of \d+\)/);
      expect((await findVersion(db.pool, model, { alias: 'champion' }))?.version).toBe(v1);
      expect(await readDeployment(db.pool, model)).toMatchObject({
        champion: v1,
        challenger: null,
        challengerWeight: 0,
      });
      const history = await deploymentHistory(db.pool, model);
      expect(history[history.length - 1]!.reason).toMatch(/rolled back: canary-5 failed/);
      // A clearly broken challenger fails at the step's first analysis, one interval after its traffic started.
      expect(await analysesPerPhase(handle)).toEqual([1]);
      expect(writer.stats.failed).toBe(0);
    });

    it('10x latency is rolled back on its p99 against the champion', async () => {
      const { model, v1, v2, writer } = await stack.championWithTraffic('slow', { kind: 'slow', factor: 10 });
      const result = await (await startRollout(stack.client, stack.prefix, { model, version: v2 })).result();
      await writer.stop();
      expect(result.outcome).toBe('rolled-back');
      expect(result.reason).toMatch(
        /^shadow failed: p99 latency of v2 \d+ ms against v1's \d\.\d\d ms is above/,
      );
      expect(result.champion).toBe(v1);
    });

    it('a 5-point accuracy drop on labelled traffic is rolled back on online accuracy', async () => {
      const { model, v1, v2, writer } = await stack.championWithTraffic(
        'accuracy',
        { kind: 'accuracy-drop', points: 0.05 },
        { labelShare: 0.8 },
      );
      const handle = await startRollout(stack.client, stack.prefix, {
        model,
        version: v2,
        plan: { analysis: { minLabels: 150, maxAccuracyDrop: 0.02 } },
      });
      const result = await handle.result();
      await writer.stop();
      expect(result.outcome).toBe('rolled-back');
      expect(result.reason).toMatch(
        /online accuracy of v2 \d+\.\d % against v1's \d+\.\d % on the same \d+ labelled requests: a drop of [3-7]\.\d points \(at least/,
      );
      expect(result.champion).toBe(v1);
      const failed = result.history.find((h) => h.outcome === 'fail')!;
      expect(failed.verdict?.checks.find((c) => c.name === 'error-rate')?.status).toBe('pass');
    });

    it('too few samples after the maximum wait fails closed', async () => {
      const { model, v1, v2, writer } = await stack.championWithTraffic(
        'quiet',
        { kind: 'healthy' },
        { rate: 10 },
      );
      const handle = await startRollout(stack.client, stack.prefix, {
        model,
        version: v2,
        plan: { shadow: { minSamples: 1000, bakeTime: '1s', maxWait: '3s' } },
      });
      const result = await handle.result();
      await writer.stop();
      expect(result).toMatchObject({ outcome: 'rolled-back', champion: v1 });
      expect(result.reason).toMatch(
        /^shadow failed: too few samples after the maximum wait of 3 s: v1 scored \d+ rows and v2 \d+; 1000 each needed$/,
      );
    });

    it('one rollout per model: a second start while one runs is refused', async () => {
      const { model, v2, writer } = await stack.championWithTraffic('twice');
      const first = await startRollout(stack.client, stack.prefix, {
        model,
        version: v2,
        plan: { shadow: false, steps: [{ weight: 50 }] },
      });
      await expect(startRollout(stack.client, stack.prefix, { model, version: v2 })).rejects.toBeInstanceOf(
        WorkflowExecutionAlreadyStartedError,
      );
      await waitForStatus(first, (s) => s.phase === 'awaiting-approval');
      await first.executeUpdate(approveUpdate, { args: [{ caller: approver }] });
      expect((await first.result()).outcome).toBe('promoted');
      await writer.stop();
    });

    it('a bad input typed into Temporal ends the run with every problem by field path, touching nothing', async () => {
      const model = uniqueModel('bad');
      const handle = await stack.client.workflow.start('rollout', {
        workflowId: `rollout-${model}`,
        taskQueue: `${stack.prefix}.cpu`,
        args: [{ model, version: 0, plan: { steps: [{ weight: 50 }, { weight: 5 }] }, colour: 'red' }],
      });
      const message = await failureOf(handle.result());
      expect(message).toContain('version: expected a version number ≥ 1');
      expect(message).toContain('(input): Unrecognized key: "colour"');
      expect(message).toContain(
        'plan.steps.1.weight: expected weights in increasing order (5 % follows 50 %)',
      );
      expect(await readDeployment(stack.db.pool, model)).toMatchObject({ revision: 0 });

      const wrongId = await stack.client.workflow.start('rollout', {
        workflowId: `someone-elses-id-${model}`,
        taskQueue: `${stack.prefix}.cpu`,
        args: [{ model, version: 9 }],
      });
      const wrong = await failureOf(wrongId.result());
      expect(wrong).toContain(`(workflow id): a rollout of ${model} must run as rollout-${model}`);
      expect(wrong).toContain(`version: ${model} has no registered version 9`);
    });

    it('a model file whose sha256 does not match is refused before it gets any traffic', async () => {
      const { db, store } = stack;
      const model = uniqueModel('tampered');
      const [v1, v2] = await registerVersions(db.pool, store, model, 2);
      const version = (await findVersion(db.pool, model, v2!))!;
      await store.put(store.parseUri(version.artifactUri), Buffer.from('not the registered model'));
      await makeChampion(db.pool, model, v1!);
      const handle = await startRollout(stack.client, stack.prefix, { model, version: v2! });
      const message = await failureOf(handle.result());
      expect(message).toMatch(
        new RegExp(`version: the model file of ${model}:${v2} can't be served: .*sha256`),
      );
      expect(await readDeployment(db.pool, model)).toMatchObject({
        champion: v1,
        challenger: null,
        revision: 1,
      });
    });

    it('the status Query answers from the start, with the plan, the split and the metrics of the current step', async () => {
      const { model, v1, v2, writer } = await stack.championWithTraffic('status');
      const handle = await startRollout(stack.client, stack.prefix, {
        model,
        version: v2,
        plan: { shadow: { bakeTime: '30s', maxWait: '1m' } },
      });
      const shadow = await waitForStatus(handle, (s) => s.stage === 'shadow' && s.metrics !== undefined);
      expect(shadow).toMatchObject({
        model,
        version: v2,
        champion: v1,
        phase: 'shadow',
        step: 0,
        steps: ['shadow', 'canary-5', 'canary-25', 'canary-50'],
        traffic: { champion: v1, challenger: v2, challengerWeight: 0, shadow: true },
        paused: false,
        requestedBy: 'test',
      });
      expect(shadow.metrics?.challenger.shadowed).toBeGreaterThan(0);
      expect(shadow.verdict?.outcome).toBe('wait');
      expect(Date.parse(shadow.earliestEndAt!) - Date.parse(shadow.stepStartedAt!)).toBe(30_000);
      expect(Date.parse(shadow.deadlineAt!)).toBeGreaterThan(Date.parse(shadow.earliestEndAt!));
      await handle.cancel();
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      // Cancelled: the traffic went back to the champion before the run ended.
      expect(await readDeployment(stack.db.pool, model)).toMatchObject({
        champion: v1,
        challenger: null,
        rolloutWorkflowId: null,
      });
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      await writer.stop();
      await expect(handle.query(rolloutStatusQuery)).resolves.toMatchObject({
        phase: 'rolled-back',
        reason: 'the rollout was cancelled',
      });
    });
  },
);

describe('a long rollout continues as a new run and keeps its place', { timeout: 120_000 }, () => {
  let stack: RolloutTestStack;
  beforeAll(async () => {
    stack = await startRolloutTestStack('rollout-can', {
      ...fastRolloutDefaults,
      continueAsNewAfterEvents: 40,
    });
  });
  afterAll(async () => stack?.close());

  it('runs through its phases across several runs, approvals and history intact', async () => {
    const { model, v1, v2, writer } = await stack.championWithTraffic('long');
    const handle = await startRollout(stack.client, stack.prefix, { model, version: v2 });
    const first = (await handle.describe()).runId;
    const gate = await waitForStatus(
      handle,
      (s) => s.phase === 'awaiting-approval' || s.phase === 'rolled-back',
      90_000,
    );
    expect(gate.history.map((h) => h.stage)).toEqual(['shadow', 'canary-5', 'canary-25', 'canary-50']);
    await stack.client.workflow
      .getHandle(handle.workflowId)
      .executeUpdate(approveUpdate, { args: [{ caller: approver }] });
    const result = await stack.client.workflow.getHandle(handle.workflowId).result();
    await writer.stop();
    expect(result).toMatchObject({ outcome: 'promoted', champion: v2, previousChampion: v1 });
    expect((await stack.client.workflow.getHandle(handle.workflowId).describe()).runId).not.toBe(first);
    const history = await deploymentHistory(stack.db.pool, model);
    // Each phase's traffic was written once, whatever the number of runs.
    expect(history.map((h) => Number(h.challenger_weight))).toEqual([0, 0, 0.05, 0.25, 0.5, 0]);
  });
});
