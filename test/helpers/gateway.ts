// Real gateway processes for tests: `slipway serve` (node:cluster, N processes on one port) on a free loopback
// port, against a test schema and artifact store. Shared with the rollout tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { inheritedEnvironment } from '../../platform/config.js';
import { repoRoot } from './api.js';
import { freePort } from './free-port.js';
import { testStack } from './stack.js';

export interface GatewayOptions {
  /** The schema holding the registry, deployments and the prediction log. */
  readonly schema: string;
  /** Artifact store settings: an S3 key prefix in the test bucket, or a local directory. */
  readonly store: { readonly s3Prefix: string } | { readonly root: string };
  /** Gateway processes (default 2). */
  readonly processes?: number;
  /** Extra environment (SERVING_* settings, SLIPWAY_API_KEYS...). */
  readonly env?: Record<string, string>;
}

export interface RunningGateway {
  readonly url: string;
  /** The primary process. */
  readonly pid: number;
  /** PIDs of the gateway processes serving now. */
  workerPids(): number[];
  /** Kills one gateway process (SIGKILL by default); the primary starts another. Returns the pid killed. */
  killWorker(pid?: number, signal?: NodeJS.Signals): number;
  /** Resolves once `count` gateway processes listen (after a kill, when the replacement is up). */
  waitForWorkers(count: number, timeoutMs?: number): Promise<void>;
  /** Every log line so far (JSON from pino). */
  readonly logs: string[];
  /** SIGTERM: drain and stop. Resolves when the primary has exited. */
  stop(): Promise<void>;
  /** SIGKILL to the primary and every gateway process. */
  kill(): Promise<void>;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Starts `slipway serve` and resolves once every gateway process listens and the routing table is loaded. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const stack = testStack();
  const port = await freePort();
  const processes = options.processes ?? 2;
  const storeEnv =
    's3Prefix' in options.store
      ? {
          ARTIFACT_STORE: 's3',
          S3_ENDPOINT: stack.s3.endpoint,
          S3_REGION: stack.s3.region,
          S3_BUCKET: stack.s3.bucket,
          S3_ACCESS_KEY_ID: stack.s3.accessKeyId,
          S3_SECRET_ACCESS_KEY: stack.s3.secretAccessKey,
          S3_PREFIX: options.store.s3Prefix,
        }
      : { ARTIFACT_STORE: 'local', ARTIFACT_ROOT: options.store.root };
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'serving/main.ts'], {
    cwd: repoRoot,
    env: {
      ...inheritedEnvironment(),
      LOG_LEVEL: 'info',
      DATABASE_URL: stack.databaseUrl,
      DATABASE_SCHEMA: options.schema,
      SERVING_HOST: '127.0.0.1',
      SERVING_PORT: String(port),
      SERVING_PROCESSES: String(processes),
      SERVING_DEPLOYMENT_POLL_MS: '100',
      SERVING_LOG_FLUSH_MS: '50',
      SLIPWAY_API_KEYS: '',
      ...storeEnv,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const live = new Set<number>();
  const listeners = new Set<() => void>();
  const onLine = (line: string) => {
    logs.push(line);
    try {
      const entry = JSON.parse(line) as { msg?: string; pid?: number };
      if (entry.msg === 'gateway process listening' && entry.pid) live.add(entry.pid);
      if (entry.msg === 'gateway process exited' && entry.pid) live.delete(entry.pid);
      if (entry.msg === 'gateway process draining' && entry.pid) live.delete(entry.pid);
    } catch {
      // not a log record
    }
    for (const l of listeners) l();
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const waitForWorkers = (count: number, timeoutMs = 60_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (live.size >= count) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(
          new Error(
            `${live.size} of ${count} gateway processes listening after ${timeoutMs} ms:\n${logs.slice(-30).join('\n')}`,
          ),
        );
      }, timeoutMs);
      listeners.add(check);
      void exited.then(() => {
        listeners.delete(check);
        clearTimeout(timer);
        reject(new Error(`the gateway exited:\n${logs.slice(-30).join('\n')}`));
      });
      check();
    });

  try {
    await waitForWorkers(processes);
    // Listening comes after the first routing-table load; readiness confirms it through HTTP.
    const ready = await fetch(`${url}/v2/health/ready`);
    if (ready.status !== 200) throw new Error(`the gateway is not ready: ${ready.status}`);
  } catch (error) {
    // Never leave a half-started gateway behind.
    for (const pid of live) killQuietly(pid);
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return {
    url,
    pid: child.pid!,
    workerPids: () => [...live],
    killWorker(pid, signal = 'SIGKILL') {
      const target = pid ?? [...live][0];
      if (target === undefined) throw new Error('no gateway process to kill');
      process.kill(target, signal);
      // It serves no more: waitForWorkers(n) now waits for its replacement.
      live.delete(target);
      return target;
    },
    waitForWorkers,
    logs,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill() {
      for (const pid of live) killQuietly(pid);
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
