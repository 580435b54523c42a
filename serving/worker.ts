// One gateway process (a node:cluster worker): serves the shared port until the primary tells it to drain.
import { createServer } from 'node:http';
import { availableParallelism } from 'node:os';
import { parseApiKeys } from '../domain/auth.js';
import { artifactStoreSettings, inheritedEnvironment, loadConfig } from '../platform/config.js';
import { createArtifactStore } from '../platform/create-artifact-store.js';
import { createPool } from '../platform/db.js';
import { resolvePendingFeedback } from '../platform/feedback.js';
import { createLogger } from '../platform/logger.js';
import { createAccess, RateLimiter } from './access.js';
import { createGatewayHandler } from './gateway.js';
import { createGatewayMetrics } from './metrics.js';
import { ModelCache } from './model-cache.js';
import { PredictionLog } from './prediction-log.js';
import { RoutingTable } from './routing-table.js';
import { RowServer } from './serve-rows.js';
import { metricsFromPrimary, workerMessages } from './cluster-messages.js';

async function main(): Promise<void> {
  const config = loadConfig(inheritedEnvironment());
  const log = createLogger({ level: config.LOG_LEVEL }).child({ component: 'gateway', pid: process.pid });
  process.title = 'slipway-gateway-worker';
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required for the gateway');
  const db = createPool({
    url: config.DATABASE_URL,
    schema: config.DATABASE_SCHEMA,
    max: config.SERVING_DB_POOL_MAX,
    log,
  });
  const store = createArtifactStore(artifactStoreSettings(config));
  const metrics = createGatewayMetrics();
  const retryMs = Math.max(1000, config.SERVING_DEPLOYMENT_POLL_MS * 20);
  const cache = new ModelCache({
    db,
    store,
    log,
    metrics,
    maxSessions: config.SERVING_MAX_SESSIONS,
    ortThreads: config.SERVING_ORT_THREADS,
    retryMs,
  });
  const table = new RoutingTable({
    db,
    cache,
    log,
    metrics,
    pollMs: config.SERVING_DEPLOYMENT_POLL_MS,
    retryMs,
  });
  await table.start();
  const predictionLog = new PredictionLog({
    db,
    log,
    metrics,
    batchRows: config.SERVING_LOG_BATCH_ROWS,
    flushMs: config.SERVING_LOG_FLUSH_MS,
    bufferRows: config.SERVING_LOG_BUFFER_ROWS,
  });
  predictionLog.start();
  const rows = new RowServer({
    metrics,
    log: predictionLog,
    settings: {
      challengerTimeoutMs: config.SERVING_CHALLENGER_TIMEOUT_MS,
      cooldownMs: config.SERVING_CHALLENGER_COOLDOWN_MS,
      shadowQueueRows: config.SERVING_SHADOW_QUEUE_ROWS,
    },
  });
  const handler = createGatewayHandler({
    db,
    log,
    metrics,
    table,
    cache,
    rows,
    access: createAccess(parseApiKeys(config.SLIPWAY_API_KEYS)),
    limiter: new RateLimiter(
      config.SERVING_RATE_LIMIT_PER_MINUTE,
      config.SERVING_PROCESSES ?? availableParallelism(),
    ),
    settings: {
      maxBodyBytes: config.SERVING_MAX_BODY_BYTES,
      maxBatchRows: config.SERVING_MAX_BATCH_ROWS,
      feedbackPendingSeconds: config.SERVING_FEEDBACK_PENDING_S,
    },
    clusterMetrics: metricsFromPrimary,
  });
  const server = createServer(
    { keepAliveTimeout: 65_000, headersTimeout: 66_000, requestTimeout: 120_000 },
    handler,
  );
  server.on('clientError', (error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    log.debug({ err: error }, 'malformed HTTP request');
  });

  // Labels that arrived before their prediction was logged join it once the log catches up.
  let sweeping = false;
  const sweep = setInterval(
    () => {
      // One sweep at a time: a slow database must not pile them up on the pool.
      if (sweeping) return;
      sweeping = true;
      void resolvePendingFeedback(db)
        .then(
          (r) => {
            if (r.resolved) metrics.feedback.labels('resolved').inc(r.resolved);
            if (r.expired) metrics.feedback.labels('expired').inc(r.expired);
            if (r.rejected) metrics.feedback.labels('rejected').inc(r.rejected);
          },
          (error: unknown) => log.warn({ err: error }, 'resolving pending feedback failed'),
        )
        .finally(() => (sweeping = false));
    },
    Math.min(5000, Math.max(500, config.SERVING_LOG_FLUSH_MS * 2)),
  );
  sweep.unref();

  let draining = false;
  const drain = async (why: string) => {
    if (draining) return;
    draining = true;
    log.info({ why }, 'gateway process draining');
    table.stop();
    clearInterval(sweep);
    // Stop accepting, finish the requests in flight, then write what the log still holds.
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await predictionLog.close();
    await cache.close();
    await store.close();
    await db.end();
    process.exit(0);
  };
  workerMessages(metrics.registry, { onDrain: () => void drain('drain requested') });
  process.on('disconnect', () => void drain('primary gone'));
  process.once('SIGTERM', () => void drain('SIGTERM'));
  process.once('SIGINT', () => void drain('SIGINT'));

  server.on('error', (error) => {
    log.fatal({ err: error }, 'gateway cannot listen');
    process.exit(2);
  });
  server.listen(config.SERVING_PORT, config.SERVING_HOST);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `gateway process failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
