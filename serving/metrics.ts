// Prometheus metrics of one gateway process; the primary process sums them over every process for /metrics.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const latencyBuckets = [
  0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];
const rowBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

/** Memoises a metric's labelled children: prom-client hashes the label values on every `labels()` call. */
function children<T>(labels: (...values: string[]) => T): (...values: string[]) => T {
  const cache = new Map<string, T>();
  return (...values) => {
    const key = values.join('\u0000');
    let child = cache.get(key);
    if (child === undefined) cache.set(key, (child = labels(...values)));
    return child;
  };
}

/** Every slipway_gateway_* metric, in a registry of its own that the cluster primary aggregates. */
export function createGatewayMetrics() {
  const registry = new Registry();
  const registers = [registry];
  const metrics = {
    registry,
    requests: new Counter({
      name: 'slipway_gateway_requests_total',
      help: 'HTTP requests by model, endpoint and status code',
      labelNames: ['model', 'endpoint', 'code'] as const,
      registers,
    }),
    requestDuration: new Histogram({
      name: 'slipway_gateway_request_duration_seconds',
      help: 'Time from a request arriving to its answer, by model and endpoint',
      labelNames: ['model', 'endpoint'] as const,
      buckets: latencyBuckets,
      registers,
    }),
    predictions: new Counter({
      name: 'slipway_gateway_predictions_total',
      help: 'Rows scored, by model, version and role (champion, challenger, shadow, direct)',
      labelNames: ['model', 'version', 'role'] as const,
      registers,
    }),
    errors: new Counter({
      name: 'slipway_gateway_prediction_errors_total',
      help: 'Rows a version failed to score, by reason (nan, timeout, circuit_open, unavailable, integrity, error)',
      labelNames: ['model', 'version', 'role', 'reason'] as const,
      registers,
    }),
    fallbacks: new Counter({
      name: 'slipway_gateway_fallbacks_total',
      help: 'Rows the champion answered because the challenger (this version) failed',
      labelNames: ['model', 'version'] as const,
      registers,
    }),
    latency: new Histogram({
      name: 'slipway_gateway_scoring_latency_seconds',
      help: "A request's rows from queueing for a version to its scores, by model and version",
      labelNames: ['model', 'version'] as const,
      buckets: latencyBuckets,
      registers,
    }),
    batchRows: new Histogram({
      name: 'slipway_gateway_batch_rows',
      help: 'Rows per session.run (same-tick micro-batches), by model and version',
      labelNames: ['model', 'version'] as const,
      buckets: rowBuckets,
      registers,
    }),
    runSeconds: new Histogram({
      name: 'slipway_gateway_session_run_seconds',
      help: 'Duration of one session.run, by model and version',
      labelNames: ['model', 'version'] as const,
      buckets: latencyBuckets,
      registers,
    }),
    shadowDropped: new Counter({
      name: 'slipway_gateway_shadow_dropped_rows_total',
      help: 'Shadow rows not scored because the shadow queue was full',
      labelNames: ['model', 'version'] as const,
      registers,
    }),
    integrityFailures: new Counter({
      name: 'slipway_gateway_integrity_failures_total',
      help: "Model loads refused because the artifact's sha256 differs from the registry's",
      labelNames: ['model', 'version'] as const,
      registers,
    }),
    logShed: new Counter({
      name: 'slipway_gateway_log_shed_rows_total',
      help: 'Prediction log rows dropped because the log could not keep up (the answers were still sent)',
      labelNames: ['model'] as const,
      registers,
    }),
    logWritten: new Counter({
      name: 'slipway_gateway_log_rows_written_total',
      help: 'Prediction log rows written to PostgreSQL',
      registers,
    }),
    logFlushFailures: new Counter({
      name: 'slipway_gateway_log_flush_failures_total',
      help: 'Failed prediction log inserts (the rows are kept and retried)',
      registers,
    }),
    logBuffered: new Gauge({
      name: 'slipway_gateway_log_buffered_rows',
      help: 'Prediction log rows waiting to be written',
      registers,
    }),
    sessions: new Gauge({
      name: 'slipway_gateway_sessions',
      help: 'onnxruntime sessions loaded',
      registers,
    }),
    deploymentRevision: new Gauge({
      name: 'slipway_gateway_deployment_revision',
      help: 'The deployment revision served, by model (the lowest over the gateway processes)',
      labelNames: ['model'] as const,
      aggregator: 'min',
      registers,
    }),
    deploymentProcesses: new Gauge({
      name: 'slipway_gateway_deployment_processes',
      help: 'Gateway processes that have loaded the deployment of this model',
      labelNames: ['model'] as const,
      registers,
    }),
    processes: new Gauge({
      name: 'slipway_gateway_processes',
      help: 'Gateway processes answering',
      registers,
    }),
    feedback: new Counter({
      name: 'slipway_gateway_feedback_total',
      help: 'Labels by outcome: recorded, unchanged, pending, resolved (a pending label joined), expired, rejected',
      labelNames: ['outcome'] as const,
      registers,
    }),
    rateLimited: new Counter({
      name: 'slipway_gateway_rate_limited_total',
      help: 'Requests refused with 429',
      registers,
    }),
    observeBatch(model: string, version: string, rows: number, runMs: number): void {
      hot.batchRows(model, version).observe(rows);
      hot.runSeconds(model, version).observe(runMs / 1000);
    },
  };
  const hot = {
    batchRows: children((...v) => metrics.batchRows.labels(...v)),
    runSeconds: children((...v) => metrics.runSeconds.labels(...v)),
  };
  metrics.processes.set(1);
  return {
    ...metrics,
    /** Children of the per-request metrics, looked up once per label set. */
    hot: {
      requests: children((...v) => metrics.requests.labels(...v)),
      requestDuration: children((...v) => metrics.requestDuration.labels(...v)),
      predictions: children((...v) => metrics.predictions.labels(...v)),
      latency: children((...v) => metrics.latency.labels(...v)),
    },
  };
}
