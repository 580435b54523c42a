import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../api/server.js';
import { parseApiKeys } from '../../domain/auth.js';
import { readDeployment } from '../../platform/deployments.js';
import { findVersion } from '../../platform/registry.js';
import { rolloutWorkflowId } from '../../domain/rollout.js';
import { runCli } from '../helpers/api.js';
import {
  auditOf,
  registerVersions,
  startRolloutTestStack,
  uniqueModel,
  waitForStatus,
  type RolloutTestStack,
} from '../helpers/rollout.js';
import { startTrafficWriter, type TrafficWriter } from '../helpers/traffic-writer.js';
import { testLog } from '../helpers/workers.js';

const secret = (name: string) => `${name}-secret-0123456789abcdef`;
const keys = [
  'ada:admin',
  'alice:approver',
  'olga:operator',
  'vic:viewer',
  // An approver for another model only.
  'sam:approver::other-model',
]
  .map((k) => {
    const [name, role, , scope] = k.split(':');
    return `${name}:${role}:${secret(name!)}${scope ? `:${scope}` : ''}`;
  })
  .join(',');

describe('rollouts through the control API and the slipway CLI, with roles', { timeout: 180_000 }, () => {
  let stack: RolloutTestStack;
  let app: FastifyInstance;
  let url: string;
  let dir: string;
  const writers: TrafficWriter[] = [];

  beforeAll(async () => {
    stack = await startRolloutTestStack('rollout-cli');
    app = await buildApi({
      client: stack.client,
      db: stack.db.pool,
      store: stack.store,
      log: testLog,
      queuePrefix: stack.prefix,
      apiKeys: parseApiKeys(keys),
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    dir = await mkdtemp(join(tmpdir(), 'slipway-rollout-cli-'));
  });

  afterAll(async () => {
    for (const w of writers) await w.stop();
    await app?.close();
    await stack?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const as = (name: string, args: string[]) =>
    runCli([...args, '--api', url], { SLIPWAY_API_KEY: secret(name) });
  /** A request to the listening API (the Host header names its loopback address and port, as a client's would). */
  const inject = (options: {
    method: 'GET' | 'POST';
    url: string;
    headers: Record<string, string>;
    payload?: object;
  }) => app.inject({ ...options, headers: { ...options.headers, host: new URL(url).host } });
  const status = (model: string, name = 'vic') =>
    inject({
      method: 'GET',
      url: `/v1/rollouts/${model}`,
      headers: { authorization: `Bearer ${secret(name)}` },
    });

  it('promote (admin), start with a plan file, status, refusals, approve: the whole path a person takes', async () => {
    const model = uniqueModel('cli');
    const [v1, v2] = await registerVersions(stack.db.pool, stack.store, model, 2);

    const weak = await as('olga', ['models', 'promote', `${model}:${v1}`]);
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain('promote refused: API key "olga" has role operator; this needs admin');
    const promoted = await as('ada', ['models', 'promote', `${model}:${v1}`, '--expect-champion', 'none']);
    expect(promoted.stderr).toBe('');
    expect(promoted.stdout).toBe(`${model}: champion none -> v${v1}, all traffic to v${v1}\n`);
    expect(await readDeployment(stack.db.pool, model)).toMatchObject({ champion: v1, challenger: null });
    const stale = await as('ada', ['models', 'promote', `${model}:${v2}`, '--expect-champion', 'none']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(`the champion of ${model} is v${v1}, not none as expected`);
    writers.push(startTrafficWriter({ pool: stack.db.pool, model, requestsPerSecond: 150 }));

    const badPlan = join(dir, 'bad-plan.yaml');
    await writeFile(badPlan, 'steps:\n  - weight: 150\napproval:\n  timeout: forever\n');
    const bad = await as('olga', ['rollout', 'start', `${model}:${v2}`, '--plan', badPlan]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('plan.steps.0.weight: expected a percentage below 100');
    expect(bad.stderr).toContain('plan.approval.timeout: expected a duration');

    const planFile = join(dir, 'plan.yaml');
    await writeFile(
      planFile,
      'shadow: false\nsteps:\n  - weight: 20\n    bakeTime: 1s\napproval:\n  approvers: [alice]\n',
    );
    const started = await as('olga', ['rollout', 'start', `${model}:${v2}`, '--plan', planFile]);
    expect(started.stderr).toBe('');
    expect(started.stdout).toBe(
      `started rollout-${model}; follow it with \`slipway rollout status ${model}\`\n`,
    );
    const again = await as('olga', ['rollout', 'start', `${model}:${v2}`]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      new RegExp(
        `a rollout of v${v2} of ${model} is already running \\(rollout-${model}, at [a-z0-9-]+\\): approve, reject or abort it`,
      ),
    );

    const handle = stack.client.workflow.getHandle(rolloutWorkflowId(model));
    await waitForStatus(handle, (s) => s.phase === 'awaiting-approval');
    const shown = await as('vic', ['rollout', 'status', model]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`stage awaiting-approval`);
    expect(shown.stdout).toContain(`traffic: v${v1} 80 %, v${v2} 20 % (v${v2} shadows the rest)`);
    expect(shown.stdout).toContain('approvals: 0 of 1');
    const json = JSON.parse((await as('vic', ['rollout', 'status', model, '--json'])).stdout);
    expect(json).toMatchObject({
      state: 'RUNNING',
      phase: 'awaiting-approval',
      traffic: { challengerWeight: 0.2 },
    });

    const operator = await as('olga', ['rollout', 'approve', model]);
    expect(operator.code).toBe(1);
    expect(operator.stderr).toContain(
      'approve refused: API key "olga" has role operator; this needs approver',
    );
    const scoped = await as('sam', ['rollout', 'approve', model]);
    expect(scoped.code).toBe(1);
    expect(scoped.stderr).toContain(
      `approve refused: sam (role approver) may not approve the rollout of ${model}: that needs the approver role for ${model}`,
    );
    const viewer = await as('vic', ['rollout', 'approve', model]);
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toContain('has role viewer; this needs approver');
    const around = await as('ada', ['models', 'promote', `${model}:${v2}`]);
    expect(around.code).toBe(1);
    expect(around.stderr).toContain(
      `rollout-${model} is rolling out ${model}: approve or abort it rather than promoting around it`,
    );

    const approved = await as('alice', ['rollout', 'approve', model, '--comment', 'metrics look right']);
    expect(approved.stderr).toBe('');
    expect(approved.stdout).toBe(`approved by alice: promoting v${v2}\n`);
    const result = await handle.result();
    expect(result).toMatchObject({ outcome: 'promoted', champion: v2 });
    expect((await status(model)).json()).toMatchObject({
      state: 'COMPLETED',
      phase: 'promoted',
      outcome: 'promoted',
    });
    expect((await findVersion(stack.db.pool, model, { alias: 'champion' }))?.version).toBe(v2);

    const audit = await auditOf(stack.db.pool, `${model}%`);
    const decisions = audit.filter((a) => a.action.startsWith('rollout.approve'));
    expect(decisions.map((a) => [a.actor, a.action, a.source])).toEqual([
      ['sam', 'rollout.approve.refused', 'cli'],
      ['alice', 'rollout.approve', 'cli'],
    ]);
    expect(decisions[1]?.details).toMatchObject({ comment: 'metrics look right', from: '127.0.0.1' });
    expect(audit.filter((a) => a.action === 'alias.move').map((a) => [a.actor, a.details])).toEqual([
      ['ada', { from: null, to: v1 }],
      ['alice', { from: v1, to: v2 }],
    ]);
    const ended = await as('alice', ['rollout', 'approve', model]);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toContain(`the rollout of ${model} has already ended (promoted)`);
  });

  it('pause, resume and abort through the CLI; the API refuses bad bodies and unknown versions', async () => {
    const model = uniqueModel('steer');
    const [v1, v2] = await registerVersions(stack.db.pool, stack.store, model, 2);
    expect((await as('ada', ['models', 'promote', `${model}:${v1}`])).code).toBe(0);
    writers.push(startTrafficWriter({ pool: stack.db.pool, model, requestsPerSecond: 150 }));

    const auth = { authorization: `Bearer ${secret('olga')}` };
    const bad = await inject({
      method: 'POST',
      url: '/v1/rollouts',
      headers: auth,
      payload: { model, version: 'two', plan: { steps: [{ weight: 5, bakeTime: 'soon' }], shadow: 3 } },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    expect(bad.json<{ errors: { path: string }[] }>().errors.map((e) => e.path)).toEqual(
      expect.arrayContaining(['version', 'plan.steps.0.bakeTime', 'plan.shadow']),
    );
    const unknown = await inject({
      method: 'POST',
      url: '/v1/rollouts',
      headers: auth,
      payload: { model, version: 99 },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().detail).toBe(`${model} has no registered version 99`);
    expect((await status(uniqueModel('never'))).statusCode).toBe(404);

    const started = await inject({
      method: 'POST',
      url: '/v1/rollouts',
      headers: auth,
      payload: { model, version: v2, plan: { shadow: { bakeTime: '10m' } } },
    });
    expect(started.statusCode).toBe(202);
    const handle = stack.client.workflow.getHandle(rolloutWorkflowId(model));
    await waitForStatus(handle, (s) => s.phase === 'shadow');
    expect((await as('vic', ['rollout', 'pause', model])).code).toBe(1);
    const paused = await as('olga', ['rollout', 'pause', model, '--comment', 'batch window']);
    expect(paused.stdout).toBe('paused at shadow by olga\n');
    expect((await status(model)).json()).toMatchObject({ paused: true, stage: 'shadow' });
    const twice = await as('olga', ['rollout', 'pause', model]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('pause refused: the rollout is already paused');
    expect((await as('olga', ['rollout', 'resume', model])).stdout).toBe('resumed at shadow by olga\n');
    const aborted = await as('olga', ['rollout', 'abort', model, '--comment', 'wrong features']);
    expect(aborted.stdout).toBe('aborted by olga: rolling back\n');
    const result = await handle.result();
    expect(result).toMatchObject({
      outcome: 'rolled-back',
      champion: v1,
      reason: 'aborted by olga: wrong features',
    });
    expect(await readDeployment(stack.db.pool, model)).toMatchObject({ champion: v1, challenger: null });
  });
});
