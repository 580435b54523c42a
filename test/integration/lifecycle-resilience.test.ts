import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay } from '../../cli/replay.js';
import { lifecycleWorkflowId } from '../../domain/lifecycle.js';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import { inheritedEnvironment } from '../../platform/config.js';
import type { Pool } from '../../platform/db.js';
import { listVersions } from '../../platform/registry.js';
import { connectClient } from '../../platform/temporal.js';
import { startDevServer, type DevServer } from '../../platform/temporal-dev-server.js';
import { lifecycle } from '../../workflows/lifecycle.js';
import { repoRoot } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { freePort } from '../helpers/free-port.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { waitForLifecycle } from '../helpers/lifecycle.js';
import { testStack } from '../helpers/stack.js';

/** A worker process, as `npm run worker` starts one, that the test can SIGKILL. */
async function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: repoRoot,
    env: { ...inheritedEnvironment(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const onLine = (line: string) => {
      lines.push(line);
      if (line.includes('"workers running"')) resolve();
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.once('exit', (code) =>
      reject(new Error(`the worker exited (${code}):\n${lines.slice(-20).join('\n')}`)),
    );
  });
  return child;
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('a lifecycle survives a killed worker and a restarted Temporal server', { timeout: 300_000 }, () => {
  let dir: string;
  let server: DevServer;
  let port: number;
  let db: { pool: Pool; schema: string };
  let gateway: RunningGateway;
  let client: Client;
  const workers: ChildProcess[] = [];
  const prefix = `t-resilience-${randomBytes(4).toString('hex')}`;
  const s3Prefix = `resilience-${randomBytes(4).toString('hex')}`;
  let workerEnv: Record<string, string>;

  const startServer = async () =>
    startDevServer({
      port,
      dbFile: join(dir, 'temporal.db'),
      env: inheritedEnvironment(),
      readyTimeoutMs: 120_000,
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-resilience-'));
    port = await freePort();
    server = await startServer();
    db = await createTestDb('resilience');
    const stack = testStack();
    workerEnv = {
      TEMPORAL_ADDRESS: server.address,
      DATABASE_URL: stack.databaseUrl,
      DATABASE_SCHEMA: db.schema,
      ARTIFACT_STORE: 's3',
      S3_ENDPOINT: stack.s3.endpoint,
      S3_REGION: stack.s3.region,
      S3_BUCKET: stack.s3.bucket,
      S3_ACCESS_KEY_ID: stack.s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: stack.s3.secretAccessKey,
      S3_PREFIX: s3Prefix,
      TASK_QUEUE_PREFIX: prefix,
      WORKER_TAGS: 'cpu',
      SLIPWAY_HOME: dir,
      SLIPWAY_CODE_VERSION: 'resilience-test',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    };
    workers.push(await startWorkerProcess(workerEnv));
    gateway = await startGateway({ schema: db.schema, store: { s3Prefix }, processes: 1 });
    client = await connectClient({ address: server.address, namespace: 'default' });
  });

  afterAll(async () => {
    await client?.connection.close();
    for (const w of workers) await killed(w);
    await gateway?.stop();
    await server?.stop();
    if (db) await dropTestSchema(db.pool, db.schema);
    await rm(dir, { recursive: true, force: true });
  });

  it('resumes mid-rollout of a retrain: every event once, no monitor window skipped or judged twice', async () => {
    const model = `elec2-res-${randomBytes(3).toString('hex')}`;
    const handle = await client.workflow.start(lifecycle, {
      workflowId: lifecycleWorkflowId(model),
      taskQueue: workflowTaskQueue(prefix),
      args: [
        {
          spec: {
            pipeline: {
              model,
              dataset: { source: join(repoRoot, 'datasets', 'elec2-early.csv') },
              target: 'class',
              positiveClass: '1',
              split: { kind: 'time', testFraction: 0.2 },
              trainer: { kind: 'builtin', name: 'logistic_regression' },
              evaluation: { bootstrap: { iterations: 100 } },
            },
            monitor: { interval: '2s', lag: '500ms', minRows: 150, predictionDrift: false },
            rollout: {
              shadow: { bakeTime: '3s', minSamples: 30, maxWait: '2m' },
              steps: [{ weight: 50, bakeTime: '3s', minSamples: 30, maxWait: '2m' }],
              analysis: {
                interval: '500ms',
                maxAccuracyDrop: 0.25,
                maxAucDrop: 0.25,
                maxScoreDivergence: 0.9,
                minLabels: 20,
                latencyToleranceMs: 500,
              },
              approval: { timeout: '2s', onTimeout: 'promote' },
            },
            retrain: {
              checkEvery: '1s',
              cooldown: '2s',
              budget: { max: 1, per: '1h' },
              triggers: { drift: { features: ['vicprice', 'vicdemand', 'transfer'] } },
              data: { window: { maxRows: 3000 }, minRows: 300, original: false },
            },
          },
          requestedBy: 'test',
        },
      ],
    });
    await waitForLifecycle(handle, (s) => s.champion === 1, 'v1 champion', 120_000);
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
      await waitForLifecycle(
        handle,
        (s) => s.candidate === 2 && s.active?.kind === 'rollout',
        'the retrain in rollout',
        180_000,
      );
      // Mid-rollout: the worker dies without a chance to clean up, and the Temporal server restarts.
      await killed(workers[0]!);
      await client.connection.close();
      await server.stop();
      server = await startServer();
      workers.push(await startWorkerProcess(workerEnv));
      client = await connectClient({ address: server.address, namespace: 'default' });
      const resumed = client.workflow.getHandle(lifecycleWorkflowId(model));
      const status = await waitForLifecycle(
        resumed,
        (s) => s.champion === 2,
        'v2 champion after the restart',
        180_000,
      );
      expect(status.versions.map((v) => [v.version, v.state])).toEqual([
        [1, 'retired'],
        [2, 'champion'],
      ]);
      // A few more windows after the restart, judged by the same monitor.
      const { rows: before } = await db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM monitor_windows WHERE model_name = $1',
        [model],
      );
      await expect
        .poll(
          async () =>
            (
              await db.pool.query<{ n: number }>(
                'SELECT count(*)::int AS n FROM monitor_windows WHERE model_name = $1',
                [model],
              )
            ).rows[0]!.n,
          { timeout: 30_000 },
        )
        .toBeGreaterThan(before[0]!.n + 2);
      // The events are written by one chain of activities: an event write that was running on the killed worker
      // holds the chain until its start-to-close timeout (1 minute), so wait for the v2 promotion to be written.
      await expect
        .poll(
          async () =>
            (
              await db.pool.query<{ n: number }>(
                "SELECT count(*)::int AS n FROM lifecycle_events WHERE model_name = $1 AND kind = 'promoted'",
                [model],
              )
            ).rows[0]!.n,
          { timeout: 90_000, interval: 500 },
        )
        .toBe(2);
      await resumed.terminate('test over');
      await client.workflow.getHandle(`monitor-${model}`).terminate('test over');
    } finally {
      abort.abort();
      await replaying;
    }

    // Every event once, in order: no seq missing, none twice.
    const { rows: events } = await db.pool.query<{ seq: number; kind: string }>(
      'SELECT seq, kind FROM lifecycle_events WHERE model_name = $1 ORDER BY seq',
      [model],
    );
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.kind === 'promoted')).toHaveLength(2);
    expect(events.filter((e) => e.kind === 'data-exported')).toHaveLength(1);
    // Each window of the monitor once, back to back, across the kill and the restart.
    const { rows: windows } = await db.pool.query<{
      window_index: string;
      window_start: Date;
      window_end: Date;
    }>(
      'SELECT window_index, window_start, window_end FROM monitor_windows WHERE model_name = $1 ORDER BY window_start',
      [model],
    );
    expect(windows.map((w) => Number(w.window_index))).toEqual(windows.map((_, i) => i));
    windows
      .slice(1)
      .forEach((w, i) => expect(w.window_start.getTime()).toBe(windows[i]!.window_end.getTime()));
    // Nothing registered or exported twice by retried activities.
    expect((await listVersions(db.pool, model)).map((v) => v.version)).toEqual([2, 1]);
    const { rows: exports } = await db.pool.query('SELECT 1 FROM traffic_exports WHERE model_name = $1', [
      model,
    ]);
    expect(exports).toHaveLength(1);
  });
});
