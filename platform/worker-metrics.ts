import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Pool } from './db.js';
import type { Logger } from './logger.js';

/**
 * Prometheus metrics of a worker process (names `slipway_*`). Two kinds:
 * - what this process did: windows judged, alert transitions, webhook deliveries, reference builds, durations;
 * - the monitors' current state (drift per feature and model, firing alerts, realised performance, SLO figures),
 *   read from PostgreSQL when scraped: the latest recorded window of every model. Any worker reports the same state,
 *   whichever worker judged the window, and a restarted worker reports it at once. Aggregate across workers with
 *   `max by (model, ...)`.
 */
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

interface StateSnapshot {
  readonly windows: {
    model_name: string;
    window_start: Date;
    window_end: Date;
    version: number | null;
    status: string;
    row_count: string;
    prediction_drift: boolean | null;
    slo: { errorRate?: number | null; latencyP99Ms?: number | null; requests?: number };
    performance: { metric?: string; value?: number | null; labelled?: number } | null;
    alert_state: Record<string, { firing: boolean }>;
    outcomes: Record<string, string>;
  }[];
  readonly stats: {
    model_name: string;
    source: string;
    feature: string;
    test: string;
    statistic: number | null;
    p_value: number | null;
    drift: boolean;
  }[];
  readonly outbox: { topic: string; n: string }[];
}

const snapshotMaxAgeMs = 2000;

export function createWorkerMetrics(options: { db?: Pool; defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  const registers = [registry];
  if (options.defaultMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: 'slipway_worker_' });

  let snapshot: { at: number; data: Promise<StateSnapshot> } | undefined;
  const state = (): Promise<StateSnapshot> => {
    if (!options.db) return Promise.resolve({ windows: [], stats: [], outbox: [] });
    if (!snapshot || Date.now() - snapshot.at > snapshotMaxAgeMs) {
      snapshot = { at: Date.now(), data: readState(options.db) };
      // A failed read is retried on the next scrape, not cached.
      snapshot.data.catch(() => (snapshot = undefined));
    }
    return snapshot.data;
  };
  const fromState = <T extends string>(
    name: string,
    help: string,
    labelNames: readonly T[],
    fill: (gauge: Gauge<T>, s: StateSnapshot) => void,
  ) =>
    new Gauge<T>({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        fill(this, await state());
      },
    });

  const metrics = {
    registry,
    windows: new Counter({
      name: 'slipway_monitor_windows_total',
      help: 'Monitor windows recorded by this worker, by model and status (judged, too-few-rows, no-version)',
      labelNames: ['model', 'status'] as const,
      registers,
    }),
    windowSeconds: new Histogram({
      name: 'slipway_monitor_window_seconds',
      help: 'Time to judge (read, compare) and to record (report, rows, alerts) one window',
      labelNames: ['step'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    alertTransitions: new Counter({
      name: 'slipway_monitor_alert_transitions_total',
      help: 'Alerts that fired or cleared, by model, alert key and transition',
      labelNames: ['model', 'alert', 'transition'] as const,
      registers,
    }),
    referenceBuilds: new Counter({
      name: 'slipway_monitor_reference_builds_total',
      help: 'Drift references built from a version’s training rows (each is cached as an artifact after)',
      labelNames: ['model'] as const,
      registers,
    }),
    lateRows: new Counter({
      name: 'slipway_monitor_late_rows_total',
      help: 'Prediction-log rows that landed after their window was read (not judged): the lag is too short',
      labelNames: ['model'] as const,
      registers,
    }),
    webhookDeliveries: new Counter({
      name: 'slipway_alert_webhook_deliveries_total',
      help: 'Alert webhook deliveries by outcome (delivered, failed)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    driftStatistic: fromState(
      'slipway_monitor_drift_statistic',
      'The deciding drift statistic of each feature in the model’s latest judged window, by test',
      ['model', 'feature', 'test'] as const,
      (g, s) => {
        for (const r of s.stats) {
          if (r.source === 'feature' && r.statistic !== null)
            g.labels(r.model_name, r.feature, r.test).set(r.statistic);
        }
      },
    ),
    driftPValue: fromState(
      'slipway_monitor_drift_p_value',
      'The p-value (calibrated) of each feature’s drift test in the model’s latest judged window',
      ['model', 'feature'] as const,
      (g, s) => {
        for (const r of s.stats) {
          if (r.source === 'feature' && r.p_value !== null) g.labels(r.model_name, r.feature).set(r.p_value);
        }
      },
    ),
    driftDetected: fromState(
      'slipway_monitor_drift_detected',
      'Whether each feature drifted (1) or not (0) in the model’s latest judged window',
      ['model', 'feature'] as const,
      (g, s) => {
        for (const r of s.stats)
          if (r.source === 'feature') g.labels(r.model_name, r.feature).set(r.drift ? 1 : 0);
      },
    ),
    predictionDriftStatistic: fromState(
      'slipway_monitor_prediction_drift_statistic',
      'The drift statistic of the deployed version’s scores in the latest judged window, by test',
      ['model', 'test'] as const,
      (g, s) => {
        for (const r of s.stats) {
          if (r.source === 'prediction' && r.statistic !== null)
            g.labels(r.model_name, r.test).set(r.statistic);
        }
      },
    ),
    predictionDriftDetected: fromState(
      'slipway_monitor_prediction_drift_detected',
      'Whether the scores drifted (1) or not (0) in the model’s latest judged window',
      ['model'] as const,
      (g, s) => {
        for (const r of s.stats) if (r.source === 'prediction') g.labels(r.model_name).set(r.drift ? 1 : 0);
      },
    ),
    alertFiring: fromState(
      'slipway_monitor_alert_firing',
      'Alerts by model and key: 1 firing, 0 judged and quiet (after the hysteresis of the latest window)',
      ['model', 'alert'] as const,
      (g, s) => {
        for (const w of s.windows) {
          const judged = Object.entries(w.outcomes).filter(([, o]) => o !== 'unjudged');
          const keys = new Set([...Object.keys(w.alert_state), ...judged.map(([k]) => k)]);
          for (const key of keys) g.labels(w.model_name, key).set(w.alert_state[key]?.firing ? 1 : 0);
        }
      },
    ),
    performance: fromState(
      'slipway_monitor_performance',
      'Realised performance on labelled traffic (pooled over the lookback windows), by model and metric',
      ['model', 'metric'] as const,
      (g, s) => {
        for (const w of s.windows) {
          const p = w.performance;
          if (p?.metric && typeof p.value === 'number') g.labels(w.model_name, p.metric).set(p.value);
        }
      },
    ),
    labelledRows: fromState(
      'slipway_monitor_labelled_rows',
      'Labelled rows behind the realised performance, by model',
      ['model'] as const,
      (g, s) => {
        for (const w of s.windows) g.labels(w.model_name).set(w.performance?.labelled ?? 0);
      },
    ),
    windowRows: fromState(
      'slipway_monitor_window_rows',
      'Request rows in the model’s latest window',
      ['model'] as const,
      (g, s) => {
        for (const w of s.windows) g.labels(w.model_name).set(Number(w.row_count));
      },
    ),
    errorRate: fromState(
      'slipway_monitor_error_rate',
      'Share of request rows that got no answer in the model’s latest window',
      ['model'] as const,
      (g, s) => {
        for (const w of s.windows) {
          if (typeof w.slo.errorRate === 'number') g.labels(w.model_name).set(w.slo.errorRate);
        }
      },
    ),
    latencyP99: fromState(
      'slipway_monitor_latency_p99_seconds',
      'p99 latency of answered rows in the model’s latest window',
      ['model'] as const,
      (g, s) => {
        for (const w of s.windows) {
          if (typeof w.slo.latencyP99Ms === 'number') g.labels(w.model_name).set(w.slo.latencyP99Ms / 1000);
        }
      },
    ),
    lastWindowEnd: fromState(
      'slipway_monitor_last_window_end_timestamp_seconds',
      'End of the model’s latest recorded window (Unix time): a monitor that stops judging stops moving it',
      ['model'] as const,
      (g, s) => {
        for (const w of s.windows) g.labels(w.model_name).set(w.window_end.getTime() / 1000);
      },
    ),
    windowInterval: fromState(
      'slipway_monitor_window_interval_seconds',
      'Length of the model’s latest window (the monitor’s interval)',
      ['model'] as const,
      (g, s) => {
        for (const w of s.windows) {
          g.labels(w.model_name).set((w.window_end.getTime() - w.window_start.getTime()) / 1000);
        }
      },
    ),
    monitoredVersion: fromState(
      'slipway_monitor_version',
      'The version the model’s latest window was judged against',
      ['model'] as const,
      (g, s) => {
        for (const w of s.windows) if (w.version !== null) g.labels(w.model_name).set(w.version);
      },
    ),
    outboxPending: fromState(
      'slipway_outbox_pending_events',
      'Outbox events not delivered yet, by topic',
      ['topic'] as const,
      (g, s) => {
        for (const o of s.outbox) g.labels(o.topic).set(Number(o.n));
      },
    ),
  };
  return metrics;
}

async function readState(db: Pool): Promise<StateSnapshot> {
  const { rows: windows } = await db.query<StateSnapshot['windows'][number]>(
    `SELECT DISTINCT ON (model_name) model_name, window_start, window_end, version, status, row_count,
            prediction_drift, slo, performance, alert_state, outcomes
     FROM monitor_windows ORDER BY model_name, window_start DESC`,
  );
  const { rows: stats } = await db.query<StateSnapshot['stats'][number]>(
    `SELECT s.model_name, s.source, s.feature, s.test, s.statistic, s.p_value, s.drift
     FROM drift_stats s
     JOIN (SELECT model_name, max(window_start) AS window_start FROM monitor_windows
           WHERE status = 'judged' GROUP BY model_name) latest
       ON latest.model_name = s.model_name AND latest.window_start = s.window_start`,
  );
  const { rows: outbox } = await db.query<StateSnapshot['outbox'][number]>(
    'SELECT topic, count(*) AS n FROM outbox WHERE delivered_at IS NULL GROUP BY topic',
  );
  return { windows, stats, outbox };
}

/** Serves `registry` at GET /metrics on host:port until closed. Resolves once listening. */
export async function serveMetrics(
  registry: Registry,
  options: { host: string; port: number; log?: Logger },
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => {
        options.log?.warn({ err: error }, 'metrics collection failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  options.log?.info({ host: options.host, port }, 'worker metrics at /metrics');
  return {
    server,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
