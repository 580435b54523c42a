// `slipway serve`: the gateway's primary process. It runs the migrations, forks one gateway process per core (they
// share the port through node:cluster), restarts any that dies, sums their metrics, and drains them on SIGTERM.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Config } from '../platform/config.js';
import { createPool, migrate } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { askToDrain, primaryMessages } from './cluster-messages.js';

const workerEntry = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url),
);

/** Exit code of a worker that can never work (it can't listen, or its settings are wrong): the gateway stops. */
const fatalExit = 2;

/** Runs the gateway until SIGINT/SIGTERM; resolves once every gateway process has exited. */
export async function runGateway(config: Config, log: Logger): Promise<void> {
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required for the gateway');
  process.title = 'slipway-gateway';
  const db = createPool({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, max: 1, log });
  try {
    await migrate(db, config.DATABASE_SCHEMA, log);
  } finally {
    await db.end();
  }
  const processes = config.SERVING_PROCESSES ?? availableParallelism();
  // Each gateway process accepts from the shared socket itself. With node's default round robin the primary accepts
  // and hands each connection over; one handed to a process the moment it dies is never answered nor closed (node
  // drops it with the dead process's reply), so a client would hang where it should have been served by another.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: workerEntry, execArgv: process.execArgv });
  primaryMessages();

  let stopping = false;
  let listening = 0;
  let announced = false;
  let restarts = 0;
  const startedAt = new Map<number, number>();
  const listeningIds = new Set<number>();
  const fork = (): Worker => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
    worker.once('online', () => log.info({ pid: worker.process.pid }, 'gateway process started'));
    worker.once('listening', () => {
      listening++;
      listeningIds.add(worker.id);
      log.info({ pid: worker.process.pid }, 'gateway process listening');
      if (!announced && listening >= processes) {
        announced = true;
        log.info(
          { url: `http://${config.SERVING_HOST}:${config.SERVING_PORT}`, processes },
          'gateway listening',
        );
      }
    });
    return worker;
  };

  const done = new Promise<void>((resolve, reject) => {
    cluster.on('exit', (worker, code, signal) => {
      log.info({ pid: worker.process.pid, code, signal }, 'gateway process exited');
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve();
        return;
      }
      if (code === fatalExit) {
        stopping = true;
        for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGKILL');
        reject(new Error('a gateway process could not start (see its log); stopping the gateway'));
        return;
      }
      // A process that dies at once again and again is restarted with a growing delay, never in a tight loop.
      const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
      restarts = lived < 5000 ? restarts + 1 : 0;
      const delay = restarts === 0 ? 0 : Math.min(30_000, 500 * 2 ** Math.min(restarts, 6));
      log.warn(
        { pid: worker.process.pid, code, signal, restartInMs: delay },
        'gateway process died; starting another',
      );
      setTimeout(() => {
        if (!stopping) fork();
      }, delay);
    });
  });

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'gateway stopping');
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    // A process still starting has no drain handler yet: SIGTERM ends it (it holds no request).
    for (const w of workers)
      if (listeningIds.has(w.id)) askToDrain(w);
      else w.process.kill('SIGTERM');
    // A process that does not finish draining in time is killed.
    setTimeout(() => {
      for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGKILL');
    }, 20_000).unref();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  for (let i = 0; i < processes; i++) fork();
  await done;
  log.info('gateway stopped');
}
