// `slipway up` (npm start): the whole local stack in one command, until Ctrl-C.
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { workflowTaskQueue } from '../domain/task-queues.js';
import { type Config, localPaths } from '../platform/config.js';
import { createPool, migrate } from '../platform/db.js';
import { startEmbeddedPostgres } from '../platform/embedded-postgres.js';
import type { Logger } from '../platform/logger.js';
import { exampleTrainerEntry, exampleTrainerPython } from '../platform/python-env.js';
import { connectClient } from '../platform/temporal.js';
import { startDevServer } from '../platform/temporal-dev-server.js';
import { skeleton } from '../workflows/skeleton.js';
import { portOrFree, spawnEntrypoint, terminate, waitForHttp } from './processes.js';
import { startDemo } from './up-demo.js';

type Stop = () => Promise<void>;

/**
 * Starts Temporal (dev server with UI, history in .slipway/temporal.db), the database (DATABASE_URL, else embedded
 * PGlite in .slipway/pgdata), the workers, the API and the serving gateway as child processes, runs the skeleton workflow once, and
 * keeps everything up until SIGINT/SIGTERM, then shuts it all down in reverse order.
 */
export async function up(
  config: Config,
  env: Record<string, string | undefined>,
  log: Logger,
  options: { demo: boolean } = { demo: true },
): Promise<void> {
  const paths = localPaths(config);
  const home = resolve(paths.home);
  const stops: Stop[] = [];
  const children: ChildProcess[] = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down');
    for (const stop of stops.reverse()) {
      await stop().catch((error: unknown) => log.error({ err: error }, 'stop failed'));
    }
    log.info('stopped');
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    let temporalAddress = config.TEMPORAL_ADDRESS;
    let uiUrl: string | undefined;
    if (!temporalAddress) {
      const server = await startDevServer({
        port: config.TEMPORAL_PORT,
        uiPort: config.TEMPORAL_UI_PORT,
        dbFile: resolve(paths.temporalDb),
        env,
        ...(config.TEMPORAL_CLI ? { cliPath: config.TEMPORAL_CLI } : {}),
        log,
      });
      stops.push(() => server.stop());
      temporalAddress = server.address;
      uiUrl = server.uiUrl;
    }

    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      const pg = await startEmbeddedPostgres({
        dataDir: resolve(paths.pgData),
        port: config.EMBEDDED_DB_PORT,
        // The API, the workers and every gateway process each keep a pool: the wire server takes any number.
        schema: config.DATABASE_SCHEMA,
      });
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
      log.info({ dataDir: paths.pgData }, 'embedded PostgreSQL (PGlite) ready');
    }
    const db = createPool({ url: databaseUrl, schema: config.DATABASE_SCHEMA, max: 2, log });
    await migrate(db, config.DATABASE_SCHEMA, log);
    await db.end();

    const childEnv = {
      ...env,
      // The demo's terminal shows decisions as they happen; the processes' own logs only when LOG_LEVEL asks.
      ...(options.demo && !env.LOG_LEVEL ? { LOG_LEVEL: 'warn' } : {}),
      TEMPORAL_ADDRESS: temporalAddress,
      DATABASE_URL: databaseUrl,
      SLIPWAY_HOME: home,
      ARTIFACT_ROOT: resolve(paths.artifacts),
    };
    const spawnChild = (entry: string, extra: Record<string, string>) => {
      const child = spawnEntrypoint(entry, { ...childEnv, ...extra });
      children.push(child);
      stops.push(() => terminate(child));
      child.once('exit', (code, signal) => {
        if (!stopping) {
          log.error({ entry, code, signal }, 'a child process died; stopping the stack');
          void shutdown(1);
        }
      });
      return child;
    };
    // The local stack registers the example Python trainer (docs/trainer-contract.md) under `sklearn-example`, in a
    // virtual environment of its own under the tool cache; deployed workers run no trainer program unless
    // SLIPWAY_COMMAND_TRAINERS registers it.
    // A data root of the stack's own, beside the repository's datasets/: files put there can be trained on.
    await mkdir(resolve(home, 'data'), { recursive: true });
    let trainers = env.SLIPWAY_COMMAND_TRAINERS;
    if (trainers === undefined) {
      log.info("preparing the example trainer's Python environment (the first time takes a minute or two)");
      const python = await exampleTrainerPython(env).catch((error: unknown) => {
        log.warn(
          { err: error },
          "the example trainer's Python environment is not ready; using python3 as it is",
        );
        return 'python3';
      });
      trainers = exampleTrainerEntry(python);
    }
    spawnChild('workers/main.ts', {
      WORKER_TAGS: env.WORKER_TAGS ?? 'cpu,gpu',
      SLIPWAY_COMMAND_TRAINERS: trainers,
      // Prometheus metrics of the worker and its monitors (infra/prometheus/prometheus.yml scrapes 9464).
      WORKER_METRICS_PORT: env.WORKER_METRICS_PORT ?? String(await portOrFree(9464)),
    });
    const api = spawnChild('api/main.ts', {});
    const gateway = spawnChild('serving/main.ts', {});
    const apiUrl = `http://${config.API_HOST}:${config.API_PORT}`;
    const gatewayUrl = `http://${config.SERVING_HOST}:${config.SERVING_PORT}`;
    await waitForHttp(`${apiUrl}/health`, api, 180_000);
    await waitForHttp(`${gatewayUrl}/v2/health/ready`, gateway, 180_000);

    const client = await connectClient({ address: temporalAddress, namespace: config.TEMPORAL_NAMESPACE });
    stops.push(() => client.connection.close());
    const result = await client.workflow.execute(skeleton, {
      workflowId: `skeleton-startup-${Date.now()}`,
      taskQueue: workflowTaskQueue(config.TASK_QUEUE_PREFIX),
      args: [{ message: 'slipway up', queuePrefix: config.TASK_QUEUE_PREFIX }],
    });
    log.info({ result }, 'skeleton workflow completed');
    process.stdout.write(
      [
        '',
        'Slipway is up.',
        `  Temporal UI:   ${uiUrl ?? '(external Temporal at ' + temporalAddress + ')'}`,
        `  API:           ${apiUrl} (try ${apiUrl}/health)`,
        `  Gateway:       ${gatewayUrl} (Open Inference Protocol and row JSON; ${gatewayUrl}/metrics)`,
        `  Database:      ${config.DATABASE_URL ? 'DATABASE_URL' : 'embedded PGlite in ' + paths.pgData}`,
        `  Artifacts:     ${resolve(paths.artifacts)}`,
        `  Skeleton run:  ${result.artifactUri}`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
    if (options.demo) {
      await startDemo({
        config,
        env: childEnv,
        log,
        client,
        apiUrl,
        gatewayUrl,
        gateway,
        uiUrl,
        repoRoot: resolve(import.meta.dirname, '..'),
        home,
        onStop: (stop) => stops.push(stop),
        write: (text) => process.stdout.write(text),
      });
    }
  } catch (error) {
    log.error({ err: error }, 'start-up failed');
    await shutdown(1);
  }
  // Keep running until a signal arrives.
  await new Promise<never>(() => undefined);
}
