import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Caller } from '../../domain/auth.js';
import { inheritedEnvironment } from '../../platform/config.js';
import { readDeployment } from '../../platform/deployments.js';
import { findVersion } from '../../platform/registry.js';
import { findExecutable } from '../../platform/tool-cache.js';
import {
  abortUpdate,
  approveUpdate,
  pauseUpdate,
  rejectUpdate,
  resumeUpdate,
  rolloutStatusQuery,
} from '../../workflows/rollout.js';
import {
  auditOf,
  deploymentHistory,
  registerVersions,
  startRollout,
  startRolloutTestStack,
  uniqueModel,
  waitForStatus,
  type RolloutTestStack,
} from '../helpers/rollout.js';
import { testStack } from '../helpers/stack.js';

const run = promisify(execFile);
const alice: Caller = { name: 'alice', role: 'approver' };
const bob: Caller = { name: 'bob', role: 'approver' };
const carol: Caller = { name: 'carol', role: 'approver' };
const olga: Caller = { name: 'olga', role: 'operator' };

/** The type and message an Update's validator refused with. */
async function refusal(update: Promise<unknown>): Promise<{ type: string | undefined; message: string }> {
  const error = await update.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected the Update to be refused').toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (error as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return {
    type: (cause as ApplicationFailure).type ?? undefined,
    message: (cause as ApplicationFailure).message,
  };
}

/** One short canary step, so a rollout reaches its approval gate in a few seconds. */
const quick = { shadow: false as const, steps: [{ weight: 50 }] };

describe('the rollout approval gate: who may decide, and how', { timeout: 120_000 }, () => {
  let stack: RolloutTestStack;

  beforeAll(async () => {
    stack = await startRolloutTestStack('approval');
  });
  afterAll(async () => stack?.close());

  it('refuses approval by a non-approver, an approver of another model, or one not on the plan, and before the gate', async () => {
    const { model, v1, v2, writer } = await stack.championWithTraffic('roles');
    const handle = await startRollout(stack.client, stack.prefix, {
      model,
      version: v2,
      plan: { ...quick, approval: { approvers: ['alice', 'bob'] } },
    });
    await waitForStatus(handle, (s) => s.phase === 'canary');
    expect(await refusal(handle.executeUpdate(approveUpdate, { args: [{ caller: alice }] }))).toEqual({
      type: 'Conflict',
      message: 'the rollout is not awaiting approval (stage canary-50)',
    });
    await waitForStatus(handle, (s) => s.phase === 'awaiting-approval');

    expect(await refusal(handle.executeUpdate(approveUpdate, { args: [{ caller: olga }] }))).toEqual({
      type: 'Forbidden',
      message: `olga (role operator) may not approve or reject ${model}: that needs the approver role for ${model}`,
    });
    const elsewhere: Caller = { name: 'alice', role: 'approver', models: ['some-other-model'] };
    expect(
      (await refusal(handle.executeUpdate(approveUpdate, { args: [{ caller: elsewhere }] }))).message,
    ).toBe(
      `alice (role approver, models some-other-model) may not approve or reject ${model}: that needs the approver role for ${model}`,
    );
    expect(await refusal(handle.executeUpdate(approveUpdate, { args: [{ caller: carol }] }))).toEqual({
      type: 'Forbidden',
      message: "carol is not among this rollout's approvers (alice, bob)",
    });
    expect((await refusal(handle.executeUpdate(rejectUpdate, { args: [{ caller: olga }] }))).type).toBe(
      'Forbidden',
    );
    const malformed = await refusal(
      handle.executeUpdate(approveUpdate, { args: [{ caller: { name: 'x' } } as never] }),
    );
    expect(malformed.type).toBe('InvalidRequest');

    const status = await handle.query(rolloutStatusQuery);
    expect(status.approvals).toEqual([]);
    expect(status.phase).toBe('awaiting-approval');
    // Refused Updates never reach the history: the rollout still waits, and an approver can still reject it.
    await handle.executeUpdate(rejectUpdate, { args: [{ caller: bob, comment: 'not today' }] });
    const result = await handle.result();
    await writer.stop();
    expect(result).toMatchObject({
      outcome: 'rolled-back',
      champion: v1,
      reason: 'rejected by bob: not today',
    });
    expect((await findVersion(stack.db.pool, model, { alias: 'champion' }))?.version).toBe(v1);
    const audit = await auditOf(stack.db.pool, `${model}:${v2}`);
    expect(audit.filter((a) => a.action.startsWith('rollout.reject'))).toEqual([
      expect.objectContaining({ actor: 'bob', action: 'rollout.reject', details: { comment: 'not today' } }),
    ]);
  });

  it('under the two-person rule the same approver twice counts once, by Update or Signal; a second person promotes', async () => {
    const { model, v2, writer } = await stack.championWithTraffic('two-person');
    const handle = await startRollout(stack.client, stack.prefix, {
      model,
      version: v2,
      plan: { ...quick, approval: { approvers: ['alice', 'bob'], twoPersonRule: true } },
    });
    await waitForStatus(handle, (s) => s.phase === 'awaiting-approval');
    const first = await handle.executeUpdate(approveUpdate, { args: [{ caller: alice, comment: 'lgtm' }] });
    expect(first).toMatchObject({ counted: true, approvers: ['alice'], needed: 2 });
    const again = await handle.executeUpdate(approveUpdate, { args: [{ caller: alice, comment: 'really' }] });
    expect(again).toMatchObject({ counted: false, approvers: ['alice'], needed: 2 });
    expect(again.message).toMatch(/alice has already approved; 1 of 2 approvals/);
    await handle.signal('approve', { approver: 'alice', comment: 'from the UI too' });
    const waiting = await waitForStatus(handle, (s) => s.approvals.length === 3);
    expect(waiting.phase).toBe('awaiting-approval');
    expect(new Set(waiting.approvals.map((a) => a.approver))).toEqual(new Set(['alice']));
    expect(waiting.approvalsNeeded).toBe(2);

    await handle.executeUpdate(approveUpdate, { args: [{ caller: bob }] });
    const result = await handle.result();
    await writer.stop();
    expect(result.outcome).toBe('promoted');
    expect(result.champion).toBe(v2);
    const audit = (await auditOf(stack.db.pool, `${model}:${v2}`)).filter(
      (a) => a.action === 'rollout.approve',
    );
    expect(audit.map((a) => [a.actor, a.source, a.details.counted])).toEqual([
      ['alice', 'api', true],
      ['alice', 'api', false],
      ['alice', 'temporal-signal', false],
      ['bob', 'api', true],
    ]);
  });

  it('`temporal workflow signal` approves when the name is on the plan; other names are recorded as refused', async () => {
    const { model, v2, writer } = await stack.championWithTraffic('signal');
    const handle = await startRollout(stack.client, stack.prefix, {
      model,
      version: v2,
      plan: { ...quick, approval: { approvers: ['carol'] } },
    });
    await waitForStatus(handle, (s) => s.phase === 'awaiting-approval');
    const temporal = await findExecutable('temporal', inheritedEnvironment().PATH);
    expect(temporal, 'the temporal CLI (provisioned into ~/.cache/slipway/bin)').toBeDefined();
    const signal = (input: string) =>
      run(temporal!, [
        'workflow',
        'signal',
        '--address',
        testStack().temporalAddress,
        '--namespace',
        testStack().temporalNamespace,
        '--workflow-id',
        handle.workflowId,
        '--name',
        'approve',
        '--input',
        input,
      ]);
    await signal('{"approver": "mallory", "comment": "let me in"}');
    const refused = await waitForStatus(handle, (s) => s.refusedApprovals.length === 1);
    expect(refused.refusedApprovals[0]).toMatchObject({
      approver: 'mallory',
      source: 'temporal-signal',
      reason: "mallory is not among this rollout's approvers (carol)",
    });
    expect(refused.phase).toBe('awaiting-approval');

    await signal('{"approver": "carol", "comment": "approved in the Temporal UI"}');
    const result = await handle.result();
    await writer.stop();
    expect(result.outcome).toBe('promoted');
    expect(result.approvals).toEqual([
      expect.objectContaining({
        approver: 'carol',
        source: 'temporal-signal',
        comment: 'approved in the Temporal UI',
      }),
    ]);
    const audit = await auditOf(stack.db.pool, `${model}:${v2}`);
    expect(
      audit.filter((a) => a.action.startsWith('rollout.approve')).map((a) => [a.actor, a.action, a.source]),
    ).toEqual([
      ['mallory', 'rollout.approve.refused', 'temporal-signal'],
      ['carol', 'rollout.approve', 'temporal-signal'],
    ]);
  });

  it('a Signal cannot approve a rollout that names no approvers', async () => {
    const { model, v2, writer } = await stack.championWithTraffic('no-list');
    const handle = await startRollout(stack.client, stack.prefix, { model, version: v2, plan: quick });
    await waitForStatus(handle, (s) => s.phase === 'awaiting-approval');
    await handle.signal('approve', { approver: 'alice' });
    const status = await waitForStatus(handle, (s) => s.refusedApprovals.length === 1);
    expect(status.refusedApprovals[0]?.reason).toMatch(
      /lists no approvers, so a Temporal Signal cannot approve it/,
    );
    await handle.executeUpdate(abortUpdate, { args: [{ caller: olga, comment: 'cleanup' }] });
    expect((await handle.result()).outcome).toBe('rolled-back');
    await writer.stop();
  });

  it('an approval timeout rolls back (and the alias stays)', async () => {
    const { model, v1, v2, writer } = await stack.championWithTraffic('timeout');
    const handle = await startRollout(stack.client, stack.prefix, {
      model,
      version: v2,
      plan: { ...quick, approval: { timeout: '2s' } },
    });
    const result = await handle.result();
    await writer.stop();
    expect(result).toMatchObject({
      outcome: 'rolled-back',
      champion: v1,
      reason: 'no approval within 2 s (0 of 1)',
    });
    expect((await findVersion(stack.db.pool, model, { alias: 'champion' }))?.version).toBe(v1);
    expect(await readDeployment(stack.db.pool, model)).toMatchObject({ champion: v1, challenger: null });
  });

  it('pause holds a phase past its bake time, resume lets it go on, abort rolls back now (operator role)', async () => {
    const { model, v1, v2, writer } = await stack.championWithTraffic('pause');
    const handle = await startRollout(stack.client, stack.prefix, {
      model,
      version: v2,
      plan: { shadow: { bakeTime: '3s' }, steps: [{ weight: 10 }, { weight: 50 }] },
    });
    await waitForStatus(handle, (s) => s.phase === 'shadow');
    const viewer: Caller = { name: 'vic', role: 'viewer' };
    expect((await refusal(handle.executeUpdate(pauseUpdate, { args: [{ caller: viewer }] }))).type).toBe(
      'Forbidden',
    );
    await handle.executeUpdate(pauseUpdate, {
      args: [{ caller: olga, comment: 'holding for the batch job' }],
    });
    expect((await refusal(handle.executeUpdate(pauseUpdate, { args: [{ caller: olga }] }))).message).toBe(
      'the rollout is already paused',
    );
    // Well past the bake time, with several analyses done meanwhile, it still holds in shadow: paused time does
    // not count towards the bake time.
    const pausedAt = Date.now();
    const first = await waitForStatus(handle, (s) => s.paused && Date.parse(s.metrics?.to ?? '0') > pausedAt);
    const later = await waitForStatus(
      handle,
      (s) => Date.parse(s.metrics?.to ?? '0') > pausedAt + 4000,
      20_000,
    );
    expect(later).toMatchObject({ stage: 'shadow', paused: true });
    expect(later.verdict?.reasons[0]).toMatch(/^baking: [0-3] s of 3 s$/);
    expect(Date.parse(later.earliestEndAt!)).toBeGreaterThan(Date.parse(first.earliestEndAt!));

    await handle.executeUpdate(resumeUpdate, { args: [{ caller: olga }] });
    const canary = await waitForStatus(handle, (s) => s.stage === 'canary-10');
    expect(canary.paused).toBe(false);
    const aborted = await handle.executeUpdate(abortUpdate, {
      args: [{ caller: olga, comment: 'wrong build' }],
    });
    expect(aborted.message).toBe('aborted by olga: rolling back');
    const result = await handle.result();
    await writer.stop();
    expect(result).toMatchObject({
      outcome: 'rolled-back',
      champion: v1,
      reason: 'aborted by olga: wrong build',
    });
    expect(result.history.map((h) => [h.stage, h.outcome])).toEqual([
      ['shadow', 'pass'],
      ['canary-10', 'aborted'],
    ]);
    await expect(handle.executeUpdate(abortUpdate, { args: [{ caller: olga }] })).rejects.toThrow(
      /already completed/,
    );
    const actions = (await auditOf(stack.db.pool, `${model}:${v2}`)).map((a) => a.action);
    expect(actions).toEqual(
      expect.arrayContaining(['rollout.pause', 'rollout.resume', 'rollout.abort', 'rollout.rolled-back']),
    );
  });

  it("a model's first version has no champion to compare: it waits for approval, then gets all traffic", async () => {
    const model = uniqueModel('first');
    const [v1] = await registerVersions(stack.db.pool, stack.store, model, 1);
    const handle = await startRollout(stack.client, stack.prefix, { model, version: v1! });
    const gate = await waitForStatus(handle, (s) => s.phase === 'awaiting-approval');
    expect(gate).toMatchObject({ champion: null, steps: [], traffic: { champion: null, challenger: null } });
    // The rollout owns the (empty) deployment while it waits, so nothing else promotes around it.
    expect(await readDeployment(stack.db.pool, model)).toMatchObject({
      champion: null,
      rolloutWorkflowId: `rollout-${model}`,
    });
    await handle.executeUpdate(approveUpdate, { args: [{ caller: alice }] });
    const result = await handle.result();
    expect(result).toMatchObject({ outcome: 'promoted', champion: v1, previousChampion: null });
    expect(await readDeployment(stack.db.pool, model)).toMatchObject({
      champion: v1,
      challenger: null,
      challengerWeight: 0,
      rolloutWorkflowId: null,
    });
    expect((await findVersion(stack.db.pool, model, { alias: 'champion' }))?.version).toBe(v1);
    expect((await deploymentHistory(stack.db.pool, model)).map((h) => h.champion_version)).toEqual([
      null,
      v1,
    ]);
  });
});
