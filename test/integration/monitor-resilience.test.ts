import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { monitorWorkflowId } from '../../domain/monitor.js';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { inheritedEnvironment } from '../../platform/config.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { connectClient } from '../../platform/temporal.js';
import { startDevServer, type DevServer } from '../../platform/temporal-dev-server.js';
import { monitor, monitorStatusQuery } from '../../workflows/monitor.js';
import { repoRoot } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { freePort } from '../helpers/free-port.js';
import { elec2Features, readElec2, scoreRecords, trainEarlyElec2, waitFor } from '../helpers/monitor.js';
import { replayLive } from '../helpers/prediction-log.js';
import { testStack } from '../helpers/stack.js';

const intervalMs = 1000;

/** A real worker process (workers/main.ts), configured through its environment like a deployed one. */
function spawnWorker(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: repoRoot,
    env: { ...inheritedEnvironment(), ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

async function windowCount(pool: Pool, model: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM monitor_windows WHERE model_name = $1',
    [model],
  );
  return Number(rows[0]?.n ?? 0);
}

describe('a monitor survives a killed worker and a restarted Temporal server', () => {
  let db: { pool: Pool; schema: string; url: string };
  let store: ArtifactStore;
  let dir: string;
  let server: DevServer | undefined;
  let client: Client;
  let port: number;
  const workers: ChildProcess[] = [];
  const prefix = `t-mon-res-${randomBytes(3).toString('hex')}`;
  const s3Prefix = `mon-res-${randomBytes(4).toString('hex')}`;

  const startServer = async () =>
    startDevServer({
      port,
      dbFile: join(dir, 'temporal.db'),
      env: inheritedEnvironment(),
      readyTimeoutMs: 120_000,
    });

  beforeAll(async () => {
    db = await createTestDb('mon_res');
    store = createArtifactStore({ kind: 's3', ...testStack().s3, prefix: s3Prefix, forcePathStyle: true });
    dir = await mkdtemp(join(tmpdir(), 'slipway-mon-res-'));
    port = await freePort();
    server = await startServer();
    client = await connectClient({ address: server.address, namespace: 'default' });
  });

  afterAll(async () => {
    for (const w of workers) await kill(w);
    await client?.connection.close().catch(() => undefined);
    await server?.stop();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('SIGKILL the worker and restart the Temporal server mid-monitor: every window once, none skipped', async () => {
    const stack = testStack();
    const env = {
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      TEMPORAL_NAMESPACE: 'default',
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
      LOG_LEVEL: 'error',
      SLIPWAY_CODE_VERSION: 'test',
    };
    workers.push(spawnWorker(env));
    const { model, version } = await trainEarlyElec2({ client, pool: db.pool, store, prefix, rows: 12_000 });
    const elec2 = await readElec2();
    const served = elec2.rows.slice(12_000, 12_000 + 24_000);
    const inputs = served.map((r) => Object.fromEntries(elec2Features.map((f) => [f, r[f]])));
    const scores = await scoreRecords({ pool: db.pool, store }, model, version, inputs);

    const startAt = new Date(Date.now() + 300);
    const handle = await client.workflow.start(monitor, {
      workflowId: monitorWorkflowId(model),
      taskQueue: workflowTaskQueue(prefix),
      args: [
        {
          model,
          startAt: startAt.toISOString(),
          policy: { interval: intervalMs, lag: '500ms', minRows: 100 },
        },
      ],
    });
    while (Date.now() < startAt.getTime()) await new Promise((r) => setTimeout(r, 20));
    const replaying = replayLive({
      pool: db.pool,
      model,
      version,
      inputs,
      scores,
      requestPrefix: `${model}-`,
      rowsPerSecond: 600,
      flushMs: 100,
      labelDelayRows: 0,
    });

    // Once a few windows are in, kill the worker outright in the middle of an activity (judging or recording a
    // window); traffic goes on while nothing judges it.
    await waitFor(
      '5 windows',
      async () => ((await windowCount(db.pool, model)) >= 5 ? true : undefined),
      120_000,
    );
    const inFlight = await waitFor(
      'an activity in flight',
      async () => {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        return pending.find((a) => a.lastStartedTime)?.activityType?.name ?? undefined;
      },
      60_000,
      20,
    );
    await kill(workers[0]!);
    const whileDown = await windowCount(db.pool, model);
    await new Promise((r) => setTimeout(r, 3 * intervalMs)); // the outage itself: windows fall due meanwhile
    workers.push(spawnWorker(env));
    await waitFor(
      'judging to resume',
      async () => ((await windowCount(db.pool, model)) >= whileDown + 6 ? true : undefined),
      120_000,
    );

    // Restart the Temporal server (same history file) under the monitor and the worker.
    await server!.stop();
    const beforeRestart = await windowCount(db.pool, model);
    await new Promise((r) => setTimeout(r, 2 * intervalMs)); // the outage itself
    server = await startServer();
    await waitFor(
      'judging to resume after the server restart',
      async () => ((await windowCount(db.pool, model)) >= beforeRestart + 4 ? true : undefined),
      180_000,
    );

    const replay = await replaying;
    process.stderr.write(
      `[resilience] killed the worker during ${inFlight} after ${whileDown} windows; restarted Temporal after ${beforeRestart}\n`,
    );
    await waitFor(
      'the windows to cover the replay',
      async () => {
        const { rows } = await db.pool.query<{ end: Date | null }>(
          'SELECT max(window_end) AS end FROM monitor_windows WHERE model_name = $1',
          [model],
        );
        return rows[0]?.end && rows[0].end.getTime() > replay.endedAt.getTime() + intervalMs
          ? true
          : undefined;
      },
      180_000,
    );

    const { rows: windows } = await db.pool.query<{
      window_start: Date;
      window_end: Date;
      window_index: string;
      row_count: string;
      rows_read: string;
      status: string;
      logged: string;
    }>(
      `SELECT w.window_start, w.window_end, w.window_index, w.row_count, w.rows_read, w.status,
              (SELECT count(*) FROM predictions p WHERE p.model_name = w.model_name AND p.at >= w.window_start
                 AND p.at < w.window_end) AS logged
       FROM monitor_windows w WHERE w.model_name = $1 ORDER BY w.window_start`,
      [model],
    );
    expect(windows[0]!.window_start.toISOString()).toBe(startAt.toISOString());
    for (let i = 1; i < windows.length; i++) {
      expect(windows[i]!.window_start.getTime(), `window ${i} starts where ${i - 1} ended`).toBe(
        windows[i - 1]!.window_end.getTime(),
      );
      expect(Number(windows[i]!.window_index)).toBe(i);
    }
    // Each window counted exactly the rows logged in its range (none landed late), and together every row once.
    for (const w of windows) expect(Number(w.row_count)).toBe(Number(w.logged));
    expect(windows.reduce((s, w) => s + Number(w.row_count), 0)).toBe(inputs.length);
    const { rows: stats } = await db.pool.query<{ mismatched: string }>(
      `SELECT count(*) AS mismatched FROM drift_stats s JOIN monitor_windows w USING (model_name, window_start)
       WHERE s.model_name = $1 AND s.source = 'feature' AND s.current_count <> w.rows_read`,
      [model],
    );
    expect(Number(stats[0]!.mismatched)).toBe(0);

    // The workflow agrees: as many windows judged as recorded, and it is still running.
    await waitFor('the workflow to count every window', async () => {
      const s = await handle.query(monitorStatusQuery);
      return s.windowsJudged >= windows.length ? s : undefined;
    });
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await handle.terminate();
  });
});
