import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { inheritedEnvironment } from '../../platform/config.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { connectClient } from '../../platform/temporal.js';
import { startDevServer, stopChild, type DevServer } from '../../platform/temporal-dev-server.js';
import { approveUpdate } from '../../workflows/rollout.js';
import { repoRoot } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { freePort } from '../helpers/free-port.js';
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
import { startTrafficWriter, type TrafficWriter } from '../helpers/traffic-writer.js';
import { uniquePrefix } from '../helpers/workers.js';

/** A real worker process (workers/main.ts) configured through its environment, rollout settings included. */
function spawnWorker(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: repoRoot,
    env: { ...inheritedEnvironment(), ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

describe('a rollout survives a killed worker and a restarted Temporal server', { timeout: 300_000 }, () => {
  let db: { pool: Pool; schema: string; url: string };
  let store: ArtifactStore;
  let dir: string;
  let server: DevServer | undefined;
  let client: Client;
  let writer: TrafficWriter | undefined;
  const workers: ChildProcess[] = [];
  const prefix = uniquePrefix('rollout-resume');
  const s3Prefix = `rollout-resume-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDb('rollout_resume');
    store = createArtifactStore({ kind: 's3', ...testStack().s3, prefix: s3Prefix, forcePathStyle: true });
    dir = await mkdtemp(join(tmpdir(), 'slipway-rollout-resume-'));
  });

  afterAll(async () => {
    await writer?.stop();
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await client?.connection.close();
    await server?.stop();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('kill -9 the worker at canary-5, restart Temporal at canary-25: the rollout completes, each step written once', async () => {
    // A Temporal server of this test's own, its history in a file, so it can be stopped and started again.
    const port = await freePort();
    const dbFile = join(dir, 'temporal.db');
    const start = () =>
      startDevServer({ port, dbFile, env: inheritedEnvironment(), readyTimeoutMs: 120_000 });
    server = await start();
    client = await connectClient({ address: server.address, namespace: 'default' });
    const stack = testStack();
    const env = {
      TEMPORAL_ADDRESS: server.address,
      DATABASE_URL: db.url,
      DATABASE_SCHEMA: db.schema,
      ARTIFACT_STORE: 's3',
      S3_ENDPOINT: stack.s3.endpoint,
      S3_BUCKET: stack.s3.bucket,
      S3_REGION: stack.s3.region,
      S3_ACCESS_KEY_ID: stack.s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: stack.s3.secretAccessKey,
      S3_PREFIX: s3Prefix,
      TASK_QUEUE_PREFIX: prefix,
      WORKER_TAGS: 'cpu',
      LOG_LEVEL: 'warn',
      SLIPWAY_CODE_VERSION: 'test',
      ROLLOUT_ANALYSIS_INTERVAL: '500ms',
      ROLLOUT_BAKE_TIME: '2s',
      ROLLOUT_MAX_WAIT: '60s',
      ROLLOUT_MIN_SAMPLES: '60',
    };
    const model = uniqueModel('resume');
    const [v1, v2] = await registerVersions(db.pool, store, model, 2);
    await makeChampion(db.pool, model, v1!);
    writer = startTrafficWriter({ pool: db.pool, model, requestsPerSecond: 150 });
    workers.push(spawnWorker(env));
    const handle = await startRollout(client, prefix, { model, version: v2! });

    await waitForStatus(handle, (s) => s.stage === 'canary-5', 120_000);
    const first = workers[0]!;
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    workers.push(spawnWorker(env));

    await waitForStatus(handle, (s) => s.stage === 'canary-25', 120_000);
    await server.stop();
    server = await start();

    const gate = await waitForStatus(
      handle,
      (s) => s.phase === 'awaiting-approval' || s.phase === 'rolled-back',
      120_000,
    );
    expect(gate.reason).toBeUndefined();
    expect(gate.history.map((h) => [h.stage, h.outcome])).toEqual([
      ['shadow', 'pass'],
      ['canary-5', 'pass'],
      ['canary-25', 'pass'],
      ['canary-50', 'pass'],
    ]);
    await handle.executeUpdate(approveUpdate, { args: [{ caller: { name: 'alice', role: 'approver' } }] });
    const result = await handle.result();
    expect(result).toMatchObject({ outcome: 'promoted', champion: v2, previousChampion: v1 });

    const history = await deploymentHistory(db.pool, model);
    expect(
      history.map((h) => [h.champion_version, h.challenger_version, Number(h.challenger_weight)]),
    ).toEqual([
      [v1, null, 0],
      [v1, v2, 0],
      [v1, v2, 0.05],
      [v1, v2, 0.25],
      [v1, v2, 0.5],
      [v2, null, 0],
    ]);
    const moves = (await auditOf(db.pool, `${model}@champion`)).filter((a) => a.action === 'alias.move');
    expect(moves).toHaveLength(2);
    // The prediction log agrees with the alias history: v2 answered as challenger before the move, as champion after.
    const promotedAt = history[history.length - 1]!.updated_at;
    const { rows } = await db.pool.query<{ role: string; before: number; after: number }>(
      `SELECT role, count(*) FILTER (WHERE at < $3)::int AS before, count(*) FILTER (WHERE at > $3 + interval '1 second')::int AS after
       FROM predictions WHERE model_name = $1 AND version = $2 GROUP BY role ORDER BY role`,
      [model, v2, promotedAt],
    );
    const byRole = Object.fromEntries(rows.map((r) => [r.role, r]));
    expect(byRole.challenger?.before).toBeGreaterThan(0);
    expect(byRole.challenger?.after ?? 0).toBe(0);
    expect(byRole.shadow?.after ?? 0).toBe(0);
    await writer.stop();
    await stopChild(workers[1]!);
  });
});
