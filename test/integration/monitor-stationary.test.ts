import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { monitorWorkflowId } from '../../domain/monitor.js';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import { mulberry32 } from '../../ml/metrics/bootstrap.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { monitor, monitorStatusQuery } from '../../workflows/monitor.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { elec2Features, readElec2, scoreRecords, trainEarlyElec2, waitFor } from '../helpers/monitor.js';
import { replayBackfill } from '../helpers/prediction-log.js';
import { testStack } from '../helpers/stack.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

const trainedOn = 12_000;
const windows = 200;
const rowsPerWindow = 500;
const intervalMs = 60_000;

describe('stationary replay: windows resampled from the training rows rarely alert', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers;
  const prefix = uniquePrefix('mon-null');
  const handles: WorkflowHandle[] = [];

  beforeAll(async () => {
    db = await createTestDb('mon_null');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `mon-null-${randomBytes(4).toString('hex')}`,
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
        workerIdentity: 'monitor-box',
        device: 'cpu',
        codeVersion: 'test',
      },
    });
  });

  afterAll(async () => {
    for (const h of handles) await h.terminate().catch(() => undefined);
    await workers?.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  it(`${windows} windows of ${rowsPerWindow} rows drawn from the training rows: alerts in at most 5 % of them`, async () => {
    const { model, version, trainRows } = await trainEarlyElec2({
      client,
      pool: db.pool,
      store,
      prefix,
      rows: trainedOn,
    });
    const elec2 = await readElec2();
    // The training rows are the first `trainRows` of the file (a time split); draw each window's rows from them.
    const random = mulberry32(20_261_126);
    const inputs = Array.from({ length: windows * rowsPerWindow }, () => {
      const row = elec2.rows[Math.floor(random() * trainRows)]!;
      return Object.fromEntries(elec2Features.map((f) => [f, row[f]]));
    });
    const scores = await scoreRecords({ pool: db.pool, store }, model, version, inputs);
    // Traffic from the past: the monitor judges it window by window as fast as it can, continuing as new on the way.
    const startAt = new Date(Math.floor(Date.now() / intervalMs) * intervalMs - (windows + 1) * intervalMs);
    await replayBackfill({
      pool: db.pool,
      model,
      version,
      inputs,
      scores,
      requestPrefix: `${model}-`,
      startAt,
      stepMs: intervalMs / rowsPerWindow,
    });
    const handle = await client.workflow.start(monitor, {
      workflowId: monitorWorkflowId(model),
      taskQueue: workflowTaskQueue(prefix),
      args: [
        {
          model,
          startAt: startAt.toISOString(),
          policy: { interval: '1m', lag: '1s', minRows: 100, maxHistoryEvents: 500 },
        },
      ],
    });
    handles.push(handle);
    await waitFor(
      `${windows} windows`,
      async () => {
        const { rows } = await db.pool.query<{ n: string }>(
          "SELECT count(*) AS n FROM monitor_windows WHERE model_name = $1 AND status = 'judged'",
          [model],
        );
        return Number(rows[0]?.n) >= windows ? true : undefined;
      },
      280_000,
    );
    const { rows } = await db.pool.query<{
      window_start: Date;
      row_count: string;
      drifted_features: string[];
      prediction_drift: boolean;
      transitions: { key: string; transition: string }[];
    }>(
      `SELECT window_start, row_count, drifted_features, prediction_drift, transitions FROM monitor_windows
       WHERE model_name = $1 AND status = 'judged' ORDER BY window_start LIMIT $2`,
      [model, windows],
    );
    expect(rows).toHaveLength(windows);
    for (const w of rows) expect(Number(w.row_count)).toBe(rowsPerWindow);

    const flagged = rows.filter((w) => w.drifted_features.length > 0).length;
    const scoresFlagged = rows.filter((w) => w.prediction_drift).length;
    const alerting = rows.filter((w) => w.transitions.some((t) => t.transition === 'fired')).length;
    const perFeature = Object.fromEntries(
      elec2Features.map((f) => [f, rows.filter((w) => w.drifted_features.includes(f)).length]),
    );
    process.stderr.write(
      `[stationary] ${windows} windows x ${rowsPerWindow} rows resampled from ${trainRows} training rows: ` +
        `feature drift verdict in ${flagged} (${((100 * flagged) / windows).toFixed(1)} %), ` +
        `score drift in ${scoresFlagged} (${((100 * scoresFlagged) / windows).toFixed(1)} %), ` +
        `an alert fired in ${alerting} (${((100 * alerting) / windows).toFixed(1)} %); per feature ${JSON.stringify(perFeature)}\n`,
    );
    // The alert rate the issue asks for, and the stricter one: the window verdicts themselves, before hysteresis.
    expect(alerting / windows).toBeLessThanOrEqual(0.05);
    expect(flagged / windows).toBeLessThanOrEqual(0.05);
    expect(scoresFlagged / windows).toBeLessThanOrEqual(0.05);

    // The verdicts were made: every varying feature has a statistic and a p-value in every window.
    const { rows: tested } = await db.pool.query<{ feature: string; n: string; median_p: number }>(
      `SELECT feature, count(*) AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY p_value) AS median_p
       FROM drift_stats WHERE model_name = $1 AND source = 'feature' AND statistic > 0 AND p_value IS NOT NULL
       GROUP BY feature ORDER BY feature`,
      [model],
    );
    for (const feature of ['nswdemand', 'nswprice', 'period']) {
      expect(Number(tested.find((t) => t.feature === feature)?.n)).toBeGreaterThanOrEqual(windows);
    }
    process.stderr.write(`[stationary] median p-value per feature: ${JSON.stringify(tested)}\n`);

    // The workflow learns a window is recorded a moment after the row is committed.
    const status = await waitFor('the workflow to count every window', async () => {
      const s = await handle.query(monitorStatusQuery);
      return s.windowsJudged >= windows ? s : undefined;
    });
    expect(status.runs).toBeGreaterThan(1);
    expect(status.version).toBe(version);
    expect(status.recent.length).toBeLessThanOrEqual(10);
  });
});
