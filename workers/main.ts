// Worker entrypoint: polls the task queues of its tags (WORKER_TAGS=cpu,gpu,gpu:a100) until SIGINT/SIGTERM.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultDatasetLimits, resolveDataRoots, type DataRoot } from '../activities/dataset-source.js';
import { parseResourceTags } from '../domain/task-queues.js';
import {
  artifactStoreSettings,
  inheritedEnvironment,
  loadConfig,
  rolloutDefaults,
} from '../platform/config.js';
import { createArtifactStore } from '../platform/create-artifact-store.js';
import { createPool, migrate } from '../platform/db.js';
import { createLogger, resolveLogFormat } from '../platform/logger.js';
import { resolveCodeVersion } from '../platform/code-version.js';
import { resolveCommandTrainers } from '../platform/command-trainers.js';
import { requireSearchAttributes } from '../platform/search-attributes.js';
import { connectWorker, installTemporalRuntime, temporalTarget } from '../platform/temporal.js';
import { createWorkerMetrics, serveMetrics } from '../platform/worker-metrics.js';
import { detectGpus } from './gpu.js';
import { bundleWorkflows, createWorkerSet, runWorkerSet } from './worker.js';

function splitList(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * The data roots: SLIPWAY_DATA_ROOTS when set (each must exist), else the repository's datasets/ and
 * $SLIPWAY_HOME/data (whichever exist).
 */
async function dataRootsOf(list: string | undefined, home: string) {
  if (list) {
    const dirs = splitList(list);
    const roots = await resolveDataRoots(dirs);
    if (roots.length !== dirs.length) {
      const missing = [];
      for (const dir of dirs) if ((await resolveDataRoots([dir])).length === 0) missing.push(dir);
      throw new Error(`SLIPWAY_DATA_ROOTS: no such directory: ${missing.join(', ')}`);
    }
    return roots;
  }
  return resolveDataRoots([join(repositoryRoot, 'datasets'), join(home, 'data')]);
}

/** Where a training run's `specPath` may point: the repository's examples/ and the data roots (real paths). */
async function specRootsOf(dataRoots: readonly DataRoot[]): Promise<string[]> {
  const examples = await resolveDataRoots([join(repositoryRoot, 'examples')]);
  return [...new Set([...examples, ...dataRoots].map((r) => r.real))];
}

async function main(): Promise<void> {
  const config = loadConfig(inheritedEnvironment());
  const log = createLogger({
    level: config.LOG_LEVEL,
    format: resolveLogFormat(config.LOG_FORMAT, process.stdout.isTTY === true),
  });
  installTemporalRuntime(log);
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required for a worker');
  const tags = parseResourceTags(config.WORKER_TAGS);
  // Configuration errors stop the worker before it touches anything.
  const dataRoots = await dataRootsOf(config.SLIPWAY_DATA_ROOTS, config.SLIPWAY_HOME);
  const commandTrainers = await resolveCommandTrainers(config.SLIPWAY_COMMAND_TRAINERS, {
    cwd: process.cwd(),
    searchPath: inheritedEnvironment().PATH,
  });
  const gpus = await detectGpus();
  if (tags.some((t) => t !== 'cpu') && gpus.count === 0) {
    log.warn({ tags }, 'GPU tags without a detected GPU: GPU work will run on the CPU fallback');
  }
  const db = createPool({
    url: config.DATABASE_URL,
    schema: config.DATABASE_SCHEMA,
    max: config.DATABASE_POOL_MAX,
    log,
  });
  await migrate(db, config.DATABASE_SCHEMA, log);
  const store = createArtifactStore(artifactStoreSettings(config));
  log.info(
    { dataRoots: dataRoots.map((r) => r.real), commandTrainers: commandTrainers.map((t) => t.name) },
    'data roots and command trainers',
  );
  const metrics = createWorkerMetrics({ db });
  const metricsServer =
    config.WORKER_METRICS_PORT !== undefined
      ? await serveMetrics(metrics.registry, {
          host: config.WORKER_METRICS_HOST,
          port: config.WORKER_METRICS_PORT,
          log,
        })
      : undefined;
  const target = temporalTarget(config);
  const connection = await connectWorker(target);
  // Workflows set ModelName, Stage and ChampionVersion: without them registered every run would fail later.
  await requireSearchAttributes(connection.operatorService, target.namespace);
  const workers = await createWorkerSet({
    connection,
    namespace: target.namespace,
    tags,
    queuePrefix: config.TASK_QUEUE_PREFIX,
    bundle: await bundleWorkflows(log),
    gpuCount: gpus.count,
    gpuNames: gpus.names,
    ...(config.WORKER_MAX_ACTIVITIES ? { maxCpuActivities: config.WORKER_MAX_ACTIVITIES } : {}),
    deps: {
      db,
      store,
      log,
      workerIdentity: `${hostname()}:${process.pid}`,
      device: gpus.names[0] ?? 'cpu',
      dataRoots,
      specRoots: await specRootsOf(dataRoots),
      commandTrainers,
      datasetLimits: {
        maxBytes: config.SLIPWAY_MAX_DATASET_BYTES ?? defaultDatasetLimits.maxBytes,
        maxRows: config.SLIPWAY_MAX_DATASET_ROWS ?? defaultDatasetLimits.maxRows,
      },
      rolloutDefaults: rolloutDefaults(config),
      metrics,
      monitorDefaults: {
        intervalMs: config.SLIPWAY_MONITOR_INTERVAL,
        lagMs: config.SLIPWAY_MONITOR_LAG,
      },
      ...(config.SLIPWAY_ALERT_WEBHOOK
        ? {
            alertWebhook: {
              url: config.SLIPWAY_ALERT_WEBHOOK,
              timeoutMs: config.SLIPWAY_ALERT_WEBHOOK_TIMEOUT_MS,
              ...(config.SLIPWAY_ALERT_WEBHOOK_SECRET ? { secret: config.SLIPWAY_ALERT_WEBHOOK_SECRET } : {}),
            },
          }
        : {}),
      codeVersion: await resolveCodeVersion(
        config.SLIPWAY_CODE_VERSION,
        new URL('..', import.meta.url).pathname,
      ),
    },
  });
  const abort = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'draining workers');
      abort.abort();
    });
  }
  log.info({ tags, queuePrefix: config.TASK_QUEUE_PREFIX, gpus: gpus.names }, 'workers running');
  try {
    await runWorkerSet(workers, abort.signal);
  } finally {
    await metricsServer?.close();
    await connection.close();
    await db.end();
    log.info('workers stopped');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
