import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { monitorWorkflowId } from '../../domain/monitor.js';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { inheritedEnvironment } from '../../platform/config.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { readDeployment, writeDeployment } from '../../platform/deployments.js';
import { alertTopic } from '../../platform/monitor-store.js';
import { deliverOutbox, webhookSignature } from '../../platform/outbox.js';
import { findTemporalCli } from '../../platform/temporal-dev-server.js';
import { monitor, monitorStatusQuery } from '../../workflows/monitor.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { elec2Features, readElec2, scoreRecords, trainEarlyElec2, waitFor } from '../helpers/monitor.js';
import { insertLogRows, replayBackfill, replayLive } from '../helpers/prediction-log.js';
import { testStack } from '../helpers/stack.js';
import { startWebhookReceiver } from '../helpers/webhook.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

const run = promisify(execFile);

/** Rows of the tables the windows before `cutoff` wrote, for before/after comparisons. */
async function footprint(pool: Pool, model: string, cutoff: string) {
  const { rows } = await pool.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM monitor_windows WHERE model_name = $1 AND window_start < $2) AS windows,
            (SELECT max(recorded_at)::text FROM monitor_windows WHERE model_name = $1 AND window_start < $2)
              AS last_recorded,
            (SELECT count(*) FROM drift_stats WHERE model_name = $1 AND window_start < $2) AS stats,
            (SELECT count(*) FROM monitor_alerts WHERE model_name = $1 AND window_start < $2) AS alerts,
            (SELECT count(*) FROM audit_log WHERE action LIKE 'alert.%' AND subject LIKE $1 || ':%'
               AND (details -> 'window' ->> 'start')::timestamptz < $2) AS audit,
            (SELECT count(*) FROM outbox WHERE payload ->> 'model' = $1
               AND (payload -> 'window' ->> 'start')::timestamptz < $2) AS outbox`,
    [model, cutoff],
  );
  return rows[0]!;
}

describe('the monitor workflow on the real stack', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let trained: { model: string; version: number; trainRows: number };
  const prefix = uniquePrefix('mon-wf');
  const handles: WorkflowHandle[] = [];

  beforeAll(async () => {
    db = await createTestDb('mon_wf');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `mon-wf-${randomBytes(4).toString('hex')}`,
      forcePathStyle: true,
    });
    client = await testClient();
    hooks = await startWebhookReceiver();
    workers = await startTestWorkers({
      tags: ['cpu'],
      prefix,
      deps: {
        db: db.pool,
        store,
        log: testLog,
        workerIdentity: 'monitor-box',
        device: 'cpu',
        codeVersion: 'test',
        alertWebhook: { url: hooks.url, timeoutMs: 2000, secret: 'a-webhook-secret-of-16+' },
      },
    });
    trained = await trainEarlyElec2({ client, pool: db.pool, store, prefix, rows: 12_000 });
  });

  afterAll(async () => {
    for (const h of handles) await h.terminate().catch(() => undefined);
    await workers?.stop();
    await hooks?.close();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  async function failure(input: unknown): Promise<ApplicationFailure> {
    const handle = await client.workflow.start('monitor', {
      workflowId: `bad-monitor-${randomBytes(4).toString('hex')}`,
      taskQueue: workflowTaskQueue(prefix),
      args: [input],
    });
    const error = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    let cause: unknown = (error as WorkflowFailedError).cause;
    while (cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    return cause as ApplicationFailure;
  }

  it('refuses a bad typed input with every problem listed by field path, and nothing written', async () => {
    const bad = await failure({
      model: 'No Such Model',
      startAt: 'tomorrow',
      policy: { interval: 'hourly', alerts: { k: 9, n: 2 }, performance: { metric: 'mape' }, colour: 'red' },
    });
    expect(bad.type).toBe('InvalidMonitorInput');
    expect(bad.nonRetryable).toBe(true);
    for (const path of [
      'model',
      'startAt',
      'policy.interval',
      'policy.alerts.k',
      'policy.performance.metric',
      'policy',
    ]) {
      expect(bad.message).toContain(`  ${path}: `);
    }
    const unknown = await failure({ model: 'never-registered' });
    expect(unknown.message).toMatch(/model: no model "never-registered" in the registry/);
    const features = await failure({ model: trained.model, policy: { features: ['nswprice', 'weather'] } });
    expect(features.message).toMatch(
      /policy\.features\.1: the model has no input "weather" \(its inputs: period, /,
    );
    const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM monitor_windows');
    expect(Number(rows[0]!.n)).toBe(0);
  });

  it('starts from the temporal CLI with typed JSON and answers its status query there', async () => {
    const cli = await findTemporalCli({ env: inheritedEnvironment() });
    expect(cli).toBeDefined();
    const address = testStack().temporalAddress;
    const workflowId = `cli-${monitorWorkflowId(trained.model)}`;
    await run(cli!, [
      'workflow',
      'start',
      '--address',
      address,
      '--type',
      'monitor',
      '--task-queue',
      workflowTaskQueue(prefix),
      '--workflow-id',
      workflowId,
      '--input',
      JSON.stringify({ model: trained.model, policy: { interval: '1h', lag: '1m' } }),
    ]);
    handles.push(client.workflow.getHandle(workflowId));
    const status = await waitFor('the status query', async () => {
      const out = await run(cli!, [
        'workflow',
        'query',
        '--address',
        address,
        '--workflow-id',
        workflowId,
        '--name',
        'status',
        '--output',
        'json',
      ]).catch(() => undefined);
      return out?.stdout;
    });
    const parsed = JSON.parse(status) as {
      queryResult: [{ model: string; phase: string; policy: { intervalMs: number } }];
    };
    expect(parsed.queryResult[0]).toMatchObject({
      model: trained.model,
      phase: 'waiting',
      policy: { intervalMs: 3_600_000 },
    });
  });

  it('a replayed window changes nothing: a second monitor over the same range finds every window recorded', async () => {
    const { model, version, trainRows } = trained;
    const elec2 = await readElec2();
    // 8 windows of 400 training rows in order, the last 5 with the NSW price shifted: the price alert fires.
    const rows = elec2.rows.slice(0, 8 * 400);
    const inputs = rows.map((r, i) =>
      Object.fromEntries(
        elec2Features.map((f) => [f, f === 'nswprice' && i >= 3 * 400 ? Number(r[f]) + 0.2 : r[f]]),
      ),
    );
    expect(trainRows).toBeGreaterThan(inputs.length);
    const scores = await scoreRecords({ pool: db.pool, store }, model, version, inputs);
    const startAt = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000);
    await replayBackfill({
      pool: db.pool,
      model,
      version,
      inputs,
      scores,
      requestPrefix: `${model}-`,
      startAt,
      stepMs: 60_000 / 400,
    });
    const request = {
      model,
      startAt: startAt.toISOString(),
      policy: { interval: '1m', lag: '1s', minRows: 100, predictionDrift: false },
    };
    const first = await client.workflow.start(monitor, {
      workflowId: monitorWorkflowId(model),
      taskQueue: workflowTaskQueue(prefix),
      args: [request],
    });
    handles.push(first);
    // Both monitors catch up on the past windows, then wait for the next one: compare what the first one wrote.
    const caughtUp = (handle: WorkflowHandle<typeof monitor>) =>
      waitFor('the monitor to catch up', async () => {
        const status = await handle.query(monitorStatusQuery).catch(() => undefined);
        return status?.phase === 'waiting' && status.windowsJudged >= 9 ? status : undefined;
      });
    const cutoff = (await caughtUp(first)).nextWindow.start;
    await first.terminate();
    const before = await footprint(db.pool, model, cutoff);
    expect(Number(before.windows)).toBeGreaterThanOrEqual(9);
    expect(Number(before.alerts)).toBeGreaterThan(0);
    expect(Number(before.audit)).toBe(Number(before.alerts));
    expect(Number(before.outbox)).toBe(Number(before.alerts));

    // The same windows again (a reset, a second start by mistake): each is judged and found recorded.
    const again = await client.workflow.start(monitor, {
      workflowId: `again-${monitorWorkflowId(model)}`,
      taskQueue: workflowTaskQueue(prefix),
      args: [request],
    });
    handles.push(again);
    await caughtUp(again);
    await again.terminate();
    expect(await footprint(db.pool, model, cutoff)).toEqual(before);

    // Webhook: each alert once by key, signed; the receiver checks the signature over the raw body.
    await waitFor('deliveries', () => (hooks.delivered().size >= Number(before.alerts) ? true : undefined));
    for (const [, hits] of hooks.delivered()) {
      const hit = hits[0]!;
      expect(hit.headers['x-slipway-signature']).toBe(webhookSignature('a-webhook-secret-of-16+', hit.raw));
      expect(hit.body.model).toBe(model);
    }
  });

  it('delivers at least once: a failing receiver gets the event again later, under the same idempotency key', async () => {
    const failing = await startWebhookReceiver({ failFirst: 2 });
    try {
      const key = `test:${randomBytes(4).toString('hex')}`;
      await db.pool.query('INSERT INTO outbox (topic, payload, idempotency_key) VALUES ($1, $2, $3)', [
        alertTopic,
        JSON.stringify({ model: 'delivery-test', idempotencyKey: key }),
        key,
      ]);
      const target = { url: failing.url, timeoutMs: 2000 };
      const first = await deliverOutbox(db.pool, {
        topic: alertTopic,
        target,
        filter: { model: 'delivery-test' },
      });
      expect(first).toMatchObject({ delivered: 0, failed: 1, pending: 1 });
      expect(first.nextAttemptInMs).toBeGreaterThan(0);
      expect(first.errors[0]).toMatch(/HTTP 500/);
      // Not due yet: nothing is sent before the backoff ends.
      const early = await deliverOutbox(db.pool, {
        topic: alertTopic,
        target,
        filter: { model: 'delivery-test' },
      });
      expect(early).toMatchObject({ delivered: 0, failed: 0, pending: 1 });
      const outcome = await waitFor('delivery after retries', async () => {
        const o = await deliverOutbox(db.pool, {
          topic: alertTopic,
          target,
          filter: { model: 'delivery-test' },
        });
        return o.delivered > 0 ? o : undefined;
      });
      expect(outcome.pending).toBe(0);
      const { rows } = await db.pool.query<{ attempts: number; delivered_at: Date | null }>(
        'SELECT attempts, delivered_at FROM outbox WHERE idempotency_key = $1',
        [key],
      );
      expect(rows[0]).toMatchObject({ attempts: 3, delivered_at: expect.any(Date) });
      expect(failing.received.map((r) => r.headers['idempotency-key'])).toEqual([key, key, key]);
      expect(failing.received.map((r) => r.status)).toEqual([500, 500, 204]);
    } finally {
      await failing.close();
    }
  });

  /** Serves `rows` Elec2 training rows through the log in real time as `version`, the NSW price shifted by `shift`. */
  async function serve(version: number, from: number, rows: number, shift: number, prefixTag: string) {
    const elec2 = await readElec2();
    const inputs = elec2.rows
      .slice(from, from + rows)
      .map((r) =>
        Object.fromEntries(elec2Features.map((f) => [f, f === 'nswprice' ? Number(r[f]) + shift : r[f]])),
      );
    const scores = await scoreRecords({ pool: db.pool, store }, trained.model, version, inputs);
    return replayLive({
      pool: db.pool,
      model: trained.model,
      version,
      inputs,
      scores,
      requestPrefix: `${trained.model}-${prefixTag}-`,
      rowsPerSecond: 250,
      flushMs: 100,
      labelDelayRows: 0,
    });
  }

  /** A monitor of its own over windows from a moment from now (odd milliseconds: no window of another test). */
  async function liveMonitor(id: string, policy: Record<string, unknown>) {
    const startAt = new Date(Date.now() + 400 + Math.floor(Math.random() * 1000));
    const handle = await client.workflow.start(monitor, {
      workflowId: `${id}-${monitorWorkflowId(trained.model)}`,
      taskQueue: workflowTaskQueue(prefix),
      args: [{ model: trained.model, startAt: startAt.toISOString(), policy }],
    });
    handles.push(handle);
    while (Date.now() < startAt.getTime()) await new Promise((r) => setTimeout(r, 10));
    return { handle, startAt };
  }

  it('a row that lands after its window was read is counted late, not judged, and never counted twice', async () => {
    const { handle, startAt } = await liveMonitor('late', {
      interval: '2s',
      lag: '300ms',
      minRows: 50,
      predictionDrift: false,
    });
    await serve(trained.version, 0, 500, 0, 'late');
    const first = await waitFor('the first window', async () => {
      const { rows } = await db.pool.query<{ row_count: string; window_end: Date }>(
        'SELECT row_count, window_end FROM monitor_windows WHERE model_name = $1 AND window_start = $2',
        [trained.model, startAt.toISOString()],
      );
      return rows[0];
    });
    // A batch that was stuck (a gateway whose database was away): its `at` is in the first window, long judged.
    // Beside it, a row a client asked of the version by number (`direct`, outside the traffic split): not the
    // deployment's traffic, so neither judged nor counted late.
    const straggler = {
      at: new Date(startAt.getTime() + 5),
      model: trained.model,
      version: trained.version,
      inputs: {
        period: 0.5,
        nswprice: 0.05,
        nswdemand: 0.4,
        vicprice: 0.003,
        vicdemand: 0.4,
        transfer: 0.4,
      },
      score: 0.5,
    };
    await insertLogRows(db.pool, [
      { ...straggler, requestId: `${trained.model}-late-straggler` },
      { ...straggler, requestId: `${trained.model}-direct-straggler`, role: 'direct' },
    ]);
    const late = await waitFor('the late row to be counted', async () => {
      const { rows } = await db.pool.query<{ late_rows: string; row_count: string }>(
        'SELECT late_rows, row_count FROM monitor_windows WHERE model_name = $1 AND window_start = $2',
        [trained.model, startAt.toISOString()],
      );
      return rows[0] && Number(rows[0].late_rows) > 0 ? rows[0] : undefined;
    });
    expect(Number(late.late_rows)).toBe(1);
    expect(late.row_count).toBe(first.row_count);
    // No later window took it either: windows count [start, end) of `at`, and it belongs to the first.
    const { rows: later } = await db.pool.query<{ n: string }>(
      `SELECT coalesce(sum(row_count), 0) AS n FROM monitor_windows WHERE model_name = $1 AND window_start > $2`,
      [trained.model, startAt.toISOString()],
    );
    const { rows: logged } = await db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM predictions WHERE model_name = $1 AND at >= $2 AND request_id LIKE $3`,
      [trained.model, startAt.toISOString(), `${trained.model}-late-%`],
    );
    const served = await handle.query(monitorStatusQuery);
    expect(Number(first.row_count) + Number(later[0]!.n) + 1).toBe(Number(logged[0]!.n));
    expect(served.windowsJudged).toBeGreaterThan(1);
    await handle.terminate();
  });

  it('a new champion restarts the alerts about the old one: firing ones clear, and judge the new version afresh', async () => {
    const second = await trainEarlyElec2({
      client,
      pool: db.pool,
      store,
      prefix,
      rows: 12_000,
      model: trained.model,
      deploy: false,
    });
    expect(second.version).toBe(trained.version + 1);
    const { handle, startAt } = await liveMonitor('versions', {
      interval: '2s',
      lag: '300ms',
      minRows: 100,
      predictionDrift: false,
      alerts: { k: 2, n: 3, m: 3 },
    });
    // The champion sees a shifted NSW price: its drift alert fires.
    await serve(trained.version, 0, 1600, 0.2, 'v1');
    await waitFor('the alert on the first version', async () => {
      const { rows } = await db.pool.query<{ one: number }>(
        `SELECT 1 AS one FROM monitor_alerts WHERE model_name = $1 AND alert_key = 'drift:nswprice' AND transition = 'fired'
           AND version = $2 AND window_start >= $3`,
        [trained.model, trained.version, startAt.toISOString()],
      );
      return rows[0];
    });
    // The new version becomes the champion and answers the same shifted traffic.
    const current = await readDeployment(db.pool, trained.model);
    await writeDeployment(db.pool, {
      model: trained.model,
      target: { ...current, champion: second.version },
      expectedRevision: current.revision,
      actor: 'test',
      reason: 'promote',
    });
    await serve(second.version, 2000, 1600, 0.2, 'v2');
    const transitions = await waitFor('the alert to clear and fire again for the new version', async () => {
      const { rows } = await db.pool.query<{
        transition: string;
        version: number;
        details: { message: string };
      }>(
        `SELECT transition, version, details FROM monitor_alerts
         WHERE model_name = $1 AND alert_key = 'drift:nswprice' AND window_start >= $2 ORDER BY window_start`,
        [trained.model, startAt.toISOString()],
      );
      return rows.length >= 3 ? rows : undefined;
    });
    expect(transitions.map((t) => [t.transition, t.version])).toEqual([
      ['fired', trained.version],
      ['cleared', second.version],
      ['fired', second.version],
    ]);
    expect(transitions[1]!.details.message).toContain(
      `as version ${second.version} replaced version ${trained.version}`,
    );
    expect((await handle.query(monitorStatusQuery)).version).toBe(second.version);
    await handle.terminate();
  });
});
