import { Client, Connection } from '@temporalio/client';
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { NativeConnection, Runtime } from '@temporalio/worker';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

const levelMap = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/** Adapts the pino root logger to Temporal's Logger interface. */
export function temporalLogger(log: Logger): TemporalLogger {
  const child = log.child({ component: 'temporal' });
  const write = (level: LogLevel, message: string, meta?: LogMetadata) =>
    child[levelMap[level]](meta ?? {}, message);
  return {
    log: write,
    trace: (m, meta) => write('TRACE', m, meta),
    debug: (m, meta) => write('DEBUG', m, meta),
    info: (m, meta) => write('INFO', m, meta),
    warn: (m, meta) => write('WARN', m, meta),
    error: (m, meta) => write('ERROR', m, meta),
  };
}

let runtimeInstalled = false;

/**
 * Installs the Temporal runtime once per process, with the SDK's and the Rust core's logs forwarded into pino.
 * Must run before any worker or native connection is created.
 */
export function installTemporalRuntime(log: Logger): void {
  if (runtimeInstalled) return;
  Runtime.install({
    logger: temporalLogger(log),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
  runtimeInstalled = true;
}

export interface TemporalTarget {
  readonly address: string;
  readonly namespace: string;
  readonly apiKey?: string;
  readonly tls?: boolean;
}

/** Where to find Temporal: the configured address, else the local dev server's. */
export function temporalTarget(config: Config): TemporalTarget {
  return {
    address: config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_PORT}`,
    namespace: config.TEMPORAL_NAMESPACE,
    ...(config.TEMPORAL_API_KEY ? { apiKey: config.TEMPORAL_API_KEY } : {}),
    tls: config.TEMPORAL_TLS || Boolean(config.TEMPORAL_API_KEY),
  };
}

/** A client connection (for the API, the CLI and tests). */
export async function connectClient(target: TemporalTarget): Promise<Client> {
  const connection = await Connection.connect({
    address: target.address,
    ...(target.tls ? { tls: true } : {}),
    ...(target.apiKey ? { apiKey: target.apiKey } : {}),
  });
  return new Client({ connection, namespace: target.namespace });
}

/** A worker connection. */
export async function connectWorker(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect({
    address: target.address,
    ...(target.tls ? { tls: true } : {}),
    ...(target.apiKey ? { apiKey: target.apiKey } : {}),
  });
}

/** Resolves when the frontend answers its health check; for the health endpoint. */
export async function pingTemporal(client: Client): Promise<void> {
  await client.workflowService.getSystemInfo({});
}
