// Worker entrypoint: polls the task queues of its tags (WORKER_TAGS=cpu,gpu,gpu:a100) until SIGINT/SIGTERM.
import { realpath } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { repositoryRoot } from '../activities/index.js';
import { parseResourceTags } from '../domain/task-queues.js';
import { artifactStoreSettings, inheritedEnvironment, loadConfig } from '../platform/config.js';
import { createArtifactStore } from '../platform/create-artifact-store.js';
import { createPool, migrate } from '../platform/db.js';
import { createLogger } from '../platform/logger.js';
import { resolveCodeVersion } from '../platform/code-version.js';
import { requireSearchAttributes } from '../platform/search-attributes.js';
import { connectWorker, installTemporalRuntime, temporalTarget } from '../platform/temporal.js';
import { detectGpus } from './gpu.js';
import { bundleWorkflows, createWorkerSet, runWorkerSet } from './worker.js';

function splitList(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Real paths of the data roots, so symlinks can't lead a dataset path out of them. */
async function resolveDataRoots(list: string): Promise<string[]> {
  return Promise.all(splitList(list).map((dir) => realpath(dir)));
}

/**
 * Where a training run's `specPath` may point: the repository's examples/ and datasets/, `$SLIPWAY_HOME/data`, and
 * the configured data roots (real paths; folders that don't exist are left out).
 */
async function resolveSpecRoots(home: string, dataRoots: readonly string[] | undefined): Promise<string[]> {
  const candidates = [
    join(repositoryRoot, 'examples'),
    join(repositoryRoot, 'datasets'),
    resolve(home, 'data'),
    ...(dataRoots ?? []),
  ];
  const real = await Promise.all(candidates.map((dir) => realpath(dir).catch(() => undefined)));
  return [...new Set(real.filter((dir): dir is string => dir !== undefined))];
}

async function main(): Promise<void> {
  const config = loadConfig(inheritedEnvironment());
  const log = createLogger({ level: config.LOG_LEVEL });
  installTemporalRuntime(log);
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required for a worker');
  const tags = parseResourceTags(config.WORKER_TAGS);
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
  const target = temporalTarget(config);
  const connection = await connectWorker(target);
  // Workflows set ModelName, Stage and ChampionVersion: without them registered every run would fail later.
  await requireSearchAttributes(connection.operatorService, target.namespace);
  const dataRoots = config.SLIPWAY_DATA_ROOTS ? await resolveDataRoots(config.SLIPWAY_DATA_ROOTS) : undefined;
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
      ...(dataRoots ? { dataRoots } : {}),
      specRoots: await resolveSpecRoots(config.SLIPWAY_HOME, dataRoots),
      ...(config.SLIPWAY_COMMAND_TRAINERS
        ? { commandTrainers: splitList(config.SLIPWAY_COMMAND_TRAINERS) }
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
    await connection.close();
    await db.end();
    log.info('workers stopped');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
