import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WindowJudgement } from '../../domain/monitor.js';
import type { Pool } from '../../platform/db.js';
import { alertTopic, recordWindow } from '../../platform/monitor-store.js';
import { createWorkerMetrics, serveMetrics } from '../../platform/worker-metrics.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';

// The rules and the dashboard are checked in test/unit/observability-rules.test.ts.

describe('worker metrics on the real database', () => {
  let db: { pool: Pool; schema: string };
  let server: Awaited<ReturnType<typeof serveMetrics>> | undefined;

  beforeAll(async () => {
    db = await createTestDb('worker_metrics');
  });

  afterAll(async () => {
    await server?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  it('serves the latest window of every model at /metrics: drift per feature, alerts, performance, SLOs', async () => {
    const judgement = (start: string, end: string, drift: boolean): WindowJudgement => ({
      range: { index: 0, start, end },
      readAt: end,
      status: 'judged',
      version: 2,
      rowCount: 500,
      rowsRead: 500,
      features: [],
      prediction: null,
      slo: {
        requests: 500,
        failed: 5,
        errorRate: 0.01,
        fallbacks: 0,
        latencyP50Ms: 2,
        latencyP95Ms: 4,
        latencyP99Ms: 8,
      },
      performance: {
        metric: 'accuracy',
        labelled: 300,
        value: 0.71,
        accuracy: 0.71,
        auc: 0.8,
        logLoss: 0.5,
        brier: 0.2,
        from: start,
        to: end,
        threshold: 0.5,
      },
      outcomes: { 'drift:price': drift ? 'breach' : 'clean', 'drift:qty': 'clean', latency: 'unjudged' },
      analysisUri: 'file:///unused',
      analysisSha256: '0'.repeat(64),
    });
    const row = (feature: string, statistic: number, drift: boolean) => ({
      source: 'feature' as const,
      feature,
      kind: 'numeric' as const,
      test: 'ks',
      statistic,
      pValue: drift ? 1e-8 : 0.4,
      threshold: 0.025,
      drift,
      currentCount: 500,
      referenceCount: 5000,
      statistics: { ks: statistic },
    });
    for (const [i, drift] of [false, true].entries()) {
      const start = `2026-01-01T00:0${i}:00.000Z`;
      const end = `2026-01-01T00:0${i + 1}:00.000Z`;
      await recordWindow(db.pool, {
        model: 'shop',
        workflowId: 'monitor-shop',
        requestedBy: 'test',
        judgement: judgement(start, end, drift),
        alertState: drift ? { 'drift:price': { firing: true, recent: [], clean: 0 } } : {},
        events: [],
        report: { uri: `file:///r${i}.json`, htmlUri: `file:///r${i}.html`, sha256: '0'.repeat(64) },
        driftRows: [row('price', drift ? 0.31 : 0.02, drift), row('qty', 0.03, false)],
        webhook: false,
      });
    }
    await db.pool.query('INSERT INTO outbox (topic, payload, idempotency_key) VALUES ($1, $2, $3)', [
      alertTopic,
      JSON.stringify({ model: 'shop' }),
      'k1',
    ]);
    const metrics = createWorkerMetrics({ db: db.pool });
    metrics.windows.labels('shop', 'judged').inc(2);
    server = await serveMetrics(metrics.registry, { host: '127.0.0.1', port: 0 });
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    expect(value('slipway_monitor_drift_statistic{model="shop",feature="price",test="ks"}')).toBe(0.31);
    expect(value('slipway_monitor_drift_detected{model="shop",feature="price"}')).toBe(1);
    expect(value('slipway_monitor_drift_detected{model="shop",feature="qty"}')).toBe(0);
    expect(value('slipway_monitor_alert_firing{model="shop",alert="drift:price"}')).toBe(1);
    expect(value('slipway_monitor_alert_firing{model="shop",alert="drift:qty"}')).toBe(0);
    // Unjudged alerts are not reported as quiet.
    expect(value('slipway_monitor_alert_firing{model="shop",alert="latency"}')).toBeUndefined();
    expect(value('slipway_monitor_performance{model="shop",metric="accuracy"}')).toBe(0.71);
    expect(value('slipway_monitor_error_rate{model="shop"}')).toBe(0.01);
    expect(value('slipway_monitor_latency_p99_seconds{model="shop"}')).toBe(0.008);
    expect(value('slipway_monitor_last_window_end_timestamp_seconds{model="shop"}')).toBe(
      Date.parse('2026-01-01T00:02:00.000Z') / 1000,
    );
    expect(value('slipway_monitor_window_interval_seconds{model="shop"}')).toBe(60);
    expect(value('slipway_monitor_version{model="shop"}')).toBe(2);
    expect(value('slipway_outbox_pending_events{topic="monitor.alert"}')).toBe(1);
    expect(value('slipway_monitor_windows_total{model="shop",status="judged"}')).toBe(2);
    expect(text).toMatch(/^slipway_worker_process_resident_memory_bytes \d+/m);
    expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
  });
});
