// The lifecycle through the control API with keys and through the `slipway lifecycle` CLI, on the real stack: who may
// start, read and steer a lifecycle, what a refused Update answers, and the event feed.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../api/server.js';
import { parseApiKeys, type Role } from '../../domain/auth.js';
import type { LifecycleResult } from '../../domain/lifecycle.js';
import { inheritedEnvironment } from '../../platform/config.js';
import { findTemporalCli } from '../../platform/temporal-dev-server.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { rolloutStatusQuery } from '../../workflows/rollout.js';
import { repoRoot, runCli } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

const run = promisify(execFile);

const secrets: Record<Role, string> = {
  viewer: 'viewer-secret-0123456789',
  operator: 'operator-secret-0123456789',
  approver: 'approver-secret-0123456789',
  admin: 'admin-secret-0123456789',
};
const keys = parseApiKeys(
  [
    ...Object.entries(secrets).map(([role, secret]) => `${role}-key:${role}:${secret}`),
    'scoped:admin:scoped-secret-0123456789:some-other-model',
  ].join(','),
);

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function call(
  base: string,
  method: string,
  path: string,
  key?: string,
  body?: unknown,
): Promise<Reply> {
  const response = await fetch(new URL(path, base), {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe(
  'the lifecycle through the API with keys, and the slipway lifecycle CLI',
  { timeout: 240_000 },
  () => {
    let db: { pool: Pool; schema: string };
    let store: ArtifactStore;
    let client: Client;
    let workers: RunningWorkers;
    let app: FastifyInstance;
    let base: string;
    let dir: string;
    const prefix = uniquePrefix('lc-api');
    const model = `elec2-lcapi-${randomBytes(3).toString('hex')}`;
    const spec = {
      pipeline: {
        model,
        dataset: { source: join(repoRoot, 'datasets', 'elec2-early.csv') },
        target: 'class',
        positiveClass: '1',
        split: { kind: 'time', testFraction: 0.2 },
        trainer: { kind: 'builtin', name: 'logistic_regression' },
        evaluation: { bootstrap: { iterations: 100 } },
      },
      monitor: false,
      rollout: { approval: { timeout: '5m' } },
    };

    beforeAll(async () => {
      db = await createTestDb('lc_api');
      store = createArtifactStore({
        kind: 's3',
        ...testStack().s3,
        prefix: `lc-api-${randomBytes(4).toString('hex')}`,
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
          workerIdentity: 'lc-api',
          device: 'cpu',
          codeVersion: 'test',
        },
      });
      app = await buildApi({
        client,
        db: db.pool,
        store,
        log: testLog,
        queuePrefix: prefix,
        apiKeys: keys,
        host: '127.0.0.1',
        authFailuresPerWindow: 1000,
      });
      base = await app.listen({ host: '127.0.0.1', port: 0 });
      dir = await mkdtemp(join(tmpdir(), 'slipway-lc-cli-'));
    });

    afterAll(async () => {
      await client.workflow
        .getHandle(`lifecycle-${model}`)
        .terminate('test over')
        .catch(() => undefined);
      await app?.close();
      await workers?.stop();
      await client?.connection.close();
      await store?.close();
      if (db) await dropTestSchema(db.pool, db.schema);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('starts (operator), reads (viewer), refuses bad specs, wrong roles and scopes, and passes approval through', async () => {
      expect((await call(base, 'POST', '/v1/lifecycles', secrets.viewer, { spec })).status).toBe(403);
      const bad = await call(base, 'POST', '/v1/lifecycles', secrets.operator, {
        spec: {
          ...spec,
          retrain: { budget: { max: 0 }, triggers: { schedule: { every: '1h' } }, cooldown: '2h' },
        },
      });
      expect(bad.status).toBe(400);
      expect((bad.body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
        'retrain.budget.max',
        'retrain.cooldown',
      ]);
      const started = await call(base, 'POST', '/v1/lifecycles', secrets.operator, { spec });
      expect(started).toMatchObject({ status: 202, body: { workflowId: `lifecycle-${model}` } });
      expect((await call(base, 'POST', '/v1/lifecycles', secrets.operator, { spec })).status).toBe(409);

      expect((await call(base, 'GET', `/v1/lifecycles/${model}`)).status).toBe(401);
      expect((await call(base, 'GET', `/v1/lifecycles/${model}`, 'scoped-secret-0123456789')).status).toBe(
        403,
      );
      // The first version waits at its rollout's approval gate.
      const rollout = client.workflow.getHandle(`rollout-${model}`);
      await expect
        .poll(async () => (await rollout.query(rolloutStatusQuery).catch(() => undefined))?.phase, {
          timeout: 120_000,
        })
        .toBe('awaiting-approval');
      const status = await call(base, 'GET', `/v1/lifecycles/${model}`, secrets.viewer);
      expect(status).toMatchObject({
        status: 200,
        body: { state: 'RUNNING', status: { stage: 'rollout', candidate: 1, active: { kind: 'rollout' } } },
      });

      expect((await call(base, 'POST', `/v1/lifecycles/${model}/approve`, secrets.operator, {})).status).toBe(
        403,
      );
      const approved = await call(base, 'POST', `/v1/lifecycles/${model}/approve`, secrets.approver, {
        comment: 'looks right',
      });
      expect(approved).toMatchObject({ status: 200, body: { accepted: true, rollout: { counted: true } } });
      await expect
        .poll(async () => (await call(base, 'GET', `/v1/lifecycles/${model}`, secrets.viewer)).body.status, {
          timeout: 60_000,
        })
        .toMatchObject({ champion: 1, stage: 'monitoring' });

      // Steering: roles, and refusals that say why with the right status.
      expect((await call(base, 'POST', `/v1/lifecycles/${model}/pause`, secrets.viewer, {})).status).toBe(
        403,
      );
      expect((await call(base, 'POST', `/v1/lifecycles/${model}/pause`, secrets.operator, {})).status).toBe(
        200,
      );
      const again = await call(base, 'POST', `/v1/lifecycles/${model}/pause`, secrets.operator, {});
      expect(again).toMatchObject({
        status: 409,
        body: { detail: `the lifecycle of ${model} is already paused` },
      });
      const retrain = await call(base, 'POST', `/v1/lifecycles/${model}/retrain`, secrets.operator, {});
      expect(retrain).toMatchObject({
        status: 409,
        body: { detail: expect.stringMatching(/paused: resume it first/) },
      });
      expect((await call(base, 'POST', `/v1/lifecycles/${model}/resume`, secrets.operator, {})).status).toBe(
        200,
      );
      const rollback = await call(base, 'POST', `/v1/lifecycles/${model}/rollback`, secrets.operator, {});
      expect(rollback).toMatchObject({
        status: 409,
        body: { detail: expect.stringMatching(/no earlier champion/) },
      });
      const noRollout = await call(base, 'POST', `/v1/lifecycles/${model}/approve`, secrets.approver, {});
      expect(noRollout).toMatchObject({
        status: 409,
        body: { detail: `no rollout of ${model} is in progress` },
      });

      // The event feed: the history with who did what, and the traffic changes of the rollout.
      const feed = await call(base, 'GET', `/v1/lifecycles/${model}/events`, secrets.viewer);
      const events = feed.body.events as { kind: string; actor?: string }[];
      expect(events.map((e) => `${e.kind}${e.actor ? ` ${e.actor}` : ''}`)).toEqual([
        'started operator-key',
        'training-started',
        'trained',
        'rollout-started',
        'approval approver-key',
        'promoted',
        'paused operator-key',
        'resumed operator-key',
      ]);
      expect((feed.body.traffic as { champion: number | null }[]).at(-1)).toMatchObject({ champion: 1 });
      const later = await call(
        base,
        'GET',
        `/v1/lifecycles/${model}/events?after=${(feed.body.next as { after: number }).after}`,
        secrets.viewer,
      );
      expect(later.body.events).toEqual([]);
    });

    it('starts from the temporal CLI with typed JSON (a spec file the worker reads), and rejects a bad one there', async () => {
      const temporal = await findTemporalCli({ env: inheritedEnvironment() });
      if (!temporal) throw new Error('the temporal CLI is not installed (npm test provisions it)');
      const cli = async (...args: string[]) => {
        const { stdout } = await run(
          temporal,
          [...args, '--address', testStack().temporalAddress, '-o', 'json'],
          {
            maxBuffer: 1 << 24,
          },
        );
        return stdout;
      };
      const other = `elec2-tcli-${randomBytes(3).toString('hex')}`;
      const pipeline = join(dir, 'pipeline.yaml');
      await writeFile(
        pipeline,
        [
          `model: ${other}`,
          `dataset: { source: ${join(repoRoot, 'datasets', 'elec2-early.csv')} }`,
          'target: class',
          "positiveClass: '1'",
          'split: { kind: time }',
          'trainer: { kind: builtin, name: logistic_regression }',
          '',
        ].join('\n'),
      );
      const file = join(dir, 'lifecycle.yaml');
      await writeFile(file, 'pipeline: pipeline.yaml\nmonitor: false\n');
      await cli(
        'workflow',
        'start',
        '--type',
        'lifecycle',
        '--task-queue',
        `${prefix}.cpu`,
        '--workflow-id',
        `lifecycle-${other}`,
        '--input',
        JSON.stringify({ specPath: file }),
      );
      await expect
        .poll(
          async () =>
            (
              JSON.parse(
                await cli('workflow', 'query', '--workflow-id', `lifecycle-${other}`, '--name', 'status'),
              ) as {
                queryResult: { stage: string; model: string }[];
              }
            ).queryResult[0],
          { timeout: 60_000 },
        )
        .toMatchObject({ model: other, stage: expect.stringMatching(/^(training|rollout)$/) });
      await client.workflow.getHandle(`lifecycle-${other}`).terminate('test over');

      await writeFile(
        join(dir, 'bad.yaml'),
        `pipeline: ${pipeline}\nretrain: { budget: { max: 0 }, triggers: { schedule: { every: 1h } } }\n`,
      );
      await cli(
        'workflow',
        'start',
        '--type',
        'lifecycle',
        '--task-queue',
        `${prefix}.cpu`,
        '--workflow-id',
        `lifecycle-${other}-bad`,
        '--input',
        JSON.stringify({ specPath: join(dir, 'bad.yaml') }),
      );
      const result = (await client.workflow.getHandle(`lifecycle-${other}-bad`).result()) as LifecycleResult;
      expect(result).toMatchObject({ outcome: 'rejected' });
      // A budget of 0 with a trigger, and the default cooldown (1h) as long as the schedule: both named.
      expect(result.problems?.map((p) => p.path)).toEqual(['retrain.budget.max', 'retrain.cooldown']);
    });

    it('the CLI checks a spec before sending it, shows the status, and reports a refused Update', async () => {
      const broken = join(dir, 'broken.yaml');
      await writeFile(broken, 'pipeline: nowhere.yaml\nretrain:\n  cooldown: soon\n');
      const refused = await runCli(['lifecycle', 'start', broken, '--api', base], {
        SLIPWAY_API_KEY: secrets.operator,
      });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/pipeline\.\(file\): cannot read .*nowhere\.yaml/);
      expect(refused.stderr).toMatch(/retrain\.cooldown: expected a duration/);

      const status = await runCli(['lifecycle', 'status', model, '--api', base], {
        SLIPWAY_API_KEY: secrets.viewer,
      });
      expect(status.code).toBe(0);
      expect(status.stdout).toContain(`lifecycle-${model}: monitoring, champion 1`);
      expect(status.stdout).toMatch(/v1 {2}champion +trained .* \(the first training\)/);

      const pause = await runCli(['lifecycle', 'pause', model, '--api', base], {
        SLIPWAY_API_KEY: secrets.viewer,
      });
      expect(pause.code).not.toBe(0);
      expect(pause.stderr).toMatch(/has role viewer; this needs operator/);
    });
  },
);
