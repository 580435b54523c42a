import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { slipwaySearchAttributeKeys } from '../domain/search-attributes.js';
import type { Logger } from './logger.js';
import { devServerSearchAttributeFlags } from './search-attributes.js';
import { findExecutable, goInstall } from './tool-cache.js';

export const temporalCliPackage = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export interface DevServerOptions {
  /** SQLite file that keeps workflow history across restarts; omit for an in-memory server. */
  readonly dbFile?: string;
  readonly port: number;
  readonly uiPort?: number;
  readonly namespace?: string;
  readonly env: Record<string, string | undefined>;
  /** Explicit path of the `temporal` binary (TEMPORAL_CLI). */
  readonly cliPath?: string;
  readonly log?: Logger;
  /** How long to wait for the server to answer; generous, since a slow machine must not fail here. */
  readonly readyTimeoutMs?: number;
}

export interface DevServer {
  readonly address: string;
  readonly uiUrl?: string;
  readonly pid?: number;
  stop(): Promise<void>;
}

/**
 * Finds the `temporal` CLI: TEMPORAL_CLI, PATH, the tool cache, else `go install` into the cache.
 * Returns undefined when none of those works (then the SDK's own download is the last resort).
 */
export async function findTemporalCli(options: Pick<DevServerOptions, 'cliPath' | 'env' | 'log'>) {
  if (options.cliPath) return options.cliPath;
  return (
    (await findExecutable('temporal', options.env.PATH)) ??
    (await goInstall(temporalCliPackage, 'temporal', options.env, options.log))
  );
}

/** Waits until the frontend's gRPC health check answers, or the process dies, or the (long) deadline passes. */
async function waitUntilServing(
  address: string,
  child: ChildProcess | undefined,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.pid === undefined) throw new Error('the temporal CLI could not be started');
    if (child && child.exitCode !== null) {
      throw new Error(`temporal dev server exited with code ${child.exitCode} before it was ready`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await connection.healthService.check({});
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(
    `temporal dev server at ${address} did not answer within ${timeoutMs} ms: ${String(lastError)}`,
  );
}

/** Stops a child: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts a Temporal dev server (the `temporal` CLI) on loopback with Slipway's search attributes registered, and
 * resolves once it answers. Falls back to the SDK's downloaded test server when no CLI can be found or built.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const namespace = options.namespace ?? 'default';
  const address = `127.0.0.1:${options.port}`;
  const log = options.log?.child({ component: 'temporal-dev-server' });
  const cli = await findTemporalCli(options);
  if (!cli) {
    log?.warn('no temporal CLI on PATH, in the tool cache or buildable with Go; using the SDK download');
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        ip: '127.0.0.1',
        port: options.port,
        namespace,
        ...(options.dbFile ? { dbFilename: options.dbFile } : {}),
        ui: options.uiPort !== undefined,
        ...(options.uiPort !== undefined ? { uiPort: options.uiPort } : {}),
        searchAttributes: [...slipwaySearchAttributeKeys],
      },
    });
    return {
      address,
      ...(options.uiPort !== undefined ? { uiUrl: `http://127.0.0.1:${options.uiPort}` } : {}),
      stop: () => env.teardown(),
    };
  }
  if (options.dbFile) await mkdir(dirname(options.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--namespace',
    namespace,
    '--log-level',
    'error',
    ...(options.dbFile ? ['--db-filename', options.dbFile] : []),
    ...(options.uiPort !== undefined ? ['--ui-port', String(options.uiPort)] : ['--headless']),
    // Slipway's search attributes, registered at start (other clusters: `slipway temporal setup`).
    ...devServerSearchAttributeFlags(),
  ];
  log?.info(
    { cli, port: options.port, uiPort: options.uiPort, dbFile: options.dbFile },
    'starting temporal dev server',
  );
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env });
  let output = '';
  child.once('error', (error) => (output += `\ncannot run ${cli}: ${error.message}`));
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  try {
    await waitUntilServing(address, child, options.readyTimeoutMs ?? 180_000);
  } catch (error) {
    await stopChild(child, 2000);
    throw new Error(`${(error as Error).message}\n--- temporal output ---\n${output}`);
  }
  log?.info({ address }, 'temporal dev server ready');
  return {
    address,
    ...(options.uiPort !== undefined ? { uiUrl: `http://127.0.0.1:${options.uiPort}` } : {}),
    ...(child.pid !== undefined ? { pid: child.pid } : {}),
    stop: () => stopChild(child),
  };
}
