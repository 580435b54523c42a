// The real control API with keys, on real Temporal, PostgreSQL and MinIO: every route against every role (401 with
// no key or a wrong one, 403 below the route's role, 2xx from it up), model scopes, 429 after repeated failed
// authentications, the loopback Host check, and the refusal to start open on a non-loopback address.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../api/server.js';
import { parseApiKeys, type Role } from '../../domain/auth.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { inheritedEnvironment } from '../../platform/config.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { newRequestId } from '../../platform/request-id.js';
import { loadSpecFile } from '../../platform/spec-file.js';
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
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** One HTTP request with full control of its headers (fetch will not set Host). */
function call(
  base: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; host?: string } = {},
): Promise<Reply> {
  const url = new URL(path, base);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        headers: {
          ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...(options.host ? { host: options.host } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text ? (JSON.parse(text) as unknown) : undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('the control API with keys: every route against every role', () => {
  let db: { pool: Pool; schema: string; url: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers;
  let app: FastifyInstance;
  let base: string;
  const prefix = uniquePrefix('auth');
  const model = `auth-elec2-${randomBytes(3).toString('hex')}`;
  let trainingRun: string;
  let skeletonRun: string;
  const started: string[] = [];

  async function listen(extra: { authFailuresPerWindow?: number } = {}) {
    const api = await buildApi({
      client,
      db: db.pool,
      store,
      log: testLog,
      queuePrefix: prefix,
      apiKeys: keys,
      host: '127.0.0.1',
      authFailuresPerWindow: 1000,
      ...extra,
    });
    return { api, url: await api.listen({ host: '127.0.0.1', port: 0 }) };
  }

  beforeAll(async () => {
    db = await createTestDb('auth');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `auth-${randomBytes(4).toString('hex')}`,
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
        workerIdentity: 'cpu-box',
        device: 'cpu',
        codeVersion: 'test',
      },
    });
    ({ api: app, url: base } = await listen());
    // A registered version to read, trained through the API as an operator would.
    const spec = { ...(await loadSpecFile(join(repoRoot, 'examples', 'elec2-logistic.yaml'))), model };
    const start = await call(base, 'POST', '/v1/training-runs', { key: secrets.operator, body: { spec } });
    expect(start.status).toBe(202);
    trainingRun = (start.body as { workflowId: string }).workflowId;
    await client.workflow.getHandle(trainingRun).result();
  });

  afterAll(async () => {
    await app?.close();
    for (const id of started)
      await client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined);
    await workers?.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  /** Where the champion alias points now: a move must name it, so each role's move succeeds in turn. */
  async function champion(): Promise<number | null> {
    const { rows } = await db.pool.query<{ version: number }>(
      `SELECT a.version FROM aliases a JOIN models m ON m.id = a.model_id WHERE m.name = $1 AND a.alias = 'champion'`,
      [model],
    );
    return rows[0]?.version ?? null;
  }

  const routes: {
    name: string;
    role: Role | 'public';
    send: (key?: string) => Promise<Reply>;
    ok: number;
  }[] = [
    { name: 'GET /health', role: 'public', send: (key) => call(base, 'GET', '/health', { key }), ok: 200 },
    {
      name: 'GET /openapi.json',
      role: 'viewer',
      send: (key) => call(base, 'GET', '/openapi.json', { key }),
      ok: 200,
    },
    {
      name: 'GET /v1/models',
      role: 'viewer',
      send: (key) => call(base, 'GET', '/v1/models', { key }),
      ok: 200,
    },
    {
      name: 'GET /v1/models/:model',
      role: 'viewer',
      send: (key) => call(base, 'GET', `/v1/models/${model}`, { key }),
      ok: 200,
    },
    {
      name: 'GET /v1/models/:model/versions/:ref',
      role: 'viewer',
      send: (key) => call(base, 'GET', `/v1/models/${model}/versions/1`, { key }),
      ok: 200,
    },
    {
      name: 'GET /v1/training-runs/:id',
      role: 'viewer',
      send: (key) => call(base, 'GET', `/v1/training-runs/${trainingRun}`, { key }),
      ok: 200,
    },
    {
      name: 'GET /v1/skeleton-runs/:id',
      role: 'viewer',
      send: (key) => call(base, 'GET', `/v1/skeleton-runs/${skeletonRun}`, { key }),
      ok: 200,
    },
    {
      name: 'POST /v1/skeleton-runs',
      role: 'operator',
      send: async (key) => {
        const reply = await call(base, 'POST', '/v1/skeleton-runs', { key, body: { message: 'matrix' } });
        if (reply.status === 202) started.push((reply.body as { workflowId: string }).workflowId);
        return reply;
      },
      ok: 202,
    },
    {
      name: 'POST /v1/training-runs',
      role: 'operator',
      send: async (key) => {
        const spec = { ...(await loadSpecFile(join(repoRoot, 'examples', 'elec2-logistic.yaml'))), model };
        const reply = await call(base, 'POST', '/v1/training-runs', { key, body: { spec } });
        if (reply.status === 202) started.push((reply.body as { workflowId: string }).workflowId);
        return reply;
      },
      ok: 202,
    },
    {
      name: 'PUT /v1/models/:model/aliases/:alias',
      role: 'approver',
      send: async (key) =>
        call(base, 'PUT', `/v1/models/${model}/aliases/champion`, {
          key,
          body: { version: 1, expected: await champion() },
        }),
      ok: 200,
    },
    {
      // A label whose prediction is not logged yet is kept pending: 200.
      name: 'POST /v1/feedback',
      role: 'operator',
      send: (key) =>
        call(base, 'POST', '/v1/feedback', { key, body: { requestId: newRequestId(), label: '1' } }),
      ok: 200,
    },
    {
      // Past the role check the handler runs, and refuses a file that was never uploaded, naming the field.
      name: 'POST /v1/model-imports',
      role: 'operator',
      send: (key) =>
        call(base, 'POST', '/v1/model-imports', {
          key,
          body: {
            model,
            modelUri: 's3://elsewhere/model.onnx',
            modelSha256: '0'.repeat(64),
            referenceUri: 's3://elsewhere/reference.csv',
            referenceSha256: '0'.repeat(64),
          },
        }),
      ok: 400,
    },
    {
      // Past the role check the handler runs: a JSON body is not a file.
      name: 'PUT /v1/uploads',
      role: 'operator',
      send: (key) => call(base, 'PUT', '/v1/uploads?name=model.onnx', { key, body: { not: 'a file' } }),
      ok: 415,
    },
    {
      name: 'GET /v1/model-imports/:workflowId',
      role: 'viewer',
      send: (key) => call(base, 'GET', `/v1/model-imports/import-${model}-${'0'.repeat(12)}`, { key }),
      ok: 404,
    },
    {
      // Past the role check: a version that was never registered.
      name: 'POST /v1/rollouts',
      role: 'operator',
      send: (key) => call(base, 'POST', '/v1/rollouts', { key, body: { model, version: 999 } }),
      ok: 404,
    },
    {
      name: 'GET /v1/rollouts/:model',
      role: 'viewer',
      send: (key) => call(base, 'GET', `/v1/rollouts/${model}`, { key }),
      ok: 404,
    },
    {
      name: 'POST /v1/rollouts/:model/approve',
      role: 'approver',
      send: (key) => call(base, 'POST', `/v1/rollouts/${model}/approve`, { key, body: {} }),
      ok: 404,
    },
    {
      name: 'POST /v1/rollouts/:model/abort',
      role: 'operator',
      send: (key) => call(base, 'POST', `/v1/rollouts/${model}/abort`, { key, body: {} }),
      ok: 404,
    },
    {
      name: 'POST /v1/models/:model/promote',
      role: 'admin',
      send: (key) => call(base, 'POST', `/v1/models/${model}/promote`, { key, body: { version: 999 } }),
      ok: 404,
    },
    { name: 'GET /v1/audit', role: 'admin', send: (key) => call(base, 'GET', '/v1/audit', { key }), ok: 200 },
  ];
  const order: Role[] = ['viewer', 'operator', 'approver', 'admin'];

  it.each(routes)('$name: 401 without a valid key, 403 below $role, $ok from $role up', async (route) => {
    if (!skeletonRun) {
      const reply = await call(base, 'POST', '/v1/skeleton-runs', {
        key: secrets.operator,
        body: { message: 'probe' },
      });
      skeletonRun = (reply.body as { workflowId: string }).workflowId;
    }
    const expected = (who: Role | 'none' | 'wrong'): number => {
      if (route.role === 'public') return route.ok;
      if (who === 'none' || who === 'wrong') return 401;
      return order.indexOf(who) >= order.indexOf(route.role) ? route.ok : 403;
    };
    const seen: Record<string, number> = {};
    seen.none = (await route.send()).status;
    seen.wrong = (await route.send('not-a-key-0123456789')).status;
    for (const role of order) seen[role] = (await route.send(secrets[role])).status;
    expect(seen).toEqual({
      none: expected('none'),
      wrong: expected('wrong'),
      ...Object.fromEntries(order.map((role) => [role, expected(role)])),
    });
  });

  it('records who did what: the audit log names the approver and the admin who moved the alias', async () => {
    const reply = await call(base, 'GET', `/v1/audit?subject=${model}@champion`, { key: secrets.admin });
    const entries = (reply.body as { entries: { actor: string; action: string; source: string }[] }).entries;
    expect(entries.map((e) => [e.actor, e.action, e.source])).toEqual([
      ['admin-key', 'alias.move', 'api'],
      ['approver-key', 'alias.move', 'api'],
    ]);
  });

  it('holds a key scoped to other models away from this one, and lists only its own models', async () => {
    const key = 'scoped-secret-0123456789';
    expect((await call(base, 'GET', `/v1/models/${model}`, { key })).status).toBe(403);
    expect((await call(base, 'GET', `/v1/training-runs/${trainingRun}`, { key })).status).toBe(403);
    expect(await call(base, 'GET', '/v1/models', { key })).toMatchObject({
      status: 200,
      body: { models: [] },
    });
    const refused = await call(base, 'PUT', `/v1/models/${model}/aliases/champion`, {
      key,
      body: { version: 1, expected: await champion() },
    });
    expect(refused).toMatchObject({
      status: 403,
      body: { detail: `API key "scoped" may not act on model "${model}"` },
    });
  });

  it('answers 429 with Retry-After after repeated failed authentications, even to a good key then', async () => {
    const { api, url } = await listen({ authFailuresPerWindow: 5 });
    try {
      const statuses = [];
      for (let i = 0; i < 6; i++)
        statuses.push((await call(url, 'GET', '/v1/models', { key: `guess-${i}-0123456789abcdef` })).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
      const good = await call(url, 'GET', '/v1/models', { key: secrets.admin });
      expect(good.status).toBe(429);
      expect(Number(good.headers['retry-after'])).toBeGreaterThan(0);
      expect((good.body as { detail: string }).detail).toMatch(
        /too many failed authentications; retry in \d+ s/,
      );
    } finally {
      await api.close();
    }
  });

  it('on loopback answers only to a loopback Host with its port (DNS rebinding)', async () => {
    const port = new URL(base).port;
    for (const host of ['evil.example', `evil.example:${port}`, 'localhost:1', `10.0.0.1:${port}`]) {
      const reply = await call(base, 'GET', '/health', { host });
      expect([host, reply.status]).toEqual([host, 403]);
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`])
      expect((await call(base, 'GET', '/health', { host })).status).toBe(200);
  });

  it('refuses to start on 0.0.0.0 without keys, naming the reason, before touching anything', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'api/main.ts'], {
      cwd: repoRoot,
      env: { ...inheritedEnvironment(), API_HOST: '0.0.0.0', SLIPWAY_API_KEYS: '', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(
      'refusing to start: API_HOST=0.0.0.0 is not a loopback address and SLIPWAY_API_KEYS is empty, so anyone who can reach the port could use the API',
    );
  });
});
