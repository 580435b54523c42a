// Control-plane API entrypoint.
import { artifactStoreSettings, inheritedEnvironment, loadConfig } from '../platform/config.js';
import { createArtifactStore } from '../platform/create-artifact-store.js';
import { createPool, migrate } from '../platform/db.js';
import { createLogger, resolveLogFormat } from '../platform/logger.js';
import { requireSearchAttributes } from '../platform/search-attributes.js';
import { connectClient, temporalTarget } from '../platform/temporal.js';
import { parseApiKeys } from '../domain/auth.js';
import { assertSafeExposure } from './auth.js';
import { buildApi } from './server.js';

async function main(): Promise<void> {
  const config = loadConfig(inheritedEnvironment());
  const log = createLogger({
    level: config.LOG_LEVEL,
    format: resolveLogFormat(config.LOG_FORMAT, process.stdout.isTTY === true),
  });
  // Before anything else: an open API must not listen beyond this machine.
  const apiKeys = parseApiKeys(config.SLIPWAY_API_KEYS);
  assertSafeExposure(config.API_HOST, apiKeys);
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required for the API');
  const db = createPool({
    url: config.DATABASE_URL,
    schema: config.DATABASE_SCHEMA,
    max: config.DATABASE_POOL_MAX,
    log,
  });
  await migrate(db, config.DATABASE_SCHEMA, log);
  const store = createArtifactStore(artifactStoreSettings(config));
  const target = temporalTarget(config);
  const client = await connectClient(target);
  // The API starts runs that set ModelName and Stage: refuse to start where the namespace lacks them.
  await requireSearchAttributes(client.connection.operatorService, target.namespace);
  if (apiKeys.length === 0)
    log.warn('SLIPWAY_API_KEYS is empty: the API accepts unauthenticated requests from this machine only');
  const app = await buildApi({
    client,
    db,
    store,
    log,
    queuePrefix: config.TASK_QUEUE_PREFIX,
    apiKeys,
    feedbackPendingSeconds: config.SERVING_FEEDBACK_PENDING_S,
    uploadMaxBytes: config.SLIPWAY_UPLOAD_MAX_BYTES,
    host: config.API_HOST,
    rateLimitPerMinute: config.API_RATE_LIMIT_PER_MINUTE,
    authFailuresPerWindow: config.API_AUTH_FAILURES_PER_MINUTE,
  });
  await app.listen({ host: config.API_HOST, port: config.API_PORT });
  const shutdown = async (signal: string) => {
    log.info({ signal }, 'api stopping');
    await app.close();
    await client.connection.close();
    await store.close();
    await db.end();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void shutdown(signal).then(() => process.exit(0)));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
