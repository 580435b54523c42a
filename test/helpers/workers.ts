import { randomBytes } from 'node:crypto';
import type {
  ActivityInterceptorsFactory,
  NativeConnection,
  Worker,
  WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { ActivityDeps } from '../../activities/index.js';
import type { ResourceTag } from '../../domain/task-queues.js';
import { createLogger } from '../../platform/logger.js';
import { connectClient, connectWorker, installTemporalRuntime } from '../../platform/temporal.js';
import { bundleWorkflows, createWorkerSet } from '../../workers/worker.js';
import { testStack } from './stack.js';

export const testLog = createLogger({ level: 'error' });

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per test file. */
export function testBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflows(testLog);
  return bundle;
}

/** A task-queue prefix no other test uses. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${randomBytes(4).toString('hex')}`;
}

export interface RunningWorkers {
  readonly workers: Worker[];
  /** Resolves when all have stopped; call `stop` first. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** Starts a worker set in this process (as a worker process would) and returns a handle to stop it. */
export async function startTestWorkers(options: {
  tags: ResourceTag[];
  prefix: string;
  deps: ActivityDeps;
  connection?: NativeConnection;
  gpuCount?: number;
  activityInterceptors?: ActivityInterceptorsFactory[];
}): Promise<RunningWorkers> {
  installTemporalRuntime(testLog);
  const stack = testStack();
  const connection =
    options.connection ??
    (await connectWorker({ address: stack.temporalAddress, namespace: stack.temporalNamespace }));
  const workers = await createWorkerSet({
    connection,
    namespace: stack.temporalNamespace,
    tags: options.tags,
    queuePrefix: options.prefix,
    bundle: await testBundle(),
    gpuCount: options.gpuCount ?? 1,
    deps: options.deps,
    ...(options.activityInterceptors ? { activityInterceptors: options.activityInterceptors } : {}),
  });
  const done = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  return {
    workers,
    done,
    stop: async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done;
      if (!options.connection) await connection.close();
    },
  };
}

export async function testClient(): Promise<Client> {
  const stack = testStack();
  return connectClient({ address: stack.temporalAddress, namespace: stack.temporalNamespace });
}
